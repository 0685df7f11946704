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
    for text in ("", "short", "a much longer status line " * 12, "short again"):
        header.set_status(text)
        QtWidgets.QApplication.processEvents()
        heights.append(header.status.height())
    assert len(set(heights)) == 1 and heights[0] > 0
