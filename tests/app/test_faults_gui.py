"""Faults in the window: a diverging real model, quick restarts, closing during export and PDE solves."""

import time

import pytest
import torch
from PySide6 import QtCore

from app.main_window import MainWindow
from app.settings import Settings
from engine.api import make_trainer
from engine.checkpoint import TrainedModel, density_record


def _window(qtbot, tmp_path) -> MainWindow:  # type: ignore[no-untyped-def]
    s = Settings(QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat))
    w = MainWindow(settings=s)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    return w


def test_a_real_diverging_ddpm_gives_one_message_keeps_a_model_and_can_train_again(qtbot, tmp_path,  # type: ignore[no-untyped-def]
                                                                                  dialogs) -> None:
    w = _window(qtbot, tmp_path)
    w.panel.set_model("ddpm")
    w.panel.budget_kind.setCurrentText("steps")
    w.panel.budget.setValue(400)
    w.panel.forms["ddpm"].set_value("lr", 0.5)
    with qtbot.waitSignal(w.training.run_finished, timeout=120000) as blocker:
        w.panel.train_button.click()
    assert blocker.args == ["failed"]
    assert len(dialogs) == 1 and "diverged" in dialogs[0] and "last good model" in dialogs[0]
    assert w.training.trained is not None and w.panel.state == "trained"
    assert w.training.latest.step < 400
    w.panel.forms["ddpm"].set_value("lr", 5e-3)
    w.panel.budget.setValue(30)
    with qtbot.waitSignal(w.training.run_finished, timeout=120000) as blocker:
        w.panel.train_button.click()
    assert blocker.args == ["done"] and len(dialogs) == 1
    w.close()


def test_two_trainings_started_in_quick_succession(qtbot, tmp_path, fake_models, dialogs) -> None:  # type: ignore[no-untyped-def]
    w = _window(qtbot, tmp_path)
    w.panel.budget_kind.setCurrentText("steps")
    w.panel.budget.setValue(100)
    w.panel.train_button.click()
    assert not w.training.start(), "a second start while one runs is refused"
    with qtbot.waitSignal(w.training.run_finished, timeout=30000):
        w.panel.stop_button.click()
    with qtbot.waitSignal(w.training.run_finished, timeout=60000) as blocker:
        w.panel.train_button.click()  # at once, while the first child may still be exiting
    assert blocker.args == ["done"] and w.training.latest.step == 100
    assert w.curves.point_count()[0] == 100, "the curves hold the second run only"
    assert not dialogs
    w.close()


def test_the_device_is_locked_during_a_run_and_a_new_one_is_used_by_the_next(qtbot, tmp_path,  # type: ignore[no-untyped-def]
                                                                             fake_models, dialogs) -> None:
    w = _window(qtbot, tmp_path)
    assert w.panel.device.count() >= 1
    w.panel.budget_kind.setCurrentText("steps")
    w.panel.budget.setValue(50)
    with qtbot.waitSignal(w.training.run_finished, timeout=60000):
        w.panel.train_button.click()
        assert not w.panel.device.isEnabled(), "the device cannot be switched under a running model"
    assert w.panel.device.isEnabled()
    w.panel.device.setCurrentIndex(w.panel.device.count() - 1)
    with qtbot.waitSignal(w.training.run_finished, timeout=60000) as blocker:
        w.panel.train_button.click()
    assert blocker.args == ["done"] and not dialogs
    w.close()


def _adopt_cnf(w: MainWindow) -> None:
    d = w.state.density
    trainer = make_trainer("cnf", d, {"width": 16, "batch": 64}, torch.device("cpu"), 0, module="engine.cnf")
    for _ in trainer.run(steps=3):
        pass
    w.training.adopt(TrainedModel(trainer.best_model(), density_record(d), {}))


def test_closing_the_window_during_an_animation_export_stops_it_and_writes_nothing(qtbot, tmp_path,  # type: ignore[no-untyped-def]
                                                                                  fake_models, dialogs) -> None:
    w = _window(qtbot, tmp_path)
    _adopt_cnf(w)
    w.lab_tabs.show_view("path")
    qtbot.waitUntil(lambda: w.lab_tabs.current_lab() is not None, timeout=5000)
    lab = w.lab_tabs.current_lab()
    qtbot.waitUntil(lambda: len(lab.densities) == 21 and not lab.busy, timeout=60000)
    gif = tmp_path / "v.gif"
    QtCore.QTimer.singleShot(0, w.close)  # runs inside the export's event processing
    assert not w.export_animation(str(gif), frames=40)
    assert not gif.exists() and not w.exporter.exporting and not dialogs


@pytest.mark.parametrize("view", ["kfp", "path"])
def test_closing_the_window_during_a_background_solve_is_prompt(qtbot, tmp_path, fake_models, view) -> None:  # type: ignore[no-untyped-def]
    w = _window(qtbot, tmp_path)
    _adopt_cnf(w)
    w.lab_tabs.show_view(view)
    qtbot.waitUntil(lambda: w.lab_tabs.current_lab() is not None, timeout=5000)
    lab = w.lab_tabs.current_lab()
    qtbot.waitUntil(lambda: lab.busy, timeout=10000)
    t0 = time.monotonic()
    w.close()
    assert time.monotonic() - t0 < 5.0
    assert not lab.busy
