"""Total variation between two densities over time, with its sampling-noise floor and a time cursor."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .plot_grid import add_light_grid
from .plot_style import restyle
from .titles import ColumnLayout, TitleLabel

__all__ = ["TvPlot"]

TV_COLOUR = "#E69F00"
FLOOR_COLOUR = "#BBBBBB"


class TvPlot(QtWidgets.QWidget):
    """``set_series(t, tv, floor)`` draws both curves over t in [0, 1]; ``set_cursor(t)`` moves the line."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        add_light_grid(self.plot.getPlotItem())
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        # the title is the legend: a legend box inside the plot would hide the curves somewhere; only
        # the line glyphs take the curves' colours, the words take the theme's text colour
        # (a Qt label over the plot, which wraps: as the plot's own title its width would widen the
        # plot past a narrow cell and cut off its right end)
        # one short line and no axis label (the time line marks t): at 1024 x 768 the chart keeps
        # 200 px of height only without a second title line or a label line
        self.title = TitleLabel(f"<span style='color:{TV_COLOUR}'>━</span> TV grid vs particles"
                                f" &nbsp; <span style='color:{FLOOR_COLOUR}'>╌</span> noise floor")
        self.title.setToolTip("Total variation between the grid solution and the particles' histogram, against t")
        self.tv = self.plot.plot(pen=pg.mkPen(TV_COLOUR, width=3))
        self.floor = self.plot.plot(pen=pg.mkPen(FLOOR_COLOUR, width=2, style=QtCore.Qt.PenStyle.DashLine))
        self.time_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#56B4E9", width=2))
        self.plot.addItem(self.time_line)
        self.plot.setXRange(0.0, 1.0, padding=0.02)
        self._top = 0.05
        lay = ColumnLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.title)
        lay.addWidget(self.plot, 1)
        restyle(self)

    def set_series(self, t: np.ndarray, tv: np.ndarray, floor: np.ndarray) -> None:
        self.tv.setData(t, tv)
        self.floor.setData(t, floor)
        top = max(float(np.max(tv)) if len(tv) else 0.0, float(np.max(floor)) if len(floor) else 0.0, 0.04)
        if not len(tv) or top > self._top or top < 0.5 * self._top:  # rescale rarely: axes are slow to redraw
            self._top = 1.25 * top
            self.plot.setYRange(0.0, self._top, padding=0)

    def set_cursor(self, t: float) -> None:
        self.time_line.setValue(t)

    def series(self) -> tuple[np.ndarray, np.ndarray]:
        """The (t, TV) points drawn now."""
        t, tv = self.tv.getData()
        return (np.zeros(0), np.zeros(0)) if t is None else (t, tv)
