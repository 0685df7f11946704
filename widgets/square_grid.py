"""Panels of a fixed shape laid out in whichever arrangement makes them biggest.

A plot with a locked aspect ratio in a long thin cell shows a range several times its data (a
blob of radius 2 drawn over ±14). Here every cell keeps the panels' shape (``aspect`` = width /
height) and the number of columns is the one that gives the largest cells in the space there is;
what is left over is shared out as margins, never given to one stretched plot.

With ``min_cell`` set, cells never get narrower than that: when the space there is cannot hold every
panel at that size, the panels are shown a page at a time (``pager``: ◀ page k of n ▶) instead of
shrinking into stamps or scrolling out of view. Panels given in groups (``set_groups``: a row of a
table, say a model's panels and its reflowed model's) are paged by columns: each page shows the
same columns of every group, one group to a line, so that what is compared stays side by side.
A panel is taken out of the grid, and put back, with ``set_shown`` (not ``hide``/``show``: the grid
shows and hides panels itself to page them).

With ``wide_last`` the last panel (a chart, say) may instead span the whole width under the others
in one row, when that makes their cells bigger (a wide, low window).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6 import QtCore, QtWidgets

__all__ = ["SquareGrid", "best_columns", "Pager"]

NEAR_BEST = 0.93  # of the largest cells: grouped panels take fewer lines for cells this much smaller
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


class Pager(QtWidgets.QWidget):
    """◀ page k of n ▶: ``page_requested(int)`` asks for a page; empty while everything fits on one."""

    page_requested = QtCore.Signal(int)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.back = QtWidgets.QToolButton()
        self.back.setArrowType(QtCore.Qt.ArrowType.LeftArrow)
        self.back.setToolTip("The previous page of panels (the window is too small for all of them)")
        self.forward = QtWidgets.QToolButton()
        self.forward.setArrowType(QtCore.Qt.ArrowType.RightArrow)
        self.forward.setToolTip("The next page of panels (the window is too small for all of them)")
        self.label = QtWidgets.QLabel()
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for w in (self.back, self.label, self.forward):
            lay.addWidget(w)
        self.page, self.count = 0, 1
        self.back.clicked.connect(lambda: self.page_requested.emit(self.page - 1))
        self.forward.clicked.connect(lambda: self.page_requested.emit(self.page + 1))
        self.set_pages(0, 1)

    def set_pages(self, page: int, count: int) -> None:
        self.page, self.count = page, count
        self.label.setText(f"page {page + 1} of {count}")
        self.back.setEnabled(page > 0)
        self.forward.setEnabled(page < count - 1)
        # its parts come and go, not the pager itself: whoever hid the pager (a figure hides controls)
        # keeps it hidden while the pages change under it
        for w in (self.back, self.label, self.forward):
            w.setVisible(count > 1)


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
        self.groups: list[list[QtWidgets.QWidget]] = []
        self._out: set[QtWidgets.QWidget] = set()  # panels taken out of the grid (set_shown False)
        self.columns = 1
        self.page = 0
        self.pages: list[list[QtWidgets.QWidget]] = []  # the panels of each page, when paged
        self.pager = Pager()
        self.pager.page_requested.connect(self.show_page)
        self.inner = QtWidgets.QWidget()
        self.setWidget(self.inner)
        self.setWidgetResizable(False)  # the grid sizes its inner widget itself
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # pages, not scrolling
        self.viewport().setAutoFillBackground(False)
        self.inner.setAutoFillBackground(False)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)

    def add(self, widget: QtWidgets.QWidget) -> None:
        widget.setParent(self.inner)
        self.panels.append(widget)
        self._place()

    def set_groups(self, groups: Sequence[Sequence[QtWidgets.QWidget]]) -> None:
        """Panels (added already) in groups, each a line of a table: pages show the same columns of each."""
        self.groups = [list(g) for g in groups]
        self._place()

    def set_shown(self, widget: QtWidgets.QWidget, shown: bool) -> None:
        """Put a panel in the grid or take it out (call ``relayout`` after a batch of changes)."""
        if shown:
            self._out.discard(widget)
        else:
            self._out.add(widget)
            widget.hide()

    def is_shown(self, widget: QtWidgets.QWidget) -> bool:
        """Whether the panel is in the grid (on this page or another)."""
        return widget in self.panels and widget not in self._out

    def show_page(self, page: int) -> None:
        self.page = page
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
        # a paged grid's panels are hidden and shown by the grid: only set_shown takes one out
        shown = [w for w in self.panels if w not in self._out and (self.min_cell or not w.isHidden())]
        s = self.spacing
        width, height = self.viewport().width(), self.viewport().height()
        cols, cell_w = best_columns(len(shown), width + s, height + s, self.aspect) if shown else (1, 0.0)
        if shown and self.groups:  # one line (or more) to a group, as wide as gives the biggest cells
            cols, cell_w = self._best_lines(shown, width + s, height + s)
        if shown and self.min_cell and cell_w < self.min_cell + s:
            self._paged(shown, width, height)
            return
        self.pages, self.page = [shown], 0
        self.pager.set_pages(0, 1)
        if self.min_cell:
            for w in self.panels:
                w.setVisible(w in shown)
        if not shown:
            return
        self.inner.resize(width, height)
        if self.groups:
            lines = self._lines(shown, cols)
            self._place_cells([w for line in lines for w in line], cols, len(lines), cell_w, width, height, lines)
            return
        rows = math.ceil(len(shown) / cols)
        cell_w = min((width + s) / cols, (height + s) * self.aspect / rows)
        if self.wide_last and len(shown) > 2 and self._place_banner(shown, width + s, height + s, cell_w):
            return
        self._place_cells(shown, cols, rows, cell_w, width, height)

    def _best_lines(self, shown: list[QtWidgets.QWidget], width: float, height: float) -> tuple[int, float]:
        """(columns, cell width) that make the cells largest with every group on lines of its own; of
        arrangements within NEAR_BEST of that size, the one with the fewest lines (a group in one row)."""
        sizes = []
        for cols in range(1, len(shown) + 1):
            rows = len(self._lines(shown, cols))
            sizes.append((cols, min(width / cols, height * self.aspect / rows), rows))
        best = max(size for _, size, _ in sizes)
        # never below the least cell where the largest arrangement keeps to it (that would page)
        least = max(NEAR_BEST * best, min(best, self.min_cell + self.spacing)) if self.min_cell else NEAR_BEST * best
        cols, size, _ = min((s for s in sizes if s[1] >= least), key=lambda s: (s[2], -s[1]))
        return cols, size

    def _place_cells(self, shown: list[QtWidgets.QWidget], cols: int, rows: int, cell_w: float,
                     width: float, height: float, lines: list[list[QtWidgets.QWidget]] | None = None) -> None:
        """``shown`` in ``cols`` × ``rows`` cells, centred (``lines``: each list starts a row of its own)."""
        s = self.spacing
        cell_h = cell_w / self.aspect
        x0 = (width + s - cols * cell_w) / 2
        y0 = (height + s - rows * cell_h) / 2
        self.columns = cols
        places = ([(r, c) for r, line in enumerate(lines) for c in range(len(line))] if lines is not None
                  else [divmod(k, cols) for k in range(len(shown))])
        for w, (r, c) in zip(shown, places):
            w.setGeometry(int(x0 + c * cell_w), int(y0 + r * cell_h), int(cell_w - s), int(cell_h - s))

    def _paged(self, shown: list[QtWidgets.QWidget], width: int, height: int) -> None:
        """Too many panels for the space at the least cell: as many columns and rows as fit at that
        size, and the current page of them placed."""
        s = self.spacing
        cols = max(1, int((width + s) // (self.min_cell + s)))
        rows = max(1, int((height + s) // ((self.min_cell + s) / self.aspect)))
        lines = self._lines(shown, cols)
        page_lines = [lines[k:k + rows] for k in range(0, len(lines), rows)]
        self.pages = [[w for line in page for w in line] for page in page_lines]
        self.page = min(max(self.page, 0), len(self.pages) - 1)
        self.pager.set_pages(self.page, len(self.pages))
        on_page = page_lines[self.page]
        for w in self.panels:
            w.setVisible(w in self.pages[self.page])
        cell_w = min((width + s) / cols, (height + s) * self.aspect / len(on_page))
        self.inner.resize(width, height)
        self._place_cells(self.pages[self.page], cols, len(on_page), cell_w, width, height, on_page)

    def _lines(self, shown: list[QtWidgets.QWidget], cols: int) -> list[list[QtWidgets.QWidget]]:
        """The shown panels cut into lines of ``cols``: each group's columns j … j + cols beside the same
        columns of the other groups, groups of one line (nothing to line up with) last."""
        groups = [[w for w in g if w in shown] for g in self.groups] if self.groups else [shown]
        grouped = {w for g in groups for w in g}
        groups = [g for g in groups if g] + ([rest] if (rest := [w for w in shown if w not in grouped]) else [])
        chunks = [[g[j:j + cols] for j in range(0, len(g), cols)] for g in groups]
        keyed = [((len(c) == 1, j, k), line) for k, c in enumerate(chunks) for j, line in enumerate(c)]
        return [line for _, line in sorted(keyed, key=lambda item: item[0])]

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
