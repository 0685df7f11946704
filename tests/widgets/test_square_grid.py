"""Panels keep their shape and take the arrangement that makes them biggest: no plot shows a range
several times its data because its cell was long and thin."""

import numpy as np
import pytest

from widgets.density_view import DensityView
from widgets.square_grid import SquareGrid, best_columns


@pytest.mark.parametrize(("count", "w", "h", "cols"), [(4, 1600, 400, 4), (4, 800, 800, 2), (3, 1200, 400, 3),
                                                       (3, 300, 900, 1), (4, 900, 500, 2)])
def test_best_columns_gives_the_largest_cells(count, w, h, cols) -> None:  # type: ignore[no-untyped-def]
    got, cell = best_columns(count, w, h, 1.0)
    assert got == cols
    for other in range(1, count + 1):  # no arrangement gives bigger square cells
        rows = -(-count // other)
        assert min(w / other, h / rows) <= cell + 1e-9


@pytest.mark.parametrize("size", [(900, 300), (1600, 500), (500, 900)])
def test_density_panels_show_their_box_not_a_stretched_range(qtbot, size) -> None:  # type: ignore[no-untyped-def]
    grid = SquareGrid(aspect=1.25)
    qtbot.addWidget(grid)
    views = [DensityView() for _ in range(3)]
    box = (-2.5, 2.5, -2.5, 2.5)
    for v in views:
        grid.add(v)
        v.set_density(np.ones((8, 8), np.float32), box)
    grid.resize(*size)
    grid.show()
    qtbot.waitUntil(lambda: all(v.plot.width() > 50 for v in views), timeout=3000)
    for v in views:
        v.fit()
        (x0, x1), (y0, y1) = v.plot.getPlotItem().vb.viewRange()
        assert x1 - x0 <= 1.6 * 5.0 and y1 - y0 <= 1.6 * 5.0, v.plot.getPlotItem().vb.viewRange()


@pytest.mark.parametrize(("size", "banner"), [((973, 470), True), ((705, 480), False), ((1270, 860), False)])
def test_a_wide_last_panel_goes_under_the_row_only_where_that_makes_the_cells_bigger(qtbot, size, banner) -> None:  # type: ignore[no-untyped-def]
    from PySide6 import QtWidgets

    grid = SquareGrid(aspect=1.25, wide_last=True)
    qtbot.addWidget(grid)
    panels = [QtWidgets.QWidget() for _ in range(4)]
    for p in panels:
        grid.add(p)
    grid.resize(*size)
    grid.show()
    qtbot.waitUntil(lambda: panels[0].width() > 0)
    w, h = grid.viewport().width() + grid.spacing, grid.viewport().height() + grid.spacing
    two_by_two = min(w / 2, h / 2 * 1.25)
    last = panels[-1].geometry()
    if banner:  # three in a row, bigger than two by two, and the last as wide as the grid under them
        assert {p.geometry().y() for p in panels[:3]} == {0}
        assert panels[0].width() + grid.spacing > two_by_two
        assert last.width() >= w - 2 * grid.spacing and last.y() >= panels[0].geometry().bottom()
    else:  # two by two: the last panel is one cell like the others
        assert last.size() == panels[0].size() and grid.columns == 2


def test_panels_that_do_not_fit_at_the_least_size_come_a_page_at_a_time_in_aligned_lines(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6 import QtWidgets

    grid = SquareGrid(aspect=1.0, spacing=0, min_cell=200)
    qtbot.addWidget(grid)
    a, b, c = ([QtWidgets.QWidget() for _ in range(n)] for n in (5, 5, 2))
    for p in a + b + c:
        grid.add(p)
    grid.set_groups([a, b, c])
    grid.resize(620, 410)  # three columns and two lines of 200 px cells
    grid.show()
    qtbot.waitUntil(lambda: grid.viewport().width() == 620)
    grid.relayout()
    # each page: the same columns of the first two groups, one to a line; the lone group last
    assert grid.pages == [a[:3] + b[:3], a[3:] + b[3:], c]
    assert grid.pager.label.isVisibleTo(grid.pager) and grid.pager.label.text() == "page 1 of 3"
    assert [p.isVisible() for p in a + b + c] == [True] * 3 + [False] * 2 + [True] * 3 + [False] * 4
    assert all(p.width() >= 200 and p.height() >= 200 for p in a[:3] + b[:3])
    assert b[0].geometry().top() >= a[0].geometry().bottom()  # the second group's line under the first's
    grid.pager.forward.click()
    assert [p.isVisible() for p in a[3:] + b[3:]] == [True] * 4 and not a[0].isVisible()
    for p in b:  # a group taken out: the others fill the pages
        grid.set_shown(p, False)
    grid.relayout()
    assert grid.pages == [a[:3] + a[3:], c] and not any(p.isVisible() for p in b)
    grid.resize(1300, 900)  # everything fits: one page, no pager
    qtbot.waitUntil(lambda: grid.viewport().width() == 1300)
    grid.relayout()
    assert len(grid.pages) == 1 and not grid.pager.label.isVisibleTo(grid.pager) and all(p.isVisible() for p in a + c)
