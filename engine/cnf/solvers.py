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

from ..errors import InputError, WorkLimitError

__all__ = ["ODE_SOLVERS", "OdeSolver", "Counted", "SolverDiverged", "check_solver", "fixed_step_solve", "odesolve",
           "stage_times"]

State = tuple[Tensor, ...]
RHS = Callable[[Tensor | float, State], State]


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


class SolverDiverged(WorkLimitError):
    """A solve needed more function evaluations than allowed (the dynamics became stiff)."""


class Counted(nn.Module):
    """Wraps an ODE right-hand side and counts its evaluations (NFE).

    Arguments:
        func: the right-hand side ``func(t, y) -> dy/dt``, a module when gradients are taken
            by the adjoint method (its parameters are then found through this wrapper).
        max_nfe: raise :class:`SolverDiverged` past this many evaluations (0: no limit).
    """

    def __init__(self, func: RHS, max_nfe: int = 0) -> None:
        super().__init__()
        self.func = func
        self.max_nfe = max_nfe
        self.nfe = 0

    def forward(self, t: Tensor | float, y: State) -> State:
        self.nfe += 1
        if self.max_nfe and self.nfe > self.max_nfe:
            raise SolverDiverged(f"the ODE solver needed more than {self.max_nfe} function evaluations")
        return self.func(t, y)


# the times at which each fixed-step method evaluates the right-hand side within a step from t of size h:
# the steps below take theirs from here, so that :func:`stage_times` names the very same floats
_NODES: dict[str, Callable[[float, float], tuple[float, ...]]] = {
    "euler": lambda t, h: (t,),
    "midpoint": lambda t, h: (t, t + h / 2),
    "rk4": lambda t, h: (t, t + h / 3, t + 2 * h / 3, t + h),
}


def _euler(f: RHS, t: float, h: float, y: State) -> State:
    k1 = f(t, y)
    return tuple(a + h * b for a, b in zip(y, k1))


def _midpoint(f: RHS, t: float, h: float, y: State) -> State:
    t1, t2 = _NODES["midpoint"](t, h)
    k1 = f(t1, y)
    k2 = f(t2, tuple(a + (h / 2) * b for a, b in zip(y, k1)))
    return tuple(a + h * b for a, b in zip(y, k2))


def _rk4(f: RHS, t: float, h: float, y: State) -> State:
    # Kutta's 3/8 rule, as torchdiffeq's "rk4", so that both code paths agree to rounding
    t1, t2, t3, t4 = _NODES["rk4"](t, h)
    k1 = f(t1, y)
    k2 = f(t2, tuple(a + (h / 3) * b for a, b in zip(y, k1)))
    k3 = f(t3, tuple(a + h * (c - b / 3) for a, b, c in zip(y, k1, k2)))
    k4 = f(t4, tuple(a + h * (b - c + d) for a, b, c, d in zip(y, k1, k2, k3)))
    return tuple(a + (h / 8) * (b + 3 * (c + d) + e) for a, b, c, d, e in zip(y, k1, k2, k3, k4))


_STEPS: dict[str, Callable[[RHS, float, float, State], State]] = {"euler": _euler, "midpoint": _midpoint, "rk4": _rk4}


def stage_times(t0: float, t1: float, steps: int, method: str = "rk4") -> list[float]:
    """Every time at which :func:`fixed_step_solve` evaluates the right-hand side, each once, in order:
    the same Python floats it passes, so that a field can prepare itself for them (e.g.
    :meth:`engine.cnf.nets.VectorField.fixed_times`)."""
    h = (t1 - t0) / steps
    times = (s for i in range(steps) for s in _NODES[method](t0 + i * h, h))
    return list(dict.fromkeys(times))


def fixed_step_solve(func: RHS, y0: State, t0: float, t1: float, steps: int, method: str = "rk4") -> State:
    """y(t1) from y(t0) = y0 by ``steps`` equal steps of a fixed-step method (either direction).

    The same methods as torchdiffeq's, without its flattening of tuple states into one
    tensor at every evaluation: in training, where a solve is a few RK4 steps of a small
    network, that bookkeeping is a noticeable share of the time.
    """
    step, h, y = _STEPS[method], (t1 - t0) / steps, y0
    for i in range(steps):
        y = step(func, t0 + i * h, h, y)
    return y


def _max_norm(y: State) -> Tensor:
    # Every point must meet the tolerance, not just the batch on average: an RMS norm over a
    # large batch lets a few hard points carry errors far above atol/rtol.
    return torch.stack([v.abs().max() for v in y]).max()


def odesolve(
    func: nn.Module | RHS,
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

    A fixed-step solve between two times without the adjoint runs :func:`fixed_step_solve`,
    which calls ``func`` with t as a Python float; every other solve goes to torchdiffeq,
    which passes a 0-dim tensor.

    Returns:
        The state at each output time, a tuple of tensors with a leading (T,) dimension.
    """
    spec = check_solver(solver)
    if not spec.adaptive and not adjoint and len(t) == 2:
        if steps < 1:
            raise InputError(f"a fixed-step solver needs at least one step, not {steps}")
        y1 = fixed_step_solve(func, y0, float(t[0]), float(t[1]), int(steps), spec.method)
        return tuple(torch.stack([a, b]) for a, b in zip(y0, y1))
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
    # imported here: torchdiffeq loads scipy.integrate (~0.4 s), which fixed-step solves and the
    # window's first frame do not need
    from torchdiffeq import odeint, odeint_adjoint

    if adjoint:
        if not isinstance(func, nn.Module):
            raise TypeError("the adjoint method needs the right-hand side as an nn.Module")
        return odeint_adjoint(func, y0, t, atol=atol, rtol=rtol, method=spec.method, options=options)
    return odeint(func, y0, t, atol=atol, rtol=rtol, method=spec.method, options=options)
