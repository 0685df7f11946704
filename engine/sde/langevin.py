r"""Langevin dynamics samplers: x ← x + (η/2) ∇log p(x) + √η ε.

Three flavours, all generators of :class:`LangevinFrame`:

* :func:`langevin` — plain (unadjusted) Langevin with any score, analytic or learned. Its
  stationary law is p only as η → 0 (step-size bias), and it cannot move mass between
  modes separated by regions of low density: on the 1/5–4/5 mixture ``twomodes`` started
  from uniform noise it keeps roughly the shares in which particles fell into each basin.
* :func:`annealed_langevin` — NCSN's annealed Langevin dynamics: a sequence of noise levels
  σ_1 > … > σ_L, running Langevin on p convolved with N(0, σ_i² I) with η_i = ε σ_i²/σ_L².
  The broad first levels let mass settle between modes in the right proportions.
* :func:`mala` — Metropolis-adjusted Langevin: the same proposal, accepted with the
  Metropolis–Hastings probability, so p is exactly stationary for any η (needs log p).
  With ``log_prob_at``, :func:`annealed_langevin` adjusts each level the same way.

References:
    G. O. Roberts, R. L. Tweedie, Exponential convergence of Langevin distributions and
    their discrete approximations (1996).
    Y. Song, S. Ermon, Generative Modeling by Estimating Gradients of the Data Distribution (2019).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..densities import Density
from ..densities.analytic import GaussianMixture
from ..errors import InputError
from ..metrics import class_shares

__all__ = [
    "LangevinFrame", "Level", "annealed_langevin", "annealing_levels", "geometric_sigmas", "langevin", "mala",
    "mixture_noise", "mode_shares", "noised_mixture", "run_levels",
]

Tensor = torch.Tensor
ScoreFn = Callable[[Tensor], Tensor]
LogProbFn = Callable[[Tensor], Tensor]
NoisyFn = Callable[[Tensor, float], Tensor]  # (x, σ) -> score or log-density of p * N(0, σ² I)


@dataclass(frozen=True)
class LangevinFrame:
    """Particles of a Langevin run.

    Attributes:
        step: steps taken so far, over all levels.  level: index of the noise level (0 when plain).
        sigma: its noise level (0.0 for the clean density).  eta: its step size.
        x: positions (n, 2) float32.
        acceptance: share of proposals accepted since the previous frame (Metropolis runs), else None.
    """

    step: int
    level: int
    sigma: float
    eta: float
    x: np.ndarray
    acceptance: float | None = None


@dataclass(frozen=True)
class Level:
    """One stage of a run: the score of its target, the step size and the number of steps.

    Arguments:
        score: ∇log p of this level's target, (n, 2) -> (n, 2).
        eta: step size η.  steps: number of steps.  sigma: noise level, for display.
        log_prob: log p of the target, up to a constant; when given, steps are Metropolis-adjusted.
    """

    score: ScoreFn
    eta: float
    steps: int
    sigma: float = 0.0
    log_prob: LogProbFn | None = None


def _check(levels: Sequence[Level], every: int) -> None:
    if every < 1:
        raise InputError(f"steps per frame must be at least 1, not {every}")
    for lv in levels:
        if not (math.isfinite(lv.eta) and lv.eta > 0) or lv.steps < 0:
            raise InputError(f"a Langevin level needs a positive step size and steps >= 0, not {lv.eta}, {lv.steps}")


def _mh_log_ratio(lv: Level, x: Tensor, y: Tensor, sx: Tensor, sy: Tensor, lpx: Tensor, lpy: Tensor) -> Tensor:
    """log of p(y) q(x | y) / (p(x) q(y | x)) for the Gaussian proposal q(y | x) = N(x + η/2 s(x), η I)."""
    fwd = ((y - x - 0.5 * lv.eta * sx) ** 2).sum(1)
    bwd = ((x - y - 0.5 * lv.eta * sy) ** 2).sum(1)
    return lpy - lpx - (bwd - fwd) / (2 * lv.eta)


def _level_steps(lv: Level, x: Tensor, gen: torch.Generator, count: int) -> tuple[Tensor, int]:
    """``count`` steps at one level; returns the new x and the number of accepted proposals."""
    accepted, root = 0, math.sqrt(lv.eta)
    for _ in range(count):
        sx = lv.score(x)
        # x + η/2 s(x) + √η ε, in place on the fresh noise (100k particles: ~8 % of a step's time was
        # the temporaries of the out-of-place sum)
        y = torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype).mul_(root)
        y.add_(sx, alpha=0.5 * lv.eta).add_(x)
        if lv.log_prob is None:
            x = y
            continue
        log_alpha = _mh_log_ratio(lv, x, y, sx, lv.score(y), lv.log_prob(x), lv.log_prob(y))
        u = torch.rand(len(x), generator=gen, device=x.device, dtype=x.dtype)
        keep = torch.log(u) < log_alpha  # nan (both densities zero) rejects
        x = torch.where(keep[:, None], y, x)
        accepted += int(keep.sum())
    return x, accepted


def run_levels(levels: Sequence[Level], x0: np.ndarray | Tensor, seed: int = 0, every: int = 1,
               device: torch.device | str | None = None) -> Iterator[LangevinFrame]:
    """Run the levels in order from particles ``x0`` (n, 2); yield a frame every ``every`` steps
    and at the end of each level (the first frame is the start)."""
    _check(levels, every)
    x = torch.as_tensor(np.asarray(x0) if not isinstance(x0, Tensor) else x0).to(device=device, dtype=torch.float32)
    gen = torch.Generator(device=x.device).manual_seed(int(seed))
    step = 0
    first = levels[0] if levels else Level(lambda z: z, 1.0, 0)
    yield LangevinFrame(0, 0, first.sigma, first.eta, x.cpu().numpy().copy())
    for i, lv in enumerate(levels):
        done = 0
        while done < lv.steps:
            count = min(every, lv.steps - done)
            with torch.no_grad():  # never yield inside it (see engine/sde/simulate.py)
                x, acc = _level_steps(lv, x, gen, count)
            done, step = done + count, step + count
            rate = acc / (count * len(x)) if lv.log_prob is not None and len(x) else None
            yield LangevinFrame(step, i, lv.sigma, lv.eta, x.cpu().numpy().copy(), rate)


def langevin(score: ScoreFn, x0: np.ndarray | Tensor, eta: float, steps: int, seed: int = 0,
             every: int = 1, device: torch.device | str | None = None) -> Iterator[LangevinFrame]:
    """Plain (unadjusted) Langevin dynamics with a score, analytic or learned."""
    return run_levels([Level(score, eta, steps)], x0, seed, every, device)


def mala(log_prob: LogProbFn, score: ScoreFn, x0: np.ndarray | Tensor, eta: float, steps: int, seed: int = 0,
         every: int = 1, device: torch.device | str | None = None) -> Iterator[LangevinFrame]:
    """Metropolis-adjusted Langevin (Roberts & Tweedie 1996): p is stationary whatever η."""
    return run_levels([Level(score, eta, steps, log_prob=log_prob)], x0, seed, every, device)


def geometric_sigmas(sigma_max: float, sigma_min: float, levels: int) -> list[float]:
    """NCSN's noise levels: ``levels`` values from sigma_max down to sigma_min, evenly spaced in log."""
    if not (0 < sigma_min <= sigma_max) or levels < 1:
        raise InputError("noise levels need 0 < sigma_min <= sigma_max and at least one level")
    if levels == 1:
        return [float(sigma_min)]
    return [float(v) for v in np.geomspace(sigma_max, sigma_min, levels)]


