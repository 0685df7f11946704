r"""Stochastic differential equations in the plane, dx = f(x, t) dt + g(t) dw: the base
class and the SDEs that are linear in x (the others are in :mod:`engine.sde.nonlinear`).

Every SDE offers its drift ``f`` on a batch of points ``(n, 2) -> (n, 2)`` and its scalar
diffusion ``g(t)``, both in torch. Those whose drift factors as ``f(x, t) = a(t) h(x)``
say so through :meth:`SDE.drift_split`, which lets the grid solver compute ``h`` once.
The SDEs that are linear in ``x`` (Brownian, OU, VP, VE) solve in closed form,
``x_t = m(t) x_0 + s(t) ε``, so a Gaussian mixture stays a Gaussian mixture under them:
:meth:`LinearSDE.marginal` gives it, the reference of the tests.

>>> sde = OrnsteinUhlenbeck(theta=1.0, sigma=1.0)
>>> sde.drift(torch.ones(3, 2), 0.0).shape
torch.Size([3, 2])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ..densities.analytic import GaussianMixture

__all__ = [
    "SDE", "LinearSDE", "Brownian", "OrnsteinUhlenbeck", "VPSDE", "VESDE", "Scale", "ScoreFn", "Split", "TimeScoreFn",
    "VelocityFn", "one",
]

Tensor = torch.Tensor
ScoreFn = Callable[[Tensor], Tensor]  # x (n, 2) -> grad log p (n, 2)
TimeScoreFn = Callable[[Tensor, float], Tensor]  # x (n, 2), t -> grad log p_t (n, 2)
VelocityFn = Callable[[Tensor, float], Tensor]  # x (n, 2), t -> velocity (n, 2)
Scale = Callable[[float], float]  # a(t) in f(x, t) = a(t) h(x)
Split = tuple[Scale, Callable[[Tensor], Tensor]]  # (a, h)


def one(t: float) -> float:
    """The scale a(t) = 1 of a drift that does not change in time."""
    return 1.0


class SDE:
    """dx = f(x, t) dt + g(t) dw; subclasses define :meth:`drift` and :meth:`diffusion`."""

    name: ClassVar[str] = "sde"
    equation: ClassVar[str] = "dx = f(x, t) dt + g(t) dw"
    t_end: ClassVar[float] = 1.0  # a duration over which the motion is worth watching

    def drift(self, x: Tensor, t: float) -> Tensor:
        """f(x, t) at points ``x`` (n, 2) -> (n, 2)."""
        raise NotImplementedError

    def diffusion(self, t: float) -> float:
        """g(t), the same for every point."""
        raise NotImplementedError

    def drift_split(self) -> Split | None:
        """``(a, h)`` with f(x, t) = a(t) h(x) when the drift factors so; None otherwise."""
        return None

    def default_t_end(self) -> float:
        return self.t_end


class LinearSDE(SDE):
    """An SDE solved by x_t = m(t) x_0 + s(t) ε (isotropic, no mean shift)."""

    def mean_scale(self, t: float) -> float:
        """m(t)."""
        raise NotImplementedError

    def noise_std(self, t: float) -> float:
        """s(t)."""
        raise NotImplementedError

    def marginal(self, density: GaussianMixture, t: float) -> GaussianMixture:
        """p_t when p_0 is a Gaussian mixture: means m μ_k, variances m² σ_k² + s²."""
        m, s = self.mean_scale(t), self.noise_std(t)
        return GaussianMixture(f"{density.name}@t={t:g}", means=m * density.means,
                               stds=np.sqrt(m**2 * density.stds**2 + s**2), weights=density.weights,
                               labelled=density.labelled)

    def marginal_score(self, density: GaussianMixture) -> TimeScoreFn:
        """The exact score ∇log p_t(x) of the marginals, as s(x, t): what a perfect model learns."""
        return lambda x, t: self.marginal(density, t).score(x)


@dataclass
class Brownian(LinearSDE):
    """Brownian motion, dx = σ dw."""

    sigma: float = 1.0

    name: ClassVar[str] = "brownian"
    equation: ClassVar[str] = "dx = σ dw"

    def drift(self, x: Tensor, t: float) -> Tensor:
        return torch.zeros_like(x)

    def diffusion(self, t: float) -> float:
        return self.sigma

    def drift_split(self) -> Split:
        return one, torch.zeros_like

    def mean_scale(self, t: float) -> float:
        return 1.0

    def noise_std(self, t: float) -> float:
        return self.sigma * math.sqrt(t)


@dataclass
class OrnsteinUhlenbeck(LinearSDE):
    """Ornstein–Uhlenbeck, dx = −θ x dt + σ dw; stationary law N(0, σ²/(2θ) I)."""

    theta: float = 1.0
    sigma: float = 1.0

    name: ClassVar[str] = "ou"
    equation: ClassVar[str] = "dx = −θ x dt + σ dw"

    def drift(self, x: Tensor, t: float) -> Tensor:
        return -self.theta * x

    def diffusion(self, t: float) -> float:
        return self.sigma

    def drift_split(self) -> Split:
        return one, lambda x: -self.theta * x

    def default_t_end(self) -> float:
        return 2.0 / self.theta  # most of the way to the stationary law (e^-2)

    def mean_scale(self, t: float) -> float:
        return math.exp(-self.theta * t)

    def noise_std(self, t: float) -> float:
        return self.sigma * math.sqrt(-math.expm1(-2 * self.theta * t) / (2 * self.theta))


@dataclass
class VPSDE(LinearSDE):
    """Forward variance-preserving diffusion, dx = −½ β(t) x dt + √β(t) dw, β(t) = β_min + t (β_max − β_min).

    The continuous limit of DDPM's linear schedule (β_min = 0.1, β_max = 20 match β from 1e-4
    to 0.02 over T = 1000 steps); x_t = √ᾱ(t) x_0 + √(1 − ᾱ(t)) ε with ᾱ(t) = exp(−∫β).

    References:
        Song et al., Score-Based Generative Modeling through Stochastic Differential Equations (2021).
    """

    beta_min: float = 0.1
    beta_max: float = 20.0

    name: ClassVar[str] = "vp"
    equation: ClassVar[str] = "dx = −½ β(t) x dt + √β(t) dw"

    def beta(self, t: float) -> float:
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def drift(self, x: Tensor, t: float) -> Tensor:
        return -0.5 * self.beta(t) * x

    def diffusion(self, t: float) -> float:
        return math.sqrt(self.beta(t))

    def drift_split(self) -> Split:
        return lambda t: 0.5 * self.beta(t), torch.neg

    def log_alpha_bar(self, t: float) -> float:
        """log ᾱ(t) = −∫_0^t β(s) ds."""
        return -(self.beta_min * t + 0.5 * t * t * (self.beta_max - self.beta_min))

    def mean_scale(self, t: float) -> float:
        return math.exp(0.5 * self.log_alpha_bar(t))

    def noise_std(self, t: float) -> float:
        return math.sqrt(-math.expm1(self.log_alpha_bar(t)))


@dataclass
class VESDE(LinearSDE):
    """Forward variance-exploding diffusion, dx = √(d σ²(t)/dt) dw, σ(t) = σ_min (σ_max/σ_min)^t.

    References:
        Song et al., Score-Based Generative Modeling through Stochastic Differential Equations (2021).
    """

    sigma_min: float = 0.01
    sigma_max: float = 2.0

    name: ClassVar[str] = "ve"
    equation: ClassVar[str] = "dx = σ(t) √(2 log(σ_max/σ_min)) dw"

    def sigma(self, t: float) -> float:
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** t

    def drift(self, x: Tensor, t: float) -> Tensor:
        return torch.zeros_like(x)

    def diffusion(self, t: float) -> float:
        return self.sigma(t) * math.sqrt(2 * math.log(self.sigma_max / self.sigma_min))

    def drift_split(self) -> Split:
        return one, torch.zeros_like

    def mean_scale(self, t: float) -> float:
        return 1.0

    def noise_std(self, t: float) -> float:
        return math.sqrt(max(self.sigma(t) ** 2 - self.sigma_min**2, 0.0))
