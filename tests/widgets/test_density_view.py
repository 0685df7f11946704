"""DensityView and DensityPicker follow what they are given."""

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from widgets.density_picker import DensityPicker, thumbnail_icon
from widgets.density_view import DensityView
from widgets.plot_style import PlotStyle, contrast_ratio, current_style, restyle, set_style


@pytest.fixture
def view(qtbot):  # type: ignore[no-untyped-def]
    v = DensityView(title="test")
    qtbot.addWidget(v)
    v.resize(600, 500)
    return v


def gaussian_grid(n: int = 64) -> np.ndarray:
    xs = np.linspace(-4, 4, n)
    gx, gy = np.meshgrid(xs, xs)
    return (np.exp(-0.5 * (gx**2 + (gy - 1) ** 2)) / (2 * np.pi)).astype(np.float32)


def test_density_image_levels_and_placement(view) -> None:  # type: ignore[no-untyped-def]
    g = gaussian_grid()
    view.set_density(g, (-4.0, 4.0, -2.0, 6.0))
    lo, hi = view.image.getLevels()
    assert lo == 0.0 and hi == pytest.approx(float(g.max()))
    r = view.image.mapRectToParent(view.image.boundingRect())
    assert (r.left(), r.right(), r.top(), r.bottom()) == pytest.approx((-4.0, 4.0, -2.0, 6.0))


def test_log_scale_changes_levels_and_label(view) -> None:  # type: ignore[no-untyped-def]
    g = gaussian_grid()
    view.set_density(g, (-4.0, 4.0, -4.0, 4.0))
    view.set_log_scale(True)
    lo, hi = view.image.getLevels()
    assert hi == pytest.approx(np.log(g.max()), rel=1e-5)
    assert lo == pytest.approx(np.log(g.max() * 1e-4), rel=1e-4)
    view.set_log_scale(False)
    assert view.image.getLevels()[0] == 0.0


def test_points_and_labels(view) -> None:  # type: ignore[no-untyped-def]
    x = np.random.default_rng(0).normal(size=(300, 2)).astype(np.float32)
    view.set_points(x, np.arange(300) % 3)
    assert view.points.count == 300
    assert len(set(view.points.colors())) == 3
    view.set_points(None)
    assert view.points.count == 0


def test_points_are_painted_where_they_are(view, qtbot) -> None:  # type: ignore[no-untyped-def]
    view.set_density(np.zeros((8, 8), np.float32), (-4.0, 4.0, -4.0, 4.0))
    view.show()
    view.fit()
    qtbot.waitExposed(view)
    vb = view.plot.getPlotItem().vb

    def pixel(x: float, y: float):  # type: ignore[no-untyped-def]
        pt = view.plot.mapTo(view, view.plot.mapFromScene(vb.mapViewToScene(QtCore.QPointF(x, y))))
        return view.grab().toImage().pixelColor(pt.x(), pt.y())

    before = pixel(1.5, -2.0)
    view.set_points(np.array([[1.5, -2.0]] * 5, np.float32), np.zeros(5, np.int64))
    after = pixel(1.5, -2.0)
    assert before.name() != after.name()
    assert after.name().lower() == "#56b4e9"  # class 0's colour
    assert pixel(-1.5, 2.0).name() == before.name()


def test_nan_in_grid_does_not_break_the_image(view) -> None:  # type: ignore[no-untyped-def]
    g = gaussian_grid()
    g[3, 3] = np.nan
    view.set_density(g, (-4.0, 4.0, -4.0, 4.0))
    assert np.isfinite(view.image.image).all()


