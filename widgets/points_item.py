"""Many particles, drawn fast: pre-rendered dots stamped with ``drawPixmapFragments``.

pyqtgraph's ScatterPlotItem spends ~90% of its time in Python per ``setData`` (20k points:
~30 fps), and stroking round pens point by point is slower still. Here each class colour is
rendered once into a small atlas, and a frame is one numpy transform plus one C++ call that
stamps every dot. This relies on pyqtgraph's PrimitiveArray (pinned version; a pixel test
guards it).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import internals
from PySide6 import QtCore, QtGui

from .palette import CLASS_COLORS

__all__ = ["PointsItem"]

UNLABELLED = len(CLASS_COLORS)  # atlas slot of the colour used without labels
UNKNOWN = UNLABELLED + 1  # atlas slot of points whose class is unknown (-1)


class PointsItem(pg.GraphicsObject):
    """Points (n, 2) in data coordinates, one dot each, coloured by class label when given."""

    def __init__(self, size: int = 5, color: str = "#FFFFFF", outline: str = "#000000B0") -> None:
        super().__init__()
        self._size = int(size)
        self._colors = [*CLASS_COLORS, color, "#999999"]
        self._atlas = self._render_atlas(outline)
        self._xy = np.zeros((0, 2))
        self._slot = np.zeros(0, np.int64)
        self._frags = internals.PrimitiveArray(QtGui.QPainter.PixmapFragment, 10)
        self._rect = QtCore.QRectF()
        self.count = 0

    def _render_atlas(self, outline: str) -> QtGui.QPixmap:
        s = self._size + 2
        pix = QtGui.QPixmap(s * len(self._colors), s)
        pix.fill(QtCore.Qt.GlobalColor.transparent)
        p = QtGui.QPainter(pix)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        p.setPen(QtGui.QPen(QtGui.QColor(outline), 1.0))
        for k, c in enumerate(self._colors):
            p.setBrush(QtGui.QColor(c))
            p.drawEllipse(QtCore.QRectF(k * s + 0.5, 0.5, s - 1.0, s - 1.0))
        p.end()
        return pix

    def set_data(self, x: np.ndarray | None, labels: np.ndarray | None = None) -> None:
        """Replace the points; None or an empty array clears them. Non-finite points are skipped."""
        self.prepareGeometryChange()
        if x is None or len(x) == 0:
            self._xy, self._slot, self.count, self._rect = np.zeros((0, 2)), np.zeros(0, np.int64), 0, QtCore.QRectF()
            self.update()
            return
        x = np.asarray(x, np.float64)
        keep = np.isfinite(x).all(1)
        self._xy = x[keep]
        if labels is None:
            self._slot = np.full(len(self._xy), UNLABELLED)
        else:
            lab = np.asarray(labels)[keep]
            self._slot = np.where(lab >= 0, lab % len(CLASS_COLORS), UNKNOWN)
        self.count = len(self._xy)
        if self.count:
            lo, hi = self._xy.min(0), self._xy.max(0)
            self._rect = QtCore.QRectF(lo[0], lo[1], max(hi[0] - lo[0], 1e-9), max(hi[1] - lo[1], 1e-9))
        self.update()

    def colors(self) -> list[str]:
        """Colours in use (one per distinct class)."""
        return [QtGui.QColor(self._colors[k]).name() for k in np.unique(self._slot)]

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 - Qt's name
        return self._rect

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange: object = None) -> tuple[float, float] | None:  # noqa: N802,N803
        if not self.count:
            return None
        r = self._rect
        return (r.left(), r.right()) if ax == 0 else (r.top(), r.bottom())

    def paint(self, p: QtGui.QPainter, *args: object) -> None:
        if not self.count:
            return
        t = p.transform()
        x, y = self._xy[:, 0], self._xy[:, 1]
        dev_x = t.m11() * x + t.m21() * y + t.dx()
        dev_y = t.m12() * x + t.m22() * y + t.dy()
        s = self._size + 2
        self._frags.resize(self.count)
        f = self._frags.ndarray()
        f[:, 0] = np.clip(dev_x, -(2**30), 2**30)
        f[:, 1] = np.clip(dev_y, -(2**30), 2**30)
        f[:, 2] = self._slot * s
        f[:, 3] = 0.0
        f[:, 4:6] = s
        f[:, 6:10] = (1.0, 1.0, 0.0, 1.0)
        p.save()
        p.resetTransform()
        p.drawPixmapFragments(*self._frags.drawargs(), self._atlas)  # type: ignore[call-arg]  # (array, count) form
        p.restore()
