"""Colours shared by the views: class colours that read on a projector and heatmap maps."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

__all__ = ["CLASS_COLORS", "class_brushes", "colormap", "HEATMAPS"]

# Okabe-Ito plus extras: distinguishable for colour-blind viewers and on washed-out projectors. No
# white or grey: the targets are drawn in grey with white contours, and the light theme is white.
CLASS_COLORS = [
    "#56B4E9", "#E69F00", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#B15CFF",
    "#8DD3C7", "#FB8072", "#80B1D3", "#FDB462", "#B3DE69", "#FCCDE5", "#BEBADA", "#FFED6F",
]
HEATMAPS = ["inferno", "viridis", "magma", "cividis", "CET-L17"]


def class_brushes(
    labels: np.ndarray | None, n: int, default: str = "#FFFFFF"
) -> list[pg.QtGui.QBrush] | pg.QtGui.QBrush:
    """One brush for all points, or one per point by class label."""
    if labels is None:
        return pg.mkBrush(default)
    cache = [pg.mkBrush(c) for c in CLASS_COLORS]
    return [cache[int(k) % len(cache)] if k >= 0 else pg.mkBrush("#999999") for k in labels[:n]]


def colormap(name: str) -> pg.ColorMap:
    return pg.colormap.get(name)
