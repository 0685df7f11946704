"""What the Langevin lab follows: the true score of an analytic density or a diffusion model's
learned one, with log p for MALA and the noisy scores of an annealing ladder.

Coordinates are the density's model coordinates throughout (the heatmap's and the particles').
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from engine.checkpoint import TrainedModel
from engine.densities import Density
from engine.densities.analytic import GaussianMixture
from engine.errors import InputError
from engine.sde import Level, geometric_sigmas, langevin_for, noised_mixture

from .fast_mixture import FastMixture

__all__ = ["Target", "true_target", "learned_target", "ladder", "LEVELS", "STEPS_PER_LEVEL"]

Tensor = torch.Tensor
ScoreFn = Callable[[Tensor], Tensor]

LEVELS = 10  # annealing levels, as in NCSN
STEPS_PER_LEVEL = 100
SIGMA_MIN = 0.1  # the last level's noise for an analytic mixture (its components have σ ≈ 0.35-0.5)
LEARNED_NOISE = 0.05  # noise level of the learned score, in the model's normalised units


@dataclass(frozen=True)
class Target:
    """A score to follow and what comes with it.

    Attributes:
        label: what the lab's status line says about it (HTML).
        score: ∇log p, (n, 2) -> (n, 2).  log_prob: log p up to a constant (for MALA), or None.
        noisy_score: σ -> score of p blurred by noise σ, for annealing, or None.
        sigma_max, sigma_min: the annealing ladder's first and last noise levels.
    """

    label: str
    score: ScoreFn
    log_prob: ScoreFn | None = None
    noisy_score: Callable[[float], ScoreFn] | None = None
    sigma_max: float = 1.0
    sigma_min: float = SIGMA_MIN


def _mixture_target(density: GaussianMixture) -> Target:
    exact = FastMixture(density)
    cache: dict[float, ScoreFn] = {}

    def noisy(sigma: float) -> ScoreFn:
        if sigma not in cache:
            cache[sigma] = FastMixture(noised_mixture(density, sigma)).score
        return cache[sigma]

    means = np.asarray(density.means)
    # NCSN's rule: the first level's noise is about the largest distance between two modes
    spread = float(np.sqrt(((means[:, None] - means[None]) ** 2).sum(-1).max()))
    return Target("true score ∇log p", exact.score, exact.log_prob, noisy, max(1.0, spread), SIGMA_MIN)


def true_target(density: Density) -> Target:
    """The density's own score; InputError when it has none that Langevin can use."""
    langevin_for(density)  # refuses densities known only by samples, or zero in places
    if isinstance(density, GaussianMixture):
        return _mixture_target(density)
    return Target("true score ∇log p", density.score, density.log_prob)


def _learned_score(trained: TrainedModel, tau: float) -> ScoreFn:
    model = trained.model

    def score(x: Tensor) -> Tensor:
        return torch.from_numpy(model.score(x.detach().cpu().numpy(), tau)).to(x)

    return score


def learned_target(trained: TrainedModel | None) -> Target:
    """A diffusion model's score s_θ(x, τ₀) at a small noise level τ₀; annealing walks its own levels."""
    if trained is None:
        raise InputError("no model yet: train a DDPM or NCSN model to use its learned score")
    if trained.kind not in ("ddpm", "ncsn"):
        raise InputError(f"a {trained.kind.upper()} learns a velocity, not a score: train a DDPM or NCSN model")
    model = trained.model
    taus = torch.linspace(0.0, 1.0, 2001, dtype=torch.float64)
    noise = model.process.noise(taus).numpy()  # normalised units, increasing in τ
    tau0 = float(taus[int(np.searchsorted(noise, LEARNED_NOISE))].item()) if noise[-1] > LEARNED_NOISE else 0.0
    scale = float(model.scale)

    def noisy(sigma: float) -> ScoreFn:
        return _learned_score(trained, float(np.interp(sigma / scale, noise, taus.numpy())))

    sigma0 = scale * float(model.process.noise(torch.tensor(tau0, dtype=torch.float64)))
    label = f"learned score s<sub>θ</sub>(x, τ = {tau0:.3f}), noise σ = {sigma0:.2f}"
    return Target(label, _learned_score(trained, tau0), None, noisy, scale * float(noise[-1]), sigma0)


def ladder(target: Target, eta: float, steps: int = STEPS_PER_LEVEL) -> list[Level]:
    """NCSN's annealing levels σ_1 > … > σ_L with η_i = η σ_i²/σ_L² (η is the last level's step).

    Each η_i is capped at σ_i²: p blurred by σ has variance at least σ², and on a Gaussian of
    variance v the Langevin step stays stable only for η < 4v, so a large η cannot blow up the
    first levels (NCSN's own ε gives η_i/σ_i² = 0.2, well below the cap).
    """
    if target.noisy_score is None:
        raise InputError("annealing needs the score of the density blurred by noise: a Gaussian mixture's "
                         "closed form or a diffusion model's levels")
    sigmas = geometric_sigmas(target.sigma_max, target.sigma_min, LEVELS)
    return [Level(target.noisy_score(s), min(eta * (s / sigmas[-1]) ** 2, s * s), steps, s) for s in sigmas]
