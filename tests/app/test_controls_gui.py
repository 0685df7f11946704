"""Controls behave as a lecturer expects: menus open what they say, keys go where the focus is, nothing jumps."""

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from app.main_window import MainWindow
from app.settings import Settings
from widgets.draw_canvas import DrawDialog
from widgets.equation_label import EquationLabel
from widgets.guidance_controls import GuidanceControls


@pytest.fixture
def window(qtbot, tmp_path, fake_models):  # type: ignore[no-untyped-def]
    s = Settings(QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat))
    w = MainWindow(settings=s)
    qtbot.addWidget(w)
    yield w
    w.training.shutdown()


def _action(window, text: str) -> QtGui.QAction:  # type: ignore[no-untyped-def]
    found = [a for m in window.menuBar().findChildren(QtWidgets.QMenu) for a in m.actions() if a.text() == text]
    assert len(found) == 1, text
    return found[0]


def test_draw_a_density_from_the_menu_opens_the_canvas(window, monkeypatch, dialogs) -> None:  # type: ignore[no-untyped-def]
    opened = []
    monkeypatch.setattr(DrawDialog, "exec", lambda self: opened.append(self) or 0)
    act = _action(window, "&Draw a density…")
    assert act.shortcut().toString() == "Ctrl+D"
    act.trigger()  # the menu and Ctrl+D both trigger the action, with checked=False
    assert len(opened) == 1 and dialogs == []


