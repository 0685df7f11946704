"""What the Langevin lab computes (no Qt): the score it follows, and its particles advanced one frame at a time.

A :class:`Target` is the true score of an analytic density or a diffusion model's learned one,
with log p for MALA and the noisy scores of an annealing ladder. Coordinates are the density's
model coordinates throughout (the heatmap's and the particles').

A :class:`LangevinRun` is a plan of levels (engine.sde.Level): for plain and MALA one endless
level on p; for annealed, NCSN's ladder of noise levels and then the endless level on p.
Changing the step size, the steps per frame or the score (a model that is training) continues
from where the particles are, at the same place in the plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
import torch

from engine.checkpoint import TrainedModel
from engine.densities import Density
from engine.densities.analytic import GaussianMixture
from engine.diffusion.model import DiffusionModel
from engine.diffusion.sde import time_at_noise
from engine.errors import InputError
from engine.sde import (
    LangevinFrame,
    Level,
    annealing_levels,
    geometric_sigmas,
    langevin_for,
    noised_mixture,
    run_levels,
)

__all__ = ["LEVELS", "METHODS", "STARTS", "STEPS_PER_LEVEL", "LangevinRun", "Settings", "Target", "describe",
           "ladder", "learned_target", "true_target"]

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
    exact = density.fast
    cache: dict[float, ScoreFn] = {}

    def noisy(sigma: float) -> ScoreFn:
        if sigma not in cache:
            cache[sigma] = noised_mixture(density, sigma).fast.score
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
    model = cast(DiffusionModel, trained.model)

    def score(x: Tensor) -> Tensor:
        return torch.from_numpy(model.score(x.detach().cpu().numpy(), tau)).to(x)

    return score


def learned_target(trained: TrainedModel | None) -> Target:
    """A diffusion model's score s_θ(x, τ₀) at a small noise level τ₀; annealing walks its own levels."""
    if trained is None:
        raise InputError("no model yet: train a DDPM or NCSN model to use its learned score")
    if trained.kind not in ("ddpm", "ncsn"):
        raise InputError(f"a {trained.kind.upper()} learns a velocity, not a score: train a DDPM or NCSN model")
    model = cast(DiffusionModel, trained.model)
    taus = torch.linspace(0.0, 1.0, 2001, dtype=torch.float64)
    noise = model.process.noise(taus).numpy()  # normalised units, increasing in τ
    tau0 = time_at_noise(model.process, LEARNED_NOISE)
    scale = float(model.scale)

    def noisy(sigma: float) -> ScoreFn:
        return _learned_score(trained, float(np.interp(sigma / scale, noise, taus.numpy())))

    sigma0 = scale * float(model.process.noise(torch.tensor(tau0, dtype=torch.float64)))
    label = f"learned score s<sub>θ</sub>(x, τ = {tau0:.3f}), noise σ = {sigma0:.2f}"
    return Target(label, _learned_score(trained, tau0), None, noisy, scale * float(noise[-1]), sigma0)


def ladder(target: Target, eta: float, steps: int = STEPS_PER_LEVEL) -> list[Level]:
    """NCSN's annealing levels from the target's σ_max down to its σ_min (η is the last level's step)."""
    if target.noisy_score is None:
        raise InputError("annealing needs the score of the density blurred by noise: a Gaussian mixture's "
                         "closed form or a diffusion model's levels")
    sigmas = geometric_sigmas(target.sigma_max, target.sigma_min, LEVELS)
    return annealing_levels(target.noisy_score, sigmas, eta, steps)


METHODS = ("plain", "annealed", "mala")
STARTS = ("p", "noise")
ENDLESS = 10**12  # steps of the last level: the animation runs until someone stops it


@dataclass(frozen=True)
class Settings:
    """method: plain, annealed or mala.  start: "p" (samples of p) or "noise" (uniform over the box).
    eta: step size η (the last level's, when annealed).  every: steps per frame."""

    method: str = "plain"
    start: str = "noise"
    eta: float = 0.01
    every: int = 5
    particles: int = 20_000
    seed: int = 0


