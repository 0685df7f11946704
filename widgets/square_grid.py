"""Panels of a fixed shape laid out in whichever arrangement makes them biggest.

A plot with a locked aspect ratio in a long thin cell shows a range several times its data (a
blob of radius 2 drawn over ±14). Here every cell keeps the panels' shape (``aspect`` = width /
height) and the number of columns is the one that gives the largest cells in the space there is;
what is left over is shared out as margins, never given to one stretched plot.

With ``min_cell`` set, cells never get narrower than that: when the space there is cannot hold every
panel at that size, the grid scrolls (vertically) instead of shrinking the pictures into stamps.

With ``wide_last`` the last panel (a chart, say) may instead span the whole width under the others
in one row, when that makes their cells bigger (a wide, low window).
"""

from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

__all__ = ["SquareGrid", "best_columns"]

BANNER_SHARE = 0.6  # of the height, at most, for the row over a wide last panel


def best_columns(count: int, width: float, height: float, aspect: float) -> tuple[int, float]:
    """(columns, cell width) that make ``count`` cells of shape ``aspect`` largest in width × height."""
    best = (1, 0.0)
    for cols in range(1, count + 1):
        rows = math.ceil(count / cols)
        cell_w = min(width / cols, height * aspect / rows)
        if cell_w > best[1] + 0.5:
            best = (cols, cell_w)
    return best


class SquareGrid(QtWidgets.QScrollArea):
    """Holds panels added with ``add(widget)``; lays them out in cells of shape ``aspect``."""

    def __init__(self, aspect: float = 1.0, spacing: int = 6, min_cell: int = 0, wide_last: bool = False,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.aspect = aspect
        self.wide_last = wide_last
        self.spacing = spacing
        self.min_cell = min_cell  # the least width of a cell (0: none)
        self.panels: list[QtWidgets.QWidget] = []
        self.columns = 1
        self.inner = QtWidgets.QWidget()
        self.setWidget(self.inner)
        self.setWidgetResizable(False)  # the grid sizes its inner widget itself
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.viewport().setAutoFillBackground(False)
        self.inner.setAutoFillBackground(False)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)

    def add(self, widget: QtWidgets.QWidget) -> None:
        widget.setParent(self.inner)
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
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._place()

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        self._place()

    def _place(self) -> None:
        shown = [w for w in self.panels if not w.isHidden()]
        if not shown:
            return
        s = self.spacing
        width, height = self.viewport().width(), self.viewport().height()
        if self.min_cell and self.verticalScrollBar().isVisible():
            width += self.verticalScrollBar().width()  # judge by the whole width, not the width less the bar
        cols, cell_w = best_columns(len(shown), width + s, height + s, self.aspect)
        if self.min_cell and cell_w < self.min_cell + s:
            # too many for this space at the least size: as many columns as fit, scrolled
            width -= self.verticalScrollBar().sizeHint().width()
            cols = max(1, min(len(shown), int((width + s) // (self.min_cell + s))))
            rows = math.ceil(len(shown) / cols)
            height = max(height, math.ceil(rows * (width + s) / cols / self.aspect) - s)
        rows = math.ceil(len(shown) / cols)
        cell_w = min((width + s) / cols, (height + s) * self.aspect / rows)
        self.inner.resize(width, height)
        if self.wide_last and len(shown) > 2 and self._place_banner(shown, width + s, height + s, cell_w):
            return
        cell_h = cell_w / self.aspect
        x0 = (width + s - cols * cell_w) / 2
        y0 = (height + s - rows * cell_h) / 2
        self.columns = cols
        for k, w in enumerate(shown):
            r, c = divmod(k, cols)
            w.setGeometry(int(x0 + c * cell_w), int(y0 + r * cell_h), int(cell_w - s), int(cell_h - s))

    def _place_banner(self, shown: list[QtWidgets.QWidget], width: float, height: float, grid_cell: float) -> bool:
        """All but the last panel in one row, the last under them as wide as the grid, if that gives
        the row bigger cells than the grid does (True: placed)."""
        s, n = self.spacing, len(shown) - 1
        cell_w = min(width / n, BANNER_SHARE * height * self.aspect)
        if cell_w <= grid_cell + 0.5:
            return False
        cell_h = cell_w / self.aspect
        x0 = (width - n * cell_w) / 2
        for k, w in enumerate(shown[:-1]):
            w.setGeometry(int(x0 + k * cell_w), 0, int(cell_w - s), int(cell_h - s))
        shown[-1].setGeometry(0, int(cell_h), int(width - s), int(height - cell_h - s))
        self.columns = n
        return True