def test_focus_leaves_the_form_when_training_starts(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.show()
    window.activateWindow()
    field = window.panel.findChildren(QtWidgets.QAbstractSpinBox)[0]
    field.setFocus()
    qtbot.waitUntil(lambda: QtWidgets.QApplication.focusWidget() is field, timeout=3000)
    _action(window, "&Train / pause / resume").trigger()  # Ctrl+Enter
    focus = QtWidgets.QApplication.focusWidget()
    assert focus is None or not window.panel.isAncestorOf(focus)
    window.training.stop()
    qtbot.waitUntil(lambda: not window.training.running, timeout=30000)


def test_arrow_keys_on_a_focused_slider_move_it_not_the_time_bar(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The window's Left/Right shortcuts step the time bar; a focused γ slider keeps its arrows."""
    controls = GuidanceControls()
    controls.setParent(window.lab_tabs)  # inside the window, where its shortcuts are
    controls.show()
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    controls.slider.setFocus()
    qtbot.waitUntil(controls.slider.hasFocus, timeout=3000)
    t0, g0 = window.ctx.t, controls.guidance
    qtbot.keyClick(controls.slider, QtCore.Qt.Key.Key_Left)
    assert controls.guidance == pytest.approx(g0 - 0.1)
    assert window.ctx.t == t0


def test_the_status_line_keeps_its_height_whatever_its_text(qtbot) -> None:  # type: ignore[no-untyped-def]
    header = EquationLabel("x = y")
    qtbot.addWidget(header)
    header.resize(500, 200)
    header.show()
    heights = []
    for text in ("short", "a much longer status line " * 12, "short again", "⚠ " + "an error " * 20):
        header.set_status(text)
        QtWidgets.QApplication.processEvents()
        heights.append(header.status.height())
    assert len(set(heights)) == 1 and heights[0] > 0


def test_the_time_bar_is_disabled_where_time_means_nothing(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    bar = window.lab_tabs.time_bar
    for name, meaningful in (("path", True), ("langevin", False), ("trajectories", True), ("adjoint", False),
                             ("training", False)):
        window.lab_tabs.show_view(name)
        assert bar.isEnabled() is meaningful, name
        assert bar.isVisibleTo(window) is meaningful, name  # and out of the way: the pictures take its height
        if not meaningful:
            assert not bar.playing
    window.lab_tabs.show_view("path")
    bar.play(True)
    window.lab_tabs.show_view("langevin")  # leaving a view that follows t stops the playback
    assert not bar.playing and not bar.isEnabled()
    window.set_controls(hidden=["time_bar"])  # a scene hid it: changing views does not bring it back
    window.lab_tabs.show_view("path")
    assert not bar.isVisibleTo(window)
    window.set_controls()
    assert bar.isVisibleTo(window)


@pytest.mark.parametrize("kind", ["cnf", "ddpm"])
def test_the_trajectories_chart_shows_valid_data_or_says_why_not(qtbot, kind) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from app.labs.context import LabContext
    from app.labs.registry import make_lab
    from engine.checkpoint import load_trained
    from engine.densities import get_density

    pre = Path(__file__).resolve().parents[2] / "assets" / "pretrained"
    ckpt = {"cnf": "cnf_8gaussians.pt", "ddpm": "ddpm_8gaussians_conditional.pt"}[kind]
    ctx = LabContext()
    ctx.set_density(get_density("8gaussians"), "8gaussians")
    ctx.set_model(load_trained(str(pre / ckpt)))
    lab = make_lab("trajectories", ctx)
    qtbot.addWidget(lab)
    lab.resize(1000, 600)
    lab.show()
    lab.activate()
    try:
        chart = lab.probe.chart
        if kind == "cnf":
            assert chart.isVisible() and not lab.no_chart.isVisible()
            (x0, x1), _ = chart.getPlotItem().vb.viewRange()
            assert -0.1 <= x0 <= 0.0 and 1.0 <= x1 <= 1.1
            lab.view.point_clicked.emit(1.0, 1.0)
            qtbot.waitUntil(lambda: lab.probe.along.getData()[0] is not None
                            and len(lab.probe.along.getData()[0]) > 2, timeout=60000)
            ts, ys = lab.probe.along.getData()
            assert ts.min() >= 0.0 and ts.max() <= 1.0 and (ys == ys).all()
            (x0, x1), _ = chart.getPlotItem().vb.viewRange()
            assert -0.1 <= x0 <= 0.0 and 1.0 <= x1 <= 1.1  # the axis stays on t in [0, 1]
        else:
            assert not chart.isVisible() and lab.no_chart.isVisible()
            assert "CNF" in lab.no_chart.text()
    finally:
        lab.shutdown()


def test_presentation_shows_the_view_alone_and_f5_brings_everything_back(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.show()
    window.lab_tabs.show_view("path")
    lab = window.lab_tabs.current_lab()
    qtbot.waitUntil(lab.isVisible, timeout=3000)
    act = _action(window, "&Presentation (the view alone, full screen)")
    assert act.shortcut().toString() == "F5"
    act.trigger()
    assert window.presentation.presenting and window.isFullScreen()
    for part in (window.density_dock, window.training_dock, window.menuBar(), window.lab_tabs.time_bar,
                 window.lab_tabs.bar):
        assert not part.isVisible()
    inputs = (QtWidgets.QAbstractButton, QtWidgets.QComboBox, QtWidgets.QAbstractSpinBox, QtWidgets.QAbstractSlider)
    assert not [w for w in lab.findChildren(QtWidgets.QWidget) if isinstance(w, inputs) and w.isVisible()]
    assert lab.header.title.isVisible() and lab.header.title.text() == "Probability path"
    screen = window.screen().geometry()
    assert window.geometry().size() == screen.size()  # full screen even without a window manager
    act.trigger()
    assert not window.presentation.presenting and not window.isFullScreen()
    for part in (window.density_dock, window.training_dock, window.menuBar(), window.lab_tabs.time_bar):
        assert part.isVisible()
    assert not lab.header.title.isVisible()


def test_full_screen_fills_the_screen_without_a_window_manager(window) -> None:  # type: ignore[no-untyped-def]
    window.show()
    window.resize(960, 640)  # above the window's least width (the training form and its bar), whatever the text size
    _action(window, "&Full screen").trigger()
    assert window.isFullScreen() and window.geometry().size() == window.screen().geometry().size()
    _action(window, "&Full screen").trigger()
    assert not window.isFullScreen() and window.width() == 960


def test_a_scene_does_not_replace_the_density_the_user_picked(window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from app.scenes import load_scene

    assert window.set_density("moons")
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"flowscope_scene": 1, "title": "two circles", "density": "circles"}))
    window.scenes.apply(load_scene(str(path)))
    assert window.state.density.name.startswith("circles") or "circles" in window.state.spec
    assert window.settings.get("density", "") == "moons"  # a plain start reopens moons
