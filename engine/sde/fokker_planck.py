r"""The Kolmogorov–Fokker–Planck equation of an SDE, solved on a grid.

For dx = f(x, t) dt + g(t) dw the density of x obeys

    ∂p/∂t = −div(f p) + ½ g(t)² Δp,

and with g = 0 this is the continuity equation of a CNF with velocity f. The solver
(:class:`FokkerPlanck`) uses conservative finite volumes: every cell changes only by the
fluxes through its faces, each flux leaving one cell and entering its neighbour, so mass
is conserved up to rounding; the outer faces carry no flux (a reflecting wall). The
advective flux takes the upwind side of a slope-limited (MUSCL) reconstruction; with
the limiters here the face values lie in [0, c p] for a cell value p, which makes each
explicit sweep (x and y in turn, see :mod:`engine.sde.stepper`) positivity-preserving when

    dt · max_cells [ c (outflow speed along the sweep) / Δ + g² / Δ² ] ≤ 1,

and, with mass conserved, positivity is also L¹ stability. The step is chosen from this
bound (times a safety factor) and shortened so frames land on the requested times.
The "tracker" is the generator's ``yield`` (as in py-pde).

References:
    H. Risken, The Fokker–Planck Equation: Methods of Solution and Applications (1989).
    B. van Leer, Towards the ultimate conservative difference scheme V (1979): MUSCL, the MC limiter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from ..errors import InputError
from .grid import Grid
from .sdes import SDE
from .simulate import check_times
from .stepper import LIMITERS, Coefficients, Stepper

__all__ = ["LIMITERS", "DensityFrame", "FokkerPlanck"]

Tensor = torch.Tensor


@dataclass(frozen=True)
class DensityFrame:
    """The grid density at one time.

    Attributes:
        t: the time.  steps: solver steps taken so far.  dt: the last step's length.
        p: density at cell centres (n, n) float32, in the grid convention (rows are y).
        mass: Σ p ΔxΔy of the solver's state (1 up to rounding; nothing is renormalised).
    """

    t: float
    steps: int
    dt: float
    p: np.ndarray
    mass: float


@dataclass(frozen=True)
class _Fields:
    """Upwind parts of the velocity at the interior faces, each direction laid out along
    dim 0 as the stepper wants (x-faces transposed), times ``scale``; and the largest
    advective outflow rates."""

    up: Tensor  # max(u, 0) at x-faces, (n_x - 1, n_y)
    un: Tensor  # min(u, 0)
    vp: Tensor  # max(v, 0) at y-faces, (n_y - 1, n_x)
    vn: Tensor
    rate_x: float  # max over cells of c outflow_x / dx, for scale 1
    rate_y: float
    scale: float = 1.0  # |a(t)| of a split drift: kept apart so that nothing is recomputed but the coefficients


def _max_outflow(plus: Tensor, minus: Tensor) -> float:
    """Largest speed at which a cell loses mass along dim 0: through its upper face (plus)
    and its lower face (minus, negative)."""
    out = torch.zeros(plus.shape[0] + 1, plus.shape[1], dtype=plus.dtype, device=plus.device)
    out[:-1] += plus
    out[1:] -= minus
    return float(out.max())


class FokkerPlanck:
    r"""∂p/∂t = −div(f p) + ½ g(t)² Δp for an SDE on a grid, by finite volumes.

    Arguments:
        sde: the SDE (its drift and diffusion).
        grid: the cells.
        limiter: one of :data:`LIMITERS` (default ``"mc"``).
        device: where the arrays live (a CUDA device runs the same code).
        dtype: float32 (fast; mass still conserved to ~1e-7 per step) or float64.
        safety: fraction of the positivity bound used as the step (< 1).
        max_steps: refuse a run needing more steps than this between two frames.

    Example:
        >>> from engine.sde import make_sde, Grid
        >>> fp = FokkerPlanck(make_sde("ou"), Grid((-4.0, 4.0, -4.0, 4.0), 64))
        >>> p0 = np.full((64, 64), 1 / 64.0, np.float32)
        >>> [round(f.t, 2) for f in fp.solve(p0, [0.0, 0.1])]
        [0.0, 0.1]
    """

    def __init__(self, sde: SDE, grid: Grid, limiter: str = "mc", device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32, safety: float = 0.9, max_steps: int = 200_000) -> None:
        if not 0 < safety < 1:
            raise ValueError(f"safety must lie in (0, 1), not {safety}")
        self.sde, self.grid, self.limiter = sde, grid, limiter
        self.device, self.dtype = torch.device(device), dtype
        self.safety, self.max_steps = safety, max_steps
        self._stepper = Stepper(grid.n, limiter, self.device, dtype)
        self._xf = torch.as_tensor(grid.x_faces(), dtype=dtype, device=self.device).reshape(-1, 2)
        self._yf = torch.as_tensor(grid.y_faces(), dtype=dtype, device=self.device).reshape(-1, 2)
        self._split = sde.drift_split()
        self._base: dict[bool, _Fields] = {}  # h of f = a(t) h(x), and -h, evaluated once
        self._last: tuple[float, _Fields] | None = None  # (a, fields), or (t, fields) without a split
        self._coeff: tuple[_Fields, float, float, tuple[Coefficients, Coefficients]] | None = None
        self._buffers: dict[int, Coefficients] = {}

    # -- the velocity field at the faces ------------------------------------------
    def _fields_of(self, u: Tensor, v: Tensor) -> _Fields:
        """Fields from u at x-faces (n_x − 1, n_y), transposed, and v at y-faces (n_y − 1, n_x)."""
        g = self.grid
        if not (torch.isfinite(u).all() and torch.isfinite(v).all()):
            raise InputError("the drift is not finite everywhere on the grid (division by zero, log of a "
                             "negative number, or overflow)")
        up, un, vp, vn = u.clamp(min=0), u.clamp(max=0), v.clamp(min=0), v.clamp(max=0)
        c = self._stepper.bound
        return _Fields(up, un, vp, vn, c * _max_outflow(up, un) / g.dx, c * _max_outflow(vp, vn) / g.dy)

    def _evaluate(self, fn: Callable[[Tensor], Tensor]) -> _Fields:
        n = self.grid.n
        with torch.no_grad():
            u = fn(self._xf)[:, 0].reshape(n, n - 1).to(self.dtype).t().contiguous()
            v = fn(self._yf)[:, 1].reshape(n - 1, n).to(self.dtype)
        return self._fields_of(u, v)

    def _fields(self, t: float) -> _Fields:
        if self._split is None:
            if self._last is None or self._last[0] != t:  # the end of one step is the start of the next
                self._last = (t, self._evaluate(lambda x: self.sde.drift(x, t)))
            return self._last[1]
        scale, h = self._split
        a = float(scale(t))
        if self._last is not None and self._last[0] == a:
            return self._last[1]
        forward = a >= 0
        if forward not in self._base:
            self._base[forward] = self._evaluate(h if forward else (lambda x: -h(x)))
        fields = replace(self._base[forward], scale=abs(a))
        self._last = (a, fields)
        return fields

    def _coefficients(self, fields: _Fields, d: float, dt: float) -> tuple[Coefficients, Coefficients]:
        """A, B, C, E of the stepper's flux for x and y, written into buffers kept for the run;
        reused while fields, D and dt stay the same."""
        c = self._coeff
        if c is not None and c[0] is fields and c[1] == d and c[2] == dt:
            return c[3]
        g, m = self.grid, fields.scale
        coeffs = (self._flux_coefficients(fields.up, fields.un, m, d, dt, g.dx, 0),
                  self._flux_coefficients(fields.vp, fields.vn, m, d, dt, g.dy, 1))
        self._coeff = (fields, d, dt, coeffs)
        return coeffs

    def _flux_coefficients(self, plus: Tensor, minus: Tensor, m: float, d: float, dt: float, h: float,
                           axis: int) -> Coefficients:
        """A = (m u⁺ + D/Δ) dt/Δ, B = (m u⁻ − D/Δ) dt/Δ, C = m u⁺ dt/2Δ, E = −m u⁻ dt/2Δ."""
        if axis not in self._buffers:
            self._buffers[axis] = tuple(torch.empty_like(plus) for _ in range(4))  # type: ignore[assignment]
        a, b, c, e = self._buffers[axis]
        lam, k = dt / h, d / h
        torch.mul(plus, m * lam, out=a).add_(k * lam)
        torch.mul(minus, m * lam, out=b).sub_(k * lam)
        torch.mul(plus, 0.5 * m * lam, out=c)
        torch.mul(minus, -0.5 * m * lam, out=e)
        return a, b, c, e

    # -- one explicit step ----------------------------------------------------------
    def _diffusivity(self, t: float) -> float:
        g = float(self.sde.diffusion(t))
        if not math.isfinite(g):
            raise InputError(f"the diffusion g(t) is not finite at t = {t:g}")
        return 0.5 * g * g

    def _rate(self, fields: _Fields, d: float) -> float:
        m = fields.scale
        return max(m * fields.rate_x + 2 * d / self.grid.dx**2, m * fields.rate_y + 2 * d / self.grid.dy**2)

    def max_step(self, t: float) -> float:
        """The longest step from time ``t`` that keeps the density non-negative (inf if nothing moves)."""
        rate = self._rate(self._fields(t), self._diffusivity(t))
        return self.safety / rate if rate > 0 else math.inf

    def step(self, p: Tensor, t: float, dt: float | None = None) -> tuple[Tensor, float]:
        """One explicit step from time ``t``: the new density and the step taken
        (``dt``, or the largest positivity-preserving one when None). It shares the solver's
        buffers, so do not call it while a :meth:`solve` of the same solver is under way."""
        fields, d = self._fields(t), self._diffusivity(t)
        if dt is None:
            rate = self._rate(fields, d)
            dt = self.safety / rate if rate > 0 else 1.0
        self._stepper.load(p.to(device=self.device, dtype=self.dtype))
        self._stepper.step(*self._coefficients(fields, d, dt))
        return self._stepper.density().clone(), dt

    # -- the run --------------------------------------------------------------------
    def _plan(self, remaining: float, rate: float, max_dt: float, t: float) -> tuple[int, float]:
        """Equal steps to cover ``remaining`` time: as few as the bound and ``max_dt`` allow."""
        k = max(1, math.ceil(remaining * rate / self.safety - 1e-9), math.ceil(remaining / max_dt - 1e-9))
        if k > self.max_steps:
            raise InputError(f"the grid solution would need {k} steps after t = {t:g}; use a coarser grid, "
                             "a shorter time or a weaker drift or diffusion")
        return k, remaining / k

    def _rate_at(self, t: float) -> float:
        return self._rate(self._fields(t), self._diffusivity(t))

    def solve(self, p0: np.ndarray | Tensor, times: Sequence[float] | np.ndarray,
              t0: float = 0.0) -> Iterator[DensityFrame]:
        """Evolve ``p0`` (n, n) from time ``t0``; yield a :class:`DensityFrame` at each of ``times``.

        Steps are equal between two frames unless the field speeds up; the bound is checked at
        both ends of each step, and no step is longer than 1/100 of the whole run, so a field
        that changes in time is followed.
        """
        times = check_times(times, t0)
        n = self.grid.n
        p = torch.as_tensor(np.asarray(p0) if not isinstance(p0, Tensor) else p0)
        if tuple(p.shape) != (n, n):
            raise InputError(f"the initial density must have shape ({n}, {n}), not {tuple(p.shape)}")
        self._stepper.load(p.to(device=self.device, dtype=self.dtype))
        max_dt = (times[-1] - t0) / 100 or math.inf
        t, steps, dt = float(t0), 0, 0.0
        for target in times:
            left = 0  # steps planned to reach target; one dt for all keeps the coefficients cached
            while t < target:
                fields, d = self._fields(t), self._diffusivity(t)
                if left == 0 or dt * self._rate(fields, d) > self.safety:
                    left, dt = self._plan(target - t, self._rate(fields, d), max_dt, t)
                rate_end = self._rate_at(target if left == 1 else t + dt)
                if dt * rate_end > self.safety:  # the field speeds up within the step
                    left, dt = self._plan(target - t, rate_end, max_dt, t)
                self._stepper.step(*self._coefficients(fields, d, dt))
                left, steps = left - 1, steps + 1
                t = target if left == 0 else t + dt
            p = self._stepper.density()
            yield DensityFrame(t, steps, dt, p.cpu().numpy().astype(np.float32, copy=True), self.grid.mass(p))
