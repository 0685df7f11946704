r"""The finite-volume step behind :class:`~engine.sde.FokkerPlanck`, with its slope limiters.

A step is two one-dimensional sweeps (dimensional splitting): along y then along x, and
the next step along x then along y, so that each pair of steps is Strang's symmetric
splitting (second order in time). Each sweep works along dim 0 of a contiguous array,
and between the sweeps the state is copied transposed, so that every slice is one
contiguous block and the state alternates between the two layouts from step to step.
Every operation writes into buffers allocated once: a fresh 256 × 256 float32 array is
256 KB, above the size at which the C allocator maps new pages from the kernel, and
mapping pages for every operation cost more than the arithmetic itself.

Flux through the face between cells k and k+1, with upwind states L = q_k + s_k/2 and
R = q_k+1 − s_k+1/2 (s the limited slope), velocity u = u⁺ + u⁻ and diffusivity D:

    F = u⁺ L + u⁻ R − D (q_k+1 − q_k)/Δ  =  A q_k + B q_k+1 + C s_k + E s_k+1,

A = u⁺ + D/Δ, B = u⁻ − D/Δ, C = u⁺/2, E = −u⁻/2, all times dt/Δ so that F is the mass
moved in one step. The face's flux leaves cell k and enters cell k+1: mass telescopes
exactly. A sweep keeps every cell non-negative when, for every cell,
dt (c · outflow speed / Δ + 2D/Δ²) ≤ 1, with c the limiter's bound on face value / cell value.

References:
    G. Strang, On the construction and comparison of difference schemes (1968).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["LIMITERS", "Stepper"]

Tensor = torch.Tensor
Coefficients = tuple[Tensor, Tensor, Tensor, Tensor]


def _minmod(dm: Tensor, dp: Tensor, out: Tensor, w1: Tensor, w2: Tensor) -> None:
    # the smaller of the two one-sided slopes, 0 across an extremum: dm clamped into [min(dp,0), max(dp,0)]
    torch.clamp(dp, max=0, out=w1)
    torch.clamp(dp, min=0, out=w2)
    torch.clamp(dm, w1, w2, out=out)


def _mc(dm: Tensor, dp: Tensor, out: Tensor, w1: Tensor, w2: Tensor) -> None:
    # monotonised central: the centred slope clamped by twice the minmod slope
    _minmod(dm, dp, out, w1, w2)
    torch.clamp(out, max=0, out=w1).mul_(4)
    torch.clamp(out, min=0, out=w2).mul_(4)
    torch.add(dm, dp, out=out)
    torch.clamp(out, w1, w2, out=out).mul_(0.5)


# name -> (slope into `out` from left/right differences, or None; bound c on face value / cell value)
LIMITERS: dict[str, tuple[Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], None] | None, float]] = {
    "upwind": (None, 1.0),  # first order: most numerical diffusion
    "minmod": (_minmod, 1.5),
    "mc": (_mc, 2.0),  # sharpest of the three
}


class Stepper:
    """Explicit steps of the split finite-volume scheme on an ``n x n`` grid; holds the state.

    Arguments:
        n: cells per side.  limiter: a key of :data:`LIMITERS`.
        device, dtype: where and how the buffers live.
    """

    def __init__(self, n: int, limiter: str, device: torch.device, dtype: torch.dtype) -> None:
        if limiter not in LIMITERS:
            raise ValueError(f"unknown limiter '{limiter}'; choose one of {', '.join(LIMITERS)}")
        self.slope, self.bound = LIMITERS[limiter]

        def new(rows: int) -> Tensor:
            return torch.zeros(rows, n, device=device, dtype=dtype)

        self._state, self._other = new(n), new(n)
        self._transposed = False  # whether the state's rows are x (after an odd number of steps)
        self._s = new(n)  # slopes; its first and last rows stay 0 (first order at the walls)
        self._d, self._flux = new(n - 1), new(n - 1)
        self._w1, self._w2 = new(n - 2), new(n - 2)
        self._tiny = float(torch.finfo(dtype).tiny) * 1e8

    def load(self, p: Tensor) -> None:
        """Start from the density ``p`` (n, n), rows = y."""
        self._state.copy_(p)
        self._transposed = False

    def density(self) -> Tensor:
        """The current density (a view, rows = y): copy it before the next step."""
        return self._state.t() if self._transposed else self._state

    def _sweep(self, q: Tensor, c: Coefficients) -> None:
        a, b, cs, e = c
        f = torch.mul(a, q[:-1], out=self._flux)
        f.addcmul_(b, q[1:])
        if self.slope is not None:
            d = torch.sub(q[1:], q[:-1], out=self._d)
            self.slope(d[:-1], d[1:], self._s[1:-1], self._w1, self._w2)
            f.addcmul_(cs, self._s[:-1]).addcmul_(e, self._s[1:])
        q[:-1].sub_(f)
        q[1:].add_(f)

    def step(self, cx: Coefficients, cy: Coefficients) -> None:
        """One step: sweeps along y and x (``cy`` rows = y faces, ``cx`` rows = x faces), order alternating."""
        first, second = (cx, cy) if self._transposed else (cy, cx)
        self._sweep(self._state, first)
        self._other.copy_(self._state.t())
        self._state, self._other = self._other, self._state
        self._transposed = not self._transposed
        self._sweep(self._state, second)
        # subnormal floats make CPU arithmetic ~100x slower: values this close to 0 become 0
        # (the mass moved is below 1e-25; a negative value, were the step too long, stays visible)
        torch.hardshrink(self._state, self._tiny, out=self._other)
        self._state, self._other = self._other, self._state
