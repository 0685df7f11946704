"""The guidance trade-off chart: what each γ buys (samples in the class) and costs (diversity, fidelity)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .series_chart import SeriesChart

__all__ = ["TradeoffChart", "FIGURES", "CURVES"]

# figure key -> (legend name, colour); the keys are those of the engine's sweep points
FIGURES: dict[str, tuple[str, str]] = {
    "in_class": ("in class", "#0072B2"),
    "coverage": ("coverage", "#009E73"),
    "fidelity": ("TV to p(x | y)", "#D55E00"),
    "tilted": ("TV to p(x) p(y | x)<sup>γ</sup>", "#CC79A7"),
}
CURVES = ("full", "interval")  # guidance over all times, and only inside the interval (dashed)
SHARE_LINE = 0.97
STYLE_COLOUR = "#999999"  # the solid and dashed swatches: a line style, not a figure's colour


class TradeoffChart(QtWidgets.QWidget):
    """Figures over γ for guidance over the whole process (solid) and inside an interval (dashed),
    a line at the slider's γ, a guide at 97 % in class, and one line of reading below.

    ``set_points(curve, gammas, figures)`` replaces a curve's points (``figures`` maps a key of
    :data:`FIGURES` to one value per γ, None where not known); points arrive a few at a time.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        # no axis labels (the title says γ, the legend what runs up): at 1024 x 768 the chart keeps
        # 200 px each way only without their lines
        self.chart = SeriesChart("trade-off over γ", "", "", legend="none")
        self.chart.plot.setXRange(-2.2, 10.2, padding=0)
        self.chart.plot.setYRange(0.0, 1.02, padding=0)
        self.chart.plot.getPlotItem().vb.setMouseEnabled(x=False, y=False)
        for curve in CURVES:
            for key, (name, color) in FIGURES.items():
                dashed = curve == "interval"
                self.chart.add_series(f"{curve}:{key}", name, color, dashed=dashed, symbol=None if dashed else "o")
        guide = pg.InfiniteLine(pos=SHARE_LINE, angle=0, movable=False,
                                pen=pg.mkPen("#888888", width=1, style=QtCore.Qt.PenStyle.DashDotLine))
        self.chart.plot.addItem(guide, ignoreBounds=True)
        # the γ marker's label low on its line: at the top it sat on the 97 % guide and the in-class curve
        self.chart.marker.label.setPosition(0.06)
        # the legend under the plot, where it hides no curve: a colour swatch and a name per figure
        self.legend = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(self.legend)
        grid.setContentsMargins(0, 0, 0, 0)
        for k, (name, color) in enumerate(FIGURES.values()):
            swatch = QtWidgets.QLabel()
            swatch.setPixmap(_swatch(color))
            text = QtWidgets.QLabel(name)
            text.setTextFormat(QtCore.Qt.TextFormat.RichText)
            text.setWordWrap(True)
            grid.addWidget(swatch, k, 0)
            grid.addWidget(text, k, 1)
        # what solid and dashed mean, as two more swatches (a sentence took five lines at 1024 x 768)
        for k, (name, dashed) in enumerate((("all times", False), ("τ interval", True))):
            swatch = QtWidgets.QLabel()
            swatch.setPixmap(_swatch(STYLE_COLOUR, dashed))
            text = QtWidgets.QLabel(name)
            text.setWordWrap(True)
            grid.addWidget(swatch, len(FIGURES) + k, 0)
            grid.addWidget(text, len(FIGURES) + k, 1)
        grid.setColumnStretch(1, 1)
        self.reading = QtWidgets.QLabel()
        self.reading.setWordWrap(True)
        self.reading.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.reading.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
        # the legend and the reading in a column beside the plot: the plot keeps the height, and a
        # reading that changes length moves nothing
        column = QtWidgets.QWidget()
        self.text = QtWidgets.QVBoxLayout(column)
        self.text.setContentsMargins(0, 0, 4, 0)
        self.text.addWidget(self.legend)
        self.text.addWidget(self.reading)
        self.text.addStretch(1)
        # in a small window the words scroll, never the chart (nor are they cut off)
        self.text_area = QtWidgets.QScrollArea()
        self.text_area.setWidget(column)
        self.text_area.setWidgetResizable(True)
        self.text_area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.text_area.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.chart, 5)  # at 1024 x 768: a plot of 200 px and a column of ~150
        lay.addWidget(self.text_area, 3)

    def add_text(self, widget: QtWidgets.QWidget) -> None:
        """Another piece of text in the column beside the plot (under the reading)."""
        self.text.insertWidget(self.text.count() - 1, widget)

    def set_points(self, curve: str, gammas: Sequence[float], figures: Mapping[str, Sequence[float | None]]) -> None:
        if curve not in CURVES:
            raise ValueError(f"unknown curve '{curve}'; choose one of {', '.join(CURVES)}")
        for key in FIGURES:
            values = list(figures.get(key, [None] * len(gammas)))
            pairs = [(g, v) for g, v in zip(gammas, values) if v is not None]
            self.chart.set_series(f"{curve}:{key}", np.array([g for g, _ in pairs], float),
                                  np.array([v for _, v in pairs], float))

    def points(self, curve: str, key: str) -> list[tuple[float, float]]:
        return self.chart.points(f"{curve}:{key}")

    def clear(self, curve: str | None = None) -> None:
        for c in CURVES if curve is None else (curve,):
            self.set_points(c, [], {})

    def set_gamma(self, gamma: float) -> None:
        self.chart.set_marker(gamma, f"γ = {gamma:g}")

    def set_reading(self, text: str) -> None:
        self.reading.setText(text)

    def set_title(self, text: str) -> None:
        self.chart.set_title(text)


def _swatch(color: str, dashed: bool = False) -> QtGui.QPixmap:
    """A short thick line of the figure's colour (in dashes for the curves guided only in the interval)."""
    pix = QtGui.QPixmap(18, 10)
    pix.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(pix)
    for x0, width in ((0, 5), (7, 5), (14, 4)) if dashed else ((0, 18),):
        painter.fillRect(x0, 3, width, 4, QtGui.QColor(color))
    painter.end()
    return pix
