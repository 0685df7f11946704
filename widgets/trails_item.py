"""Particle trails that fade toward the past, plus bright heads: paths drawn up to a frame."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from .points_item import PointsItem

__all__ = ["Trails"]

ALPHAS = (40, 80, 130, 200)


class Trails:
    """Paths (K, n, 2) shown up to frame k; the last ``length`` frames in ``len(ALPHAS)`` fading pieces.

    Every particle gets a head, but only the first ``max_trails`` a trail: 2,000 trails already
    fill the picture, and 20,000 would cost ten times the drawing for no more to see.
    """

    max_trails = 2000

    def __init__(self, plot: pg.PlotItem, color: tuple[int, int, int] = (120, 200, 255), width: float = 1.0,
                 length: int = 24, head_size: int = 5) -> None:
        self.length = length
        self.pieces = []
        for a in ALPHAS:
            # thin, aliased lines: antialiased or wide pens cost 3-5x per segment, and trails have many
            # segments as start/end pairs: pyqtgraph draws those in one call, where NaN-separated
            # polylines are split into one polygon per particle in Python
            item = pg.PlotCurveItem(pen=pg.mkPen((*color, a), width=width), connect="pairs", antialias=False,
                                    skipFiniteCheck=True)
            plot.addItem(item)
            self.pieces.append(item)
        self.heads = PointsItem(size=head_size)
        plot.addItem(self.heads)
        self.paths: np.ndarray | None = None

    def set_paths(self, paths: np.ndarray | None) -> None:
        self.paths = None if paths is None else np.asarray(paths, np.float64)

    def set_visible(self, on: bool) -> None:
        for p in self.pieces:
            p.setVisible(on)
        self.heads.setVisible(on)

    def show_frame(self, k: int, labels: np.ndarray | None = None) -> None:
        if self.paths is None or len(self.paths) == 0:
            for p in self.pieces:
                p.setData([], [])
            self.heads.set_data(None)
            return
        k = int(np.clip(k, 0, len(self.paths) - 1))
        start = max(0, k - self.length)
        edges = np.linspace(start, k, len(self.pieces) + 1).round().astype(int)
        for piece, a, b in zip(self.pieces, edges[:-1], edges[1:]):
            if b <= a:
                piece.setData([], [])
                continue
            m = self.max_trails
            seg = np.stack([self.paths[a:b, :m], self.paths[a + 1: b + 1, :m]], 2).reshape(-1, 2)  # (start, end)
            piece.setData(seg[:, 0], seg[:, 1])
        self.heads.set_data(self.paths[k], labels)
