"""A density heatmap with particles on top and a colour bar: the central picture of every view."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .palette import colormap
from .plot_style import PlotStyle, current_style, restyle
from .points_item import PointsItem
from .titles import ColumnLayout, TitleLabel

__all__ = ["DensityView"]

Box = tuple[float, float, float, float]


class DensityView(QtWidgets.QWidget):
    """Heatmap of p(x) on a grid over ``box`` (rows = y), particles, and a colour bar.

    Draws only numpy arrays: ``set_density(grid, box)``, ``set_points(x, labels)``.
    Long-lived items are updated in place, never re-created per frame.
    """

    point_clicked = QtCore.Signal(float, float)

    def __init__(self, parent: QtWidgets.QWidget | None = None, title: str = "", colorbar: bool = True) -> None:
        """``colorbar=False``: a heatmap that says where, not how much, with no colour bar ever (a view
        made without one is built in about half the time: the bar is a plot of its own)."""
        super().__init__(parent)
        self._log_scale = False
        self._grid: np.ndarray | None = None
        self._box: Box = (-4.0, 4.0, -4.0, 4.0)
        self._fitted = False
        self._colorbar_wanted = colorbar
        self.plot = pg.PlotWidget()
        self.plot.setAspectLocked(True)
        # heatmaps scaled up bilinearly when drawn, not in blocks (the data stays as computed)
        self.plot.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, True)
        # the view box stays on the density's box: stray particles must not zoom the view out
        self.plot.disableAutoRange()
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=False, y=False)
        # the title is a Qt label above the plot, not the plot's own: pyqtgraph makes a plot title's
        # text width the plot's minimum width, which in a narrow panel widens the view box past the
        # panel and shifts its range off the data
        self.title = TitleLabel(title)
        self.title.setVisible(bool(title))
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.plot.addItem(self.image)
        self.points = PointsItem(size=4)
        self.points.on_restyle = self._dots_for_ground
        self.plot.addItem(self.points)
        self.colorbar: pg.ColorBarItem | None = None
        if colorbar:
            self.colorbar = pg.ColorBarItem(colorMap=colormap("inferno"), interactive=False, width=18, label="p(x)")
            self.colorbar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        else:
            self.image.setColorMap(colormap("inferno"))  # what the bar would have given the image
        self.plot.scene().sigMouseClicked.connect(self._on_scene_clicked)
        lay = ColumnLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.title)
        lay.addWidget(self.plot, 1)
        restyle(self)

    # -- public setters: they draw, they never change a model ----------------------
    def set_density(self, grid: np.ndarray | None, box: Box) -> None:
        """Show ``grid`` (n, n) float32 density values over ``box``; None hides the heatmap."""
        refit = box != self._box or not self._fitted
        self._grid, self._box = grid, box
        if refit:
            self.fit()
        if grid is None:
            self._show_image(False)
            self._show_colorbar(False)  # no picture, so no scale: a colour bar would mean nothing
            return
        self._show_image(True)
        self._show_colorbar(self._colorbar_wanted)
        self._redraw_image()
        x0, x1, y0, y1 = box
        self.image.setRect(QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))

    def set_map(self, grid: np.ndarray, box: Box, levels: tuple[float, float], label: str) -> None:
        """Show any scalar map (e.g. a signed divergence) with fixed colour levels and a colour-bar label."""
        self._grid = None
        self._show_colorbar(self._colorbar_wanted)
        if box != self._box or not self._fitted:
            self._box = box
            self.fit()
        self._show_image(True)
        self.image.setImage(np.ascontiguousarray(np.nan_to_num(grid), np.float32), autoLevels=False, levels=levels)
        if self.colorbar is not None:
            self.colorbar.setLevels(levels)
            self.colorbar.setLabel("left", label)
        x0, x1, y0, y1 = box
        self.image.setRect(QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))

    def set_points(self, x: np.ndarray | None, labels: np.ndarray | None = None) -> None:
        """Show particles (n, 2); coloured by class when ``labels`` are given."""
        self.points.set_data(x, labels)

    def set_log_scale(self, on: bool) -> None:
        self._log_scale = bool(on)
        if self.colorbar is not None:
            self.colorbar.setLabel("left", "log p(x)" if on else "p(x)")
        if self._grid is not None:
            self._redraw_image()

    def hide_colorbar(self) -> None:
        """For a heatmap that says where, not how much: the bar would only take room."""
        self._colorbar_wanted = False
        if self.colorbar is not None:
            self.plot.getPlotItem().layout.removeItem(self.colorbar)
            self.colorbar.hide()

    def set_colormap(self, name: str) -> None:
        if self.colorbar is not None:
            self.colorbar.setColorMap(colormap(name))
        else:
            self.image.setColorMap(colormap(name))

    def set_title(self, text: str) -> None:
        self.title.setText(text)
        self.title.setVisible(bool(text))

    def set_points_visible(self, on: bool) -> None:
        self.points.setVisible(on)

    def fit(self) -> None:
        self._fitted = True
        x0, x1, y0, y1 = self._box
        self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)

    # -- internals ---------------------------------------------------------------
    def _redraw_image(self) -> None:
        assert self._grid is not None
        img = np.ascontiguousarray(self._grid, np.float32)
        if self._log_scale:
            top = float(np.nanmax(img)) if img.size else 1.0
            img = np.log(np.maximum(img, max(top, 1e-30) * 1e-4)).astype(np.float32)
        finite = img[np.isfinite(img)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if not self._log_scale:
            lo = 0.0
        if hi <= lo:
            hi = lo + 1e-12
        self.image.setImage(np.nan_to_num(img, nan=lo, neginf=lo), autoLevels=False, levels=(lo, hi))
        if self.colorbar is not None:
            self.colorbar.setLevels((lo, hi))

    def _show_image(self, on: bool) -> None:
        """Show or hide the heatmap, and colour the dots for what then lies under them."""
        self.image.setVisible(on)
        self._dots_for_ground()

    def _dots_for_ground(self, style: PlotStyle | None = None) -> None:
        """White dots on the heatmap or a dark plot; on a light plot without a heatmap (a model's
        samples while it trains) the plot's text colour, or the white dots vanish into it."""
        s = style or current_style()
        light = not self.image.isVisible() and QtGui.QColor(s.bg).lightnessF() > 0.5
        self.points.follow_ground(s.fg if light else "#FFFFFF")

    def _show_colorbar(self, on: bool) -> None:
        if self.colorbar is not None:
            self.colorbar.setVisible(on)

    def _on_scene_clicked(self, ev: object) -> None:
        pos = ev.scenePos()  # type: ignore[attr-defined]
        vb = self.plot.getPlotItem().vb
        if vb.sceneBoundingRect().contains(pos):
            p = vb.mapSceneToView(pos)
            self.point_clicked.emit(float(p.x()), float(p.y()))
