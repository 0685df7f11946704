"""Every view's text reads in both themes at any text size: WCAG contrast >= 4.5 against what is behind it.

Each view is drawn on a shipped pretrained model, then the theme and the text size are switched live
(as from the View menu), so colours and sizes fixed when an item was made are caught.
"""

from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6 import QtGui, QtWidgets

from app.labs.context import LabContext
from app.labs.registry import available_labs, make_lab
from app.theme import DEFAULT_FONT_PT, apply_theme
from engine.checkpoint import load_trained
from engine.densities import get_density
from widgets.plot_style import FONT_SCALE_PROPERTY, ROLE_SCALE, contrast_ratio, restyle, strip_swatches, text_items
from widgets.titles import TitleLabel

PRE = Path(__file__).resolve().parents[2] / "assets" / "pretrained"
MODELS = {"cnf": PRE / "cnf_8gaussians.pt", "ddpm": PRE / "ddpm_8gaussians_conditional.pt"}
MIN_CONTRAST = 4.5


@pytest.fixture(scope="module")
def trained() -> dict:
    return {k: load_trained(str(p)) for k, p in MODELS.items()}


@pytest.fixture(autouse=True)
def _back_to_dark(qapp):  # type: ignore[no-untyped-def]
    yield
    apply_theme(qapp, "dark", DEFAULT_FONT_PT)


def _lab(qtbot, name: str, tm):  # type: ignore[no-untyped-def]
    ctx = LabContext()
    ctx.set_density(get_density("8gaussians"), "8gaussians")
    ctx.set_model(tm)
    lab = make_lab(name, ctx)
    qtbot.addWidget(lab)
    lab.resize(1000, 700)
    lab.show()
    list(lab.render_frames(1))
    return lab


def _label_colours(root: QtWidgets.QWidget) -> list[tuple[str, QtGui.QColor, QtGui.QColor]]:
    """Qt labels: their text colour (the palette's, or a colour in their rich text) on the colour behind them."""
    import re

    out = []
    for w in root.findChildren(QtWidgets.QLabel):
        if not w.isVisibleTo(root) or not w.text():
            continue
        # what is behind the text: the label's own fill, or else the window's (a label's own
        # palette can be stale while still agreeing with itself)
        bg = (w if w.autoFillBackground() else root).palette().color(QtGui.QPalette.ColorRole.Window)
        words = strip_swatches(w.text())  # a coloured line glyph is a legend's picture of a curve, not text
        colours = [QtGui.QColor(c) for c in re.findall(r"color:\s*(#[0-9A-Fa-f]{6})", words)]
        for c in colours or [w.palette().color(QtGui.QPalette.ColorRole.WindowText)]:
            out.append((f"QLabel {w.text()[:40]!r}", c, bg))
    for e in root.findChildren(QtWidgets.QLineEdit):
        # a field drawn without a box of its own (a range slider's end values) shows the window behind it
        if e.isVisibleTo(root) and e.text() and "transparent" in e.styleSheet():
            out.append((f"QLineEdit {e.text()!r}", e.palette().color(QtGui.QPalette.ColorRole.Text),
                        root.palette().color(QtGui.QPalette.ColorRole.Window)))
    return out


def _poor(root: QtWidgets.QWidget) -> list[str]:
    items = text_items(root) + _label_colours(root)
    assert items
    return [f"{what}: {fg.name()} on {bg.name()} = {contrast_ratio(fg, bg):.2f}"
            for what, fg, bg in items if contrast_ratio(fg, bg) < MIN_CONTRAST]


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(MODELS))
@pytest.mark.parametrize("name", available_labs())
def test_every_text_reads_in_both_themes_switched_live(qtbot, qapp, trained, kind, name) -> None:  # type: ignore[no-untyped-def]
    lab = _lab(qtbot, name, trained[kind])
    try:
        for theme in ("light", "dark", "light"):
            apply_theme(qapp, theme, DEFAULT_FONT_PT)
            restyle(lab)
            QtWidgets.QApplication.processEvents()  # the new palette reaches the widgets
            assert _poor(lab) == [], theme
    finally:
        lab.shutdown()


