r"""The divergence tr(∂f/∂z): exactly, or by Hutchinson's estimator.

Both are written as reductions of Jacobian-vector products (∂f/∂z) v over a set of
tangents v: the d basis vectors give the exact trace Σ_i e_iᵀ J e_i; random probes with
E[v] = 0 and cov(v) = I give Hutchinson's unbiased estimate tr(J) = E[vᵀ J v], averaged
over K probes. The same products give the squared Frobenius norm ‖J‖²_F = Σ_i ‖J e_i‖²
= E‖J v‖² that the RNODE regularizer penalises. The probes are drawn once per solve
(FFJORD): a probe that changed inside a solve would make the integrand noisy in t and
break an adaptive solver's error control.

Autograd versions (:func:`autograd_trace`, :func:`autograd_hutchinson`) work for any
differentiable field; the tests use them to check the closed forms.

References:
    | A stochastic estimator of the trace of the influence matrix for Laplacian smoothing
    | splines (Hutchinson, 1990)
    | FFJORD (Grathwohl et al., 2019) https://arxiv.org/abs/1810.01367
    | How to train your neural ODE (Finlay et al., 2020) https://arxiv.org/abs/2002.02798
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = ["PROBES", "TraceEstimator", "sample_probes", "autograd_trace", "autograd_hutchinson", "probe_variance",
           "theory_variance"]

PROBES = ("gaussian", "rademacher")


def sample_probes(
    kind: str, k: int, n: int, d: int, *, generator: torch.Generator | None = None,
    device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
) -> Tensor:
    """K probes per point, (k, n, d), with zero mean and identity covariance."""
    if kind == "gaussian":
        return torch.randn(k, n, d, generator=generator, device=device, dtype=dtype)
    if kind == "rademacher":
        bits = torch.randint(0, 2, (k, n, d), generator=generator, device=device)
        return (2 * bits - 1).to(dtype)
    raise ValueError(f"unknown probe '{kind}'; choose one of {', '.join(PROBES)}")


@dataclass(frozen=True)
class TraceEstimator:
    """How the divergence is computed from tangents.

    Arguments:
        exact: the d basis vectors as tangents (exact trace), else random probes.
        probe: ``gaussian`` or ``rademacher`` (Hutchinson only).
        k: probes per point (Hutchinson only).
    """

    exact: bool = True
    probe: str = "gaussian"
    k: int = 1

    def tangents(
        self, n: int, d: int, device: torch.device | str, dtype: torch.dtype, generator: torch.Generator | None = None
    ) -> Tensor:
        """(d, 1, d) basis vectors shared by the batch, or fresh probes (k, n, d)."""
        if self.exact:
            return torch.eye(d, device=device, dtype=dtype)[:, None, :]
        return sample_probes(self.probe, self.k, n, d, generator=generator, device=device, dtype=dtype)

    def trace(self, v: Tensor, jv: Tensor) -> Tensor:
        """tr(∂f/∂z), (n,), from tangents v and products jv = (∂f/∂z) v, (k, n, d)."""
        if self.exact:  # v is the basis: the diagonal entries of the Jacobian
            return jv.diagonal(dim1=0, dim2=2).sum(-1)
        return (v * jv).sum(-1).mean(0)

    def frobenius(self, jv: Tensor) -> Tensor:
        """‖∂f/∂z‖²_F, (n,), exactly or as Hutchinson's estimate E‖J v‖²."""
        sq = jv.square().sum(-1)
        return sq.sum(0) if self.exact else sq.mean(0)


def autograd_trace(f: Tensor, z: Tensor, create_graph: bool = False) -> Tensor:
    """Exact tr(∂f/∂z), (n,), by one backward pass per dimension (f (n, d) computed from z)."""
    return sum(
        torch.autograd.grad(f[:, i].sum(), z, create_graph=create_graph, retain_graph=True)[0][:, i]
        for i in range(z.shape[1])
    )  # type: ignore[return-value]


def autograd_hutchinson(f: Tensor, z: Tensor, v: Tensor, create_graph: bool = False) -> Tensor:
    """Hutchinson's estimate mean_k v_kᵀ (∂f/∂z) v_k, (n,), by vector-Jacobian products; v is (k, n, d)."""
    est = [
        (torch.autograd.grad(f, z, vk, create_graph=create_graph, retain_graph=True)[0] * vk).sum(1) for vk in v
    ]
    return torch.stack(est).mean(0)


def probe_variance(jac: np.ndarray, probe: str, counts: Sequence[int], draws: int = 1024,
                   seed: int = 0) -> np.ndarray:
    """Measured variance of the K-probe estimate of tr(J) for each K in ``counts``, averaged over the
    points of ``jac`` (p, d, d), (len(counts),).

    A pool of ``draws`` single-probe estimates vᵀJv per point is split into groups of K; the
    variance of the group means is measured directly (no 1/K assumed).
    """
    gen = torch.Generator().manual_seed(seed)
    v = sample_probes(probe, draws, len(jac), jac.shape[-1], generator=gen).double().numpy()
    single = np.einsum("kpi,pij,kpj->kp", v, jac, v)  # (draws, points)
    out = []
    for k in counts:
        groups = single[: (draws // k) * k].reshape(draws // k, k, -1).mean(1)
        out.append(groups.var(0, ddof=1).mean())
    return np.asarray(out)


def theory_variance(jac: np.ndarray, probe: str, counts: Sequence[int]) -> np.ndarray:
    """Var of the K-probe estimate of tr(J) in closed form, averaged over the points of ``jac`` (p, d, d),
    (len(counts),): Var₁/K with Var₁ = 2‖S‖²_F for Gaussian probes and 2(‖S‖²_F − Σ S_ii²) for
    Rademacher ones (v_i² = 1 removes the diagonal's noise), S the symmetric part of J."""
    s = 0.5 * (jac + jac.transpose(0, 2, 1))
    fro = (s**2).sum((1, 2))
    one = 2 * fro if probe == "gaussian" else 2 * (fro - (np.diagonal(s, axis1=1, axis2=2) ** 2).sum(1))
    return float(one.mean()) / np.asarray(counts, np.float64)
