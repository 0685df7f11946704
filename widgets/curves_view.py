"""Live training curves: the loss, and a quality metric with its ideal value as a line."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .plot_grid import add_light_grid
from .plot_style import boxed_text, restyle

__all__ = ["CurvesView", "running_mean", "EMPTY_NOTE"]

# an empty pair of axes reads as a broken chart: say why there is nothing yet
EMPTY_NOTE = "no training run\nin this window yet\n(Train, Ctrl+Enter)"  # short lines: a 1024-px chart, larger text

SMOOTH_POINTS = 400  # the running mean is drawn with at most this many points
PLOT_MIN_PX = 200  # the least height of each plot's data area, inside its title and axes
TEXT_LINES = 5  # the title, the ticks and the axis label under the plot, in lines of text
MARGINS_PX = 10  # the plots' own margins


def running_mean(x: np.ndarray, y: np.ndarray, fraction: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Centred moving average of y over a window of ``fraction`` of the points (at least 1),
    evaluated at up to SMOOTH_POINTS evenly spaced points: (x, mean)."""
    n = len(y)
    if n == 0:
        return x[:0], y[:0]
    half = max(0, int(n * fraction) // 2)
    c = np.concatenate([[0.0], np.cumsum(y, dtype=np.float64)])
    idx = np.unique(np.linspace(0, n - 1, min(n, SMOOTH_POINTS)).round().astype(np.int64))
    lo, hi = np.maximum(idx - half, 0), np.minimum(idx + half + 1, n)
    return x[idx], (c[hi] - c[lo]) / (hi - lo)


class _Series:
    """(step, value) points in a growing array, so a redraw needs no conversion of the whole run."""

    def __init__(self) -> None:
        self._xy = np.empty((1024, 2), np.float64)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == len(self._xy):
            self._xy = np.concatenate([self._xy, np.empty_like(self._xy)])
        self._xy[self.n] = (x, y)
        self.n += 1

    def last(self) -> float | None:
        return float(self._xy[self.n - 1, 1]) if self.n else None

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self._xy[: self.n, 0], self._xy[: self.n, 1]

    def clear(self) -> None:
        self.n = 0


class CurvesView(QtWidgets.QWidget):
    """Two plots against training step: ``add_point(step, loss, metric)`` appends; ``clear()`` empties.

    ``set_reference(value, label)`` draws a labelled dashed line on the metric plot at what a
    perfect model reads (the true entropy under an NLL, an exact sample's TV under a TV).
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.glw = pg.GraphicsLayoutWidget()
        self.loss_plot = self.glw.addPlot(title="training loss")
        self.metric_plot = self.glw.addPlot(title="quality")
        for p in (self.loss_plot, self.metric_plot):
            add_light_grid(p)
            p.setLabel("bottom", "step")
        # one step axis for both: the metric is measured every few seconds, and its first points alone
        # had an axis of 0-1 steps beside a loss at step 100
        self.metric_plot.setXLink(self.loss_plot)
        self.metric_plot.enableAutoRange(x=False)
        # every step is kept and drawn as a thin line (a wide pen on a noisy line of thousands of
        # points costs Qt's stroker 100-800 ms a paint); a running mean is drawn wide on top of it
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen((86, 180, 233, 110), width=1))
        self.loss_curve.setDownsampling(auto=True, method="peak")  # min and max per pixel on long runs
        self.loss_curve.opts["autoDownsampleFactor"] = 1.0
        self.loss_curve.setClipToView(True)
        self.loss_smooth = self.loss_plot.plot(pen=pg.mkPen("#56B4E9", width=2))
        # thin line, weight from the dots: a 2-px pen on a zigzag of a few hundred points costs ~60 ms a paint
        self.metric_curve = self.metric_plot.plot(pen=pg.mkPen("#E69F00", width=1), symbol="o", symbolSize=6,
                                                  symbolBrush="#E69F00", symbolPen=None)
        dashed = pg.mkPen("#009E73", width=2, style=QtCore.Qt.PenStyle.DashLine)
        # the label under the line, in the middle: the curve runs above a floor, and the plot's
        # range keeps room under it (an invisible span the autorange includes)
        self.reference = pg.InfiniteLine(angle=0, movable=False, pen=dashed, label="",
                                         labelOpts={"position": 0.5, "color": "#009E73",
                                                    "anchors": [(0.5, -0.1), (0.5, -0.1)]})
        self.metric_plot.addItem(self.reference)
        self.reference.setVisible(False)
        self._room = self.metric_plot.plot(pen=pg.mkPen((0, 0, 0, 0)))
        self._loss, self._metric = _Series(), _Series()
        self.empty_notes = []
        for p in (self.loss_plot, self.metric_plot):
            note = boxed_text(EMPTY_NOTE, anchor=(0.5, 0.5))
            p.addItem(note, ignoreBounds=True)
            note.setPos(0.5, 0.5)  # the middle of an empty plot's 0..1 range
            # ... and of whatever range it is given (the metric's steps follow the loss's)
            p.getViewBox().sigRangeChanged.connect(lambda vb, rng, *_, note=note: note.setPos(
                0.5 * (rng[0][0] + rng[0][1]), 0.5 * (rng[1][0] + rng[1][1])))
            self.empty_notes.append(note)
        self._pending = ""  # what the metric chart says while a run has a loss but no metric yet
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.glw)
        restyle(self)
        self._fit_size()

    def changeEvent(self, event: QtCore.QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:  # larger text: more room for it
            self._fit_size()

    def _fit_size(self) -> None:
        """Never so low that the plots' data areas fall under PLOT_MIN_PX (a layout that shares the
        height out by stretch would give them ~170 px at 1024 x 768); and the two plots of one width:
        the layout gives each its least width (its title's) and shares out the rest, so the loss's
        longer title had left it 410 px beside the metric's 520, on one step axis."""
        self.setMinimumHeight(PLOT_MIN_PX + TEXT_LINES * self.fontMetrics().lineSpacing() + MARGINS_PX)
        plots = (self.loss_plot, self.metric_plot)
        for p in plots:
            p.setMinimumWidth(-1)  # back to what its title and axes need at this text size
        least = max(p.effectiveSizeHint(QtCore.Qt.SizeHint.MinimumSize).width() for p in plots)
        for p in plots:
            p.setMinimumWidth(least)

    def set_metric_name(self, name: str) -> None:
        self.metric_plot.setTitle(name)
        self._fit_size()

    def set_pending(self, text: str) -> None:
        """What the metric chart says while the run's loss is drawn and its metric not yet ('' for
        nothing): a metric measured every few seconds leaves an empty chart at first."""
        self._pending = text

    def set_reference(self, value: float | None, label: str = "") -> None:
        self.reference.setVisible(value is not None)
        if value is None:
            self._room.setData([], [])
            return
        self.reference.setValue(value)
        self.reference.label.setFormat(label)
        span = max(0.3 * abs(value), 0.05)
        self._room.setData([0.0, 0.0], [value - span, value])

    def add_point(self, step: int, loss: float | None, metric: float | None = None) -> None:
        if loss is not None and np.isfinite(loss):
            self._loss.append(step, loss)
        # a metric is measured now and then and repeated in between: plot each value once
        if metric is not None and np.isfinite(metric) and self._metric.last() != metric:
            self._metric.append(step, metric)

    def redraw(self) -> None:
        """Push the points to the plots (called from a timer, not per step)."""
        loss_note, metric_note = self.empty_notes
        loss_note.setVisible(self._loss.n == 0 and self._metric.n == 0)
        metric_note.setVisible(self._metric.n == 0 and (self._loss.n == 0 or bool(self._pending)))
        text = EMPTY_NOTE if self._loss.n == 0 else self._pending
        if metric_note.isVisible() and metric_note.textItem.toPlainText() != text:
            metric_note.setText(text)
        if self._loss.n:
            x, y = self._loss.data()
            self.loss_curve.setData(x, y)
            self.loss_smooth.setData(*running_mean(x, y))
        if self._metric.n:
            x, y = self._metric.data()
            self.metric_curve.setData(x, y)
            if not self.reference.isVisible():  # the step axis from 0, as the loss's: one early point
                self._room.setData([0.0, float(x[-1])], [float(y[-1])] * 2)  # had an axis of ±0.4 steps

    def clear(self) -> None:
        self._loss.clear()
        self._metric.clear()
        self.loss_curve.setData([], [])
        self.loss_smooth.setData([], [])
        self.metric_curve.setData([], [])
        if not self.reference.isVisible():
            self._room.setData([], [])
        for note in self.empty_notes:
            note.setText(EMPTY_NOTE)
            note.setVisible(True)

    def point_count(self) -> tuple[int, int]:
        return self._loss.n, self._metric.n
