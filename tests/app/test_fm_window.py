"""Flow matching in the window: the model picker, live training, and the few-step tab."""

import pytest
from PySide6 import QtCore

from app.main_window import MainWindow
from app.settings import Settings


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
    assert options["time_sampling"] == "uniform" and options["conditional"] is False
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
