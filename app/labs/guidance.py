"""Guidance lab: how the scale γ steers a class-conditional diffusion model, and where it really sends samples."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
from PySide6 import QtCore, QtWidgets

from engine.diffusion.model import DiffusionModel
from engine.diffusion.views import ClassMap, classifier_map
from widgets.guidance_controls import GAMMA_RANGE, GuidanceControls
from widgets.guidance_panels import PANELS, GuidancePanels

from .base import Lab
from .guidance_runs import (
    PanelSamples,
    Request,
    TiltedTarget,
    particle_classes,
    sample_panel,
    sample_panels,
    tilted_target,
)
from .guidance_text import EQUATIONS, EXPLANATION, TARGET, latency_text, missing_model_message

__all__ = ["GuidanceLab"]


class GuidanceLab(Lab):
    title = "Guidance"
    equation = EQUATIONS["cfg"]
    explanation = EXPLANATION

    def __init__(self, ctx, parent: QtWidgets.QWidget | None = None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, parent)
        self.controls = GuidanceControls()
        self.panels = GuidancePanels()
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet("font-size: 16pt; padding: 40px;")
        self.note = QtWidgets.QLabel()
        self.note.setWordWrap(True)
        content = QtWidgets.QWidget()
        inner = QtWidgets.QVBoxLayout(content)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addWidget(self.controls)
        inner.addWidget(self.note)
        inner.addWidget(self.panels, 1)
        self.pages = QtWidgets.QStackedLayout(self.body)
        self.pages.addWidget(self.message)
        self.pages.addWidget(content)
        self.seed = 0
        self.samples: dict[str, PanelSamples] = {}
        self.target: TiltedTarget | None = None
        self.class_map: ClassMap | None = None
        self.latency_ms: float | None = None
        self.sweep = GAMMA_RANGE  # γ from … to over the frames of a rendering
        self._pending: dict[str, Request] = {}
        self._job = False
        self.controls.guidance_changed.connect(self._on_guidance_changed)
        self.controls.label_changed.connect(self._on_label_changed)
        self.controls.kind_changed.connect(self._on_kind_changed)
        self.controls.reseed_requested.connect(self._on_reseed_requested)

    # -- the model -------------------------------------------------------------------
    def model(self) -> DiffusionModel | None:
        m = None if self.ctx.trained is None else self.ctx.trained.model
        return m if isinstance(m, DiffusionModel) and m.num_classes > 1 else None

    # -- Lab interface -------------------------------------------------------------------
    def refresh(self) -> None:
        if not self._prepare():
            return
        self._request(PANELS)

    def refresh_now(self) -> None:
        if self._prepare():
            for panel in PANELS:
                self._on_panel_sampled(sample_panel(self.model(), self._make_request(panel), self.ctx.box))

    def on_time(self, t: float) -> None:
        if self.model() is not None:
            self._draw_class_map()
            for panel in self.samples:
                self._draw_panel(panel)

    def configure(self, label: int | None = None, guidance: float | None = None) -> None:
        """Options of ``flowscope render``: the class, and a γ to sweep up to from 0 (default: the slider's range)."""
        if label is not None:
            self.controls.set_label(label)
        if guidance is not None:
            self.sweep = (0.0, float(guidance))

    def render_frames(self, count: int) -> Iterator[int]:
        """Sweep γ over ``self.sweep`` (the last frame at its end), re-sampling the guided panel each frame."""
        self.refresh_now()
        gammas = np.linspace(*self.sweep, count) if count > 1 else [self.sweep[1]]
        for k, gamma in enumerate(gammas):
            self.controls.set_guidance(float(gamma))
            if self.model() is not None:
                self._draw_targets()
                self._on_panel_sampled(sample_panel(self.model(), self._make_request("guided"), self.ctx.box))
            yield k

    # -- control slots -------------------------------------------------------------------
    def set_guidance(self, gamma: float) -> None:
        """Move the slider to γ (as the user would) and re-sample."""
        self.controls.set_guidance(gamma)
        self._on_guidance_changed(self.controls.guidance)

    def _on_guidance_changed(self, _gamma: float) -> None:
        if self.model() is not None:
            self._draw_targets()
            self._request(("guided",))

    def _on_label_changed(self, _label: int) -> None:
        if self.model() is not None:
            self._draw_targets()
            self._draw_class_map()
            self._request(("conditional", "guided"))

    def _on_kind_changed(self, kind: str) -> None:
        self.header.set_equation(EQUATIONS[kind])
        self._request(("conditional", "guided"))

    def _on_reseed_requested(self) -> None:
        self.seed += 1
        self._request(PANELS)

    # -- set-up ----------------------------------------------------------------------------
    def _prepare(self) -> bool:
        """Fit the controls to the model; False (with a message) when there is no conditional diffusion model."""
        model = self.model()
        if model is None:
            self.pages.setCurrentIndex(0)
            self.message.setText(missing_model_message(self.ctx.trained, self.ctx.density))
            self.header.set_status("")
            return False
        self.pages.setCurrentIndex(1)
        self.controls.set_classes(model.num_classes)
        self.controls.set_kinds(["cfg"] + (["classifier"] if model.classifier is not None else []))
        self.header.set_equation(EQUATIONS[self.controls.kind])
        self.target = tilted_target(model, self.ctx.density, self.ctx.box)
        self.note.setText(f"{TARGET} ({self.target.source})." if self.target is not None
                          else "No tilted target: this model has no classifier and the density no closed form.")
        self._draw_targets()
        self._draw_class_map()
        return True

    # -- background sampling: one job at a time; requests made meanwhile wait, the latest winning --
    def _make_request(self, panel: str) -> Request:
        c = self.controls
        label, gamma = {"unconditional": (None, None), "conditional": (c.label, 1.0),
                        "guided": (c.label, c.guidance)}[panel]
        return Request(panel, label, gamma, c.kind, self.seed, time.perf_counter())

    def _request(self, panels: tuple[str, ...]) -> None:
        if self.model() is None:
            return
        for panel in panels:
            self._pending[panel] = self._make_request(panel)
        if not self._job:
            self._start()

    def _start(self) -> None:
        # the guided panel first: it is the one the slider moves
        reqs = [self._pending.pop(p) for p in ("guided", "conditional", "unconditional") if p in self._pending]
        model, box = self.model(), self.ctx.box
        if not reqs or model is None:
            return
        self._job = True
        worker = self.run_in_background(lambda: sample_panels(model, reqs, box), self._on_panel_sampled,
                                        self._on_job_done)
        worker.failed.connect(self._on_job_done)

    def _on_job_done(self, _how: str) -> None:
        self._job = False
        if self._pending and self.active:
            self._start()

    def _on_panel_sampled(self, ps: PanelSamples) -> None:
        self.samples[ps.request.panel] = ps
        self._draw_panel(ps.request.panel)
        if ps.request.panel == "guided":
            self.latency_ms = 1000 * (time.perf_counter() - ps.request.asked)
            self.header.set_status(latency_text(self.latency_ms, 1000 * ps.seconds))

    # -- drawing -------------------------------------------------------------------------------
    def _draw_panel(self, panel: str) -> None:
        ps = self.samples[panel]
        x = ps.at(1.0 - self.ctx.t)
        labels = self._classes_of(x)
        self.panels.set_samples(panel, x, labels)
        gamma = {"unconditional": 0.0, "conditional": 1.0}.get(panel, ps.request.guidance or 0.0)
        title = f"{panel} · γ = {gamma:g}"
        if labels is not None and ps.request.label is not None:
            final = self._classes_of(ps.xs[-1])
            title += f" · {100 * np.mean(final == ps.request.label):.0f}% class {ps.request.label}"
        self.panels.set_panel_title(panel, title)

    def _draw_targets(self) -> None:
        gammas = {"unconditional": 0.0, "conditional": 1.0, "guided": self.controls.guidance}
        for panel, gamma in gammas.items():
            grid = None if self.target is None else self.target.density(self.controls.label, gamma)
            self.panels.set_target(panel, grid, self.ctx.box)

    def _draw_class_map(self) -> None:
        model, tau, y = self.model(), 1.0 - self.ctx.t, self.controls.label
        if model is None or model.classifier is None:
            self.class_map = None
            self.panels.set_class_map(None, self.ctx.box, "no noisy classifier in this model")
            return
        self.class_map = classifier_map(model, max(tau, float(model.process.t_min)), grid=64, box=self.ctx.box)
        self.panels.set_class_map(self.class_map.probs[y], self.ctx.box, f"p(y = {y} | x<sub>τ</sub>), τ = {tau:.2f}")

    def _classes_of(self, x: np.ndarray) -> np.ndarray | None:
        exact = self.target is not None and self.target.exact
        return particle_classes(self.model(), self.ctx.density if exact else None, x)
