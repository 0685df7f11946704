"""Adjoint lab: the adjoint method and backprop through the solver give the same gradient at different costs."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from PySide6 import QtCore, QtWidgets

from widgets.adjoint_controls import AdjointControls
from widgets.plot_style import scale_font
from widgets.series_chart import SeriesChart

from ..base import Lab
from ..cnf_field import lab_field
from .compute import STEP_COUNTS, AdjointPoint, adjoint_sweep

__all__ = ["AdjointLab"]

SUMMARY_SCALE = 1.2  # the summary's text size, relative to the base size
COLORS = {"backprop": "#D55E00", "adjoint": "#0072B2", "error": "#009E73"}


class AdjointLab(Lab):
    equation = ("a(t) = ∂L/∂z(t):&nbsp;&nbsp; da/dt = −a(t)ᵀ ∂f<sub>θ</sub>/∂z,&nbsp;&nbsp; "
                "da<sub>θ</sub>/dt = −a(t)ᵀ ∂f<sub>θ</sub>/∂θ&nbsp;&nbsp; "
                "(solved backwards; a<sub>θ</sub> ends as ∂L/∂θ)")
    explanation = """
<p><b>Two ways to the same gradient.</b> The loss is the negative log-likelihood
L = −mean log p(x) of a batch, with log p(x) from the ODE for [z, log-density change] solved from
the data (t = 1) to the noise (t = 0). <i>Backprop</i> differentiates through every operation of
the solver, so it must keep every intermediate value: memory grows with the number of steps.
The <i>adjoint method</i> keeps nothing of the forward solve; it solves a second ODE backwards
for a(t) = ∂L/∂z(t), rebuilding z(t) on the way, and accumulates ∂L/∂θ. Memory stays flat; it
costs about twice the function evaluations.</p>
<p><b>Not exactly equal.</b> The adjoint differentiates the exact ODE and then discretizes the
backward one; backprop differentiates the discretized forward solve. The two agree up to the
solver's error, which shrinks with the step (fast for RK4, slowly for Euler): see the left chart.</p>
<p><b>What is measured.</b> Wall time of forward + backward on this machine (the fastest of a few
runs, timed without the memory probe, which slows autograd). Memory on CPU is the
peak of the bytes autograd holds for the backward pass (every tensor saved for a gradient,
counted once, from when it is saved until it is freed); on a GPU, the peak of allocated memory.</p>
"""

    uses_time = False  # see on_time

    def __init__(self, ctx, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.controls = AdjointControls()
        self.error_chart = SeriesChart("relative error ‖g<sub>adj</sub> − g<sub>bp</sub>‖ / ‖g<sub>bp</sub>‖",
                                       "solver steps", "relative error", log_x=True, log_y=True, legend="none")
        self.time_chart = SeriesChart("time: forward + backward", "solver steps", "seconds", log_x=True, log_y=True)
        self.memory_chart = SeriesChart("memory kept for backward", "solver steps", "MB", log_x=True,
                                        log_y=True)
        self.error_chart.add_series("error", "adjoint vs backprop", COLORS["error"], symbol="o")
        for chart in (self.time_chart, self.memory_chart):
            chart.add_series("backprop", "backprop", COLORS["backprop"], symbol="s")
            chart.add_series("adjoint", "adjoint", COLORS["adjoint"], symbol="o")
        self.summary = QtWidgets.QLabel()
        self.summary.setWordWrap(True)
        self.summary.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter)
        scale_font(self.summary, SUMMARY_SCALE)
        # two by two, the summary in the fourth cell: three charts in a row were tall slivers
        grid = QtWidgets.QGridLayout()
        for k, chart in enumerate((self.error_chart, self.time_chart, self.memory_chart)):
            chart.set_x_ticks(list(STEP_COUNTS))
            grid.addWidget(chart, k // 2, k % 2)
        grid.addWidget(self.summary, 1, 1)
        for k in range(2):
            grid.setRowStretch(k, 1)
            grid.setColumnStretch(k, 1)
        lay = QtWidgets.QVBoxLayout(self.body)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.controls)
        lay.addLayout(grid, 1)
        self.step_counts: tuple[int, ...] = STEP_COUNTS
        self.points: list[AdjointPoint] = []
        self._measured_for: object = None  # the model the chart was measured for
        self._what = ""
        self.controls.run_requested.connect(self._on_run_requested)

    # -- Lab interface -------------------------------------------------------------------
    def refresh(self) -> None:
        """Measure when the model differs from the one measured (not while it is training: press Measure)."""
        if self._measured_for is self.ctx.trained and len(self.points) == len(self.step_counts):
            return
        if self.ctx.training and self.points:
            self.header.set_status("The model is training: press Measure to measure its current state.")
            return
        self.measure()

    def settings(self) -> dict[str, object]:
        return {"solver": self.controls.solver, "batch": self.controls.batch}

    def configure(self, solver: str | None = None, batch: int | None = None, **_: object) -> None:
        self.controls.set_choice(solver, batch)
        if self.active:
            self.measure()

    def on_time(self, t: float) -> None:
        """The chart does not depend on the time bar."""

    def render_frames(self, count: int) -> Iterator[int]:
        """The charts growing one step count at a time (measured synchronously)."""
        self._clear()
        sweep = self._sweep()
        for k in range(count):
            want = round((k + 1) * len(self.step_counts) / count)
            for point in sweep:
                self._on_point(point)
                if len(self.points) >= want:
                    break
            yield k

    # -- measuring -----------------------------------------------------------------------
    def _on_run_requested(self) -> None:
        if self.active:  # a hidden lab computes nothing
            self.measure()

    def measure(self) -> None:
        self._clear()
        sweep = self._sweep()  # built here, on the GUI thread; it only starts computing on the worker
        self.run_in_background(lambda: sweep, self._on_point)

    def _sweep(self) -> Iterator[AdjointPoint]:
        field, source = lab_field(self.ctx)
        x = self._batch(field)
        self._measured_for = self.ctx.trained
        counts = self.step_counts
        self._what = (f"Gradient of −mean log p(x) over {len(x)} points for {source}, "
                      f"{self.controls.solver_box.currentText()} with {counts[0]} … {counts[-1]} steps")
        self.header.set_status(f"{self._what}: measuring …")
        return adjoint_sweep(field, x, self.controls.solver, self.step_counts)

    def _batch(self, field: torch.nn.Module) -> torch.Tensor:
        p = next(field.parameters())
        n = self.controls.batch
        if self.ctx.density is not None:
            x = torch.from_numpy(self.ctx.density.sample(n, seed=0).x)
        else:
            x = 2 * torch.randn(n, 2, generator=torch.Generator().manual_seed(0))
        return x.to(device=p.device, dtype=p.dtype)

    def _clear(self) -> None:
        self.points = []
        for chart in (self.error_chart, self.time_chart, self.memory_chart):
            chart.clear()

    def _on_point(self, p: AdjointPoint) -> None:
        self.points.append(p)
        done, total = len(self.points), len(self.step_counts)
        self.header.set_status(f"{self._what}: " + ("measured." if done == total else f"{done} of {total} measured …"))
        self.error_chart.append("error", p.steps, p.rel_error)
        for method, seconds, size in (("backprop", p.backprop_s, p.backprop_bytes),
                                      ("adjoint", p.adjoint_s, p.adjoint_bytes)):
            self.time_chart.append(method, p.steps, seconds)
            self.memory_chart.append(method, p.steps, size / 1e6)
        self.summary.setText(
            f"<b>{p.steps} steps</b>: relative error {p.rel_error:.1e} · backprop {1000 * p.backprop_s:.0f} ms, "
            f"{p.backprop_bytes / 1e6:.1f} MB, {p.backprop_nfe} evaluations · adjoint {1000 * p.adjoint_s:.0f} ms, "
            f"{p.adjoint_bytes / 1e6:.2f} MB, {p.adjoint_nfe} evaluations "
            f"({np.divide(p.backprop_bytes, max(p.adjoint_bytes, 1)):.0f}× less memory)")
