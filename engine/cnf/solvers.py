"""ODE solvers: fixed-step Euler, midpoint and RK4, adaptive dopri5, all through torchdiffeq.

:func:`odesolve` integrates dy/dt = func(t, y) for a tuple state y, forwards or backwards
in time, with gradients by direct backpropagation through the solver's operations or by
the adjoint method (Chen et al., 2018), which solves a second ODE backwards for the
gradients and stores nothing of the forward pass. :class:`Counted` counts the function
evaluations (NFE) of both directions and stops a solve that runs away.

References:
    | Neural Ordinary Differential Equations (Chen et al., 2018) https://arxiv.org/abs/1806.07366
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torchdiffeq import odeint, odeint_adjoint

from ..errors import InputError

__all__ = ["ODE_SOLVERS", "OdeSolver", "Counted", "SolverDiverged", "check_solver", "odesolve"]

State = tuple[Tensor, ...]


@dataclass(frozen=True)
class OdeSolver:
    """A solver's name in torchdiffeq, its order, and whether it adapts its step size."""

    method: str
    order: int
    adaptive: bool
    description: str


ODE_SOLVERS: dict[str, OdeSolver] = {
    "euler": OdeSolver("euler", 1, False, "explicit Euler, 1 evaluation per step"),
    "midpoint": OdeSolver("midpoint", 2, False, "explicit midpoint, 2 evaluations per step"),
    "rk4": OdeSolver("rk4", 4, False, "classical Runge-Kutta (3/8 rule), 4 evaluations per step"),
    "dopri5": OdeSolver("dopri5", 5, True, "adaptive Dormand-Prince 5(4), steps set by atol/rtol"),
}


def check_solver(name: str) -> OdeSolver:
    """The solver called ``name``; an InputError names the allowed ones otherwise."""
    if name not in ODE_SOLVERS:
        raise InputError(f"unknown ODE solver '{name}'; choose one of {', '.join(ODE_SOLVERS)}")
    return ODE_SOLVERS[name]


class SolverDiverged(RuntimeError):
    """A solve needed more function evaluations than allowed (the dynamics became stiff)."""


class Counted(nn.Module):
    """Wraps an ODE right-hand side and counts its evaluations (NFE).

    Arguments:
        func: the right-hand side ``func(t, y) -> dy/dt``, a module when gradients are taken
            by the adjoint method (its parameters are then found through this wrapper).
        max_nfe: raise :class:`SolverDiverged` past this many evaluations (0: no limit).
    """

    def __init__(self, func: Callable[[Tensor, State], State], max_nfe: int = 0) -> None:
        super().__init__()
        self.func = func
        self.max_nfe = max_nfe
        self.nfe = 0

    def forward(self, t: Tensor, y: State) -> State:
        self.nfe += 1
        if self.max_nfe and self.nfe > self.max_nfe:
            raise SolverDiverged(f"the ODE solver needed more than {self.max_nfe} function evaluations")
        return self.func(t, y)


def _max_norm(y: State) -> Tensor:
    # Every point must meet the tolerance, not just the batch on average: an RMS norm over a
    # large batch lets a few hard points carry errors far above atol/rtol.
    return torch.stack([v.abs().max() for v in y]).max()


def odesolve(
    func: nn.Module | Callable[[Tensor, State], State],
    y0: State,
    t: Tensor,
    *,
    solver: str = "dopri5",
    steps: int = 8,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    adjoint: bool = False,
    strict: bool = False,
) -> State:
    r"""Solve dy/dt = func(t, y) from y(t[0]) = y0 and return y at every time of ``t``.

    Arguments:
        func: right-hand side; must be an ``nn.Module`` when ``adjoint`` is set.
        y0: initial state, a tuple of tensors.
        t: output times (T,), increasing or decreasing; ``t[0]`` is the start.
        solver: a name in :data:`ODE_SOLVERS`.
        steps: number of equal steps between t[0] and t[-1] (fixed-step solvers). Output
            times that fall between grid points are linearly interpolated.
        atol, rtol: tolerances (adaptive solvers).
        adjoint: gradients by the adjoint method instead of backpropagation.
        strict: error norm is the maximum over all elements instead of an RMS per tensor.

    Returns:
        The state at each output time, a tuple of tensors with a leading (T,) dimension.
    """
    spec = check_solver(solver)
    options: dict[str, object] = {}
    if spec.adaptive:
        if strict:
            options["norm"] = _max_norm
    else:
        if steps < 1:
            raise InputError(f"a fixed-step solver needs at least one step, not {steps}")
        n = int(steps)

        def grid(_f: object, _y: Tensor, tt: Tensor) -> Tensor:
            return torch.linspace(float(tt[0]), float(tt[-1]), n + 1, dtype=tt.dtype, device=tt.device)

        options["grid_constructor"] = grid
    if adjoint:
        if not isinstance(func, nn.Module):
            raise TypeError("the adjoint method needs the right-hand side as an nn.Module")
        return odeint_adjoint(func, y0, t, atol=atol, rtol=rtol, method=spec.method, options=options)  # type: ignore[no-any-return]
    return odeint(func, y0, t, atol=atol, rtol=rtol, method=spec.method, options=options)  # type: ignore[no-any-return]
