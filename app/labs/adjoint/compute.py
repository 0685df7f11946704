r"""What the adjoint lab measures: the CNF loss gradient by backprop through the solver and by the adjoint.

The loss is the negative log-likelihood L = −mean log p(x) of a batch, with log p(x) from the
augmented ODE [z, Δ] solved from t = 1 (data) back to t = 0 (noise) with the exact trace.
Backprop stores every intermediate value of the forward solve; the adjoint method stores
nothing of it and solves a second ODE backwards for a(t) = ∂L/∂z(t) and ∂L/∂θ.

Memory is measured as the peak of the bytes autograd holds for the backward pass (every
tensor saved for a gradient, counted once per storage, from when it is saved until it is
freed) via ``torch.autograd.graph.saved_tensors_hooks``; on CUDA, as the peak of allocated
memory above the starting point.
"""

from __future__ import annotations

import contextlib
import copy
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from engine.cnf import CNFDynamics, VectorField, odesolve
from engine.cnf.model import standard_normal_log_prob
from engine.cnf.solvers import Counted

__all__ = ["STEP_COUNTS", "AdjointPoint", "SavedTensorMeter", "gradient", "adjoint_sweep"]

STEP_COUNTS = (1, 2, 4, 8, 16, 32, 64, 128)


@dataclass(frozen=True)
class AdjointPoint:
    """Both gradients at one number of solver steps: relative error, seconds, peak bytes, evaluations."""

    steps: int
    rel_error: float
    backprop_s: float
    adjoint_s: float
    backprop_bytes: int
    adjoint_bytes: int
    backprop_nfe: int
    adjoint_nfe: int


class _Held:
    """A saved tensor, wrapped so that we learn (by its finalizer) when autograd lets it go."""

    __slots__ = ("tensor", "__weakref__")

    def __init__(self, tensor: Tensor) -> None:
        self.tensor = tensor


class SavedTensorMeter:
    """Within ``with meter:``, the peak bytes of tensors that autograd keeps for backward.

    Leaf tensors that require grad (the parameters) are not counted: they exist anyway.
    """

    def __init__(self) -> None:
        self.current = 0
        self.peak = 0
        self._refs: dict[int, list[int]] = {}  # storage address -> [references, bytes]
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)

    def __enter__(self) -> SavedTensorMeter:
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._hooks.__exit__(*exc)

    def _pack(self, t: Tensor) -> object:
        if t.is_leaf and t.requires_grad:
            return t
        storage = t.untyped_storage()
        key = storage.data_ptr()
        entry = self._refs.setdefault(key, [0, storage.nbytes()])
        if entry[0] == 0:
            self.current += entry[1]
            self.peak = max(self.peak, self.current)
        entry[0] += 1
        held = _Held(t.detach())  # detached: a saved output holding its own grad_fn would make a cycle
        weakref.finalize(held, self._release, key)
        return held

    @staticmethod
    def _unpack(h: object) -> Tensor:
        return h.tensor if isinstance(h, _Held) else h  # type: ignore[return-value]

    def _release(self, key: int) -> None:
        entry = self._refs[key]
        entry[0] -= 1
        if entry[0] == 0:
            self.current -= entry[1]
            del self._refs[key]


def gradient(field: VectorField, x: Tensor, solver: str, steps: int, adjoint: bool,
             meter: bool = True) -> tuple[Tensor, float, int, int]:
    """∂L/∂θ (flat), seconds for forward + backward, peak bytes kept for backward, and the NFE.

    With ``meter`` off nothing watches autograd (the hooks cost time, more so for backprop,
    which saves more): use it for timing, and report 0 bytes on CPU.
    """
    dynamics = CNFDynamics(field)
    dyn = Counted(dynamics)
    times = torch.tensor([1.0, 0.0], dtype=x.dtype, device=x.device)
    params = list(field.parameters())
    cuda = x.device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(x.device)
        base = torch.cuda.memory_allocated(x.device)
        torch.cuda.reset_peak_memory_stats(x.device)
    watch = SavedTensorMeter() if meter and not cuda else contextlib.nullcontext()
    start = time.perf_counter()
    with watch:
        z, delta = odesolve(dyn, dynamics.initial_state(x), times, solver=solver, steps=steps, adjoint=adjoint)
        loss = -(standard_normal_log_prob(z[-1]) - delta[-1]).mean()
        grads = torch.autograd.grad(loss, params)
    if cuda:
        torch.cuda.synchronize(x.device)
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated(x.device) - base if cuda else getattr(watch, "peak", 0)
    return torch.cat([g.flatten() for g in grads]), seconds, int(peak), dyn.nfe


def adjoint_sweep(field: VectorField, x: Tensor, solver: str = "rk4",
                  counts: Sequence[int] = STEP_COUNTS) -> Iterator[AdjointPoint]:
    """One point per number of solver steps, on a copy of the field taken now (training may go on meanwhile)."""
    return _sweep(copy.deepcopy(field), x.clone(), solver, tuple(int(c) for c in counts))


def _measured(field: VectorField, x: Tensor, solver: str, steps: int, adjoint: bool,
              budget: float = 0.3, most: int = 3) -> tuple[Tensor, float, int, int]:
    """Gradient, memory and NFE from a watched run; time from the fastest of a few unwatched runs
    (one at least, more while they are quick): the one least disturbed by other work on the machine."""
    grad, _, peak, nfe = gradient(field, x, solver, steps, adjoint, meter=True)
    best, spent, runs = float("inf"), 0.0, 0
    while runs == 0 or (runs < most and spent < budget):
        seconds = gradient(field, x, solver, steps, adjoint, meter=False)[1]
        best, spent, runs = min(best, seconds), spent + seconds, runs + 1
    return grad, best, peak, nfe


def _sweep(field: VectorField, x: Tensor, solver: str, counts: tuple[int, ...]) -> Iterator[AdjointPoint]:
    for adjoint in (False, True):  # warm-up: the first solve of each kind pays for one-off set-up
        gradient(field, x[:8], solver, 1, adjoint)
    for steps in counts:
        g_bp, t_bp, m_bp, n_bp = _measured(field, x, solver, steps, adjoint=False)
        g_adj, t_adj, m_adj, n_adj = _measured(field, x, solver, steps, adjoint=True)
        err = float((g_adj - g_bp).norm() / g_bp.norm().clamp_min(1e-30))
        yield AdjointPoint(steps, err, t_bp, t_adj, m_bp, m_adj, n_bp, n_adj)
