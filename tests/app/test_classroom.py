"""Classroom features in the window: scenes, drawing, presentation, export."""

import json
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from app.main_window import MainWindow
from app.scenes import load_scene
from app.settings import Settings


@pytest.fixture
def window(qtbot, tmp_path, fake_models):  # type: ignore[no-untyped-def]
    s = Settings(QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat))
    w = MainWindow(settings=s)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    yield w
    w.close()


def test_drawn_density_is_shown_and_can_train(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    mass = np.zeros((64, 64), np.float32)
    mass[10:20, 40:60] = 1.0  # a bar at the top right
    assert window.draw_density(mass)
    assert window.state.spec.startswith("drawn:")
    pts = window.state.density.sample(2000, seed=0).x
    assert (pts[:, 0] > 0).all() and (pts[:, 1] > 0).all()
    window.panel.budget_kind.setCurrentText("steps")
    window.panel.budget.setValue(20)
    with qtbot.waitSignal(window.training.run_finished, timeout=60000) as blocker:
        window.training.start()
    assert blocker.args == ["done"]


def test_draw_canvas_paints_and_erases(qtbot) -> None:  # type: ignore[no-untyped-def]
    from widgets.draw_canvas import DrawDialog

    d = DrawDialog()
    qtbot.addWidget(d)
    ok = d.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()
    d.canvas.stroke(64, 64)
    assert d.canvas.array()[64, 64] > 0.4 and ok.isEnabled()
    d.canvas.stroke(64, 64, erase=True)
    assert d.canvas.array()[64, 64] == 0.0
    d.canvas.stroke(30, 30)
    d.canvas.clear()
    assert d.canvas.array().max() == 0.0


def test_scene_round_trip_with_a_drawing(window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    mass = np.zeros((64, 64), np.float32)
    mass[30:40, 5:25] = 1.0
    window.draw_density(mass)
    window.lab_tabs.show_view("path")
    window.ctx.set_time(0.25)
    path = str(tmp_path / "lesson.json")
    window.scenes.save(path)
    raw = json.loads(Path(path).read_text())
    assert "image_png" in raw["density"] and raw["view"] == {"name": "path", "t": 0.25, "playing": False,
                                                             "settings": raw["view"]["settings"]}
    window.set_density("moons")
    window.lab_tabs.show_view("training")
    window.scenes.apply(load_scene(path))
    assert window.state.spec.startswith("scene:")
    assert window.lab_tabs.current_name() == "path" and window.ctx.t == 0.25
    pts = window.state.density.sample(1000, seed=0).x
    assert (pts[:, 0] < 0).all()  # the bar was drawn on the left


def test_scene_hides_and_locks_controls(window, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "focus.json"
    path.write_text(json.dumps({"flowscope_scene": 1, "title": "focus", "density": "banana",
                                "view": {"name": "field", "t": 0.3},
                                "controls": {"hidden": ["training", "tabs"], "locked": ["density", "view"]}}))
    assert window.open_scene(str(path))
    assert window.training_dock.isHidden() and not window.density_dock.isHidden()
    assert not window.picker.isEnabled() and not window.lab_tabs.bar.isEnabled()
    assert window.windowTitle() == "flowscope — focus"
    window.set_controls()
    assert not window.training_dock.isHidden() and window.picker.isEnabled()


def test_bad_scene_in_the_window_is_one_message(window, tmp_path, dialogs) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "broken.json"
    path.write_text('{"flowscope_scene": 1, "density": "nope"}')
    assert not window.open_scene(str(path))
    assert len(dialogs) == 1 and "unknown density 'nope'" in dialogs[0]
    assert window.state.spec == "8gaussians"


def test_presentation_theme_and_font(window) -> None:  # type: ignore[no-untyped-def]
    window.apply_look("light", 16)
    assert QtWidgets.QApplication.font().pointSize() == 16
    assert window.view.plot.backgroundBrush().color().name() == "#ffffff"
    window.change_font(+2)
    assert QtWidgets.QApplication.font().pointSize() == 18
    window.apply_look("dark", 11)
    assert window.view.plot.backgroundBrush().color().name() != "#ffffff"


def test_export_png_svg_npz_csv_and_gif(window, tmp_path, qtbot, dialogs) -> None:  # type: ignore[no-untyped-def]
    import torch

    from engine.api import make_trainer
    from engine.checkpoint import TrainedModel, density_record

    d = window.state.density
    trainer = make_trainer("cnf", d, {"width": 16, "batch": 64}, torch.device("cpu"), 0, module="engine.cnf")
    for _ in trainer.run(steps=3):
        pass
    window.training.adopt(TrainedModel(trainer.best_model(), density_record(d), {}))
    window.lab_tabs.show_view("path")
    qtbot.waitUntil(lambda: window.lab_tabs.current_lab() is not None, timeout=5000)
    lab = window.lab_tabs.current_lab()
    qtbot.waitUntil(lambda: len(lab.densities) == 21 and not lab.busy, timeout=60000)
    png, svg, npz, csv, gif = (str(tmp_path / f"v.{e}") for e in ("png", "svg", "npz", "csv", "gif"))
    assert window.export_image(png) and imageio.imread(png).shape[0] > 100
    assert window.export_image(svg) and Path(svg).read_text()[:200].lstrip().startswith("<?xml")
    assert window.export_data(npz), dialogs
    with np.load(npz) as z:
        assert z["particles"].shape == (2000, 2) and z["grid"].ndim == 2 and z["extent"].shape == (4,)
    assert window.export_data(csv)
    assert np.loadtxt(csv, delimiter=",", skiprows=1).shape == (2000, 2)
    assert window.export_animation(gif, frames=4)
    assert len(imageio.mimread(gif)) == 4