def test_click_reports_data_coordinates(view, qtbot) -> None:  # type: ignore[no-untyped-def]
    view.set_density(gaussian_grid(), (-4.0, 4.0, -4.0, 4.0))
    view.show()
    view.fit()
    qtbot.waitExposed(view)
    vb = view.plot.getPlotItem().vb
    scene_pt = vb.mapViewToScene(QtCore.QPointF(1.0, -2.0))
    widget_pt = view.plot.mapFromScene(scene_pt)
    with qtbot.waitSignal(view.point_clicked, timeout=2000) as blocker:
        qtbot.mouseClick(view.plot.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=widget_pt)
    x, y = blocker.args
    assert x == pytest.approx(1.0, abs=0.1) and y == pytest.approx(-2.0, abs=0.1)


def test_picker_emits_the_chosen_name(qtbot) -> None:  # type: ignore[no-untyped-def]
    p = DensityPicker([("alpha", "first"), ("beta", "second")])
    qtbot.addWidget(p)
    assert p.names() == ["alpha", "beta"]
    with qtbot.waitSignal(p.density_requested) as blocker:
        p.list.itemClicked.emit(p.list.item(1))
    assert blocker.args == ["beta"]
    p.set_current("alpha")
    assert p.list.currentItem().text() == "alpha"
    with qtbot.waitSignal(p.open_file_requested):
        p.open_file.click()


def test_thumbnail_icon_has_pixels(qtbot) -> None:  # type: ignore[no-untyped-def]
    icon = thumbnail_icon(gaussian_grid(32), size=40)
    img = icon.pixmap(40, 40).toImage()
    assert img.width() == 40
    centre, corner = img.pixelColor(20, 15), img.pixelColor(1, 38)
    assert centre.lightness() > corner.lightness()


def test_a_coarse_heatmap_is_drawn_smooth_not_in_blocks(qtbot) -> None:  # type: ignore[no-untyped-def]
    import pyqtgraph as pg
    from PySide6 import QtGui

    view = DensityView()
    qtbot.addWidget(view)
    view.resize(500, 500)
    view.show()
    grid = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)  # a 2 x 2 checkerboard: blocks, or a blend
    view.set_density(grid, (-1.0, 1.0, -1.0, 1.0))
    qtbot.waitUntil(lambda: view.plot.width() > 100, timeout=3000)
    img = view.plot.grab().toImage()
    vb = view.plot.getPlotItem().vb
    row = vb.mapViewToScene(pg.QtCore.QPointF(0.0, 0.5)).y()
    xs = [vb.mapViewToScene(pg.QtCore.QPointF(x, 0.5)).x() for x in np.linspace(-0.9, 0.9, 60)]
    colours = {img.pixelColor(int(x), int(row)).name() for x in xs}
    assert len(colours) > 10, colours  # blocks would give two colours
    assert view.plot.renderHints() & QtGui.QPainter.RenderHint.SmoothPixmapTransform


@pytest.mark.parametrize("cmap", [None, "CET-L1"])
def test_a_view_without_a_colour_bar_colours_its_heatmap_as_one_with_a_bar(qtbot, cmap) -> None:  # type: ignore[no-untyped-def]
    with_bar, bare = DensityView(), DensityView(colorbar=False)
    for v in (with_bar, bare):
        qtbot.addWidget(v)
        if cmap:
            v.set_colormap(cmap)
        v.set_density(gaussian_grid(), (-4.0, 4.0, -4.0, 4.0))
        v.set_log_scale(True)
    assert bare.colorbar is None and with_bar.colorbar is not None
    assert np.array_equal(bare.image.lut, with_bar.image.lut)
    assert np.allclose(bare.image.getLevels(), with_bar.image.getLevels())
    bare.hide_colorbar()  # nothing to hide: no error
    bare.set_density(None, (-4.0, 4.0, -4.0, 4.0))
    assert not bare.image.isVisible()


