"""Many particles, drawn fast: pre-rendered dots stamped with ``drawPixmapFragments``.

pyqtgraph's ScatterPlotItem spends ~90% of its time in Python per ``setData`` (20k points:
~30 fps), and stroking round pens point by point is slower still. Here each class colour is
rendered once into a small atlas, and a frame is one numpy transform plus one C++ call that
stamps every dot. This relies on pyqtgraph's PrimitiveArray (pinned version; a pixel test
guards it).

With many points most of them lie within a pixel or two of a later point whose dot is drawn
over theirs: those, and points outside the picture, are dropped before stamping, so 100,000
points cost about what the area they cover costs (20k stamps take ~4 ms of CPU, 100k ~17 ms).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import internals
from PySide6 import QtCore, QtGui

from .palette import CLASS_COLORS

__all__ = ["PointsItem"]

UNLABELLED = len(CLASS_COLORS)  # atlas slot of the colour used without labels
UNKNOWN = UNLABELLED + 1  # atlas slot of points whose class is unknown (-1)
SIEVE_FROM = 4096  # points from which those hidden under a later dot are dropped before stamping
# the sieve's cell in device pixels: a dot (size + 2 = 6-7 px) drawn within 2 px of an earlier one
# covers all of it but a sliver of its rim, and in a crowd the neighbours cover that too
SIEVE_CELL = 2


class PointsItem(pg.GraphicsObject):
    """Points (n, 2) in data coordinates, one dot each, coloured by class label when given."""

    # called by plot_style.restyle on a theme change when set (a view that picks the dots' colour
    # for what lies under them)
    on_restyle: Callable[..., None] | None = None

    def __init__(self, size: int = 5, color: str = "#FFFFFF", outline: str = "#000000B0") -> None:
        super().__init__()
        self._styled = False  # a colour chosen by set_style, which follow_ground leaves alone
        self._size = int(size)
        self._colors = [*CLASS_COLORS, color, "#999999"]
        self._outline = outline
        self._opacity = 1.0
        self._atlas = self._render_atlas(outline)
        self._cols = np.zeros((2, 0))  # x and y as contiguous rows: the per-frame transform reads them
        self._slot: np.ndarray | None = None  # atlas slot per point; None: all UNLABELLED
        self._frags = internals.PrimitiveArray(QtGui.QPainter.PixmapFragment, 10)
        self._owner = np.zeros(0, np.int32)  # per device pixel: the last point drawn there (sieve)
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

    def set_style(self, size: int, color: str, opacity: float = 1.0) -> None:
        """Dots of ``size`` px in ``color`` (points without labels) drawn at ``opacity``: small, see-through
        dots leave the density under a crowd of them in sight."""
        self._size = int(size)
        self._colors[UNLABELLED] = color
        self._opacity = float(opacity)
        self._styled = True
        self._atlas = self._render_atlas(self._outline)
        self.update()

    def follow_ground(self, color: str) -> None:
        """The colour of dots without labels for what lies under them, unless set_style chose one."""
        if self._styled or QtGui.QColor(self._colors[UNLABELLED]) == QtGui.QColor(color):
            return
        self._colors[UNLABELLED] = color
        self._atlas = self._render_atlas(self._outline)
        self.update()

    @property
    def _xy(self) -> np.ndarray:
        """The points shown, (n, 2) float64."""
        return self._cols.T

    def set_data(self, x: np.ndarray | None, labels: np.ndarray | None = None) -> None:
        """Replace the points; None or an empty array clears them. Non-finite points are skipped."""
        self.prepareGeometryChange()
        if x is None or len(x) == 0:
            self._cols, self._slot, self.count, self._rect = np.zeros((2, 0)), None, 0, QtCore.QRectF()
            self.update()
            return
        cols = np.array(np.asarray(x).T, np.float64, order="C")  # a copy: the caller may reuse its array
        keep = np.isfinite(cols[0]) & np.isfinite(cols[1])
        whole = bool(keep.all())
        self._cols = cols if whole else cols[:, keep]
        if labels is None:
            self._slot = None
        else:
            lab = np.asarray(labels) if whole else np.asarray(labels)[keep]
            self._slot = np.where(lab >= 0, lab % len(CLASS_COLORS), UNKNOWN)
        self.count = self._cols.shape[1]
        if self.count:
            lo, hi = self._cols.min(1), self._cols.max(1)
            self._rect = QtCore.QRectF(lo[0], lo[1], max(hi[0] - lo[0], 1e-9), max(hi[1] - lo[1], 1e-9))
        self.update()

    def colors(self) -> list[str]:
        """Colours in use (one per distinct class)."""
        slots = [UNLABELLED] if self._slot is None else np.unique(self._slot)
        return [QtGui.QColor(self._colors[k]).name() for k in slots] if self.count else []

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
        x, y = self._cols
        dev_x = t.m11() * x + t.m21() * y + t.dx()
        dev_y = t.m12() * x + t.m22() * y + t.dy()
        s = self._size + 2
        shown = self._sieve(dev_x, dev_y, p.device(), s) if self.count >= SIEVE_FROM else None
        if shown is not None:
            dev_x, dev_y = dev_x[shown], dev_y[shown]
        n = len(dev_x)
        if not n:
            return
        self._frags.resize(n)
        f = self._frags.ndarray()
        f[:, 0] = np.clip(dev_x, -(2**30), 2**30)
        f[:, 1] = np.clip(dev_y, -(2**30), 2**30)
        if self._slot is None:
            f[:, 2] = UNLABELLED * s
        else:
            f[:, 2] = (self._slot if shown is None else self._slot[shown]) * s
        f[:, 3] = 0.0
        f[:, 4:6] = s
        f[:, 6:10] = (1.0, 1.0, 0.0, self._opacity)  # scale x, y, rotation, opacity
        p.save()
        p.resetTransform()
        p.drawPixmapFragments(*self._frags.drawargs(), self._atlas)  # type: ignore[call-arg]  # (array, count) form
        p.restore()

    def _sieve(self, dev_x: np.ndarray, dev_y: np.ndarray, device: QtGui.QPaintDevice | None,
               s: int) -> np.ndarray | None:
        """Indices of the points worth stamping, in drawing order: on the device (or within a dot
        of it), and the last of those whose dot centre falls in each SIEVE_CELL-square of device
        pixels (its dot covers the earlier ones'); None when the device is unknown."""
        if device is None or device.width() <= 0 or device.height() <= 0:
            return None
        w, h = device.width() + 2 * s + 1, device.height() + 2 * s + 1
        on = (dev_x > -s) & (dev_x < w - s - 1) & (dev_y > -s) & (dev_y < h - s - 1)
        inside = None if on.all() else np.flatnonzero(on)  # usually all: no gathers then
        fx, fy = (dev_x + s, dev_y + s) if inside is None else (dev_x[inside] + s, dev_y[inside] + s)
        # cells by a float scaling and one truncation (both are >= 0 here): integer floor division
        # of the pixel indices took twice as long
        fx *= 1.0 / SIEVE_CELL
        fy *= 1.0 / SIEVE_CELL
        cells = w // SIEVE_CELL + 1
        key = fy.astype(np.intp)
        key *= cells
        key += fx.astype(np.intp)
        if len(self._owner) < cells * (h // SIEVE_CELL + 1):
            self._owner = np.empty(cells * (h // SIEVE_CELL + 1), np.int32)
        order = np.arange(len(key), dtype=np.int32)
        self._owner[key] = order  # a later point overwrites an earlier one in the same pixel
        kept = self._owner[key] == order
        return np.flatnonzero(kept) if inside is None else inside[kept]
