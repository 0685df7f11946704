"""Flow matching in the window: the model picker, live training, and the few-step tab."""

import numpy as np
import pytest
import torch
from PySide6 import QtCore, QtWidgets

from app.main_window import MainWindow
from app.settings import Settings
from engine.api import make_trainer
from engine.checkpoint import TrainedModel, density_record, load_trained, save_checkpoint
from engine.densities import get_density


@pytest.fixture
def window(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    s = Settings(QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat))
    w = MainWindow(settings=s)
    qtbot.addWidget(w)
    yield w
    w.training.shutdown()


def test_fm_is_offered_with_its_options(window) -> None:  # type: ignore[no-untyped-def]
    window.panel.set_model("fm")
    assert window.panel.model() == "fm"
    options = window.panel.options()
    assert options["path"] == "linear" and options["coupling"] == "independent"
    assert options["time_sampling"] == "early_ramp" and options["conditional"] is False
    window.panel.forms["fm"].set_value("coupling", "ot")
    assert window.panel.options()["coupling"] == "ot"


@pytest.mark.slow
def test_the_window_trains_an_fm_model_live(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.set_density("8gaussians")
    window.panel.set_model("fm")
    window.panel.budget_kind.setCurrentText("steps")
    window.panel.budget.setValue(40)
    with qtbot.waitSignal(window.training.run_finished, timeout=180000) as blocker:
        window.panel.train_button.click()
    assert blocker.args == ["done"]
    assert window.training.trained is not None and window.training.trained.kind == "fm"
    n_loss, _ = window.curves.point_count()
    assert n_loss == 40


@pytest.fixture(scope="module")
def fm_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A small fm model on 8gaussians, saved as a checkpoint."""
    d = get_density("8gaussians")
    trainer = make_trainer("fm", d, {"width": 16, "depth": 2, "batch": 128, "sample_every": 0.0, "heldout": 200},
                           torch.device("cpu"), 0)
    for _ in trainer.run(steps=60):
        pass
    path = str(tmp_path_factory.mktemp("fm") / "m.pt")
    save_checkpoint(path, TrainedModel(trainer.best_model(), density_record(d), {"steps": 60}).to_checkpoint())
    return path


def _few_steps(window, qtbot, fm_file: str, seconds: float):  # type: ignore[no-untyped-def]
    assert window.open_model(fm_file)
    window.lab_tabs.show_lab("fewstep")
    lab = window.lab_tabs.lab("fewstep")
    lab.configure(particles=200, reflow_seconds=seconds, reflow_pairs=600)
    # its row is drawn with its reference and straightness (the last frame that sets the status line)
    qtbot.waitUntil(lambda: "model" in lab.frames and lab.frames["model"].straightness is not None, timeout=60000)
    return lab


def test_a_reflow_in_the_window_becomes_the_current_model_and_saves(window, qtbot, fm_file, tmp_path,
                                                                    monkeypatch) -> None:  # type: ignore[no-untyped-def]
    lab = _few_steps(window, qtbot, fm_file, 1.0)
    teacher = window.training.trained
    assert not lab.adopt_button.isEnabled()  # nothing reflowed yet
    with qtbot.waitSignal(lab.reflow_finished, timeout=120000) as done:
        lab.reflow_button.click()
        assert not lab.progress.isHidden() and not lab.cancel_button.isHidden() and not lab.reflow_button.isEnabled()
    assert done.args == ["done"]
    assert lab.progress.isHidden() and lab.cancel_button.isHidden()
    reflowed = lab.reflowed
    assert reflowed is not None and reflowed.model.generation == 1 and reflowed.metrics["pairs"] == 600
    assert window.training.trained is teacher  # shown beside the model, not yet in its place
    assert lab.adopt_button.isEnabled()
    with qtbot.waitSignal(window.training.model_ready, timeout=10000):
        lab.adopt_button.click()
    assert window.training.trained is reflowed and window.ctx.trained is reflowed
    assert "Reflowed fm model (generation 1)" in window.panel.progress_label.text()
    # the training page's picture says which model it draws: the reflow, not its teacher
    window.lab_tabs.show_view("training")
    qtbot.waitUntil(lambda: window.model_view.title.text() == "fm samples · reflow generation 1", timeout=60000)
    assert lab.reflowed is None and lab.reflow_button.isEnabled()  # a reflow of the reflow comes next
    path = str(tmp_path / "r.pt")
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (path, ""))
    window.menu_actions["save_model"].trigger()  # File → Save model (Ctrl+S)
    saved = load_trained(path)
    assert saved.model.generation == 1 and saved.metrics["pairs"] == 600
    x = np.random.default_rng(0).standard_normal((50, 2)).astype(np.float32)
    np.testing.assert_allclose(saved.model.log_prob(x), reflowed.model.log_prob(x), rtol=1e-6, atol=1e-6)


def test_a_reflow_can_be_cancelled_and_stops_when_its_model_goes(window, qtbot, fm_file) -> None:  # type: ignore[no-untyped-def]
    lab = _few_steps(window, qtbot, fm_file, 600.0)
    teacher = window.training.trained
    with qtbot.waitSignal(lab.reflow_finished, timeout=60000) as stopped:
        lab.reflow_button.click()
        qtbot.waitUntil(lambda: lab.progress.value() > 0, timeout=60000)
        lab.cancel_button.click()
    assert stopped.args == ["stopped"] and "cancelled" in lab.header.status.text()
    assert lab.reflowed is None and not lab.adopt_button.isEnabled() and lab.reflow_button.isEnabled()
    assert window.training.trained is teacher
    with qtbot.waitSignal(lab.reflow_finished, timeout=60000) as stopped:
        lab.reflow_button.click()
        window.set_density("moons")  # the model it started from is gone
    assert stopped.args == ["stopped"] and "no longer the current one" in lab.header.status.text()
    assert window.training.trained is None and not lab.reflow_button.isEnabled()
