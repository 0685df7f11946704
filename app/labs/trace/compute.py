r"""What the trace lab computes (no Qt): divergence maps, the Jacobians whose estimator variance it
charts (measured and in closed form by engine.cnf.divergence), and FFJORD's cost argument.

The cost sweep times, for a random MLP field R^m → R^m, the exact trace (m backward passes)
against one Hutchinson vector-Jacobian product, as m grows.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from engine.cnf import TraceEstimator, VectorField
from engine.cnf.divergence import autograd_hutchinson, autograd_trace, sample_probes
from engine.densities import Box, grid_points

__all__ = ["PROBE_COUNTS", "COST_DIMS", "DivergenceMaps", "CostPoint", "divergence_maps", "jacobians", "cost_sweep"]

PROBE_COUNTS = (1, 2, 4, 8, 16, 32, 64)
COST_DIMS = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


@dataclass(frozen=True)
class DivergenceMaps:
    """tr(∂f/∂z) exactly and as one K-probe estimate, (n, n) float32 each, at time t."""

    t: float
    exact: np.ndarray
    estimate: np.ndarray
    probe: str
    k: int


def _grid(box: Box, n: int, field: VectorField) -> torch.Tensor:
    p = next(field.parameters())
    return torch.from_numpy(grid_points(box, n)[2]).to(device=p.device, dtype=p.dtype)


def divergence_maps(field: VectorField, box: Box, t: float, probe: str, k: int, seed: int,
                    n: int = 48) -> DivergenceMaps:
    """Exact trace from the d basis tangents; the estimate from k fresh probes per point, both via f's JVP."""
    x = _grid(box, n, field)
    basis = TraceEstimator().tangents(len(x), 2, x.device, x.dtype)
    v = sample_probes(probe, k, len(x), 2, generator=torch.Generator().manual_seed(seed)).to(x)
    with torch.no_grad():
        exact = TraceEstimator().trace(basis, field.jvp(t, x, basis)[1])
        est = TraceEstimator(exact=False, probe=probe, k=k).trace(v, field.jvp(t, x, v)[1])
    as_map = lambda a: np.ascontiguousarray(a.float().cpu().numpy().reshape(n, n))  # noqa: E731
    return DivergenceMaps(float(t), as_map(exact), as_map(est), probe, k)


def jacobians(field: VectorField, box: Box, t: float, n: int = 16) -> np.ndarray:
    """∂f/∂z at the n x n grid points, (n*n, 2, 2) float64, J[p, i, j] = ∂f_i/∂z_j."""
    x = _grid(box, n, field)
    basis = TraceEstimator().tangents(len(x), 2, x.device, x.dtype)
    with torch.no_grad():
        jv = field.jvp(t, x, basis)[1]  # jv[j, p, i] = ∂f_i/∂z_j
    return jv.permute(1, 2, 0).double().cpu().numpy()


@dataclass(frozen=True)
class CostPoint:
    """Seconds for one batch at dimension m: forward + exact trace, and forward + one Hutchinson VJP."""

    m: int
    exact_s: float
    hutchinson_s: float


def _mlp(m: int, width: int, gen: torch.Generator) -> nn.Module:
    net = nn.Sequential(nn.Linear(m, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(), nn.Linear(width, m))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) / max(p.shape[-1], 1) ** 0.5)
    return net


def _timed(fn: Callable[[], object], budget: float = 0.25, most: int = 5) -> float:
    """Best of a few runs: the least disturbed by the machine's other work. Quick calls run at
    least three times (one unlucky run must not make a point); slow ones stop at the budget."""
    fn()  # warm-up: the first call pays for allocations and lazy set-up
    best, spent, runs = float("inf"), 0.0, 0
    while runs < most:
        start = time.perf_counter()
        fn()
        took = time.perf_counter() - start
        best, spent, runs = min(best, took), spent + took, runs + 1
        if spent >= budget and (runs >= 3 or took > 0.1):
            break
    return best


def _exact(net: nn.Module, z: torch.Tensor) -> torch.Tensor:
    zz = z.clone().requires_grad_(True)
    return autograd_trace(net(zz), zz)


def _hutchinson(net: nn.Module, z: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    zz = z.clone().requires_grad_(True)
    return autograd_hutchinson(net(zz), zz, v)


def cost_sweep(dims: Sequence[int] = COST_DIMS, batch: int = 32, width: int = 128,
               seed: int = 0) -> Iterator[CostPoint]:
    """One point per dimension m: the exact trace grows like m², Hutchinson's like m (f itself costs O(m))."""
    gen = torch.Generator().manual_seed(seed)
    for m in dims:
        net = _mlp(int(m), width, gen)
        z = torch.randn(batch, int(m), generator=gen)
        v = sample_probes("rademacher", 1, batch, int(m), generator=gen)
        exact = _timed(functools.partial(_exact, net, z))
        hutch = _timed(functools.partial(_hutchinson, net, z, v))
        yield CostPoint(int(m), exact, hutch)
