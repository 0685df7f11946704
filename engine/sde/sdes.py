r"""Stochastic differential equations in the plane, dx = f(x, t) dt + g(t) dw.

Every SDE offers its drift ``f`` on a batch of points ``(n, 2) -> (n, 2)`` and its scalar
diffusion ``g(t)``, both in torch. Those whose drift factors as ``f(x, t) = a(t) h(x)``
say so through :meth:`SDE.drift_split`, which lets the grid solver compute ``h`` once.
The SDEs that are linear in ``x`` (Brownian, OU, VP, VE) solve in closed form,
``x_t = m(t) x_0 + s(t) ε``, so a Gaussian mixture stays a Gaussian mixture under them:
:meth:`LinearSDE.marginal` gives it, the reference of the tests.

>>> sde = SDES["ou"](theta=1.0, sigma=1.0)
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
from .formula import Formula, parse_formula

__all__ = [
    "SDE", "LinearSDE", "Brownian", "OrnsteinUhlenbeck", "VPSDE", "VESDE", "Langevin", "DoubleWell",
    "CustomSDE", "Velocity", "Reverse", "Scale", "ScoreFn", "TimeScoreFn", "VelocityFn",
]

Tensor = torch.Tensor
ScoreFn = Callable[[Tensor], Tensor]  # x (n, 2) -> grad log p (n, 2)
TimeScoreFn = Callable[[Tensor, float], Tensor]  # x (n, 2), t -> grad log p_t (n, 2)
VelocityFn = Callable[[Tensor, float], Tensor]  # x (n, 2), t -> velocity (n, 2)
Scale = Callable[[float], float]  # a(t) in f(x, t) = a(t) h(x)


def _one(t: float) -> float:
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

    def drift_split(self) -> tuple[Scale, Callable[[Tensor], Tensor]] | None:
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

    def drift_split(self) -> tuple[Scale, Callable[[Tensor], Tensor]]:
        return _one, torch.zeros_like

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

    def drift_split(self) -> tuple[Scale, Callable[[Tensor], Tensor]]:
        return _one, lambda x: -self.theta * x

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

    def drift_split(self) -> tuple[Scale, Callable[[Tensor], Tensor]]:
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

    def drift_split(self) -> tuple[Scale, Callable[[Tensor], Tensor]]:
        return _one, torch.zeros_like

    def mean_scale(self, t: float) -> float:
        return 1.0

    def noise_std(self, t: float) -> float:
        return math.sqrt(max(self.sigma(t) ** 2 - self.sigma_min**2, 0.0))


@dataclass
class Langevin(SDE):
    """The Langevin SDE of a density, dx = ½ ∇log p(x) dt + dw: it leaves p unchanged.

    Arguments:
        score: ∇log p, the exact one of an analytic density or a learned one, (n, 2) -> (n, 2).
    """

    score: ScoreFn

    name: ClassVar[str] = "langevin"
    equation: ClassVar[str] = "dx = ½ ∇log p(x) dt + dw"

    def drift(self, x: Tensor, t: float) -> Tensor:
        return 0.5 * self.score(x)

    def diffusion(self, t: float) -> float:
        return 1.0

    def drift_split(self) -> tuple[Scale, Callable[[Tensor], Tensor]]:
        return _one, lambda x: 0.5 * self.score(x)


@dataclass
class DoubleWell(SDE):
    """Gradient flow of U(x, y) = h ((x/a)² − 1)² + y²/2 with noise σ; p_∞ ∝ exp(−2U/σ²).

    Arguments:
        sigma: noise level.  a: the wells sit at x = ±a.  h: the barrier's height.
    """

    sigma: float = 1.0
    a: float = 1.5
    h: float = 1.0

    name: ClassVar[str] = "double-well"
    equation: ClassVar[str] = "dx = −∇U(x) dt + σ dw,  U = h((x/a)² − 1)² + y²/2"
    t_end: ClassVar[float] = 3.0

    def _minus_grad(self, x: Tensor) -> Tensor:
        u = x[:, 0] / self.a
        return torch.stack([-4 * self.h * u * (u * u - 1) / self.a, -x[:, 1]], 1)

    def drift(self, x: Tensor, t: float) -> Tensor:
        return self._minus_grad(x)

    def diffusion(self, t: float) -> float:
        return self.sigma

    def drift_split(self) -> tuple[Scale, Callable[[Tensor], Tensor]]:
        return _one, self._minus_grad


@dataclass
class CustomSDE(SDE):
    """An SDE typed as formulas: drift (f_x, f_y) in x, y, t and diffusion g in t.

    Arguments:
        drift_x, drift_y: formulas for the two components of f (see :mod:`engine.sde.formula`).
        diffusion_text: formula for g(t); it may use t only, since g does not depend on x here.
    """

    drift_x: str = "0"
    drift_y: str = "0"
    diffusion_text: str = "1"

    name: ClassVar[str] = "custom"
    equation: ClassVar[str] = "dx = f(x, y, t) dt + g(t) dw  (your formulas)"

    def __post_init__(self) -> None:
        from ..errors import InputError

        self._fx: Formula = parse_formula(self.drift_x)
        self._fy: Formula = parse_formula(self.drift_y)
        self._g: Formula = parse_formula(self.diffusion_text)
        extra = sorted(self._g.variables - {"t"})
        if extra:
            raise InputError(f"the diffusion g(t) may depend on t only, but '{self.diffusion_text}' uses "
                             f"{' and '.join(extra)}")

    def drift(self, x: Tensor, t: float) -> Tensor:
        return torch.stack([self._fx.torch(x[:, 0], x[:, 1], t), self._fy.torch(x[:, 0], x[:, 1], t)], 1)

    def diffusion(self, t: float) -> float:
        return float(self._g.numpy(np.zeros(1), np.zeros(1), t)[0])

    def drift_split(self) -> tuple[Scale, Callable[[Tensor], Tensor]] | None:
        if "t" in self._fx.variables | self._fy.variables:
            return None
        return _one, lambda x: self.drift(x, 0.0)


@dataclass
class Velocity(SDE):
    """An ODE as an SDE with g = 0, dx = v(x, t) dt: e.g. a CNF's velocity field.

    Its Fokker–Planck equation is the continuity equation ∂p/∂t = −div(v p) of the CNF.

    Arguments:
        velocity: v(x, t), (n, 2) -> (n, 2).
        autonomous: True when v does not depend on t (the grid solver then evaluates it once).
    """

    velocity: VelocityFn
    autonomous: bool = False

    name: ClassVar[str] = "velocity"
    equation: ClassVar[str] = "dx = v(x, t) dt"

    def drift(self, x: Tensor, t: float) -> Tensor:
        return self.velocity(x, t)

    def diffusion(self, t: float) -> float:
        return 0.0

    def drift_split(self) -> tuple[Scale, Callable[[Tensor], Tensor]] | None:
        return (_one, lambda x: self.velocity(x, 0.0)) if self.autonomous else None


@dataclass
class Reverse(SDE):
    """The reverse-time SDE of a forward one, run in its own time τ = T − t from τ = 0:

        dx = [g(t)² s(x, t) − f(x, t)] dτ + g(t) dw,  t = T − τ,

    where s(x, t) = ∇log p_t(x) is the forward marginals' score (exact, or a learned one):
    started from p_T it passes through p_t in reverse and ends at p_0.

    Arguments:
        forward: the forward SDE.  score: s(x, t) in the forward time.  t_start: T.

    References:
        B. D. O. Anderson, Reverse-time diffusion equation models (1982).
    """

    forward: SDE
    score: TimeScoreFn
    t_start: float = 1.0

    name: ClassVar[str] = "reverse"
    equation: ClassVar[str] = "dx = [g² ∇log p_t(x) − f(x, t)] dτ + g dw,  t = T − τ"

    def default_t_end(self) -> float:
        return self.t_start

    def drift(self, x: Tensor, t: float) -> Tensor:
        s = self.t_start - t
        return self.forward.diffusion(s) ** 2 * self.score(x, s) - self.forward.drift(x, s)

    def diffusion(self, t: float) -> float:
        return self.forward.diffusion(self.t_start - t)
