"""Contours of a density that enclose given shares of its mass, drawn over an image item."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

__all__ = ["ContourOverlay", "mass_levels"]


def mass_levels(grid: np.ndarray, masses: tuple[float, ...]) -> list[float]:
    """Density values whose super-level sets hold each share of the grid's mass (highest-density regions)."""
    values = np.sort(np.nan_to_num(grid, nan=0.0).ravel())[::-1]
    total = values.sum()
    if total <= 0:
        return [float("inf")] * len(masses)
    cum = np.cumsum(values) / total
    return [float(values[min(int(np.searchsorted(cum, m)), len(values) - 1)]) for m in masses]


class ContourOverlay:
    """Isocurves added to ``plot`` above everything else (particles included) at the levels
    enclosing ``masses`` of the density given to ``set_grid``; one pen style per level, inner first."""

    def __init__(self, plot: pg.PlotWidget, masses: tuple[float, ...] = (0.5, 0.9),
                 color: str = "#FFFFFF") -> None:
        self.masses = masses
        styles = [QtCore.Qt.PenStyle.SolidLine, QtCore.Qt.PenStyle.DashLine, QtCore.Qt.PenStyle.DotLine]
        self.curves = []
        for k, _ in enumerate(masses):
            pen = pg.mkPen(color, width=2, style=styles[k % len(styles)])
            curve = pg.IsocurveItem(level=0.0, pen=pen, axisOrder="row-major")
            curve.setZValue(20)
            plot.addItem(curve)
            self.curves.append(curve)

    def set_grid(self, grid: np.ndarray | None, box: tuple[float, float, float, float]) -> None:
        """Contour ``grid`` (n, n; rows = y) laid over ``box``; None hides the contours."""
        if grid is None:
            self.set_visible(False)
            return
        x0, x1, y0, y1 = box
        rows, cols = grid.shape
        cell = QtGui.QTransform.fromTranslate(x0, y0).scale((x1 - x0) / cols, (y1 - y0) / rows)
        for curve, level in zip(self.curves, mass_levels(grid, self.masses)):
            curve.setTransform(cell)
            curve.setData(np.asarray(grid, np.float32), level)
            curve.setVisible(True)

    def set_visible(self, on: bool) -> None:
        for curve in self.curves:
            curve.setVisible(on)
