"""Going away without noise: the training child when the window is gone, the window on a signal."""

from __future__ import annotations

import os
import signal

import pytest

from app.train_child import _run_job
from engine import api
from engine.densities import get_density


class _GoneWindow:
    """Both ends of a pipe whose reader has gone: every send fails as a closed pipe does."""

    def __init__(self) -> None:
        self.sends = 0

    def send(self, obj: object) -> None:
        self.sends += 1
        raise BrokenPipeError(32, "Broken pipe")

    def poll(self, timeout: float = 0.0) -> bool:
        return False


def test_the_training_child_ends_quietly_when_the_window_is_gone(capsys: pytest.CaptureFixture[str]) -> None:
    job = {"family": api.FAMILIES["ddpm"], "kind": "ddpm", "density": get_density("moons"), "options": {},
           "device": "cpu", "seed": 0, "steps": 50, "seconds": None}
    pipe = _GoneWindow()
    _run_job(job, pipe, pipe)  # type: ignore[arg-type]
    assert pipe.sends == 1, "the first failed send ends the job; no second message is attempted"
    out = capsys.readouterr()
    assert out.err == "" and out.out == ""


def test_sigterm_closes_the_window_as_its_close_button_does(qtbot, tmp_path, fake_models) -> None:  # type: ignore[no-untyped-def]
    from PySide6 import QtCore

    from app.gui import close_on_signals
    from app.main_window import MainWindow
    from app.settings import Settings

    win = MainWindow(settings=Settings(QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)))
    qtbot.addWidget(win)
    win.show()
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        close_on_signals(win)
        win.training.start()
        qtbot.waitUntil(lambda: win.training.running, timeout=10_000)
        os.kill(os.getpid(), signal.SIGTERM)
        qtbot.waitUntil(lambda: not win.isVisible(), timeout=5_000)
        assert win.exporter.closing and not win.training.running
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def test_exit_waits_for_a_worker_still_computing(qtbot) -> None:  # type: ignore[no-untyped-def]
    """A computation that outlives a lab's wait keeps its thread; the program's exit waits for it
    (a Qt thread destroyed while running aborts the process)."""
    import threading

    from app.worker import GeneratorWorker, wait_for_workers

    release, entered = threading.Event(), threading.Event()

    def slow():  # type: ignore[no-untyped-def]
        entered.set()
        release.wait()  # one long step between two yields: stop is seen only after it
        yield 1

    w = GeneratorWorker(slow)
    w.start()
    qtbot.waitUntil(entered.is_set)
    assert not wait_for_workers(0.05)  # still inside its step: not ended
    assert w.thread.isRunning()
    release.set()
    assert wait_for_workers(30.0)
    assert not w.thread.isRunning()
    w.shutdown(1000)


def test_the_modules_a_scene_prefetches_exist_for_views_that_exist() -> None:
    """A scene of the adjoint or trace view imports what its first frame needs while the window is
    built; a module torch renamed would be skipped silently, so its name is checked here."""
    import importlib.util

    from app.gui import PREFETCH
    from app.labs.registry import lab_names

    assert PREFETCH and set(PREFETCH) <= set(lab_names())
    for modules in PREFETCH.values():
        for name in modules:
            assert importlib.util.find_spec(name) is not None, name
