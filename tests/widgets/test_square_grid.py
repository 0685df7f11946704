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
