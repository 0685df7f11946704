"""Trajectories: particles with fading trails along the ODE (CNF, probability-flow) or the SDE (reverse diffusion).

Click the plot (CNF) to follow one point's path through the current time and read log p_t
along it, next to log p_t at that fixed place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from engine.api import FLOW_KINDS
from engine.densities import Density
from engine.flowmatch.model import SDE_SAMPLER, SDE_STEPS
from widgets.density_view import DensityView
from widgets.trails_item import Trails

from ...worker import GeneratorWorker
from ..base import Lab
from ..context import LabContext
from ..path.compute import particle_frames
from .compute import TIMES, cnf_probe, diffusion_fan, flow_fan

__all__ = ["TrajectoriesLab"]

EQUATION = ("z(t + Δt) = z(t) + Δt · f<sub>θ</sub>(z(t), t) &nbsp; (ODE: paths never cross)  &nbsp;|&nbsp; "
            "x(t + Δt) = x(t) + f Δt + g √Δt ε &nbsp; (SDE: a fan of paths)")
EXPLANATION = (
    "An ODE has one solution through each point (Picard: f is Lipschitz), so its paths never cross and "
    "one start gives one path. An SDE has two sources of randomness, the start and the Wiener process, so "
    "one start gives a fan of paths. Fewer solver steps means bigger discretization error: compare Euler "
    "with few steps to the faint RK4 reference. A flow-matching model also has an SDE with its ODE's "
    "marginals (solver <i>sde</i>): dx = [v − x̂<sub>0</sub>] dt + √(2(1 − t)) dW, with the noise estimate "
    "x̂<sub>0</sub> = x − t v; its paths wander and cross, yet end in the same distribution. <b>Click</b> a "
    "point (CNF) to follow its path: the chart compares log p<sub>t</sub>(z(t)) along the moving particle "
    "with log p<sub>t</sub>(z) at the fixed place.")

NO_CHART = ("The log-density along a path needs the exact log p<sub>t</sub> of a CNF. A diffusion model "
            "gives only a bound on it, so this chart is shown for CNFs only. Click the plot to start a fan "
            "of paths from a point.")
TRACE_COLOUR = "#E69F00"  # the clicked path: the chart's "moving particle" colour, unlike the blue trails

SOLVERS = ("euler", "midpoint", "rk4", "dopri5")
SAMPLERS = {"reverse SDE (ancestral)": "ancestral", "probability-flow ODE": "ode", "DDIM": "ddim",
            "DPM-Solver++": "dpm++"}


class TrajectoriesLab(Lab):
    equation = EQUATION
    explanation = EXPLANATION
    defer_updates = True

    def __init__(self, ctx: LabContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.view = DensityView()
        # the heatmap stays while the particles move: drawn once into a device pixmap and blitted each
        # frame (scaling 256² smoothly cost ~2 ms a frame); a new heatmap or a resize redraws it
        self.view.image.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot = self.view.plot.getPlotItem()
        self.reference = Trails(plot, color=(200, 200, 200), width=1.0, head_size=3)
        self.trails = Trails(plot)
        self.solver = QtWidgets.QComboBox()
        self.solver.addItems([*SOLVERS, SDE_SAMPLER])
        self.solver.setCurrentText("euler")
        self.solver.setToolTip("ODE solver of the CNF's paths; for a flow-matching model also sde, its stochastic "
                               "sampler: noisy paths with the same marginals (50 steps or more)")
        self.steps = QtWidgets.QSpinBox()
        self.steps.setRange(1, 200)
        self.steps.setValue(4)
        self.steps.setToolTip("Solver steps from t = 0 to 1 (each is one frame)")
        self.sampler = QtWidgets.QComboBox()
        self.sampler.addItems(list(SAMPLERS))
        self.sampler.setToolTip("Diffusion: the reverse SDE gives noisy paths, the probability-flow ODE smooth ones")
        self.compare = QtWidgets.QCheckBox("RK4 reference")
        self.compare.setChecked(True)
        self.compare.setToolTip("Faint trails: the same particles with RK4 and 64 steps")
        self.count = QtWidgets.QSpinBox()
        self.count.setRange(10, 100_000)
        self.count.setValue(300)
        self.count.setToolTip("Number of particles")
        self.solver.currentTextChanged.connect(self._solver_chosen)  # before the refresh below: it sets the steps
        for w in (self.solver, self.steps, self.sampler, self.count):
            (w.currentTextChanged if isinstance(w, QtWidgets.QComboBox) else w.valueChanged).connect(
                lambda *_: self.refresh())
        self.compare.toggled.connect(lambda _: self.refresh())
        self.probe = TrajectoryProbe(ctx, plot)
        self.view.point_clicked.connect(self.probe.trace)
        row = QtWidgets.QHBoxLayout()
        self._labels: dict[QtWidgets.QWidget, QtWidgets.QLabel] = {}
        for label, w in (("solver", self.solver), ("steps", self.steps), ("sampler", self.sampler),
                         ("particles", self.count)):
            self._labels[w] = QtWidgets.QLabel(label)
            row.addWidget(self._labels[w])
            row.addWidget(w)
        row.addWidget(self.compare)
        row.addStretch(1)
        split = QtWidgets.QSplitter()
        split.addWidget(self.view)
        split.addWidget(self.probe.chart)
        # a diffusion model has no exact log p_t: the chart would stay empty, so a sentence says why
        self.no_chart = QtWidgets.QLabel(NO_CHART)
        self.no_chart.setWordWrap(True)
        self.no_chart.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.no_chart.setMargin(12)
        split.addWidget(self.no_chart)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay = QtWidgets.QVBoxLayout(self.body)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(split, 1)
        self.paths: dict[str, list[Any]] = {"main": [], "reference": []}
        self._complete = False  # whether self.paths holds every frame of the current settings
        self._stacked: dict[str, tuple] = {}
        self._shown_density: Density | None = None

    def settings(self) -> dict[str, object]:
        return {"solver": self.solver.currentText(), "steps": self.steps.value(), "particles": self.count.value(),
                "sampler": SAMPLERS[self.sampler.currentText()], "reference": self.compare.isChecked()}

    def configure(self, solver: str | None = None, steps: int | None = None, particles: int | None = None,
                  sampler: str | None = None, reference: bool | None = None, **_: object) -> None:
        if solver in (*SOLVERS, SDE_SAMPLER):
            self.solver.setCurrentText(solver)
        if steps is not None:
            self.steps.setValue(int(steps))
        if particles is not None:
            self.count.setValue(int(particles))
        names = {v: k for k, v in SAMPLERS.items()}
        if sampler in names:
            self.sampler.setCurrentText(names[sampler])
        if reference is not None:
            self.compare.setChecked(bool(reference))

    def _cnf(self) -> bool:
        return self.ctx.trained is not None and self.ctx.trained.kind in FLOW_KINDS

    def _solver_chosen(self, name: str) -> None:
        """Choosing sde from fewer steps takes its own count: Euler–Maruyama needs more steps than an ODE solver."""
        if name == SDE_SAMPLER and self.steps.value() < SDE_STEPS:
            with QtCore.QSignalBlocker(self.steps):
                self.steps.setValue(SDE_STEPS)

    def _offer_sde(self) -> None:
        """The sde item is enabled for a flow-matching model only; another model falls back to Euler."""
        fm = self.ctx.trained is not None and self.ctx.trained.kind == "fm"
        item = self.solver.model().item(self.solver.findText(SDE_SAMPLER))  # type: ignore[attr-defined]
        item.setEnabled(fm)
        if not fm and self.solver.currentText() == SDE_SAMPLER:
            with QtCore.QSignalBlocker(self.solver):
                self.solver.setCurrentText("euler")

    def _jobs(self) -> Iterator[tuple[str, object]]:
        tm = self.ctx.trained
        if tm is None:
            return
        n = self.count.value()
        if self._cnf():
            for f in particle_frames(tm, n, seed=1, solver=self.solver.currentText(), steps=self.steps.value()):
                yield "main", f
            if self.compare.isChecked():
                for f in particle_frames(tm, n, seed=1, solver="rk4", steps=64):
                    yield "reference", f
            return
        for f in particle_frames(tm, n, seed=1, sampler=SAMPLERS[self.sampler.currentText()],
                                 steps=None):  # type: ignore[arg-type]  # None: the sampler's own count
            yield "main", f

    def refresh(self) -> None:
        self.stop_background()
        self.paths = {"main": [], "reference": []}
        self._complete = False
        self._show_controls()
        self.probe.reset()
        if self.ctx.trained is None:
            self.header.set_status("No model yet: train or open a model to see its trajectories.")
            self._draw()
            return
        self.header.set_status("Solving…")
        self.run_in_background(self._jobs, self._on_frame, lambda how: self._on_done(how))

    def _show_controls(self) -> None:
        self._offer_sde()
        cnf = self._cnf()
        # only the controls that act on this kind of model are shown (a narrower row, nothing inert)
        for w in (self.solver, self.steps, self.compare):
            w.setVisible(cnf)
            self._labels.get(w, w).setVisible(cnf)
        self.sampler.setVisible(not cnf)
        self._labels[self.sampler].setVisible(not cnf)
        self.sampler.setEnabled(self.ctx.trained is not None)
        self._show_panels()

    def _show_panels(self) -> None:
        """The log-density chart for a CNF, the sentence saying why there is none otherwise."""
        cnf = self._cnf()
        self.probe.chart.setVisible(cnf)
        self.no_chart.setVisible(not cnf)
        self.probe.sde_fan = cnf and self.solver.currentText() == SDE_SAMPLER  # a click fans out along the SDE too

    def refresh_now(self) -> None:
        self.stop_background()
        self._offer_sde()
        self._show_panels()  # not the controls: a figure (render, export) hides them
        if self.ctx.trained is not None and not self._complete:  # a background solve may have been cut short
            self.paths = {"main": [], "reference": []}
            for key, f in self._jobs():
                self.paths[key].append(f)
            self._complete = True
            self._on_done("done")
        self._draw()

    def _on_frame(self, item: tuple[str, object]) -> None:
        key, f = item
        self.paths[key].append(f)
        if key == "main":
            self._draw()

    def _on_done(self, how: str) -> None:
        self._complete = how == "done"
        main = self.paths["main"]
        if main and self._cnf() and self.solver.currentText() == SDE_SAMPLER:
            self.header.set_status(f"sde, {self.steps.value()} Euler–Maruyama steps: noisy paths, the faint RK4 "
                                   "trails the ODE's; both end in the same distribution. Click a point for a fan of "
                                   "SDE paths and its ODE path.")
        elif main and self._cnf():
            nfe = sum(getattr(f, "nfe", 0) for f in main)
            evals = f", {nfe} evaluations of f" if nfe else ""
            self.header.set_status(f"{self.solver.currentText()}, {self.steps.value()} steps: {len(main) - 1} "
                                   f"frames{evals}. Click the plot to follow one point.")
        elif main:
            self.header.set_status(f"{self.sampler.currentText()}: {len(main) - 1} frames. Click the plot to "
                                   "start a fan of paths from that point.")
        self._draw()

    def on_time(self, t: float) -> None:
        self._draw()

    def shutdown(self) -> None:
        self.probe.reset()
        super().shutdown()

    def _draw(self) -> None:
        d = self.ctx.density
        if d is None:
            return
        if self._shown_density is not d:  # the heatmap only changes with the density
            self._shown_density = d
            self.view.set_density(d.density_grid(128), d.box)
        for key, trails in (("main", self.trails), ("reference", self.reference)):
            frames = self.paths[key]
            if self._stacked.get(key, (None,))[0] != len(frames):  # stack only when frames arrived
                self._stacked[key] = (len(frames), np.stack([f.x for f in frames]) if frames else None,
                                      np.array([f.t for f in frames]))
                trails.set_paths(self._stacked[key][1])
            times = self._stacked[key][2]
            trails.show_frame(int(np.argmin(np.abs(times - self.ctx.t))) if len(times) else 0)
        self.view.set_title(f"t = {self.ctx.t:.2f}")
        self.probe.show_time(self.ctx.t)


class TrajectoryProbe:
    """A chart of log-density against t and an overlay of the traced path(s) on the plot."""

    def __init__(self, ctx: LabContext, plot: pg.PlotItem) -> None:
        self.ctx = ctx
        self.chart = pg.PlotWidget(title="log-density along a path")
        self.chart.setLabel("bottom", "t")
        self.chart.getAxis("bottom").enableAutoSIPrefix(False)
        self.chart.getAxis("left").enableAutoSIPrefix(False)
        self.chart.setXRange(0.0, 1.0, padding=0.02)  # t runs over [0, 1]: the axis never drifts
        self.chart.getPlotItem().enableAutoRange(x=False)
        # no grid: an axis with grid lines is replayed on every repaint of the moving time cursor
        self.along = self.chart.plot(pen=pg.mkPen(TRACE_COLOUR, width=3))
        self.fixed = self.chart.plot(pen=pg.mkPen("#56B4E9", width=3))
        # the legend stands under the t axis, in a row of its own: inside the plot every corner can hold a
        # curve (a click between modes sends log p_t(z) down at the right, one on a mode starts both low)
        self.legend = pg.LegendItem()
        self.chart.getPlotItem().layout.addItem(self.legend, 4, 1)
        self.legend.addItem(self.along, "log p_t(z(t)), moving")
        self.legend.addItem(self.fixed, "log p_t(z), fixed")
        self.now = pg.InfiniteLine(angle=90, pen=pg.mkPen("#AAAAAA", width=1))
        self.chart.addItem(self.now)
        self.path = pg.PlotCurveItem(pen=pg.mkPen(TRACE_COLOUR, width=3), connect="finite")
        fan = QtGui.QColor(TRACE_COLOUR)
        fan.setAlpha(110)
        self.fan = pg.PlotCurveItem(pen=pg.mkPen(fan, width=1.2), connect="finite")
        self.marker = pg.ScatterPlotItem(size=14, pen=pg.mkPen("#000000", width=2), brush=pg.mkBrush(TRACE_COLOUR))
        for item in (self.fan, self.path, self.marker):
            plot.addItem(item)
        self.worker: GeneratorWorker | None = None
        self.sampler = "ancestral"
        self.sde_fan = False  # a flow-matching model's click also starts a fan along its stochastic sampler

    def reset(self) -> None:
        self._stop()
        for c in (self.along, self.fixed, self.path, self.fan):
            c.setData([], [])
        self.marker.clear()

    def trace(self, x: float, y: float) -> None:
        tm = self.ctx.trained
        if tm is None:
            return
        self.reset()
        point, t = np.array([x, y]), self.ctx.t
        self.marker.setData([x], [y])
        job: Callable[[], Iterator[tuple[str, Any]]]
        if tm.kind == "fm" and self.sde_fan:
            job = lambda: iter([("fan", flow_fan(tm.model, point, t)),  # noqa: E731
                                ("cnf", cnf_probe(tm.model, point, t))])
        elif tm.kind in FLOW_KINDS:
            job = lambda: iter([("cnf", cnf_probe(tm.model, point, t))])  # noqa: E731
        else:
            job = lambda: iter([("fan", diffusion_fan(tm.model, point, "ancestral")),  # noqa: E731
                                ("ode", diffusion_fan(tm.model, point, "ode"))])
        self.worker = GeneratorWorker(job, min_interval=0.0)
        self.worker.yielded.connect(self._on_result)
        self.worker.start()

    def show_time(self, t: float) -> None:
        self.now.setValue(t)

    def _on_result(self, item: tuple[str, Any]) -> None:
        kind, data = item
        if kind == "cnf":
            path, along, fixed = data
            self.path.setData(path[:, 0], path[:, 1])
            self.along.setData(TIMES, along)
            self.fixed.setData(TIMES, fixed)
        elif kind == "fan":
            fan = np.concatenate([data.transpose(1, 0, 2), np.full((data.shape[1], 1, 2), np.nan)], 1)
            fan = fan.reshape(-1, 2)
            self.fan.setData(fan[:, 0], fan[:, 1])
        else:
            self.path.setData(data[:, 0, 0], data[:, 0, 1])

    def _stop(self) -> None:
        if self.worker is not None:
            self.worker.shutdown(10_000)
            self.worker = None
