"""PointsItem: many points drawn as stamped dots, the hidden ones sieved out first."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui

import widgets.points_item as points_item
from widgets.points_item import PointsItem


@pytest.fixture
def plot(qtbot):  # type: ignore[no-untyped-def]
    w = pg.PlotWidget()
    qtbot.addWidget(w)
    w.resize(400, 400)
    w.setRange(xRange=(-4, 4), yRange=(-4, 4), padding=0)
    return w


def _render(plot: pg.PlotWidget) -> np.ndarray:
    """The scene as (h, w, 4) uint8, rendered onto an image of the view's size."""
    size = plot.viewport().size()
    img = QtGui.QImage(size, QtGui.QImage.Format.Format_ARGB32)
    img.fill(QtCore.Qt.GlobalColor.black)
    p = QtGui.QPainter(img)
    plot.render(p)
    p.end()
    ptr = img.constBits()
    return np.frombuffer(ptr, np.uint8, img.sizeInBytes()).reshape(img.height(), img.bytesPerLine() // 4, 4).copy()


def _crowd(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal((-1.5, 0.0), 0.5, (n // 2, 2)), rng.normal((1.5, 0.5), 0.7, (n - n // 2, 2))])
    return x, (np.arange(n) % 3)


def test_the_sieve_keeps_the_picture_of_a_crowd(plot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """100k points: with and without the sieve the picture is the same but for slivers of rims."""
    item = PointsItem()
    plot.addItem(item)
    x, labels = _crowd(100_000)
    item.set_data(x, labels)
    sieved = _render(plot)
    monkeypatch.setattr(points_item, "SIEVE_FROM", 10**9)
    plain = _render(plot)
    differ = np.abs(sieved.astype(int) - plain.astype(int)).max(2) > 60
    covered = plain[..., :3].max(2) > 60
    assert covered.mean() > 0.1  # the crowd fills a good part of the picture
    assert differ.sum() < 0.05 * covered.sum()


def test_the_sieve_drops_hidden_points_and_keeps_lone_ones(plot) -> None:  # type: ignore[no-untyped-def]
    item = PointsItem()
    plot.addItem(item)
    dense, _ = _crowd(50_000)
    lone = np.stack(np.meshgrid(np.linspace(-3.5, 3.5, 70), np.linspace(-3.5, 3.5, 70)), -1).reshape(-1, 2)
    img = QtGui.QImage(400, 400, QtGui.QImage.Format.Format_ARGB32)
    t = QtGui.QTransform.fromScale(50, -50) * QtGui.QTransform.fromTranslate(200, 200)
    for pts, expect_all in ((lone, True), (dense, False)):
        item.set_data(pts)
        x, y = item._cols
        dev_x, dev_y = t.m11() * x + t.dx(), t.m22() * y + t.dy()
        kept = item._sieve(dev_x, dev_y, img, 7)
        assert kept is not None and np.all(np.diff(kept) > 0)  # drawing order kept
        if expect_all:  # 0.1 apart = 5 px: no two share a cell
            assert len(kept) == len(pts)
        else:
            assert len(kept) < 0.5 * len(pts)
            # every dropped point has a later kept one within the cell (its dot is drawn over it)
            dropped = np.setdiff1d(np.arange(len(pts)), kept)[:500]
            cell = points_item.SIEVE_CELL
            kx, ky = dev_x[kept], dev_y[kept]
            for i in dropped:
                near = (np.abs(kx - dev_x[i]) < cell) & (np.abs(ky - dev_y[i]) < cell) & (kept > i)
                assert near.any()


def test_points_off_the_picture_are_not_stamped(plot) -> None:  # type: ignore[no-untyped-def]
    item = PointsItem()
    x = np.array([[-1e6, 0.0], [0.0, 1e6], [5.0, 5.0]] * 3000)
    item.set_data(x)
    img = QtGui.QImage(100, 100, QtGui.QImage.Format.Format_ARGB32)
    kept = item._sieve(item._cols[0], item._cols[1], img, 7)
    assert kept is not None and set(x[kept, 0]) == {5.0} and len(kept) == 1


def test_set_data_copies_and_skips_non_finite_points() -> None:
    item = PointsItem()
    x = np.array([[0.0, 1.0], [np.nan, 2.0], [3.0, np.inf], [4.0, 5.0]], np.float32)
    item.set_data(x, np.array([0, 1, 2, 3]))
    x[0] = 9.0
    assert item.count == 2
    assert np.array_equal(item._xy, [[0.0, 1.0], [4.0, 5.0]])
    assert item.colors() == [QtGui.QColor(points_item.CLASS_COLORS[k]).name() for k in (0, 3)]
