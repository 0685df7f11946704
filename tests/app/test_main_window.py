"""The main window: opens on a density, changes density, refuses bad files, remembers."""

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from app.main_window import MainWindow
from app.settings import Settings


@pytest.fixture(autouse=True)
def _models(fake_models):  # type: ignore[no-untyped-def]
    return fake_models


@pytest.fixture
def settings(tmp_path):  # type: ignore[no-untyped-def]
    return Settings(QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat))


@pytest.fixture
def window(qtbot, settings):  # type: ignore[no-untyped-def]
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    return w


def test_opens_on_8gaussians_with_particles_and_heatmap(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    assert window.state is not None and window.state.spec == "8gaussians"
    assert window.view.image.image is not None and window.view.image.image.shape == (256, 256)
    assert window.view.points.count == 2000
    assert "8 classes" in window.status_label.text()
    # the entropy (true value 2.8331 nats) joins the status line when computed off the GUI thread
    qtbot.waitUntil(lambda: "entropy 2.83" in window.status_label.text(), timeout=30_000)


def test_a_density_shown_as_the_window_opens_computes_its_entropy_after_the_first_frames(
        qtbot, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A scene's density comes just after the window is built: its entropy waits, as the thumbnails do."""
    import app.density_controller as density_controller

    monkeypatch.setattr(density_controller, "EXTRAS_AFTER_MS", 400)
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    workers = w.densities._workers
    before = len(workers)
    assert w.densities.set_density("twomodes")
    assert len(workers) <= before and "entropy" not in w.status_label.text()  # not started yet
    qtbot.waitUntil(lambda: "entropy" in w.status_label.text() and w.state.spec == "twomodes", timeout=30_000)
    before = len(workers)
    assert w.densities.set_density("8gaussians")  # later changes compute it at once
    assert len(workers) == before + 1
    qtbot.waitUntil(lambda: "entropy 2.83" in w.status_label.text(), timeout=30_000)


def test_a_window_painted_before_it_is_built_loads_nothing_heavy_until_built(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    """run_gui paints the window's frame first and builds it after; the frame needs no torch."""
    import subprocess
    import sys

    probe = ("import sys; import app.gui, app.main_window; "
             "print(sorted(m for m in ('torch', 'engine.densities', 'app.lab_tabs') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
    w = MainWindow(settings=settings, density="moons", build=False)
    qtbot.addWidget(w)
    assert not w.built and not hasattr(w, "lab_tabs")
    with qtbot.waitSignal(w.first_painted, timeout=30_000):
        w.show()
    w.build()
    assert w.built and w.state is not None and w.state.spec == "moons"
    assert w.lab_tabs.tabs.count() > 1 and w.centralWidget() is w.lab_tabs
    w.build()  # a second call changes nothing
    assert w.state.spec == "moons"


def test_picking_a_density_updates_view_and_settings(window, qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.density_changed) as blocker:
        window.picker.density_requested.emit("moons")
    assert blocker.args == ["moons"]
    assert window.state.spec == "moons"
    assert "estimated" in window.status_label.text()
    assert settings.get("density", "") == "moons"


def test_arrow_keys_in_the_density_list_open_the_density_they_rest_on(window, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    names = window.picker.names()
    lst = window.picker.list
    window.show()
    lst.setFocus()
    assert window.state.spec == names[0] and lst.currentRow() == 0
    qtbot.keyClick(lst, QtCore.Qt.Key.Key_Down)
    qtbot.keyClick(lst, QtCore.Qt.Key.Key_Down)  # running past a name does not open it
    assert window.state.spec == names[0]
    qtbot.waitUntil(lambda: window.state.spec == names[2], timeout=5000)
    assert lst.currentRow() == 2
    # focus alone can make a row current without selecting it: nothing opens then
    np.save(tmp_path / "pts.npy", np.random.default_rng(0).normal(size=(300, 2)))
    assert window.set_density(f"file:{tmp_path / 'pts.npy'}")
    lst.clearFocus()
    with qtbot.waitSignal(window.picker._settle.timeout, timeout=5000):  # the highlight has settled
        lst.setCurrentRow(1, QtCore.QItemSelectionModel.SelectionFlag.NoUpdate)
    assert window.state.spec.startswith("file:")


def test_bad_file_shows_one_message_and_keeps_the_density(window, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: shown.append(a[2]))
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\nnan,3\n4,5\n")
    assert window.set_density(f"file:{bad}") is False
    assert len(shown) == 1 and "bad.csv" in shown[0] and "NaN" in shown[0]
    assert window.state.spec == "8gaussians"


def test_data_file_density_is_shown(window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    np.save(tmp_path / "pts.npy", np.random.default_rng(0).normal(size=(500, 2)) * 30 + 100)
    assert window.set_density(f"file:{tmp_path / 'pts.npy'}")
    assert window.view.title.text() == "pts.npy"


def test_remembers_density_and_log_scale_across_sessions(qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.set_density("rings")
    w.menu_actions["log_scale"].setChecked(True)
    w.close()
    w2 = MainWindow(settings=settings)
    qtbot.addWidget(w2)
    assert w2.state.spec == "rings" and w2.menu_actions["log_scale"].isChecked()


def test_missing_remembered_file_falls_back_quietly(qtbot, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: shown.append(a))
    settings.set("density", "file:/no/such/file.csv")
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    assert w.state.spec == "8gaussians" and not shown


def test_thumbnails_fill_in_after_start(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not window.densities.pending_thumbnails, timeout=20000)
    assert all(not window.picker.list.item(i).icon().isNull() for i in range(window.picker.list.count()))


def test_menu_items_open_their_dialog(window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """triggered(bool) must not reach a slot's optional argument: Draw… opens the drawing dialog."""
    from widgets.draw_canvas import DrawDialog

    opened = []
    monkeypatch.setattr(DrawDialog, "exec", lambda self: opened.append(self) or QtWidgets.QDialog.DialogCode.Rejected)
    window.menu_actions["draw_density"].trigger()
    assert len(opened) == 1 and window.state.spec == "8gaussians"


def test_locking_the_density_disables_its_menu_items_too(window) -> None:  # type: ignore[no-untyped-def]
    from app.menus import DENSITY_ITEMS

    window.set_controls(locked=["density"])
    assert not window.picker.isEnabled()
    assert not any(window.menu_actions[name].isEnabled() for name in DENSITY_ITEMS)
    window.set_controls()
    assert all(window.menu_actions[name].isEnabled() for name in DENSITY_ITEMS)


def test_menus_name_a_missing_slot(qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.menus import build_menus

    w = QtWidgets.QMainWindow()
    qtbot.addWidget(w)
    with pytest.raises(KeyError, match="save_model"):
        build_menus(w, {"open_model": lambda: None})


def test_a_window_closed_before_its_entropy_started_never_starts_it(qtbot, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import app.density_controller as density_controller

    monkeypatch.setattr(density_controller, "EXTRAS_AFTER_MS", 300)
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    timer = w.densities._status_timer
    assert w.densities.set_density("twomodes")
    assert timer.isActive()
    w.close()
    assert not timer.isActive() and w.densities._status_later is None
