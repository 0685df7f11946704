"""Particle trails that fade toward the past, plus bright heads: paths drawn up to a frame."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from .points_item import PointsItem

__all__ = ["Trails"]

ALPHAS = (40, 80, 130, 200)


class Trails:
    """Paths (K, n, 2) shown up to frame k; the last ``length`` frames in ``len(ALPHAS)`` fading pieces."""

    def __init__(self, plot: pg.PlotItem, color: tuple[int, int, int] = (120, 200, 255), width: float = 1.5,
                 length: int = 24, head_size: int = 5) -> None:
        self.length = length
        self.pieces = []
        for a in ALPHAS:
            item = pg.PlotCurveItem(pen=pg.mkPen((*color, a), width=width), connect="finite")
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
            seg = self.paths[a: b + 1].transpose(1, 0, 2)  # (n, frames, 2)
            seg = np.concatenate([seg, np.full((len(seg), 1, 2), np.nan)], 1).reshape(-1, 2)
            piece.setData(seg[:, 0], seg[:, 1])
        self.heads.set_data(self.paths[k], labels)
