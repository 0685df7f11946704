r"""The exact noise predictor and classifier of a Gaussian mixture under noising.

A mixture Σ_k w_k N(μ_k, σ_k² I) noised to x_τ = a x_0 + s ε stays a mixture,
Σ_k w_k N(a μ_k, (a² σ_k² + s²) I), so its score, its ε = −s ∇ log p_τ and its class
posterior p(k | x_τ) are closed forms. They stand in for the networks wherever the truth
is wanted: in tests of the samplers and guidance, and in views that compare a trained
field with the true one.

References:
    | Score-Based Generative Modeling through SDEs (Song et al., 2021) https://arxiv.org/abs/2011.13456
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..densities.analytic import GaussianMixture
from .model import DiffusionModel
from .schedules import NoiseProcess

__all__ = ["MixtureEps", "MixtureClassifier", "mixture_in", "exact_model"]


def mixture_in(density: GaussianMixture, shift: np.ndarray, scale: float) -> tuple[Tensor, Tensor, Tensor]:
    """Means (K, 2), stds (K,) and log-weights (K,) of the mixture in normalised coordinates (float64)."""
    means = (torch.as_tensor(density.means, dtype=torch.float64) - torch.as_tensor(shift, dtype=torch.float64)) / scale
    stds = torch.as_tensor(density.stds, dtype=torch.float64) / scale
    return means, stds, torch.as_tensor(np.log(density.weights), dtype=torch.float64)


class _Mixture(nn.Module):
    means: Tensor  # buffers, declared for the type checker
    stds: Tensor
    log_weights: Tensor

    def __init__(self, means: Tensor, stds: Tensor, log_weights: Tensor, process: NoiseProcess) -> None:
        super().__init__()
        self.register_buffer("means", means.double())
        self.register_buffer("stds", stds.double())
        self.register_buffer("log_weights", log_weights.double())
        self.process = process

    def _components(self, x: Tensor, tau: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """log w_k N(x; a μ_k, v_k I) (n, K), the noisy means (K, 2), variances (K,) and s."""
        a, s = self.process.marginal(torch.as_tensor(tau, dtype=torch.float64).reshape(()))
        a, s = a.to(x.device), s.to(x.device)
        mu = a * self.means
        var = a**2 * self.stds**2 + s**2
        d2 = ((x.double()[:, None, :] - mu[None]) ** 2).sum(-1)
        logp = self.log_weights - 0.5 * d2 / var - torch.log(2 * math.pi * var)
        return logp, mu, var, s


class MixtureEps(_Mixture):
    """ε(x_τ, τ, y) = −s ∇ log p_τ(x_τ | y) of a Gaussian mixture; y = None or ``num_classes`` is ∅ (the mixture).

    Arguments:
        means (K, 2), stds (K,), log_weights (K,): the mixture in normalised coordinates.
        process: the noise process.  conditional: whether labels select a component.

    Example:
        >>> from engine.diffusion.schedules import VPSchedule
        >>> vp = VPSchedule(100)
        >>> eps = MixtureEps(torch.zeros(1, 2), torch.ones(1), torch.zeros(1), vp)  # N(0, I) data
        >>> x, tau = torch.randn(4, 2), torch.tensor(0.5)
        >>> torch.allclose(eps(x, tau), vp.noise(tau).float() * x)  # ε = s x for standard normal data
        True
    """

    def __init__(self, means: Tensor, stds: Tensor, log_weights: Tensor, process: NoiseProcess,
                 conditional: bool = False) -> None:
        super().__init__(means, stds, log_weights, process)
        self.num_classes = len(means) if conditional else 0

    @property
    def null_label(self) -> int:
        return self.num_classes

    def forward(self, x: Tensor, tau: Tensor, y: Tensor | None = None) -> Tensor:
        """(n, 2) points, a scalar time, labels None / scalar / (n,) -> ε (n, 2) in x's dtype."""
        logp, mu, var, s = self._components(x, tau)
        if y is not None and self.num_classes:
            yy = torch.as_tensor(y, device=x.device).long().reshape(-1).expand(len(x))
            chosen = torch.nn.functional.one_hot(yy.clamp(max=self.num_classes - 1), self.num_classes).bool()
            keep = chosen | (yy == self.null_label)[:, None]
            logp = logp.masked_fill(~keep, -math.inf)
        r = torch.softmax(logp, dim=1)
        score = (r[:, :, None] * (mu[None] - x.double()[:, None, :]) / var[None, :, None]).sum(1)
        return (-s * score).to(x.dtype)


class MixtureClassifier(_Mixture):
    """The exact noisy class posterior p(k | x_τ) of a Gaussian mixture (drop-in for :class:`NoisyClassifier`)."""

    def log_probs(self, x: Tensor, tau: Tensor) -> Tensor:
        """log p(k | x_τ), (n, K)."""
        logp, _, _, _ = self._components(x, tau)
        return torch.log_softmax(logp, dim=1).to(x.dtype)

    def grad_log_prob(self, x: Tensor, tau: Tensor, y: Tensor | int) -> Tensor:
        """∇_x log p(y | x_τ), (n, 2): the component's pull minus the posterior-weighted pull."""
        logp, mu, var, _ = self._components(x, tau)
        r = torch.softmax(logp, dim=1)
        pulls = (mu[None] - x.double()[:, None, :]) / var[None, :, None]  # ∇ log N_k, (n, K, 2)
        yy = torch.as_tensor(y, device=x.device).long().reshape(-1).expand(len(x))
        own = pulls[torch.arange(len(x)), yy]
        return (own - (r[:, :, None] * pulls).sum(1)).to(x.dtype)


def exact_model(density: GaussianMixture, process: NoiseProcess, shift: np.ndarray | tuple[float, float] = (0.0, 0.0),
                scale: float = 1.0, kind: str = "ddpm", config: dict[str, Any] | None = None) -> DiffusionModel:
    """The true diffusion model of a Gaussian mixture: exact ε, exact noisy classifier, any sampler.

    Give it a trained model's ``process``, ``shift``, ``scale``, ``kind`` and ``config`` to
    draw the true fields beside the learned ones.
    """
    means, stds, log_w = mixture_in(density, np.asarray(shift, np.float64), float(scale))
    labelled = density.num_classes > 0
    eps = MixtureEps(means, stds, log_w, process, conditional=labelled)
    clf = MixtureClassifier(means, stds, log_w, process) if labelled else None
    cfg = {**(config or {}), "shift": [float(v) for v in np.asarray(shift, np.float64)], "scale": float(scale)}
    cfg.setdefault("box", [float(v) for v in density.box])
    return DiffusionModel(kind, eps, process, cfg, clf)
