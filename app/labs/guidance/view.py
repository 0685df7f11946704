"""Guidance lab: how the scale γ steers a class-conditional diffusion model, and where it really sends samples."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np
from PySide6 import QtWidgets

from engine.densities import Density
from engine.diffusion.model import DiffusionModel
from engine.diffusion.views import ClassMap, classifier_map
from engine.flowmatch.model import FlowMatchingModel
from widgets.guidance_controls import GAMMA_RANGE
from widgets.guidance_panels import PANELS, GuidancePanels

from ..base import Lab
from . import compute as runs
from .compute import GuidedModel, PanelSamples, Request, TiltedTarget
from .curve import CurveKey, Curves, reading
from .queue import PanelQueue
from .text import EQUATIONS, EXPLANATION, TARGET, TARGET_IN_FULL, missing_model_message, status_text

__all__ = ["GuidanceLab"]

EXACT_LIMIT = 400  # full samples kept by γ (~0.4 MB each): three sweeps of the slider's 121 ticks


class GuidanceLab(Lab):
    equation = EQUATIONS["cfg"]
    explanation = EXPLANATION

    def __init__(self, ctx, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.panels = GuidancePanels()
        self.controls, self.message, self.note = self.panels.controls, self.panels.message, self.panels.note
        lay = QtWidgets.QVBoxLayout(self.body)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.panels)
        self.header.status.set_lines(1)  # its statuses are one line; the pictures need the height
        self.seed = 0
        self.samples: dict[str, PanelSamples] = {}
        self.target: TiltedTarget | None = None
        self.class_map: ClassMap | None = None
        self.latency_ms: float | None = None  # of the last preview asked by the slider
        self._slider_moved = False
        self.sweep = GAMMA_RANGE  # γ from … to over the frames of a rendering
        self.queue = PanelQueue(self.run_in_background, self._make_job, self._show, self._on_queue_idle)
        self.curves = Curves()
        self.chart = self.panels.chart
        # full-quality guided samples by γ (one per slider tick, filled in the background once the curve
        # is done): a γ met before is answered at once with the exact picture instead of a preview
        self.exact: dict[tuple[object, ...], PanelSamples] = {}
        self.controls.guidance_changed.connect(self._on_guidance_changed)
        self.controls.label_changed.connect(self._on_label_changed)
        self.controls.kind_changed.connect(self._on_kind_changed)
        self.controls.interval_changed.connect(self._on_interval_changed)
        self.controls.reseed_requested.connect(self._on_reseed_requested)

    # -- the model -------------------------------------------------------------------
    def model(self) -> GuidedModel | None:
        """The class-conditional diffusion or flow-matching model loaded now, else None."""
        m = None if self.ctx.trained is None else self.ctx.trained.model
        return m if isinstance(m, (DiffusionModel, FlowMatchingModel)) and m.num_classes > 1 else None

    def _equation(self) -> str:
        return EQUATIONS["fm" if isinstance(self.model(), FlowMatchingModel) else self.controls.kind]

    def _classifier_model(self) -> DiffusionModel | None:
        """The model when it carries a noisy classifier (classifier guidance, the class map)."""
        m = self.model()
        return m if isinstance(m, DiffusionModel) and m.classifier is not None else None

    def _model_density(self) -> Density | None:
        """The density the model was trained on, when it is the current one (else its closed forms do not apply)."""
        d, tm = self.ctx.density, self.ctx.trained
        return d if d is not None and tm is not None and tm.density.get("name") == d.name else None

    # -- Lab interface -------------------------------------------------------------------
    def refresh(self) -> None:
        if not self._prepare():
            return
        self._request(PANELS)

    def refresh_now(self) -> None:
        model = self.model()
        if self._prepare() and model is not None:
            for panel in PANELS:
                self._show(runs.sample_panel(model, self._make_request(panel), self.ctx.box))
            self._fill_curves_now()

    def on_time(self, t: float) -> None:
        if self.model() is not None:
            self._draw_class_map()
            for panel in self.samples:
                self._draw_panel(panel)

    # -- scenes and rendering ------------------------------------------------------------
    def settings(self) -> dict[str, object]:
        c = self.controls
        out: dict[str, object] = {"label": c.label, "guidance": c.guidance, "kind": c.kind}
        if c.guidance_interval is not None:
            out["interval"] = list(c.guidance_interval)
        return out

    def configure(self, label: int | None = None, guidance: float | None = None, kind: str | None = None,
                  interval: object = None, **_: object) -> None:
        """Class, γ, kind and interval (scenes, ``flowscope render``); a rendering sweeps γ from 0 up to the one
        given."""
        if isinstance(interval, (list, tuple)) and len(interval) == 2:
            self.controls.set_interval((float(interval[0]), float(interval[1])))
        if self._prepare():  # the class and kind lists exist once the model is read
            if label is not None:
                self.controls.set_label(int(label))
            if kind is not None:
                self.controls.set_kind(str(kind))
                self.header.set_equation(self._equation())
        if guidance is not None:
            self.controls.set_guidance(float(guidance))
            self.sweep = (0.0, float(guidance))
        if self.active:
            self.refresh()

    def render_frames(self, count: int) -> Iterator[int]:
        """Sweep γ over ``self.sweep`` (the last frame at its end), re-sampling the guided panel each frame."""
        self.refresh_now()
        gammas = np.linspace(*self.sweep, count) if count > 1 else [self.sweep[1]]
        for k, gamma in enumerate(gammas):
            self.controls.set_guidance(float(gamma))
            model = self.model()
            if model is not None:
                self._draw_targets()
                self._show(runs.sample_panel(model, self._make_request("guided"), self.ctx.box))
            yield k

    # -- control slots -------------------------------------------------------------------
    def set_guidance(self, gamma: float) -> None:
        """Move the slider to γ (as the user would) and re-sample."""
        self.controls.set_guidance(gamma)
        self._on_guidance_changed(self.controls.guidance)

    def _on_guidance_changed(self, _gamma: float) -> None:
        self._slider_moved = True
        self.chart.set_gamma(self.controls.guidance)
        if self.model() is not None:
            self._draw_targets()
            cached = self.exact.get(self._exact_key(self.controls.guidance))
            if cached is not None and not self.queue.running:
                self.queue.pending.pop("guided", None)  # an older γ's preview is no longer wanted
                self._show(replace(cached, request=replace(cached.request, asked=time.perf_counter())))
            else:
                self._request(("guided",))

    def _on_label_changed(self, _label: int) -> None:
        if self.model() is not None:
            self._draw_targets()
            self._draw_class_map()
            if "unconditional" in self.samples:  # its title counts the chosen class
                self._draw_panel("unconditional")
            self._draw_curves()
            self._request(("conditional", "guided"))

    def _on_kind_changed(self, kind: str) -> None:
        self.header.set_equation(self._equation())
        self._draw_curves()
        self._request(("conditional", "guided"))

    def _on_interval_changed(self, _interval: object) -> None:
        self._draw_curves()
        self._request(("guided",))

    def _on_reseed_requested(self) -> None:
        self.seed += 1
        self._draw_curves()
        self._request(PANELS)

    # -- set-up ----------------------------------------------------------------------------
    def _prepare(self) -> bool:
        """Fit the controls to the model; False (with a message) when there is no conditional diffusion model."""
        model = self.model()
        if model is None:
            self.panels.show_message(missing_model_message(self.ctx.trained, self.ctx.density))
            self.header.set_status("")
            return False
        self.panels.show_message(None)
        self.controls.set_classes(model.num_classes)
        self.controls.set_kinds(["cfg"] + (["classifier"] if self._classifier_model() is not None else []))
        self.header.set_equation(self._equation())
        self.target = runs.tilted_target(model, self._model_density(), self.ctx.box)
        # the note names the target in a few words; its tooltip says it in full, and whether it is exact
        self.note.setText(TARGET if self.target is not None else "no tilted target")
        self.note.setToolTip(f"{TARGET_IN_FULL} ({self.target.source})." if self.target is not None else
                             "No tilted target: this model has no classifier and the density no closed form.")
        self._draw_targets()
        self._draw_class_map()
        self.chart.set_gamma(self.controls.guidance)
        self._draw_curves()
        return True

    # -- background sampling (see queue.py for the policy) -----------------------------------------
    def _make_request(self, panel: str, preview: bool = False) -> Request:
        c = self.controls
        label, gamma = {"unconditional": (None, None), "conditional": (c.label, 1.0),
                        "guided": (c.label, c.guidance)}[panel]
        interval = c.guidance_interval if panel == "guided" else None
        return Request(panel, label, gamma, c.kind, self.seed, time.perf_counter(), preview, interval)

    def _request(self, panels: tuple[str, ...], preview: bool = True) -> None:
        if self.model() is not None:  # while the model trains (a new one every few seconds) previews are enough
            self.queue.ask([self._make_request(p, preview and (p == "guided" or self.ctx.training)) for p in panels])

    def _make_job(self, reqs: list[Request]) -> Callable[[], Iterator[PanelSamples | None]] | None:
        model, box = self.model(), self.ctx.box
        return None if model is None else lambda: runs.sample_panels(model, reqs, box)

    def _on_queue_idle(self) -> None:
        if not self.ctx.training:  # the panels are done: the trade-off curve, then exact samples by γ
            self._continue_curves()

    # -- the trade-off curve (computed when the panels rest; any request stops it between two steps) ------
    def _curve_keys(self) -> list[CurveKey]:
        model, c = self.model(), self.controls
        if model is None or self._model_density() is None:
            return []
        full = CurveKey(id(model), c.label, c.kind, self.seed, None)
        return [full] if c.guidance_interval is None else [full, replace(full, interval=c.guidance_interval)]

    def _continue_curves(self) -> None:
        wanted = self.curves.wanted(self._curve_keys())
        model, density = self.model(), self._model_density()
        if model is None or density is None:
            return
        if wanted is None:
            self._prefill()
            return
        key, gammas = wanted
        job = lambda: self.curves.job(model, density, key, gammas)  # noqa: E731
        self.run_in_background(job, lambda p: self._on_curve_point(key, p))

    def _on_curve_point(self, key: CurveKey, point: object) -> None:
        if point is None:
            return
        self.curves.add(key, point)  # type: ignore[arg-type]
        self._draw_curves()
        if self.curves.wanted([key]) is None:  # this curve is complete: the next one, if any
            self._continue_curves()

    # -- exact samples by γ --------------------------------------------------------------------------
    def _exact_key(self, gamma: float, req: Request | None = None) -> tuple[object, ...]:
        """What a full guided sample depends on: the request's, or the controls' now."""
        c = self.controls
        parts = (c.label, c.kind, self.seed, c.guidance_interval) if req is None else \
            (req.label, req.kind, req.seed, req.interval)
        return id(self.model()), *parts, int(round(10 * gamma))

    def _prefill(self) -> None:
        """Sample in full the nearest γ tick (to the slider's) not sampled yet; chained until all are."""
        model = self.model()
        if model is None or len(self.exact) >= EXACT_LIMIT:
            return
        here = int(round(10 * self.controls.guidance))
        ticks = sorted(range(int(10 * GAMMA_RANGE[0]), int(10 * GAMMA_RANGE[1]) + 1), key=lambda t: abs(t - here))
        todo = [t for t in ticks if self._exact_key(t / 10) not in self.exact]
        if not todo:
            return
        req = replace(self._make_request("guided"), guidance=todo[0] / 10)
        job = lambda: runs.sample_panels(model, [req], self.ctx.box)  # noqa: E731
        self.run_in_background(job, self._on_prefilled)

    def _on_prefilled(self, ps: PanelSamples | None) -> None:
        if ps is None:
            return
        self.exact[self._exact_key(ps.request.guidance or 0.0, ps.request)] = ps
        self._prefill()

    def _fill_curves_now(self) -> None:
        """Every curve at once, on this thread (renderings)."""
        model, density = self.model(), self._model_density()
        for key in self._curve_keys():
            wanted = self.curves.wanted([key])
            if wanted is not None and model is not None and density is not None:
                for point in self.curves.job(model, density, key, wanted[1]):
                    if point is not None:
                        self.curves.add(key, point)
        self._draw_curves()

    def _draw_curves(self) -> None:
        keys = self._curve_keys()
        if not keys:
            self.chart.clear()
            self.chart.set_reading("No trade-off curve: it needs the density the model was trained on.")
            return
        c = self.controls
        self.chart.set_title(f"class {c.label} over γ")
        full = self.curves.points.get(keys[0], [])
        self.chart.set_points("full", *Curves.figures(full))
        limited = self.curves.points.get(keys[1], []) if len(keys) > 1 else None
        self.chart.set_points("interval", *Curves.figures(limited or []))
        self.chart.set_reading(reading(full, limited, c.guidance_interval))

    def deactivate(self) -> None:
        super().deactivate()
        self.queue.forget()  # stopped with the worker; the next refresh asks again

    def _show(self, ps: PanelSamples) -> None:
        self.samples[ps.request.panel] = ps
        if ps.request.panel == "guided" and ps.request.guidance is not None:
            self.exact.setdefault(self._exact_key(ps.request.guidance, ps.request), ps)
        self._draw_panel(ps.request.panel)
        if ps.request.panel == "guided":
            waited = 1000 * (time.perf_counter() - ps.request.asked)
            if ps.request.preview and self._slider_moved:  # the first picture shares the machine with start-up
                self.latency_ms = waited
            self.header.set_status(status_text(ps, waited, self.latency_ms))

    # -- drawing -------------------------------------------------------------------------------
    def _draw_panel(self, panel: str) -> None:
        ps = self.samples[panel]
        x = ps.at(1.0 - self.ctx.t)
        labels = self._classes_of(x)
        self.panels.set_samples(panel, x, labels)
        gamma = {"unconditional": 0.0, "conditional": 1.0}.get(panel, ps.request.guidance or 0.0)
        y = self.controls.label if ps.request.label is None else ps.request.label
        # the share that lands in class y: about 1/C unguided, towards 1 as γ grows
        share = "" if labels is None else f"{100 * np.mean(self._classes_of(ps.xs[-1]) == y):.0f}% in class {y}"
        self.panels.set_panel_title(panel, f"{panel}, γ = {gamma:g}", share)

    def _draw_targets(self) -> None:
        gammas = {"unconditional": 0.0, "conditional": 1.0, "guided": self.controls.guidance}
        for panel, gamma in gammas.items():
            grid = None if self.target is None else self.target.density(self.controls.label, gamma)
            self.panels.set_target(panel, grid, self.ctx.box)

    def _draw_class_map(self) -> None:
        model, tau, y = self._classifier_model(), 1.0 - self.ctx.t, self.controls.label
        if model is None:
            self.class_map = None
            self.panels.set_class_map(None, self.ctx.box, "no noisy classifier in this model")
            return
        self.class_map = classifier_map(model, max(tau, float(model.process.t_min)), grid=64, box=self.ctx.box)
        self.panels.set_class_map(self.class_map.probs[y], self.ctx.box, f"p(y = {y} | x<sub>τ</sub>), τ = {tau:.2f}")

    def _classes_of(self, x: np.ndarray) -> np.ndarray | None:
        exact = self.target is not None and self.target.exact
        return runs.particle_classes(self.model(), self._model_density() if exact else None, x)
