"""Bars of the share of particles in each mode, against the true weights."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .palette import CLASS_COLORS
from .plot_style import boxed_text, restyle

__all__ = ["ModeBars"]

MAX_LABELLED = 5  # above this many modes the percentages would crowd the bars


class ModeBars(QtWidgets.QWidget):
    """Filled bars in the class colours: the particles' shares; a white line edged in black across
    each bar (visible on any bar colour, white included): the true weight.
    ``set_modes(weights)`` once per density, ``set_shares(shares)`` per frame."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        # sizes and colours of the title, ticks and label come from the text size (restyle, below)
        self.plot.setTitle("mass per mode")
        self.plot.setLabel("left", "share")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7, pen=pg.mkPen(None))
        self.truth_edge = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen("#000000", width=7))
        self.truth = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen("#FFFFFF", width=3))
        for item in (self.bars, self.truth_edge, self.truth):
            self.plot.addItem(item)
        self.texts: list[pg.TextItem] = []
        self.legend = QtWidgets.QLabel("bars: particles  ·  white lines: true weights")
        self.legend.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self._shares = np.zeros(0)
        self._weights = np.zeros(0)
        self._top = 1.0
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.legend)
        restyle(self)

    def set_modes(self, weights: np.ndarray | None) -> None:
        """The true weights (K,); None or empty hides the bars (a density without modes)."""
        w = np.zeros(0) if weights is None else np.asarray(weights, np.float64)
        self._weights, self._shares = w, np.zeros(len(w))
        k = np.arange(len(w), dtype=np.float64)
        brushes = [pg.mkBrush(CLASS_COLORS[i % len(CLASS_COLORS)]) for i in range(len(w))]
        self.bars.setOpts(x=k, height=self._shares, brushes=brushes)
        ends = np.repeat(k, 2) + np.tile([-0.42, 0.42], len(w))
        for line in (self.truth_edge, self.truth):
            line.setData(ends, np.repeat(w, 2))
        self._make_texts(len(w) if len(w) <= MAX_LABELLED else 0)
        self.plot.getAxis("bottom").setTicks([[(i, str(i + 1)) for i in range(len(w))]])
        self.plot.setXRange(-0.6, max(len(w), 1) - 0.4, padding=0)
        self._top = min(1.0, 1.5 * float(w.max())) if len(w) else 1.0
        self.plot.setYRange(0.0, self._top, padding=0)
        self.setVisible(len(w) > 0)

    def set_shares(self, shares: np.ndarray) -> None:
        """The particles' share in each mode (K,); the scale only grows, so bars do not jump."""
        self._shares = np.asarray(shares, np.float64)
        self.bars.setOpts(height=self._shares)
        if len(self._shares) and self._shares.max() > self._top:
            self._top = min(1.0, 1.15 * float(self._shares.max()))
            self.plot.setYRange(0.0, self._top, padding=0)
        for i, text in enumerate(self.texts):
            text.setText(f"{100 * self._shares[i]:.0f}%")
            text.setPos(i, min(max(self._shares[i], self._weights[i]), self._top))

    def weights(self) -> np.ndarray:
        """The true weights drawn now."""
        return self._weights.copy()

    def shares(self) -> np.ndarray:
        """The shares drawn now."""
        return self._shares.copy()

    def _make_texts(self, count: int) -> None:
        for t in self.texts:
            self.plot.removeItem(t)
        # above the bar and its true-weight line, on a box: never struck through or lost on a colour
        self.texts = [boxed_text("", anchor=(0.5, 1.0)) for _ in range(count)]
        for t in self.texts:
            self.plot.addItem(t)
        restyle(self)
