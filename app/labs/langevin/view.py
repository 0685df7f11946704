"""Langevin lab: particles following x ← x + (η/2)∇log p(x) + √η ε, with the true or learned score.

Started from p, the cloud stays put (the Langevin SDE keeps p stationary, up to the step-size
bias of a finite η); started from noise, plain Langevin fills each mode with the particles that
happened to fall into its basin, which the per-mode bars compare with the true weights
(twomodes: ~1/2–1/2 instead of 1/5–4/5); annealing over noise levels gets them right.

The sampler runs on the GUI thread from a timer, one frame's steps per tick: with the closed
form scores a frame of 20k particles costs a few milliseconds, and drawing ~6 ms.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
from PySide6 import QtWidgets

from engine.densities import Density
from engine.densities.analytic import GaussianMixture
from engine.errors import InputError
from engine.sde import LangevinFrame, mode_shares
from widgets.density_view import DensityView
from widgets.langevin_controls import LangevinControls
from widgets.mode_bars import ModeBars

from ..base import Lab
from ..context import LabContext
from .compute import LEVELS, STEPS_PER_LEVEL, LangevinRun, Settings, Target, describe, learned_target, true_target

__all__ = ["LangevinLab"]

EQUATION = ("x<sub>k+1</sub> = x<sub>k</sub> + (η/2) ∇<sub>x</sub> log p(x<sub>k</sub>) + √η ε<sub>k</sub>,"
            " &nbsp; ε<sub>k</sub> ~ 𝒩(0, I)")
EXPLANATION = (
    "This is the Euler–Maruyama step of the Langevin SDE dx = ½ ∇log p(x) dt + dw with dt = η. Its "
    "Fokker–Planck equation has p as a stationary solution: started <b>from p</b>, the cloud stays "
    "put (a large η adds a visible bias). Started <b>from noise</b>, plain Langevin finds the modes "
    "but not their weights: particles rarely cross the low-density gap between modes, so each mode "
    "keeps the share that fell into its basin (bars: the particles; white lines: the true weights). "
    "<b>Annealed</b> Langevin (NCSN) runs first on p blurred by large noise σ, where the modes "
    "merge and mass spreads in the right proportions, then lowers σ level by level with "
    "η<sub>i</sub> ∝ σ<sub>i</sub>². <b>MALA</b> accepts or rejects each step (Metropolis–Hastings), which "
    "removes the step-size bias. The lab runs on its own step clock, not the time bar.")
TICK_MS = 10
RENDERED_STEPS = {"plain": 400, "mala": 400, "annealed": LEVELS * STEPS_PER_LEVEL + 200}  # steps a render shows


class LangevinLab(Lab):
    equation = EQUATION
    explanation = EXPLANATION
    tick_ms = TICK_MS

    uses_time = False  # see on_time

    def __init__(self, ctx: LabContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.view = DensityView()
        # the heatmap stays while the particles move: drawn once into a device pixmap and blitted each
        # frame (scaling 256² smoothly cost ~2 ms a frame); a new heatmap or a resize redraws it
        self.view.image.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.view.set_title("particles on p(x)")
        self.bars = ModeBars()
        self.controls = LangevinControls()
        self.run: LangevinRun | None = None
        self.paused = False
        self._seen: tuple[object, object] = (None, None)  # (density, model) the run was built for
        self._classify: Callable[[np.ndarray], np.ndarray] | None = None
        # the controls in a band on top; the particles and, beside them, the bars share the rest
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.view, 3)
        row.addWidget(self.bars, 2)
        lay = QtWidgets.QVBoxLayout(self.body)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.controls)
        lay.addLayout(row, 1)
        self.controls.settings_changed.connect(self._on_settings_changed)
        self.controls.reset_requested.connect(self.rebuild)
        self.controls.pause_requested.connect(self._on_pause_requested)

    # -- lifecycle ------------------------------------------------------------------------
    def on_time(self, t: float) -> None:
        """Langevin dynamics has no t of its own to follow: it runs on its step clock."""

    def refresh(self) -> None:
        density, model = self.ctx.density, self.ctx.trained
        if density is not self._seen[0] or self.run is None:
            self.rebuild()
        elif model is not self._seen[1]:
            self._on_model_changed()
        self._seen = (density, model)
        self.sync_timer()

    # -- scenes -----------------------------------------------------------------------------
    def settings(self) -> dict[str, object]:
        return self.controls.values()

    def configure(self, **values: object) -> None:
        known = {k: v for k, v in values.items() if k in self.controls.values() and v is not None}
        self.controls.apply(**known)  # type: ignore[arg-type]
        if known:
            self.rebuild()
            self.sync_timer()

    def render_frames(self, count: int) -> Iterator[int]:
        with self.recording():
            if self.run is None or self.ctx.density is not self._seen[0]:
                self.refresh()
            if self.run is not None:  # a GIF of a few dozen frames should still tell the whole story
                story = RENDERED_STEPS[self.run.settings.method]
                self.controls.apply(every=max(self.controls.every, math.ceil(story / max(count - 1, 1))))
                self.run.set_every(self.controls.every)
            for k in range(count):
                if k and self.run is not None:
                    self.advance(force_status=True)
                yield k

    # -- building ---------------------------------------------------------------------------
    def rebuild(self) -> None:
        """A new run from the controls' settings (density, score, method, start or particles changed)."""
        density = self.ctx.density
        self.run = None
        if density is None:
            self.header.set_status("no density")
            return
        self._show_density(density)
        try:
            self.run = LangevinRun(density, self._target(), self._settings())
        except InputError as e:
            self.header.set_status(f"⚠ {e}")
            self.view.set_points(None)
            return
        self.reset_frame_rate()
        self._draw(self.run.frame, force_status=True)

    def _show_density(self, density: Density) -> None:
        self.view.set_density(density.density_grid(160, density.box), density.box)
        self._classify = None
        weights = None
        if density.num_classes:
            self._classify = density.fast.classify if isinstance(density, GaussianMixture) else density.classify
            weights = density.weights if isinstance(density, GaussianMixture) else \
                mode_shares(density, density.sample(50_000, seed=1).x)
        self.bars.set_modes(weights)

    def _target(self) -> Target:
        """The chosen score; the other one when the chosen cannot be had (said in the status line)."""
        want = self.controls.source
        make = {"true": lambda: true_target(self.ctx.density),  # type: ignore[arg-type]  # a density is always set
                "learned": lambda: learned_target(self.ctx.trained)}
        try:
            return make[want]()
        except InputError as first:
            other = "learned" if want == "true" else "true"
            try:
                target = make[other]()
            except InputError:
                raise first from None
            self.controls.set_source(other)
            return target

    def _settings(self) -> Settings:
        c = self.controls
        return Settings(c.method, c.start, c.eta, c.every, c.particles)

    # -- the animation ----------------------------------------------------------------------
    def advance(self, force_status: bool = False) -> None:
        """One frame: the sampler's steps, then the drawing."""
        assert self.run is not None
        self._draw(self.run.advance(), force_status)

    def _draw(self, frame: LangevinFrame, force_status: bool = False) -> None:
        labels = self._classify(frame.x) if self._classify is not None else None
        self.view.set_points(frame.x, labels)
        if labels is not None:
            self.bars.set_shares(np.bincount(labels[labels >= 0], minlength=self.bars.shares().size)
                                 / max(len(labels), 1))
        self.count_frame()
        run = self.run
        assert run is not None
        self.throttled_status(lambda: describe(run, frame, self.frames_per_second()), force_status)

    def animating(self) -> bool:
        return not self.paused and self.run is not None

    def on_tick(self) -> None:
        if self.run is not None:
            self.advance()

    # -- slots --------------------------------------------------------------------------------

    def _on_settings_changed(self, name: str) -> None:
        if self.run is None or name in ("source", "method", "start", "particles"):
            self.rebuild()
        elif name == "eta":
            self.run.set_eta(self.controls.eta)
        elif name == "every":
            self.run.set_every(self.controls.every)
        self.sync_timer()

    def _on_model_changed(self) -> None:
        if self.run is None or self.controls.source != "learned":
            return
        try:
            self.run.set_target(learned_target(self.ctx.trained))
        except InputError as e:
            self.header.set_status(f"⚠ {e}")

    def _on_pause_requested(self, paused: bool) -> None:
        self.paused = paused
        self.sync_timer()
