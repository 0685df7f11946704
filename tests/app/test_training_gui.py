"""Live training in the window: worker lifecycle, controls, errors, closing, save and open."""

import threading
import time

import pytest
from PySide6 import QtCore, QtWidgets

from app.main_window import MainWindow
from app.settings import Settings
from app.worker import GeneratorWorker


@pytest.fixture
def window(qtbot, tmp_path, fake_models):  # type: ignore[no-untyped-def]
    s = Settings(QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat))
    w = MainWindow(settings=s)
    qtbot.addWidget(w)
    w.panel.budget_kind.setCurrentText("steps")
    w.panel.budget.setValue(400)
    yield w
    w.training.shutdown()


class _WatchedEvent(threading.Event):
    """The worker's running flag, counting the waits of a paused worker."""

    def __init__(self) -> None:
        super().__init__()
        self.paused_waits = 0

    def wait(self, timeout: float | None = None) -> bool:
        if not self.is_set():
            self.paused_waits += 1
        return super().wait(timeout)


def test_worker_start_snapshot_pause_resume_stop(qtbot) -> None:  # type: ignore[no-untyped-def]
    ticks = []

    def gen():  # type: ignore[no-untyped-def]
        i = 0
        while True:
            i += 1
            ticks.append(i)
            time.sleep(0.002)  # a step of work
            yield i

    w = GeneratorWorker(gen, min_interval=0.0)
    running = w._running = _WatchedEvent()
    running.set()
    got = []
    w.yielded.connect(got.append)
    with qtbot.waitSignal(w.yielded, timeout=3000):
        w.start()
    w.pause()
    qtbot.waitUntil(lambda: running.paused_waits >= 1, timeout=3000)  # the worker has stopped at a yield
    n = len(ticks)
    qtbot.waitUntil(lambda: running.paused_waits >= 4, timeout=3000)  # ... and stays there
    assert len(ticks) == n, "the generator must not advance while paused"
    w.resume()
    qtbot.waitUntil(lambda: len(ticks) > n + 5, timeout=3000)
    with qtbot.waitSignal(w.finished, timeout=3000) as blocker:
        w.stop()
        at_stop = len(ticks)
    assert len(ticks) <= at_stop + 1, "stop ends the generator at its next yield"
    assert blocker.args == ["stopped"]
    assert got and got == sorted(got)
    assert w.thread.wait(2000)


def test_worker_error_arrives_as_a_readable_message(qtbot) -> None:  # type: ignore[no-untyped-def]
    def gen():  # type: ignore[no-untyped-def]
        yield 1
        raise ValueError("bad things")

    w = GeneratorWorker(gen)
    with qtbot.waitSignal(w.failed, timeout=3000) as blocker:
        w.start()
    assert blocker.args == ["ValueError: bad things"]
    assert w.thread.wait(2000)


def test_worker_runs_off_the_gui_thread(qtbot) -> None:  # type: ignore[no-untyped-def]
    seen = []

    def gen():  # type: ignore[no-untyped-def]
        seen.append(threading.current_thread() is threading.main_thread())
        yield 0

    w = GeneratorWorker(gen)
    with qtbot.waitSignal(w.finished, timeout=3000):
        w.start()
    assert seen == [False]
    w.thread.wait(2000)


