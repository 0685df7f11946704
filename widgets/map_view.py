"""A scalar map on a grid (a divergence, a class probability) with its colour bar and fixed meaning of colour."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .palette import colormap
from .plot_style import restyle
from .titles import ColumnLayout, TitleLabel

__all__ = ["MapView"]

Box = tuple[float, float, float, float]


class MapView(QtWidgets.QWidget):
    """Heatmap of ``grid`` (n, n; rows = y) over ``box``, with a labelled colour bar.

    Unlike a density, a map may be signed: ``scale="symmetric"`` centres a diverging colour
    map on zero, so that white always means 0, and spans the 99th percentile of |value| (a
    few extreme cells saturate instead of washing out the rest); ``scale=(lo, hi)`` fixes the levels (a
    probability in [0, 1]), so colours mean the same thing frame after frame; ``"positive"``
    runs from 0 to the maximum. ``set_shared_levels`` lets several maps use one scale.
    """

    def __init__(self, title: str = "", value_label: str = "", cmap: str = "CET-D1",
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setAspectLocked(True)
        # heatmaps scaled up bilinearly when drawn, not in blocks (the data stays as computed)
        self.plot.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, True)
        self.plot.disableAutoRange()
        self.plot.setMenuEnabled(False)
        self.title = TitleLabel(title)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(colorMap=colormap(cmap), interactive=False, width=18, label=value_label)
        self.colorbar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        self.levels: tuple[float, float] = (0.0, 1.0)
        self._box: Box | None = None
        lay = ColumnLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.title)
        lay.addWidget(self.plot, 1)
        restyle(self)

    def set_map(self, grid: np.ndarray, box: Box, scale: str | tuple[float, float] = "symmetric") -> None:
        """Draw ``grid`` (float, (n, n)) over ``box`` with levels chosen by ``scale``."""
        img = np.ascontiguousarray(np.nan_to_num(grid, nan=0.0, posinf=0.0, neginf=0.0), np.float32)
        self.levels = _levels(img, scale)
        self.image.setImage(img, autoLevels=False, levels=self.levels)
        self.colorbar.setLevels(self.levels)
        if box != self._box:
            self._box = box
            x0, x1, y0, y1 = box
            self.image.setRect(QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))
            self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)

    def set_shared_levels(self, levels: tuple[float, float]) -> None:
        """Use ``levels`` for the current image (so that two maps compare colour for colour)."""
        self.levels = (float(levels[0]), float(levels[1]))
        self.image.setLevels(self.levels)
        self.colorbar.setLevels(self.levels)

    def set_title(self, text: str) -> None:
        self.title.setText(text)


def _levels(img: np.ndarray, scale: str | tuple[float, float]) -> tuple[float, float]:
    if not isinstance(scale, str):
        return float(scale[0]), float(scale[1])
    top = float(np.percentile(np.abs(img), 99)) if img.size else 0.0
    top = top if top > 0 else 1.0
    if scale == "symmetric":
        return -top, top
    if scale == "positive":
        return 0.0, top
    raise ValueError(f"unknown scale '{scale}'; choose symmetric, positive or a (low, high) pair")
