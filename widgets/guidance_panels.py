"""The guidance lab's picture: controls, unconditional / conditional / guided samples, the classifier's map and
the trade-off over γ."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .contour_overlay import ContourOverlay
from .density_view import DensityView
from .guidance_controls import GuidanceControls
from .map_view import MapView
from .plot_style import BoxedLabel, restyle
from .square_grid import SquareGrid
from .tradeoff_chart import TradeoffChart

__all__ = ["GuidancePanels", "PANELS"]

Box = tuple[float, float, float, float]
PANELS = ("unconditional", "conditional", "guided")


class GuidancePanels(QtWidgets.QWidget):
    """Controls, a note, three sample panels (particles over a target heatmap), p(y | x_τ) of the
    chosen class and the trade-off chart beside them; or, in their place, a message saying what
    the lab needs (``show_message``).

    The heatmaps are drawn in grey so that the particles' class colours stay readable.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.controls = GuidanceControls()
        self.note = QtWidgets.QLabel()
        self.note.setWordWrap(True)
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet("font-size: 16pt; padding: 40px;")
        content = QtWidgets.QWidget()
        inner = QtWidgets.QVBoxLayout(content)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addWidget(self.controls)
        inner.addWidget(self.note)
        # four panels of one shape, in a row or two by two, whichever makes them biggest; the trade-off
        # chart beside them
        self.grid = SquareGrid(aspect=1.1)
        self.chart = TradeoffChart()
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.grid, 3)
        row.addWidget(self.chart, 1)
        inner.addLayout(row, 1)
        self.pages = QtWidgets.QStackedLayout(self)
        self.pages.addWidget(self.message)
        self.pages.addWidget(content)
        self.views: dict[str, DensityView] = {}
        self.contours: dict[str, ContourOverlay] = {}
        self.shares: dict[str, BoxedLabel] = {}
        for name in PANELS:
            view = DensityView(title=name)
            view.set_colormap("CET-L1")
            # the heatmaps say where the target is, not how high: their colour bars only take room
            view.hide_colorbar()
            self.contours[name] = ContourOverlay(view.plot)
            view.points.setZValue(10)
            self.shares[name] = _corner_label(view.plot)
            self.views[name] = view
        self.class_view = MapView("p(y | x<sub>τ</sub>)", "p(y | x_τ)", cmap="viridis")
        for w in [*self.views.values(), self.class_view]:
            self.grid.add(w)
        restyle(self)

    def show_message(self, text: str | None) -> None:
        """Show ``text`` instead of the panels; None shows the panels."""
        self.message.setText(text or "")
        self.pages.setCurrentIndex(0 if text else 1)

    def set_samples(self, panel: str, x: np.ndarray | None, labels: np.ndarray | None = None) -> None:
        self.views[panel].set_points(x, labels)

    def set_target(self, panel: str, grid: np.ndarray | None, box: Box) -> None:
        """The panel's target density (heatmap, and contours holding 50% and 90% of its mass); None: none."""
        self.views[panel].set_density(grid, box)
        self.contours[panel].set_grid(grid, box)

    def set_panel_title(self, panel: str, text: str, share: str = "") -> None:
        """The title above the panel, and ``share`` (e.g. how many land in the class) in its top-left corner."""
        self.views[panel].plot.setTitle(text)
        self.shares[panel].setText(share)

    def set_class_map(self, probs: np.ndarray | None, box: Box, title: str) -> None:
        """p(y | x_τ) of one class, (n, n), on the fixed scale [0, 1]; None shows an empty map."""
        grid = np.zeros((2, 2), np.float32) if probs is None else probs
        self.class_view.set_map(grid, box, scale=(0.0, 1.0))
        self.class_view.set_title(title)


def _corner_label(plot: pg.PlotWidget) -> BoxedLabel:
    """A line of text on a box, pinned to the top-left corner of the plot's view, above the data."""
    label = BoxedLabel("")
    label.setParentItem(plot.getPlotItem().vb)
    label.anchor(itemPos=(0, 0), parentPos=(0, 0), offset=(6, 2))
    label.setZValue(30)
    return label
