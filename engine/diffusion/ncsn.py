r"""NCSN: denoising score matching over noise levels and annealed Langevin dynamics.

The score network is parametrised through the noise predictor, s_θ(x, σ) = −ε_θ(x, σ)/σ
(the 1/σ scaling of Song & Ermon, 2020). Denoising score matching at level σ with
weight λ(σ) = σ² (Song & Ermon, 2019; Vincent, 2011)::

    σ² ‖s_θ(x̃, σ) − ∇ log q(x̃ | x)‖²,   x̃ = x + σ ε,   ∇ log q(x̃ | x) = −(x̃ − x)/σ²

which equals ‖ε_θ − ε‖²: DDPM's L_simple with σ levels instead of √(1 − ᾱ).

Annealed Langevin dynamics visits the levels from the noisiest down, taking a few steps
at each::

    x ← x + (η_i / 2) s_θ(x, σ_i) + √η_i z,   η_i = η · σ_i² / σ_min²

and ends with one denoising step x̂ = x + σ_min² s_θ(x, σ_min) (Tweedie).

References:
    | Generative Modeling by Estimating Gradients of the Data Distribution (Song & Ermon, 2019)
    |   https://arxiv.org/abs/1907.05600
    | Improved Techniques for Training Score-Based Generative Models (Song & Ermon, 2020)
    |   https://arxiv.org/abs/2006.09011
    | A Connection Between Score Matching and Denoising Autoencoders (Vincent, 2011)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from .ddpm import pick_levels
from .schedules import NoiseProcess

__all__ = ["dsm_loss", "LangevinStep", "annealed_langevin", "geometric_levels"]

EpsFn = Callable[[Tensor, Tensor], Tensor]


def dsm_loss(eps_fn: EpsFn, process: NoiseProcess, x0: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Denoising score matching, λ(σ) = σ², levels uniform: a scalar.

    ``eps_fn(x̃, τ)`` receives per-point times τ (n,); the score is −ε_θ/σ.
    """
    t = torch.randint(1, process.num_levels + 1, (len(x0),), generator=generator, device="cpu")
    noise = torch.randn(x0.shape, generator=generator, device="cpu").to(x0)
    tau = process.level_time(t)
    sigma = process.noise(tau).to(x0)[:, None]
    x_noisy = process.add_noise(x0, noise, t)
    score = -eps_fn(x_noisy, tau.to(x0)) / sigma
    target = -(x_noisy - process.signal(tau).to(x0)[:, None] * x0) / sigma**2
    return (sigma**2 * (score - target) ** 2).sum(1).mean()


@dataclass(frozen=True)
class LangevinStep:
    """One Langevin step: level (1 … L), its time τ, the points after the step and their x̂_0, (n, 2)."""

    level: int
    tau: float
    x: Tensor
    x0: Tensor


def geometric_levels(process: NoiseProcess, n: int) -> Tensor:
    """n levels, noisiest first, whose noise s(τ) is as close as can be to a geometric sequence, (n,) long.

    NCSN's σ levels are geometric already; DDPM's evenly spaced levels are not (s grows
    fast at first), and annealing wants each level's noise a fixed factor below the last.
    """
    every = pick_levels(process.num_levels, process.num_levels)  # L … 1
    log_s = process.noise(process.level_time(every)).log()
    if n >= len(every):
        return every
    targets = torch.linspace(float(log_s[0]), float(log_s[-1]), n, dtype=torch.float64)
    picked = [int(torch.argmin((log_s - v).abs())) for v in targets]
    return every[torch.tensor(sorted(set(picked)))]


def annealed_langevin(eps_fn: EpsFn, process: NoiseProcess, x: Tensor, levels: int | None = None,
                      steps_per_level: int = 10, step_size: float = 0.1,
                      generator: torch.Generator | None = None) -> Iterator[LangevinStep]:
    """Annealed Langevin dynamics from the noisiest chosen level down to the least noisy.

    Arguments:
        eps_fn: ε_θ(x, τ) with a scalar τ.
        x: starting points (n, 2), usually N(0, s(1)² I).
        levels: how many of the process's levels to visit (spread geometrically in noise,
            :func:`geometric_levels`); all by default.
        steps_per_level: Langevin steps at each level.
        step_size: η_i / s_i², the step relative to the level's variance (η of the docstring
            above is ``step_size · s_min²``).

    Yields:
        a :class:`LangevinStep` after every step, and a final one after the denoising step.
    """
    chosen = geometric_levels(process, levels or process.num_levels)
    for level in chosen.tolist():
        tau = process.level_time(level)
        a, s = (float(v) for v in process.marginal(tau))
        eta = step_size * s * s
        tt = torch.as_tensor(float(tau))
        for _ in range(steps_per_level):
            eps = eps_fn(x, tt)
            z = torch.randn(x.shape, generator=generator, device="cpu").to(x)
            x0 = (x - s * eps) / a
            x = x - (0.5 * eta / s) * eps + math.sqrt(eta) * z  # (η/2) s_θ with s_θ = −ε/s
            yield LangevinStep(level, float(tau), x, x0)
    eps = eps_fn(x, tt)
    x = (x - s * eps) / a  # Tweedie: E[x_0 | x] = (x + s² ∇ log p)/a
    yield LangevinStep(0, float(tau), x, x)