class LangevinRun:
    """The particles ``x`` (n, 2) float32, the step count, and the plan's current level."""

    def __init__(self, density: Density, target: Target, settings: Settings) -> None:
        if settings.method not in METHODS:
            raise InputError(f"unknown method '{settings.method}'; choose one of {', '.join(METHODS)}")
        if settings.method == "mala" and target.log_prob is None:
            raise InputError("MALA needs log p(x) for its accept/reject step; the learned score gives only "
                             "its gradient: use plain or annealed")
        self.density, self.target, self.settings = density, target, settings
        self.x = self._start()
        self.steps, self.restarts = 0, 0
        self.levels = self._plan()
        self.frame = LangevinFrame(0, 0, self.levels[0].sigma, self.levels[0].eta, self.x)
        self._begin(0, 0)

    # -- the plan -----------------------------------------------------------------------
    def _start(self) -> np.ndarray:
        s = self.settings
        if s.start == "p":
            return self.density.sample(s.particles, seed=s.seed).x
        x0, x1, y0, y1 = self.density.box
        rng = np.random.default_rng(s.seed)
        return rng.uniform((x0, y0), (x1, y1), (s.particles, 2)).astype(np.float32)

    def _plan(self) -> list[Level]:
        s, t = self.settings, self.target
        last = Level(t.score, s.eta, ENDLESS, 0.0, t.log_prob if s.method == "mala" else None)
        return [*ladder(t, s.eta), last] if s.method == "annealed" else [last]

    @property
    def level(self) -> int:
        """Index of the level the particles are in (len(levels) − 1: the last, endless one)."""
        return self._at()[0]

    @property
    def annealing(self) -> bool:
        return self.level < len(self.levels) - 1

    def _at(self) -> tuple[int, int]:
        """(level, steps done in it) after the last frame."""
        level, left = self._first, self.frame.step - self._gen_step0
        for lv in self._gen_levels:
            if left < lv.steps or level == len(self.levels) - 1:
                break
            left -= lv.steps
            level += 1
        done = left + (self._done0 if level == self._first else 0)
        return level, done

    def _begin(self, level: int, done: int) -> None:
        """Run the plan from ``level`` with ``done`` of its steps already taken, from the current x."""
        levels = [replace(self.levels[level], steps=self.levels[level].steps - done), *self.levels[level + 1:]]
        self._first, self._done0, self._gen_levels = level, done, levels
        self._gen_step0 = self.frame.step
        seed = self.settings.seed + 7919 * self.restarts  # new noise after a change, yet reproducible
        self._gen = run_levels(levels, self.x, seed=seed, every=self.settings.every)
        next(self._gen)  # its first frame is the start, which is already shown
        self.restarts += 1

    # -- stepping and changes ---------------------------------------------------------------
    def advance(self) -> LangevinFrame:
        """Take one frame's steps; the frame's ``step`` counts steps since the run began."""
        f = next(self._gen)
        self.frame = replace(f, step=self._gen_step0 + f.step)
        self.x, self.steps = self.frame.x, self.frame.step
        return self.frame

    def _restart_here(self, **changes: object) -> None:
        level, done = self._at()
        self.settings = replace(self.settings, **changes)  # type: ignore[arg-type]
        self.levels = self._plan()
        self._begin(level, done)

    def set_eta(self, eta: float) -> None:
        self._restart_here(eta=float(eta))

    def set_every(self, every: int) -> None:
        self._restart_here(every=int(every))

    def set_target(self, target: Target) -> None:
        """Follow another score (the model trained on): same particles, same place in the plan."""
        if self.settings.method == "mala" and target.log_prob is None:
            raise InputError("MALA needs log p(x); the new score comes without it")
        self.target = target
        self._restart_here()


def describe(run: LangevinRun, frame: LangevinFrame, fps: float = 0.0) -> str:
    """The lab's status line: method and level, which score, steps, acceptance, lost particles, speed."""
    if run.annealing:
        what = f"annealed: level {run.level + 1}/{LEVELS}, σ = {frame.sigma:.3g}, η<sub>i</sub> = {frame.eta:.3g}"
    else:
        what = {"plain": "plain Langevin", "annealed": "annealed: done, now plain Langevin on p",
                "mala": "MALA"}[run.settings.method]
    parts = [what, run.target.label, f"step {run.steps:,}".replace(",", " ")]
    if frame.acceptance is not None:
        parts.append(f"acceptance {100 * frame.acceptance:.0f}%")
    lost = int((~np.isfinite(frame.x).all(1)).sum())
    if lost:
        parts.append(f"⚠ {lost} particles flew off: η is too large")
    if fps:
        parts.append(f"{fps:.0f} frames/s")
    return " · ".join(parts)