@pytest.mark.parametrize("name", ["kfp", "guidance"])
def test_larger_text_reaches_ticks_titles_legends_and_labels(qtbot, qapp, trained, name) -> None:  # type: ignore[no-untyped-def]
    lab = _lab(qtbot, name, trained["ddpm"])
    try:
        apply_theme(qapp, "dark", 17)
        restyle(lab)
        axes = [i for v in lab.findChildren(pg.GraphicsView) for i in v.scene().items() if isinstance(i, pg.AxisItem)]
        assert axes and all(a.style["tickFont"].pointSizeF() == pytest.approx(17 * ROLE_SCALE["tick"], abs=0.1)
                            for a in axes)
        titles = [i for v in lab.findChildren(pg.GraphicsView) for i in v.scene().items()
                  if isinstance(i, pg.PlotItem) and i.titleLabel.text]
        assert all(t.titleLabel.opts["size"] == f"{17 * ROLE_SCALE['title']:.1f}pt" for t in titles)
        # titles above the plots are Qt labels of the title size
        labels = [w for w in lab.findChildren(TitleLabel) if w.text()]
        assert titles or labels
        assert all(w.font().pointSizeF() == pytest.approx(17 * ROLE_SCALE["title"], abs=0.1) for w in labels)
        scaled = [w for w in lab.findChildren(QtWidgets.QWidget) if w.property(FONT_SCALE_PROPERTY) is not None]
        want = [pytest.approx(17 * float(w.property(FONT_SCALE_PROPERTY)), abs=0.1) for w in scaled]
        assert scaled and [w.font().pointSizeF() for w in scaled] == want
    finally:
        lab.shutdown()


def test_text_over_data_without_a_box_is_reported(qtbot) -> None:  # type: ignore[no-untyped-def]
    """The check itself: a bare white label over a heatmap fails it, the same label on a box passes."""
    from widgets.plot_style import BoxedLabel

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.show()
    bare = pg.LabelItem("87% in class 3", color="#FFFFFF")
    bare.setParentItem(plot.getPlotItem().vb)
    assert any("87%" in what and contrast_ratio(fg, bg) < MIN_CONTRAST for what, fg, bg in text_items(plot))
    bare.setParentItem(None)
    plot.scene().removeItem(bare)
    boxed = BoxedLabel("87% in class 3")
    boxed.setParentItem(plot.getPlotItem().vb)
    restyle(plot)
    assert all(contrast_ratio(fg, bg) >= MIN_CONTRAST for what, fg, bg in text_items(plot) if "87%" in what)


@pytest.mark.parametrize(("name", "size"), [("kfp", (960, 720)), ("guidance", (960, 720)), ("guidance", (1400, 600))])
def test_panels_show_the_data_box_not_a_range_several_times_it(qtbot, trained, name, size) -> None:  # type: ignore[no-untyped-def]
    from widgets.density_view import DensityView

    lab = _lab(qtbot, name, trained["ddpm"])
    try:
        lab.resize(*size)  # a lab cannot be narrower than its controls: it takes the nearest size it can
        for _ in range(3):
            QtWidgets.QApplication.processEvents()
        views = [v for v in lab.findChildren(DensityView) if v.isVisibleTo(lab)]
        assert len(views) >= 3
        for v in views:
            v.fit()
            x0, x1, y0, y1 = v._box
            (a0, a1), (b0, b1) = v.plot.getPlotItem().vb.viewRange()
            assert (a1 - a0) <= 1.6 * (x1 - x0) and (b1 - b0) <= 1.6 * (y1 - y0), (v._box, (a0, a1, b0, b1))
    finally:
        lab.shutdown()


@pytest.mark.parametrize("name", available_labs())
def test_a_figure_shows_no_controls_but_its_title_and_equation(qtbot, trained, name) -> None:  # type: ignore[no-untyped-def]
    from widgets.figure import figure_mode, plot_items_of

    inputs = (QtWidgets.QAbstractButton, QtWidgets.QComboBox, QtWidgets.QAbstractSlider,
              QtWidgets.QAbstractSpinBox, QtWidgets.QLineEdit)
    lab = _lab(qtbot, name, trained["ddpm"])
    try:
        def shown_inputs() -> list:  # type: ignore[type-arg]
            return [w for w in lab.findChildren(QtWidgets.QWidget) if isinstance(w, inputs) and w.isVisibleTo(lab)
                    and not isinstance(w, QtWidgets.QScrollBar)]  # a scroll area's own bar is no control

        before = shown_inputs()
        assert before  # every view has controls: the figure must lose them
        items = plot_items_of(lab)
        for p in items:  # the mouse over a zoomed plot: pyqtgraph shows its "A" (auto-range) button
            p.vb.disableAutoRange()
            p.mouseHovering = True
            p.updateButtons()
        buttons = [p for p in items if p.autoBtn.isVisible()]
        assert buttons or not items
        with figure_mode(lab, "A title"):
            assert shown_inputs() == []
            assert [p for p in items if p.autoBtn.isVisible()] == []  # nor in presentation, render or export
            assert lab.header.title.isVisibleTo(lab) and lab.header.title.text() == "A title"
            assert lab.header.equation.isVisibleTo(lab)
            plots = [v for v in lab.findChildren(pg.GraphicsView) if v.isVisibleTo(lab)]
            assert plots or not lab.findChildren(pg.GraphicsView)
        assert shown_inputs() == before and not lab.header.title.isVisibleTo(lab)
        assert [p for p in items if p.autoBtn.isVisible()] == buttons  # the window's plots keep theirs
    finally:
        lab.shutdown()


