"""A chart of a few named series that grow point by point (measurements arriving live)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from .plot_style import boxed_text, restyle
from .titles import ColumnLayout, TitleLabel

__all__ = ["SeriesChart"]


class SeriesChart(QtWidgets.QWidget):
    """Named series on one plot, linear or log-log, with a legend.

    ``add_series(key, name, color)`` declares a series (measured points, or a dashed guide
    line); ``append(key, x, y)`` adds a point; ``set_series(key, xs, ys)`` replaces them all.
    ``headroom=(below, above)``, in decades of a log y axis, leaves room empty under or over the
    data: where the legend stands, clear of the curves.
    Each series is one long-lived curve item updated in place. Points that a log axis cannot
    show (zero, negative, not finite) are kept but not drawn.
    """

    def __init__(self, title: str = "", x_label: str = "", y_label: str = "", log_x: bool = False,
                 log_y: bool = False, legend: str = "top-left", headroom: tuple[float, float] = (0.0, 0.0),
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._headroom = headroom
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.title = TitleLabel(title)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        for side, text in (("bottom", x_label), ("left", y_label)):
            self.plot.setLabel(side, text)
        self.plot.setLogMode(x=log_x, y=log_y)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        # negative offsets are measured from the right or bottom edge; "none": the title says it all
        offset = {"top-right": (-8, 8), "bottom-left": (8, -8)}.get(legend, (8, 8))
        self.legend = None if legend == "none" else self.plot.addLegend(offset=offset)
        self._log = (log_x, log_y)
        self.marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#BBBBBB", width=1,
                                      style=QtCore.Qt.PenStyle.DotLine), label="", labelOpts={"position": 0.95})
        self.marker.setVisible(False)
        self.plot.addItem(self.marker, ignoreBounds=True)
        self._items: dict[str, pg.PlotDataItem] = {}
        self._data: dict[str, list[tuple[float, float]]] = {}
        self._labels: dict[str, tuple[pg.TextItem, float]] = {}
        lay = ColumnLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.title)
        lay.addWidget(self.plot, 1)
        restyle(self)

    def add_series(self, key: str, name: str | None, color: str, *, dashed: bool = False,
                   symbol: str | None = "o") -> None:
        """A series; with ``name`` None it has no legend entry (one entry can stand for several)."""
        style = QtCore.Qt.PenStyle.DashLine if dashed else QtCore.Qt.PenStyle.SolidLine
        pen = pg.mkPen(color, width=2, style=style)
        kwargs = {} if dashed or symbol is None else {"symbol": symbol, "symbolSize": 9, "symbolBrush": color,
                                                      "symbolPen": pg.mkPen("#000000", width=1)}
        self._items[key] = self.plot.plot(name=name, pen=pen, **kwargs)
        self._data[key] = []

    def label_series(self, key: str, text: str, at: float = 0.5, anchor: tuple[float, float] = (0.0, 0.0)) -> None:
        """Name series ``key`` on the line itself (its point a fraction ``at`` along it, the text's
        ``anchor`` there: (0, 0) puts it below and right) instead of in the legend: a guide line's
        name there costs the legend a row, and a tall legend covers the data of a small chart."""
        if self.legend is not None:
            self.legend.removeItem(self._items[key])
        label = boxed_text(text, anchor)
        self.plot.addItem(label, ignoreBounds=True)
        self._labels[key] = (label, at)
        self._redraw(key)

    def append(self, key: str, x: float, y: float) -> None:
        self._data[key].append((float(x), float(y)))
        self._redraw(key)

    def set_series(self, key: str, xs: np.ndarray, ys: np.ndarray) -> None:
        self._data[key] = [(float(a), float(b)) for a, b in zip(np.ravel(xs), np.ravel(ys))]
        self._redraw(key)

    def clear(self) -> None:
        for key in self._items:
            self._data[key] = []
            self._redraw(key)

    def points(self, key: str) -> list[tuple[float, float]]:
        return list(self._data[key])

    def set_x_ticks(self, values: list[float]) -> None:
        """Label the x axis at exactly these values (log-log charts: the measured ones, not 3·10¹ …)."""
        pos = [np.log10(v) if self._log[0] else v for v in values]
        self.plot.getAxis("bottom").setTicks([[(p, f"{v:g}") for p, v in zip(pos, values)], []])

    def set_marker(self, x: float | None, label: str = "") -> None:
        """A vertical line at ``x`` (the current choice, e.g. K), or none."""
        self.marker.setVisible(x is not None)
        if x is not None:
            self.marker.setValue(np.log10(x) if self._log[0] else x)
            self.marker.label.setFormat(label)

    def set_title(self, text: str) -> None:
        self.title.setText(text)

    def _redraw(self, key: str) -> None:
        pts = np.asarray(self._data[key], np.float64).reshape(-1, 2)
        keep = np.isfinite(pts).all(1)
        for axis, log in enumerate(self._log):
            if log:
                keep &= pts[:, axis] > 0
        pts = pts[keep]
        self._items[key].setData(pts[:, 0], pts[:, 1])
        if key in self._labels:
            label, at = self._labels[key]
            label.setVisible(len(pts) > 0)
            if len(pts):
                x, y = pts[round(at * (len(pts) - 1))]
                label.setPos(np.log10(x) if self._log[0] else x, np.log10(y) if self._log[1] else y)
        if self._log[1]:
            self._log_y_ticks()
            self._y_range()

    def _y_range(self) -> None:
        """The data's decades and the headroom asked for (a log y axis only)."""
        if self._headroom == (0.0, 0.0):
            return
        ys = np.asarray([y for pts in self._data.values() for _, y in pts], np.float64)
        ys = np.log10(ys[np.isfinite(ys) & (ys > 0)])
        if ys.size:
            below, above = self._headroom
            self.plot.setYRange(ys.min() - below, ys.max() + above, padding=0.04)

    def _log_y_ticks(self) -> None:
        """Decades (and 2, 5 between them over a short range): pyqtgraph's own log ticks stack "0.9 0.8 0.7"."""
        ys = np.asarray([y for pts in self._data.values() for _, y in pts], np.float64)
        ys = ys[np.isfinite(ys) & (ys > 0)]
        if not ys.size:
            return
        below, above = self._headroom
        lo, hi = int(np.floor(np.log10(ys.min()) - below)), int(np.ceil(np.log10(ys.max()) + above))
        steps = (1, 2, 5) if hi - lo <= 3 else (1,)
        values = [m * 10.0**k for k in range(lo, hi + 1) for m in steps]
        self.plot.getAxis("left").setTicks([[(np.log10(v), _number(v)) for v in values], []])


def _number(v: float) -> str:
    """1, 0.01, 200 as they are; very small or large numbers as 10 to a power (1e-06 reads badly)."""
    if 1e-3 <= v < 1e5:
        return f"{v:g}"
    mant, exp = f"{v:.0e}".split("e")
    sup = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    power = f"10{str(int(exp)).translate(sup)}"
    return power if mant == "1" else f"{mant}·{power}"