def _at_level(f: NoisyFn, sigma: float) -> ScoreFn:
    """x -> f(x, σ) at one noise level."""
    return lambda x: f(x, sigma)


def annealed_langevin(score_at: NoisyFn, x0: np.ndarray | Tensor, sigmas: Sequence[float], eps: float,
                      steps_per_level: int, seed: int = 0, every: int = 1, log_prob_at: NoisyFn | None = None,
                      device: torch.device | str | None = None) -> Iterator[LangevinFrame]:
    """NCSN's annealed Langevin dynamics (Song & Ermon 2019): η_i = ε σ_i² / σ_L² at level i.

    Arguments:
        score_at: s(x, σ) ≈ ∇log (p * N(0, σ² I))(x), e.g. a noise-conditional score network.
        sigmas: noise levels, largest first.  eps: step size at the last (smallest) level.
        log_prob_at: log (p * N(0, σ²I))(x); when given, every step is Metropolis-adjusted.
    """
    last = sigmas[-1]
    levels = [
        Level(_at_level(score_at, s), eps * (s / last) ** 2, steps_per_level, s,
              None if log_prob_at is None else _at_level(log_prob_at, s))
        for s in sigmas
    ]
    return run_levels(levels, x0, seed, every, device)


def annealing_levels(noisy_score: Callable[[float], ScoreFn], sigmas: Sequence[float], eta: float,
                     steps: int) -> list[Level]:
    """NCSN's levels σ_1 > … > σ_L with η_i = η σ_i²/σ_L² (η is the last level's step), each η_i
    capped at σ_i².

    The cap keeps a large η from blowing up the first levels: p blurred by σ has variance at
    least σ², and on a Gaussian of variance v the unadjusted step is stable only for η < 4v
    (its stationary variance is v / (1 − η/(4v))). NCSN's own ε gives η_i/σ_i² = 0.2, well
    below the cap.
    """
    last = sigmas[-1]
    return [Level(noisy_score(s), min(eta * (s / last) ** 2, s * s), steps, s) for s in sigmas]


def noised_mixture(density: GaussianMixture, sigma: float) -> GaussianMixture:
    """p * N(0, σ² I) for a Gaussian mixture: the same mixture with variances σ_k² + σ²."""
    return GaussianMixture(f"{density.name}+N(0,{sigma:g}^2)", means=density.means,
                           stds=np.sqrt(density.stds**2 + sigma**2), weights=density.weights,
                           labelled=density.labelled)


def mode_shares(density: Density, x: np.ndarray) -> np.ndarray:
    """Share of the particles in each class (mode) of the density, by the most probable class;
    compare with ``density.weights`` for a mixture."""
    if density.num_classes == 0:
        raise InputError(f"density '{density.name}' has no modes to count")
    return class_shares(density.classify(np.asarray(x)), density.num_classes)


def mixture_noise(density: GaussianMixture) -> tuple[NoisyFn, NoisyFn]:
    """The exact s(x, σ) and log p_σ(x) of a Gaussian mixture under noise σ, for annealed runs."""
    cache: dict[float, GaussianMixture] = {}

    def at(sigma: float) -> GaussianMixture:
        if sigma not in cache:
            cache[sigma] = noised_mixture(density, sigma)
        return cache[sigma]

    return (lambda x, s: at(s).score(x)), (lambda x, s: at(s).log_prob(x))
