"""Live training curves: the loss, and a quality metric with its ideal value as a line."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

__all__ = ["CurvesView"]


class CurvesView(QtWidgets.QWidget):
    """Two plots against training step: ``add_point(step, loss, metric)`` appends; ``clear()`` empties.

    ``set_reference(value, label)`` draws a horizontal line on the metric plot (e.g. the
    true entropy, the best NLL a model can reach).
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.glw = pg.GraphicsLayoutWidget()
        self.loss_plot = self.glw.addPlot(title="training loss")
        self.metric_plot = self.glw.addPlot(title="quality")
        for p in (self.loss_plot, self.metric_plot):
            p.showGrid(x=True, y=True, alpha=0.2)
            p.setLabel("bottom", "step")
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#56B4E9", width=2))
        # every step is kept; long runs are drawn at screen resolution (min and max per pixel)
        self.loss_curve.setDownsampling(auto=True, method="peak")
        self.loss_curve.setClipToView(True)
        self.metric_curve = self.metric_plot.plot(pen=pg.mkPen("#E69F00", width=2), symbol="o", symbolSize=5,
                                                  symbolBrush="#E69F00", symbolPen=None)
        dashed = pg.mkPen("#009E73", width=2, style=QtCore.Qt.PenStyle.DashLine)
        self.reference = pg.InfiniteLine(angle=0, movable=False, pen=dashed,
                                         label="", labelOpts={"position": 0.15, "color": "#009E73"})
        self.metric_plot.addItem(self.reference)
        self.reference.setVisible(False)
        self._loss: list[tuple[float, float]] = []
        self._metric: list[tuple[float, float]] = []
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.glw)

    def set_metric_name(self, name: str) -> None:
        self.metric_plot.setTitle(name)

    def set_reference(self, value: float | None, label: str = "") -> None:
        self.reference.setVisible(value is not None)
        if value is not None:
            self.reference.setValue(value)
            self.reference.label.setFormat(label)

    def add_point(self, step: int, loss: float | None, metric: float | None = None) -> None:
        if loss is not None and np.isfinite(loss):
            self._loss.append((step, loss))
        # a metric is measured now and then and repeated in between: plot each value once
        if metric is not None and np.isfinite(metric) and (not self._metric or self._metric[-1][1] != metric):
            self._metric.append((step, metric))

    def redraw(self) -> None:
        """Push the points to the plots (called from a timer, not per step)."""
        if self._loss:
            a = np.asarray(self._loss, np.float64)
            self.loss_curve.setData(a[:, 0], a[:, 1])
        if self._metric:
            b = np.asarray(self._metric, np.float64)
            self.metric_curve.setData(b[:, 0], b[:, 1])

    def clear(self) -> None:
        self._loss.clear()
        self._metric.clear()
        self.loss_curve.setData([], [])
        self.metric_curve.setData([], [])

    def point_count(self) -> tuple[int, int]:
        return len(self._loss), len(self._metric)
