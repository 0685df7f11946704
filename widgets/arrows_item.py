"""A vector field drawn as arrows on a grid, coloured by magnitude."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtGui

from .palette import colormap
from .plot_style import PlotStyle, current_style

__all__ = ["ArrowField", "arrow_span"]

BINS = 8
# the part of the colour map the arrows take, per theme: every colour at least 3:1 against the plot's
# ground (viridis's dark purples vanish on a dark ground, its yellows on white)
SPAN = {"dark": (0.35, 1.0), "light": (0.0, 0.58)}


def arrow_span(bg: str) -> tuple[float, float]:
    """The colour map's part for arrows on a plot ground ``bg``."""
    return SPAN["light" if QtGui.QColor(bg).lightnessF() > 0.5 else "dark"]


class _ThemedCurve(pg.PlotCurveItem):
    """One arrow colour's curve; the first one's ``on_restyle`` recolours the field (plot_style.restyle
    calls it when the theme changes)."""

    on_restyle: Callable[[PlotStyle], None] | None = None


class ArrowField:
    """Arrows as line pairs in ``BINS`` curve items (one colour each), added to a plot item.

    ``set_field(xs, ys, vectors)``: vectors (G, G, 2) at cell centres xs (G,) by ys (G,);
    arrows are scaled so the longest spans ``fill`` of a cell (``normalize`` draws every arrow
    the same length, so the direction reads everywhere while colour carries the magnitude).
    """

    def __init__(self, plot: pg.PlotItem, cmap: str = "viridis", width: float = 2.0) -> None:
        self._plot, self._cmap, self._width = plot, cmap, width
        self.legend: pg.ColorBarItem | None = None
        self.curves = []
        for _ in range(BINS):
            item = _ThemedCurve(connect="pairs")
            plot.addItem(item)
            self.curves.append(item)
        self.curves[0].on_restyle = self.restyle
        self.max_magnitude = 0.0
        self.restyle(current_style())

    def restyle(self, s: PlotStyle) -> None:
        """Colours readable on the plot's ground of style ``s`` (the arrows and their colour bar)."""
        lo, hi = arrow_span(s.bg)
        colors = [tuple(int(v) for v in c) for c in colormap(self._cmap).getLookupTable(lo, hi, BINS, alpha=False)]
        self.colors = colors
        self._map = pg.ColorMap(np.linspace(0.0, 1.0, BINS), colors)
        for item, c in zip(self.curves, colors):
            item.setPen(pg.mkPen(c, width=self._width))
        if self.legend is not None:
            self.legend.setColorMap(self._map)

    def show_legend(self, label: str) -> None:
        """A colour bar beside the plot saying what the arrows' colours encode (their length, 0 to the longest)."""
        if self.legend is None:
            self.legend = pg.ColorBarItem(values=(0.0, 1.0), colorMap=self._map, interactive=False, width=14)
            self._plot.layout.addItem(self.legend, 2, 6)
        self.legend.setLabel("left", label)
        self.legend.setLevels((0.0, max(self.max_magnitude, 1e-12)))
        self.legend.setVisible(True)

    def set_visible(self, on: bool) -> None:
        for c in self.curves:
            c.setVisible(on)
        if self.legend is not None:
            self.legend.setVisible(on)

    def clear(self) -> None:
        for c in self.curves:
            c.setData([], [])

    def set_field(self, xs: np.ndarray, ys: np.ndarray, vectors: np.ndarray, normalize: bool = False,
                  fill: float = 0.85) -> None:
        gx, gy = np.meshgrid(xs, ys)
        p = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float64)
        v = np.nan_to_num(np.asarray(vectors, np.float64).reshape(-1, 2))
        mag = np.linalg.norm(v, axis=1)
        self.max_magnitude = float(mag.max()) if mag.size else 0.0
        cell = float(min(np.diff(xs).mean() if len(xs) > 1 else 1.0, np.diff(ys).mean() if len(ys) > 1 else 1.0))
        unit = v / np.maximum(mag, 1e-12)[:, None]
        length = np.full_like(mag, fill * cell) if normalize else fill * cell * mag / max(self.max_magnitude, 1e-12)
        tip = p + unit * length[:, None]
        head = 0.35 * length[:, None]
        c, s = np.cos(2.6), np.sin(2.6)  # arrow-head barbs at ±150° from the direction
        left = np.stack([unit[:, 0] * c - unit[:, 1] * s, unit[:, 0] * s + unit[:, 1] * c], 1)
        right = np.stack([unit[:, 0] * c + unit[:, 1] * s, -unit[:, 0] * s + unit[:, 1] * c], 1)
        segs = np.stack([p, tip, tip, tip + head * left, tip, tip + head * right], 1)  # (n, 6, 2)
        level = np.minimum((mag / max(self.max_magnitude, 1e-12) * BINS).astype(int), BINS - 1)
        for k, curve in enumerate(self.curves):
            sel = segs[level == k].reshape(-1, 2)
            curve.setData(sel[:, 0], sel[:, 1])
        if self.legend is not None:
            self.legend.setLevels((0.0, max(self.max_magnitude, 1e-12)))
