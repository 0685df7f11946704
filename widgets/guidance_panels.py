"""Unconditional, conditional and guided samples side by side, and the classifier's map."""

from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from .density_view import DensityView
from .map_view import MapView

__all__ = ["GuidancePanels", "PANELS"]

Box = tuple[float, float, float, float]
PANELS = ("unconditional", "conditional", "guided")
_TARGETS = {"unconditional": "p(x)", "conditional": "p(x) p(y | x) / Z", "guided": "p(x) p(y | x)^γ / Z"}


class GuidancePanels(QtWidgets.QWidget):
    """Three sample panels (particles over a target heatmap) and p(y | x_τ) of the chosen class.

    The heatmaps are drawn in grey so that the particles' class colours stay readable.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.views: dict[str, DensityView] = {}
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for name in PANELS:
            view = DensityView(title=name)
            view.set_colormap("CET-L1")
            view.colorbar.setLabel("left", _TARGETS[name])
            view.points.setZValue(10)
            self.views[name] = view
            lay.addWidget(view, 1)
        self.class_view = MapView("p(y | x<sub>τ</sub>)", "p(y | x_τ)", cmap="viridis")
        lay.addWidget(self.class_view, 1)

    def set_samples(self, panel: str, x: np.ndarray | None, labels: np.ndarray | None = None) -> None:
        self.views[panel].set_points(x, labels)

    def set_target(self, panel: str, grid: np.ndarray | None, box: Box) -> None:
        self.views[panel].set_density(grid, box)

    def set_panel_title(self, panel: str, html: str) -> None:
        self.views[panel].plot.setTitle(html, size="13pt")

    def set_class_map(self, probs: np.ndarray | None, box: Box, title: str) -> None:
        """p(y | x_τ) of one class, (n, n), on the fixed scale [0, 1]; None shows an empty map."""
        grid = np.zeros((2, 2), np.float32) if probs is None else probs
        self.class_view.set_map(grid, box, scale=(0.0, 1.0))
        self.class_view.set_title(title)
