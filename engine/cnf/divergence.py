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

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["PROBES", "TraceEstimator", "sample_probes", "autograd_trace", "autograd_hutchinson"]

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