def test_train_updates_progress_curves_and_samples_then_finishes(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.panel.budget.setValue(60)
    assert window.panel.state == "idle" and not window.panel.stop_button.isEnabled()
    with qtbot.waitSignal(window.training.run_finished, timeout=30000) as blocker:
        window.panel.train_button.click()
        assert window.panel.state == "running"
        assert window.panel.stop_button.isEnabled() and not window.panel.model_box.isEnabled()
        assert not window.panel.reset_button.isEnabled()
    assert blocker.args == ["done"]
    assert window.panel.state == "trained" and window.panel.reset_button.isEnabled()
    assert window.training.trained is not None
    n_loss, n_metric = window.curves.point_count()
    # snapshots are thinned on the way to the window, but the loss curve keeps every step
    assert n_loss == 60 and n_metric == 60
    assert "step 60/60" in window.panel.progress_label.text()
    qtbot.waitUntil(lambda: window.model_view.points.count == 2000, timeout=30000)


def test_a_finished_model_is_drawn_only_once_its_view_is_seen(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.show()
    window.panel.budget.setValue(30)
    window.lab_tabs.show_view("field")  # another tab covers the model view, as when a scene opens
    with qtbot.waitSignal(window.training.run_finished, timeout=30000):
        window.training.start()
    qtbot.waitUntil(lambda: window.models.preview_pending, timeout=5000)
    QtCore.QCoreApplication.processEvents()  # the turn at which a seen view would start drawing
    assert window.models.preview_pending and window.models._preview is None
    assert window.model_view.points.count != 2000  # still the training's last live samples
    window.lab_tabs.show_view("training")
    qtbot.waitUntil(lambda: window.model_view.points.count == 2000, timeout=30000)
    assert not window.models.preview_pending


def test_pause_resume_and_stop_buttons(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.panel.train_button.click()
    qtbot.waitUntil(lambda: window.training.latest is not None, timeout=30000)
    window.panel.train_button.click()
    assert window.panel.state == "paused" and window.panel.train_button.text() == "Resume"
    qtbot.wait(100)
    step = window.training.latest.step
    qtbot.wait(200)
    assert window.training.latest.step <= step + 1
    window.panel.train_button.click()
    assert window.panel.state == "running"
    qtbot.waitUntil(lambda: window.training.latest.step > step + 3, timeout=30000)
    with qtbot.waitSignal(window.training.run_finished, timeout=3000) as blocker:
        window.panel.stop_button.click()
    assert blocker.args == ["stopped"]
    assert window.panel.state == "trained"


def test_failure_shows_one_message_and_keeps_last_good_model(window, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: shown.append(a[2]))
    # the fake family fails at a chosen step (no GUI knob for that)
    monkeypatch.setattr(window.panel, "options", lambda: {"fail_at": 25})
    with qtbot.waitSignal(window.training.run_finished, timeout=30000) as blocker:
        window.training.start()
    assert blocker.args == ["failed"]
    assert len(shown) == 1 and "NaN at step 25" in shown[0] and "last good model" in shown[0]
    assert window.training.trained is not None and window.panel.state == "trained"
    # the window is still usable: train again
    monkeypatch.setattr(window.panel, "options", lambda: {"fail_at": -1})
    window.panel.budget.setValue(20)
    window.training.reset()
    with qtbot.waitSignal(window.training.run_finished, timeout=30000) as blocker:
        window.training.start()
    assert blocker.args == ["done"]


def test_closing_during_training_stops_cleanly(qtbot, tmp_path, fake_models) -> None:  # type: ignore[no-untyped-def]
    s = Settings(QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat))
    w = MainWindow(settings=s)
    qtbot.addWidget(w)
    w.panel.budget_kind.setCurrentText("seconds")
    w.panel.budget.setValue(600)
    w.training.start()
    qtbot.waitUntil(lambda: w.training.latest is not None, timeout=30000)
    thread = w.training.worker.thread
    w.close()  # returns once the work has stopped (a hang fails the test by its timeout)
    assert thread.isFinished()
    assert w.training.worker is None


def test_learning_rate_changes_mid_run(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.training.start()
    qtbot.waitUntil(lambda: window.training.latest is not None, timeout=30000)
    form = window.panel.forms[window.panel.model()]
    assert form.editors["lr"].isEnabled() and not form.editors["batch"].isEnabled()
    form.editors["lr"].setValue(0.001)
    qtbot.waitUntil(lambda: window.training.latest.lr == pytest.approx(0.001), timeout=30000)
    window.training.stop()
    qtbot.waitUntil(lambda: not window.training.running, timeout=3000)


def test_save_and_open_model_round_trip(window, qtbot, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    window.panel.budget.setValue(30)
    with qtbot.waitSignal(window.training.run_finished, timeout=30000):
        window.training.start()
    path = str(tmp_path / "m.pt")
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (path, ""))
    window.save_model()
    window.set_density("moons")
    assert window.training.trained is None
    assert window.open_model(path)
    assert window.state.spec == "8gaussians"
    assert window.training.trained is not None and window.panel.state == "trained"
    qtbot.waitUntil(lambda: window.model_view.points.count == 2000, timeout=30000)


def test_opening_a_bad_model_file_shows_a_message(window, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: shown.append(a[2]))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    assert window.open_model(str(bad)) is False
    assert len(shown) == 1 and "bad.pt" in shown[0]
    assert window.panel.state == "idle"


def test_density_cannot_change_while_training(window, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(QtWidgets.QMessageBox, "information", lambda *a: None)
    window.training.start()
    assert window.set_density("moons") is False
    assert window.state.spec == "8gaussians"
    qtbot.waitUntil(lambda: window.training.latest is not None, timeout=30000)
    window.training.stop()
    qtbot.waitUntil(lambda: not window.training.running, timeout=30000)


def test_keyboard_shortcuts_are_bound(window) -> None:  # type: ignore[no-untyped-def]
    keys = {a.shortcut().toString() for m in window.menuBar().findChildren(QtWidgets.QMenu) for a in m.actions()}
    assert {"Ctrl+Return", "Esc", "Ctrl+S", "Ctrl+O"} <= keys


def test_thread_mode_trains_too(window, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app import training_controller

    monkeypatch.setattr(training_controller, "TRAIN_IN", "thread")
    window.panel.budget.setValue(40)
    with qtbot.waitSignal(window.training.run_finished, timeout=30000) as blocker:
        window.training.start()
        assert window.training.trainer is not None
    assert blocker.args == ["done"] and window.training.trained is not None


def test_an_ended_worker_is_freed_even_when_its_slots_hold_it(qtbot) -> None:  # type: ignore[no-untyped-def]
    import gc
    import weakref

    class Payload:  # what a job's closure holds (a model, frames)
        pass

    seen: list[int] = []

    def run_one():  # type: ignore[no-untyped-def]
        big = Payload()
        w = GeneratorWorker(lambda: iter([1 if big else 0]), min_interval=0.0)
        w.yielded.connect(lambda v: seen.append(v) if w is not None else None)  # the slot refers to the worker
        with qtbot.waitSignal(w.finished, timeout=3000):
            w.start()
        assert w.shutdown(2000)
        return weakref.ref(w), weakref.ref(big)

    refs = run_one()
    qtbot.wait(20)  # ended workers are released at the next turn of the event loop
    gc.collect()
    assert all(r() is None for r in refs)
    assert seen == [1]


def test_ticking_class_conditional_moves_the_untouched_knobs_to_its_defaults(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from engine.api import default_options

    s = Settings(QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat))
    w = MainWindow(settings=s)
    qtbot.addWidget(w)
    w.panel.set_model("ddpm")
    form = w.panel.forms["ddpm"]
    plain, cond = default_options("ddpm"), default_options("ddpm", True)
    assert form.value("batch") == plain["batch"] != cond["batch"]
    form.set_value("depth", 7)  # the user's own choice survives the switch
    form.editors["conditional"].click()
    assert form.value("conditional") is True
    assert form.value("batch") == cond["batch"] and form.value("depth") == 7
    assert abs(form.value("lr") - cond["lr"]) < 1e-9
    assert "class-conditional" in w.statusBar().currentMessage()
    form.editors["conditional"].click()
    assert form.value("batch") == plain["batch"] and abs(form.value("lr") - plain["lr"]) < 1e-9
    assert form.value("depth") == 7
    w.training.shutdown()


def test_a_scene_or_file_with_a_conditional_model_ticks_class_conditional(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import os
    import shutil

    from app.scenes import SCENES_DIR, load_scene
    from engine.api import default_options

    s = Settings(QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat))
    w = MainWindow(settings=s)
    qtbot.addWidget(w)
    form = w.panel.forms["ddpm"]
    assert form.value("conditional") is False
    # the shipped guidance scene opens a conditional checkpoint and names no options: Train retrains it
    w.scenes.apply(load_scene(os.path.join(SCENES_DIR, "classifier_free_guidance.json")))
    assert w.panel.model() == "ddpm" and form.value("conditional") is True
    assert form.value("batch") == default_options("ddpm", True)["batch"]
    # a scene that says otherwise wins
    with open(os.path.join(SCENES_DIR, "classifier_free_guidance.json")) as f:
        raw = json.load(f)
    shutil.copy(os.path.join(SCENES_DIR, raw["model"]["checkpoint"]), tmp_path / "m.pt")
    raw["model"] = {"kind": "ddpm", "options": {"conditional": False}, "checkpoint": "m.pt"}
    path = tmp_path / "plain.json"
    path.write_text(json.dumps(raw))
    w.scenes.apply(load_scene(str(path)))
    assert form.value("conditional") is False and form.value("batch") == default_options("ddpm")["batch"]
    # opening the conditional checkpoint from the menu sets the form like it too
    assert w.open_model(str(tmp_path / "m.pt"))
    assert form.value("conditional") is True and form.value("batch") == default_options("ddpm", True)["batch"]
    w.training.shutdown()


def test_the_metric_chart_says_when_a_family_measures_first() -> None:
    from app.training_controller import pending_note

    assert "after 5 s of training" in pending_note("fm", {})  # flow matching's default cadence
    assert "after 2.5 s of training" in pending_note("fm", {"eval_every": 2.5})  # the run's own
    assert "after 5 s" in pending_note("cnf", {})  # hidden at once by the untrained baseline's figure
    assert pending_note("ddpm", {}) == pending_note("ncsn", {}) == ""  # their TV comes every moment


def test_a_cnf_says_which_features_its_data_gave_it(window, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from engine import api

    monkeypatch.setitem(api.FAMILIES, "cnf", "engine.cnf")  # the trainer says it, not the fake family
    said: list[str] = []
    window.training.message.connect(said.append)
    window.panel.set_model("cnf")
    window.panel.budget_kind.setCurrentText("steps")
    window.panel.budget.setValue(3)
    cases = (("rings", "8 radial features"), ("checkerboard", "24 Fourier features"), ("8gaussians", None))
    for name, expected in cases:
        window.set_density(name)
        qtbot.waitUntil(lambda n=name: window.training.density is not None and window.training.density.name == n,
                        timeout=30_000)
        said.clear()
        with qtbot.waitSignal(window.training.run_finished, timeout=60_000):
            assert window.training.start()
        assert [m for m in said if "features" in m] == ([m for m in said if expected in m] if expected else []), said
        assert expected is None or any(expected in m for m in said), (name, said)
        window.training.reset()