def test_render_takes_a_theme_and_a_font_scale(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import imageio.v2 as imageio

    from app.cli import main

    corners = {}
    for theme in ("dark", "light"):
        out = tmp_path / f"{theme}.png"
        assert main(["render", str(MODELS["cnf"]), "--view", "field", "--frames", "1", "--size", "480x360",
                     "--theme", theme, "--font-scale", "1.4", "--out", str(out), "--quiet"]) == 0
        corners[theme] = imageio.imread(out)[-4:, -4:, :3].mean()
    assert corners["dark"] < 80 < 180 < corners["light"]
    assert main(["render", str(MODELS["cnf"]), "--font-scale", "0", "--out", str(tmp_path / "x.png")]) == 2


@pytest.mark.parametrize("kind", list(MODELS))
def test_every_colour_scale_drawn_has_a_legend_and_no_legend_is_idle(qtbot, trained, kind) -> None:  # type: ignore[no-untyped-def]
    """Vector field: the arrows' colours have a colour bar (|f| or |s|, 0 to the longest arrow); the
    heatmap's colour bar shows only when a heatmap is drawn (the CNF's divergence; none for a score)."""
    lab = _lab(qtbot, "field", trained[kind])
    try:
        legend = lab.arrows.legend
        assert legend is not None and legend.isVisible()
        label = legend.getAxis("left").labelText
        assert label.startswith("|f|" if kind == "cnf" else "|s|")
        assert legend.levels()[1] == pytest.approx(lab.arrows.max_magnitude)
        heatmap = lab.view.image.isVisible()
        assert heatmap is (kind == "cnf")
        assert lab.view.colorbar.isVisible() is heatmap
        if heatmap:
            assert "div" in lab.view.colorbar.getAxis("left").labelText
    finally:
        lab.shutdown()


def test_a_guidance_figure_keeps_its_legends(qtbot, trained) -> None:  # type: ignore[no-untyped-def]
    """What the grey heatmaps and the chart's curves are stays in the figure: the note beside the
    controls (not their labels) and the legend column beside the chart, even while it scrolls."""
    from widgets.figure import figure_mode

    lab = _lab(qtbot, "guidance", trained["ddpm"])
    try:
        note, words = lab.panels.note, lab.chart.text_area
        qtbot.waitUntil(lambda: note.isVisibleTo(lab) and bool(note.text()), timeout=30_000)
        labels = [w for w in lab.panels.controls.findChildren(QtWidgets.QLabel) if type(w) is QtWidgets.QLabel
                  and w.text() in ("class y", "guidance")]
        words.verticalScrollBar().show()  # as in a window too small for the words
        with figure_mode(lab, "A title"):
            assert note.isVisibleTo(lab) and words.isVisibleTo(lab)
            assert labels and not any(w.isVisibleTo(lab) for w in labels)
    finally:
        lab.shutdown()


def test_the_arrows_read_on_the_plot_ground_in_both_themes(qtbot, qapp, trained) -> None:  # type: ignore[no-untyped-def]
    """Every arrow colour (and its colour bar's) at least 3:1 against the plot's ground, after live theme
    switches: viridis's top yellows vanished on the light theme's white, its low purples on the dark one."""
    from app.theme import THEMES

    lab = _lab(qtbot, "field", trained["ddpm"])  # a score: arrows on the bare ground, no heatmap
    try:
        for theme in ("light", "dark", "light"):
            apply_theme(qapp, theme, DEFAULT_FONT_PT)
            restyle(lab)
            ground = QtGui.QColor(THEMES[theme]["plot_bg"])
            pens = [c.opts["pen"].color() for c in lab.arrows.curves]
            bar = [QtGui.QColor(*c[:3]) for c in lab.arrows.legend.colorMap().getLookupTable(0.0, 1.0, 8, alpha=False)]
            assert min(contrast_ratio(c, ground) for c in pens + bar) >= 3.0, theme
    finally:
        lab.shutdown()
