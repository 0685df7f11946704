"""Few-step sampling: how many Euler steps a flow needs, and how couplings and reflow straighten it.

One noise batch is carried by the current flow (flow matching or CNF) with 1, 2, 4 and 8
Euler steps beside an accurate dopri5 reference, with the straightness S of its paths. Two
panels draw one batch of training pairs (noise → data) as the independent coupling pairs
them and as minibatch optimal transport does (fewer crossings, shorter lines). **Reflow**
retrains the current flow-matching model on its own noise-to-data pairs (a progress bar, and
Cancel, while it draws them and trains) and shows the reflowed model's row beside the first;
**Use reflowed model** then makes it the window's current model, which every view shows and
File → Save saves.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from engine.api import FLOW_KINDS
from engine.checkpoint import TrainedModel
from engine.densities import Density
from engine.errors import InputError
from widgets.density_view import DensityView
from widgets.plot_style import corner_label, keep_clear
from widgets.square_grid import SquareGrid

from ...worker import GeneratorWorker
from ..base import Lab
from ..context import LabContext
from .compute import (
    STEPS,
    CouplingFrame,
    FewStepFrame,
    ReflowProgress,
    coupling_frame,
    few_step_frame,
    load_shipped,
    reflow_run,
)

__all__ = ["FewStepLab"]

EQUATION = ("x<sub>k+1</sub> = x<sub>k</sub> + h v<sub>θ</sub>(x<sub>k</sub>, t<sub>k</sub>), h = 1/K &nbsp;|&nbsp; "
            "S = E ∫<sub>0</sub><sup>1</sup> ‖v(x<sub>t</sub>, t) − (x<sub>1</sub> − x<sub>0</sub>)‖² dt")
EXPLANATION = (
    "A flow whose paths are straight lines travelled at constant speed is integrated exactly by one Euler "
    "step: the straightness S measures how far the model's own paths are from that. Flow matching with "
    "independent pairs learns the average of crossing straight lines, which curves; pairing noise and data "
    "by optimal transport in each batch leaves fewer crossings, and <b>reflow</b> (training again on the "
    "model's own noise → data pairs, which never cross) straightens the paths until one or two steps "
    "suffice. The TV under each panel is the histogram distance to fresh data.")
REFLOW_SECONDS = 20.0
REFLOW_PAIRS = 8000
PROGRESS_STEPS = 1000  # resolution of the reflow's progress bar
MIN_PANEL = 222  # px: a panel's plot keeps 200 px inside its left axis
PANEL_ASPECT = 0.9  # a panel is taller than wide: a title over the plot, an axis under it (~42 px; ~20 beside)


POINT_STYLE = ("#56B4E9", 2, 0.6)  # (colour, px, opacity): sky blue, in no colour map of the density; small


def _panel(title: str) -> DensityView:
    view = DensityView(title=title, colorbar=False)  # the heatmap is only the ground the samples are judged on
    # 1,500 large white dots hid the density they are judged against: small, translucent, blue ones
    color, size, opacity = POINT_STYLE
    view.points.set_style(size, color, opacity)
    return view


class FewStepLab(Lab):
    """Signals: ``reflow_finished(str)`` when a reflow ends: "done" (its row is drawn next), "stopped"
    (cancelled, or its model is no longer the current one) or "failed" (the status says why)."""

    reflow_finished = QtCore.Signal(str)
    equation = EQUATION
    explanation = EXPLANATION
    defer_updates = True
    uses_time = False  # whole solves: the time bar would change nothing (see on_time)

    def __init__(self, ctx: LabContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.count = QtWidgets.QSpinBox()
        self.count.setRange(100, 5000)
        self.count.setValue(1500)
        self.count.setToolTip("Particles in the noise batch (the same batch in every panel)")
        self.count.valueChanged.connect(lambda _: self.refresh())
        self.seconds = QtWidgets.QDoubleSpinBox()
        self.seconds.setRange(1.0, 600.0)
        self.seconds.setValue(REFLOW_SECONDS)
        self.seconds.setSuffix(" s")
        self.seconds.setToolTip("Training time of the reflow (drawing its pairs comes first)")
        self.pairs = QtWidgets.QSpinBox()
        self.pairs.setRange(100, 200_000)
        self.pairs.setSingleStep(1000)
        self.pairs.setValue(REFLOW_PAIRS)
        self.pairs.setToolTip("Noise → data pairs the reflow draws from this model's flow and trains on")
        self.reflow_button = QtWidgets.QPushButton("Reflow")
        self.reflow_button.setToolTip("Train a new flow-matching model on this model's own noise → data pairs: "
                                      "straighter paths, fewer steps")
        self.reflow_button.clicked.connect(self._on_reflow_clicked)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setMinimumWidth(200)
        self.progress.hide()
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the reflow; the current model stays as it is")
        self.cancel_button.clicked.connect(self.cancel_reflow)
        self.cancel_button.hide()
        self.adopt_button = QtWidgets.QPushButton("Use reflowed model")
        self.adopt_button.setToolTip("Make the reflowed model the window's current model: every view shows it, "
                                     "and File → Save saves it")
        self.adopt_button.clicked.connect(self._on_adopt_clicked)
        self.adopt_button.setEnabled(False)
        # the choices on one line, the reflow's buttons and progress on the next: in one row they were
        # wider than the view at 1024 px and the whole tab scrolled sideways
        choices, actions = QtWidgets.QHBoxLayout(), QtWidgets.QHBoxLayout()
        for label, w in (("particles", self.count), ("reflow for", self.seconds), ("on", self.pairs)):
            choices.addWidget(QtWidgets.QLabel(label))
            choices.addWidget(w)
        choices.addWidget(QtWidgets.QLabel("pairs"))
        choices.addStretch(1)
        for control in (self.reflow_button, self.progress, self.cancel_button, self.adopt_button):
            actions.addWidget(control)
        actions.addStretch(1)
        # twelve panels of 200 px do not fit 1024 x 768: the grid shows them a page at a time, the
        # model's and the reflowed model's panels of the same step counts together
        self.grid = SquareGrid(aspect=PANEL_ASPECT, min_cell=MIN_PANEL)
        actions.addWidget(self.grid.pager)
        row = QtWidgets.QVBoxLayout()
        row.setSpacing(2)
        row.addLayout(choices)
        row.addLayout(actions)
        names = [f"{k} Euler step{'s' if k > 1 else ''}" for k in STEPS] + ["reference (dopri5)"]
        self.model_panels = [_panel(n) for n in names]
        self._names = names
        self.reflow_panels = [_panel(f"reflow: {n}") for n in names]
        self.coupling_panels = [_panel("independent pairs"), _panel("OT pairs")]
        # each sampling panel's TV in its corner: in the title it took the title to two lines
        self.tv_labels = {id(p): corner_label(p.plot) for p in self.model_panels + self.reflow_panels}
        self.lines = []
        for p in self.coupling_panels:
            line = pg.PlotDataItem(connect="pairs", pen=pg.mkPen((120, 170, 255, 150), width=1))
            p.plot.addItem(line)
            self.lines.append(line)
        for p in self.model_panels + self.reflow_panels + self.coupling_panels:
            self.grid.add(p)
        self.grid.set_groups([self.model_panels, self.reflow_panels, self.coupling_panels])
        self.header.status.set_lines(1)  # its statuses are one line; the panels need the height
        for p in self.reflow_panels:
            self.grid.set_shown(p, False)
        self.grid.relayout()
        lay = QtWidgets.QVBoxLayout(self.body)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.grid, 1)
        self.reflowed: TrainedModel | None = None  # the reflowed model of the current one, once trained
        self._reflow_of: TrainedModel | None = None
        # the reflow runs on its own worker: redrawing the panels or leaving the tab does not stop it
        self._reflow_worker: GeneratorWorker | None = None
        self._teacher: TrainedModel | None = None  # the model the reflow under way started from
        self._result: TrainedModel | None = None  # and what it has made, once it has
        ctx.model_changed.connect(self._on_model_changed)
        self.compare: str | None = None  # a shipped model shown in the second row instead of a reflow
        self.frames: dict[str, FewStepFrame] = {}

    # -- the Lab contract ---------------------------------------------------------------------
    def settings(self) -> dict[str, object]:
        return {"particles": self.count.value(), "reflow_seconds": self.seconds.value(),
                "reflow_pairs": self.pairs.value(), "compare": self.compare}

    def configure(self, particles: int | None = None, reflow_seconds: float | None = None,
                  reflow_pairs: int | None = None, compare: str | None = None, **_: object) -> None:
        if particles is not None:
            self.count.setValue(int(particles))
        if reflow_seconds is not None:
            self.seconds.setValue(float(reflow_seconds))
        if reflow_pairs is not None:
            self.pairs.setValue(int(reflow_pairs))
        if compare is not None:
            try:
                self.reflowed, self.compare = load_shipped(str(compare)), str(compare)
            except InputError as e:
                self.header.set_status(f"⚠ {e}")

    def on_time(self, t: float) -> None:
        """The panels show whole solves: the time bar does not change them."""

    def _flow(self) -> bool:
        return self.ctx.trained is not None and self.ctx.trained.kind in FLOW_KINDS

    @property
    def reflowing(self) -> bool:
        """Whether a reflow is under way."""
        return self._reflow_worker is not None

    def _sync_buttons(self) -> None:
        idle = not self.reflowing and not self.ctx.training
        self.reflow_button.setEnabled(idle and self.ctx.kind == "fm")
        self.adopt_button.setEnabled(idle and self.reflowed is not None and self.compare is None
                                     and self._reflow_of is not None and self._reflow_of is self.ctx.trained)

    def refresh(self) -> None:
        self._sync_buttons()
        if self.ctx.density is not None and not self._flow():
            self._draw_coupling(coupling_frame(self.ctx.density))  # with a flow, after its panels (below)
        if self.compare is None and self._reflow_of is not self.ctx.trained:
            self.reflowed, self._reflow_of = None, None
            self._sync_buttons()
            for p in self.reflow_panels:
                self.grid.set_shown(p, False)
            self.grid.relayout()
        if not self._flow():
            self.stop_background()  # the last flow's frames still on their way would draw over the empty panels
            for p, name in zip(self.model_panels, self._names):
                p.set_points(None)
                p.set_density(None, self.ctx.box)  # empty, but over the density's box
                p.set_title(name)  # not the last flow's figures over nothing
                self.tv_labels[id(p)].setText("")
                self.grid.set_shown(p, False)  # five empty frames say nothing: the couplings stay, the status says why
            self.grid.relayout()
            self.header.set_status("Few-step sampling needs a flow: train or open a flow-matching model (or a CNF).")
            return
        self.header.set_status("Sampling…")
        tm, density, n = self.ctx.trained, self.ctx.density, self.count.value()
        assert tm is not None  # _flow() said so
        self.run_in_background(lambda: self._first_frames(tm, density, n), self._draw)

    def _frames(self, tm: TrainedModel, density: Density | None, n: int) -> Iterator[FewStepFrame]:
        yield few_step_frame("model", tm, density, n)
        if self.reflowed is not None:
            yield few_step_frame("reflow", self.reflowed, density, n)

    def _first_frames(self, tm: TrainedModel, density: Density | None,
                      n: int) -> Iterator[FewStepFrame | CouplingFrame]:
        """The cheapest picture first: the Euler panels of each row (milliseconds); then the rows with
        their dopri5 references and straightness, and the pairs (the ODE and assignment solvers' libraries
        load on the way)."""
        rows = [("model", tm)] + ([("reflow", self.reflowed)] if self.reflowed is not None else [])
        for name, model in rows:
            yield few_step_frame(name, model, density, n, reference=False)
        yield from self._frames(tm, density, n)
        if density is not None:
            yield coupling_frame(density)

    def refresh_now(self) -> None:
        if self.ctx.density is not None:
            self._draw_coupling(coupling_frame(self.ctx.density))
        if self.ctx.trained is not None and self._flow():
            for frame in self._frames(self.ctx.trained, self.ctx.density, self.count.value()):
                self._draw(frame)

    # -- drawing --------------------------------------------------------------------------------
    def _draw(self, frame: FewStepFrame | CouplingFrame | ReflowProgress) -> None:
        if isinstance(frame, ReflowProgress):
            self._on_reflow_progress(frame)
            return
        if isinstance(frame, CouplingFrame):
            self._draw_coupling(frame)
            return
        self.frames[frame.name] = frame
        panels = self.model_panels if frame.name == "model" else self.reflow_panels
        # the data's density underneath: the samples are judged against it (and white dots need a dark ground)
        ground = None if self.ctx.density is None else self.ctx.density.density_grid(96)
        for panel in panels:  # the whole row at once (a first frame has no reference yet): the grid stays put
            self.grid.set_shown(panel, True)
        for k, (panel, (title, x)) in enumerate(zip(panels, frame.panels)):
            panel.set_density(ground, self.ctx.box)
            panel.set_points(x)
            short = title.replace(" Euler", "").replace("reference (dopri5)", "dopri5")
            panel.set_title(f"{frame.label}: {short}")
            self.tv_labels[id(panel)].setText(f"TV {frame.tv[k]:.2f}" if frame.tv else "")
            keep_clear(self.tv_labels[id(panel)], x)
        self.grid.relayout()
        for panel in self.model_panels + self.reflow_panels + self.coupling_panels:
            panel.fit()  # the cells changed size: each view goes back to the density's box
        self.header.set_status(self._summary())

    def _summary(self) -> str:
        parts = []
        for name in ("model", "reflow"):
            f = self.frames.get(name)
            if f is not None and (name == "model" or self.reflowed is not None):
                s = "—" if f.straightness is None else f"{f.straightness:.3g}"
                parts.append(f"{f.label}: straightness S = {s}")
        return " · ".join(parts)

    def _draw_coupling(self, c: CouplingFrame) -> None:
        for panel, line, x1, cost, name in zip(self.coupling_panels, self.lines, (c.x1, c.ot),
                                               (c.cost_independent, c.cost_ot), ("independent", "OT")):
            pts = np.empty((2 * len(c.x0), 2), np.float32)
            pts[0::2], pts[1::2] = c.x0, x1
            line.setData(pts[:, 0], pts[:, 1])
            panel.set_density(None, self.ctx.box)
            panel.set_points(np.concatenate([c.x0, x1]), np.repeat([0, 1], len(c.x0)))  # noise, data
            panel.set_title(f"{name} · cost {cost:.0f}")

    # -- reflow ------------------------------------------------------------------------------------
    def _on_reflow_clicked(self) -> None:
        tm = self.ctx.trained
        if tm is None or tm.kind != "fm" or self.reflowing or self.ctx.training:
            return
        density, seconds, pairs = self.ctx.density, self.seconds.value(), self.pairs.value()
        self._teacher, self._result = tm, None
        w = GeneratorWorker(lambda: reflow_run(tm, density, seconds, pairs), min_interval=0.1,
                            keep=lambda p: p.model is not None)
        w.yielded.connect(lambda p: self._on_reflow_progress(p) if self._reflow_worker is w else None)
        w.finished.connect(lambda how: self._end_reflow(w, how))
        w.failed.connect(lambda text: self._end_reflow(w, "failed", text))
        self._reflow_worker = w
        self._show_progress(0, "drawing the model's noise → data pairs…")
        self.header.set_status("Reflow: drawing the model's noise → data pairs…")
        self._sync_buttons()
        w.start()

    def cancel_reflow(self) -> None:
        """Stop the reflow under way (it ends at its next step, with ``reflow_finished("stopped")``)."""
        if self._reflow_worker is not None:
            self._reflow_worker.stop()
            self.cancel_button.setEnabled(False)
            self.progress.setFormat("cancelling…")

    def _show_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(round(PROGRESS_STEPS * min(max(fraction, 0.0), 1.0)))
        self.progress.setFormat(text.replace("%", "%%"))
        self.progress.show()
        self.cancel_button.setEnabled(True)
        self.cancel_button.show()

    def _on_reflow_progress(self, p: ReflowProgress) -> None:
        if p.model is not None:
            self._result = p.model
        elif not p.training:
            self._show_progress(p.pairs_done / p.pairs, f"pairs {p.pairs_done:,} / {p.pairs:,}")
        else:
            seconds = self.seconds.value()
            self._show_progress(p.elapsed / seconds, f"training {p.elapsed:.0f} / {seconds:.0f} s")
            self.throttled_status(lambda: f"Reflow: step {p.step} · {p.elapsed:.0f}/{seconds:.0f} s · "
                                          f"loss {p.loss:.4f}")

    def _end_reflow(self, worker: GeneratorWorker, how: str, text: str = "") -> None:
        if worker is not self._reflow_worker:
            return
        self._reflow_worker = None
        worker.shutdown(1000)  # its generator has ended: this only lets the worker go
        self.progress.hide()
        self.cancel_button.hide()
        current = self._teacher is not None and self._teacher is self.ctx.trained
        result, self._teacher, self._result = self._result, None, None
        if how == "done" and result is not None and current:
            self.reflowed, self._reflow_of, self.compare = result, self.ctx.trained, None
            self.refresh()
        else:
            self.header.set_status(f"⚠ Reflow failed: {text}" if how == "failed" else
                                   "Reflow cancelled" if current else
                                   "Reflow stopped: the model it started from is no longer the current one")
            self._sync_buttons()
            how = "failed" if how == "failed" else "stopped"
        self.reflow_finished.emit(how)

    def _on_model_changed(self) -> None:
        """A reflow of a model that is no longer the current one is of no use: stop it."""
        if self.reflowing and self._teacher is not self.ctx.trained:
            self.cancel_reflow()
        self._sync_buttons()

    def _on_adopt_clicked(self) -> None:
        if self.adopt_button.isEnabled() and self.reflowed is not None:
            self.ctx.adopt_requested.emit(self.reflowed)

    def shutdown(self) -> None:
        super().shutdown()
        w, self._reflow_worker = self._reflow_worker, None
        if w is not None and not w.shutdown(10_000):
            self._orphans.append(w)  # never destroy a running QThread
