"""Panels of a fixed shape laid out in whichever arrangement makes them biggest.

A plot with a locked aspect ratio in a long thin cell shows a range several times its data (a
blob of radius 2 drawn over ±14). Here every cell keeps the panels' shape (``aspect`` = width /
height) and the number of columns is the one that gives the largest cells in the space there is;
what is left over is shared out as margins, never given to one stretched plot.
"""

from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

__all__ = ["SquareGrid", "best_columns"]


def best_columns(count: int, width: float, height: float, aspect: float) -> tuple[int, float]:
    """(columns, cell width) that make ``count`` cells of shape ``aspect`` largest in width × height."""
    best = (1, 0.0)
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        cell_w = min(width / cols, height * aspect / rows)
        if cell_w > best[1] + 0.5:
            best = (cols, cell_w)
    return best


class SquareGrid(QtWidgets.QWidget):
    """Holds panels added with ``add(widget)``; lays them out in cells of shape ``aspect``."""

    def __init__(self, aspect: float = 1.0, spacing: int = 6, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.aspect = aspect
        self.spacing = spacing
        self.panels: list[QtWidgets.QWidget] = []
        self.columns = 1
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)

    def add(self, widget: QtWidgets.QWidget) -> None:
        widget.setParent(self)
        self.panels.append(widget)
        self._place()

    def relayout(self) -> None:
        """Place the panels again (after some were shown or hidden)."""
        self._place()

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt's name
        return QtCore.QSize(640, 420)

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt's name
        return QtCore.QSize(200, 160)

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        self._place()

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        self._place()

    def _place(self) -> None:
        shown = [w for w in self.panels if not w.isHidden()]
        if not shown:
            return
        s = self.spacing
        cols, _ = best_columns(len(shown), self.width() + s, self.height() + s, self.aspect)
        rows = math.ceil(len(shown) / cols)
        cell_w = min((self.width() + s) / cols, (self.height() + s) * self.aspect / rows)
        cell_h = cell_w / self.aspect
        x0 = (self.width() + s - cols * cell_w) / 2
        y0 = (self.height() + s - rows * cell_h) / 2
        self.columns = cols
        for k, w in enumerate(shown):
            r, c = divmod(k, cols)
            w.setGeometry(int(x0 + c * cell_w), int(y0 + r * cell_h), int(cell_w - s), int(cell_h - s))
