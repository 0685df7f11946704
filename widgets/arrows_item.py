"""A vector field drawn as arrows on a grid, coloured by magnitude."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from .palette import colormap

__all__ = ["ArrowField"]

BINS = 8


class ArrowField:
    """Arrows as line pairs in ``BINS`` curve items (one colour each), added to a plot item.

    ``set_field(xs, ys, vectors)``: vectors (G, G, 2) at cell centres xs (G,) by ys (G,);
    arrows are scaled so the longest spans ``fill`` of a cell (``normalize`` draws every arrow
    the same length, so the direction reads everywhere while colour carries the magnitude).
    """

    def __init__(self, plot: pg.PlotItem, cmap: str = "viridis", width: float = 2.0) -> None:
        colors = colormap(cmap).getLookupTable(0.15, 1.0, BINS, alpha=False)
        self._plot = plot
        self._map = pg.ColorMap(np.linspace(0.0, 1.0, BINS), [tuple(int(v) for v in c) for c in colors])
        self.legend: pg.ColorBarItem | None = None
        self.curves = []
        for c in colors:
            item = pg.PlotCurveItem(pen=pg.mkPen(tuple(int(v) for v in c), width=width), connect="pairs")
            plot.addItem(item)
            self.curves.append(item)
        self.max_magnitude = 0.0

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
