r"""What the views draw, as generators of frozen float32 snapshots (no tensors leave here).

* :func:`probability_path`: the density p_t(x) on a grid at each requested t in [0, 1],
  from log p_t(x) = log p_0(z(0)) − ∫_0^t tr(∂f_θ/∂z) ds along the path through x.
* :func:`trajectories`: particles carried forwards from noise (t: 0 → 1) or backwards from
  data (t: 1 → 0) by a chosen solver, each with log p_t along its path, one frame per
  solver step (fixed-step solvers) or per output time (dopri5).
* :func:`vector_field`: f_θ(x, t) and its divergence on a grid at each requested t.
* :func:`divergence_estimates`: the exact divergence beside Hutchinson's estimate and the
  estimate's spread, on a grid.

Grids follow engine/densities/base.py: ``grid[i, j]`` is the cell centre of row i (y,
bottom to top) and column j (x, left to right) over ``box = (x_min, x_max, y_min, y_max)``.

References:
    | FFJORD (Grathwohl et al., 2019) https://arxiv.org/abs/1810.01367
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch

from ..densities import Box, grid_points
from .divergence import TraceEstimator, sample_probes
from .dynamics import CNFDynamics
from .model import CNF, seeded_generator, standard_normal_log_prob
from .solvers import Counted, check_solver, odesolve

__all__ = [
    "DensityFrame",
    "DivergenceFrame",
    "FieldFrame",
    "ParticleFrame",
    "divergence_estimates",
    "probability_path",
    "trajectories",
    "vector_field",
]


@dataclass(frozen=True)
class DensityFrame:
    """p_t on a grid: ``density`` and ``log_density`` (n, n) float32 at time ``t``; ``nfe`` of the solve."""

    t: float
    density: np.ndarray
    log_density: np.ndarray
    box: Box
    nfe: int


@dataclass(frozen=True)
class ParticleFrame:
    """Particles at time ``t``: positions ``x`` (n, 2) and ``log_density`` log p_t(x) (n,), float32.

    ``nfe`` counts the function evaluations since the previous frame.
    """

    t: float
    x: np.ndarray
    log_density: np.ndarray
    nfe: int


@dataclass(frozen=True)
class FieldFrame:
    """f_θ(x, t) on a grid: ``velocity`` (n, n, 2) and ``divergence`` (n, n), float32, at cell
    centres ``xs`` (n,) by ``ys`` (n,)."""

    t: float
    xs: np.ndarray
    ys: np.ndarray
    velocity: np.ndarray
    divergence: np.ndarray


@dataclass(frozen=True)
class DivergenceFrame:
    """Exact tr(∂f/∂z) beside Hutchinson's estimate with ``k`` probes (mean and standard
    deviation over ``repeats`` independent estimates), each (n, n) float32."""

    t: float
    exact: np.ndarray
    estimate: np.ndarray
    spread: np.ndarray
    probe: str
    k: int


def _np(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.detach().float().cpu().numpy())


def probability_path(
    model: CNF, box: Box, n: int = 96, times: Iterable[float] = (0.0, 0.25, 0.5, 0.75, 1.0), *,
    solver: str = "dopri5", steps: int = 16,
) -> Iterator[DensityFrame]:
    """p_t(x) on the n x n grid of ``box`` at each time in ``times`` (each in [0, 1]).

    A fixed-step solver takes ``ceil(steps * t)`` steps from t back to 0, so every frame
    has the same step length.
    """
    check_solver(solver)
    _, _, pts = grid_points(box, n)
    x = torch.from_numpy(pts)
    for t in times:
        t = float(t)
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"time {t} is outside [0, 1]")
        lp = model.log_prob_at(x, t, solver=solver, steps=max(1, math.ceil(steps * t)))
        yield DensityFrame(t, _np(lp.exp()).reshape(n, n), _np(lp).reshape(n, n), box, model.last_nfe)


def trajectories(
    model: CNF, n: int = 500, *, direction: str = "forward", points: np.ndarray | None = None,
    seed: int | None = 0, solver: str = "rk4", steps: int = 16, frames: int = 33,
) -> Iterator[ParticleFrame]:
    """Particles and their log-densities, frame by frame, along the flow.

    Arguments:
        model: the trained flow.
        n: number of particles (when ``points`` is not given).
        direction: ``forward`` from noise at t=0 (drawn with ``seed`` unless ``points``
            are given) to t=1, or ``backward`` from ``points`` (data, required) at t=1 to t=0.
        solver, steps: a name in ODE_SOLVERS and, for fixed-step solvers, the number of
            steps; each step is one frame.
        frames: number of frames (output times) for the adaptive solver.

    The log-density is carried along each path with d log p/dt = −tr(∂f/∂z); going
    backwards it is known only once z(0) is reached, so the backward frames arrive after
    the whole solve.
    """
    spec = check_solver(solver)
    if direction not in ("forward", "backward"):
        raise ValueError(f"unknown direction '{direction}'; choose forward or backward")
    if points is None:
        if direction == "backward":
            raise ValueError("backward trajectories start from data: give points")
        gen = seeded_generator(seed)
        start = torch.randn(n, 2, generator=gen)
    else:
        start = torch.as_tensor(np.asarray(points, np.float32))
    count = steps if not spec.adaptive else max(frames - 1, 1)
    grid = np.linspace(0.0, 1.0, count + 1)
    times = grid if direction == "forward" else grid[::-1]
    counted = Counted(CNFDynamics(model.field))
    if direction == "forward":
        yield from _forward_frames(model, counted, model.as_input(start), times, solver)
    else:
        yield from _backward_frames(model, counted, model.as_input(start), times, solver)


def _segments(
    model: CNF, counted: Counted, state: tuple[torch.Tensor, ...], times: np.ndarray, solver: str
) -> Iterator[tuple[float, tuple[torch.Tensor, ...], int]]:
    """Solve segment by segment, so that a caller can draw (or stop) between frames."""
    for t0, t1 in zip(times[:-1], times[1:]):
        before = counted.nfe
        span = model.as_input(torch.tensor([float(t0), float(t1)]))
        with torch.no_grad():
            out = odesolve(counted, state, span, solver=solver, steps=1, atol=model.atol, rtol=model.rtol,
                           strict=True)
        state = tuple(y[-1] for y in out)
        yield float(t1), state, counted.nfe - before


def _forward_frames(
    model: CNF, counted: Counted, z0: torch.Tensor, times: np.ndarray, solver: str
) -> Iterator[ParticleFrame]:
    logp0 = standard_normal_log_prob(z0)
    state = cast(CNFDynamics, counted.func).initial_state(z0)
    yield ParticleFrame(float(times[0]), _np(z0), _np(logp0), 0)
    for t, (z, delta), nfe in _segments(model, counted, state, times, solver):
        yield ParticleFrame(t, _np(z), _np(logp0 + delta), nfe)


def _backward_frames(
    model: CNF, counted: Counted, x: torch.Tensor, times: np.ndarray, solver: str
) -> Iterator[ParticleFrame]:
    path = [(float(times[0]), x, torch.zeros(len(x), device=x.device), 0)]
    state = cast(CNFDynamics, counted.func).initial_state(x)
    for t, (z, delta), nfe in _segments(model, counted, state, times, solver):
        path.append((t, z, delta, nfe))
    _, z0, delta0, _ = path[-1]
    logp0 = standard_normal_log_prob(z0)
    for t, z, delta, nfe in path:  # log p_t(z(t)) = log p_0(z(0)) + Δ(t) − Δ(0)
        yield ParticleFrame(t, _np(z), _np(logp0 + delta - delta0), nfe)


def vector_field(
    model: CNF, box: Box, n: int = 24, times: Iterable[float] = (0.0, 0.5, 1.0)
) -> Iterator[FieldFrame]:
    """f_θ(x, t) and its exact divergence on the n x n grid of ``box`` at each time."""
    xs, ys, pts = grid_points(box, n)
    x = model.as_input(torch.from_numpy(pts))
    basis = TraceEstimator().tangents(len(x), 2, x.device, x.dtype)
    for t in times:
        with torch.no_grad():
            f, jv = model.field.jvp(float(t), x, basis)
        div = TraceEstimator().trace(basis, jv)
        yield FieldFrame(float(t), xs, ys, _np(f).reshape(n, n, 2), _np(div).reshape(n, n))


def divergence_estimates(
    model: CNF, box: Box, n: int = 48, t: float = 0.5, *, probe: str = "rademacher", k: int = 1,
    repeats: int = 16, seed: int = 0,
) -> DivergenceFrame:
    """Exact divergence and Hutchinson's estimate (mean and spread over ``repeats`` draws)."""
    _, _, pts = grid_points(box, n)
    x = model.as_input(torch.from_numpy(pts))
    gen = torch.Generator().manual_seed(seed)
    basis = TraceEstimator().tangents(len(x), 2, x.device, x.dtype)
    hutch = TraceEstimator(exact=False, probe=probe, k=k)
    with torch.no_grad():
        _, jv = model.field.jvp(float(t), x, basis)
        exact = TraceEstimator().trace(basis, jv)
        draws = []
        for _ in range(repeats):
            v = sample_probes(probe, k, len(x), 2, generator=gen).to(x)
            _, jvp = model.field.jvp(float(t), x, v)
            draws.append(hutch.trace(v, jvp))
    est = torch.stack(draws)
    return DivergenceFrame(float(t), _np(exact).reshape(n, n), _np(est.mean(0)).reshape(n, n),
                           _np(est.std(0)).reshape(n, n), probe, k)