def test_dots_without_a_heatmap_stand_out_from_a_light_plot(qtbot) -> None:  # type: ignore[no-untyped-def]
    """A model's samples while it trains lie on the bare plot: white dots vanished on the light theme's
    white ground. Without a heatmap they take the plot's text colour there; on one they stay white."""
    dark, light = current_style(), PlotStyle(bg="#ffffff", fg="#101010")
    try:
        set_style(light)
        v = DensityView()
        qtbot.addWidget(v)
        v.set_density(None, (-1.0, 1.0, -1.0, 1.0))
        v.set_points(np.zeros((3, 2)))
        (dot,) = v.points.colors()
        assert contrast_ratio(QtGui.QColor(dot), QtGui.QColor(light.bg)) >= 3.0
        v.set_density(np.ones((4, 4), np.float32), (-1.0, 1.0, -1.0, 1.0))  # on the (dark) heatmap: white
        assert v.points.colors() == ["#ffffff"]
        v.set_density(None, (-1.0, 1.0, -1.0, 1.0))
        set_style(dark)  # a theme switch recolours them
        restyle(v)
        assert v.points.colors() == ["#ffffff"]
        set_style(light)
        restyle(v)
        assert v.points.colors() == [QtGui.QColor(light.fg).name()]
        v.points.set_style(3, "#56B4E9")  # a colour a view chose is its own
        restyle(v)
        assert v.points.colors() == ["#56b4e9"]
    finally:
        set_style(dark)


def _under(label, view: DensityView, x: np.ndarray) -> int:  # type: ignore[no-untyped-def]
    """How many points (data coordinates) the label covers on the screen."""
    vb = view.plot.getPlotItem().vb
    rect = label.sceneBoundingRect()
    return sum(rect.contains(vb.mapViewToScene(QtCore.QPointF(float(a), float(b)))) for a, b in x)


@pytest.mark.parametrize("centre", [(0.0, 3.0), (-3.0, 3.0), (3.0, -3.0), (-3.0, -3.0)])
def test_a_corner_label_moves_off_the_points_it_would_hide(qtbot, centre) -> None:  # type: ignore[no-untyped-def]
    """The guidance lab's "100% in class 2" had covered the class's samples at the top of the panel."""
    from widgets.plot_style import corner_label, keep_clear

    v = DensityView(title="t", colorbar=False)
    qtbot.addWidget(v)
    v.resize(300, 300)
    v.show()
    qtbot.waitExposed(v)
    v.set_density(gaussian_grid(), (-4.0, 4.0, -4.0, 4.0))
    v.fit()
    x = np.random.default_rng(0).normal(centre, 0.4, (500, 2)).astype(np.float32)
    v.set_points(x)
    label = corner_label(v.plot)
    label.setText("100% in class 2")
    qtbot.waitUntil(lambda: label.sceneBoundingRect().width() > 20)
    assert _under(label, v, x) > 20 or centre != (-3.0, 3.0)  # top left: where it starts, over the points
    keep_clear(label, x)
    qtbot.waitUntil(lambda: _under(label, v, x) == 0, timeout=3000)
    corner = keep_clear(label, x)
    assert keep_clear(label, x) == corner  # settled: asked again, it stays
    spread = np.random.default_rng(1).uniform(-4, 4, (4000, 2)).astype(np.float32)
    assert keep_clear(label, spread) == corner  # points everywhere: no corner is better, it stays put


def test_a_short_note_takes_two_lines_at_most(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The guidance note wrapped a word a line in a row left narrow by larger text, five lines tall."""
    from widgets.guidance_panels import ShortNote

    note = ShortNote()
    note.setWordWrap(True)
    note.setText("grey ∝ p(x) p(y | x)<sup>γ</sup> of the chosen class")
    qtbot.addWidget(note)
    line = note.fontMetrics().lineSpacing()
    assert note.heightForWidth(40) <= 2 * line + 2 * note.margin()
    note.resize(40, note.heightForWidth(40))
    assert not note.fits()  # too narrow for two lines: nothing is drawn (its tooltip still says it)
    note.resize(2000, note.heightForWidth(2000))
    assert note.fits() and note.heightForWidth(2000) < 2 * line
