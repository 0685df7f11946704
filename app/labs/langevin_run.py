"""Particles under a Langevin sampler, advanced one frame at a time (the Langevin lab's model; no Qt).

A run is a plan of levels (engine.sde.Level): for plain and MALA one endless level on p; for
annealed, NCSN's ladder of noise levels and then the endless level on p. Changing the step
size, the steps per frame or the score (a model that is training) continues from where the
particles are, at the same place in the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.densities import Density
from engine.errors import InputError
from engine.sde import LangevinFrame, Level, run_levels

from .langevin_targets import LEVELS, Target, ladder

__all__ = ["METHODS", "STARTS", "Settings", "LangevinRun", "describe"]

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
