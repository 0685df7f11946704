"""The window's side of training in a child process: what it sends never waits for the child."""

import multiprocessing as mp
import pickle
import threading
from types import SimpleNamespace

import pytest

from app import train_process
from app.train_process import ProcessWorker
from engine.densities import get_density


@pytest.mark.timeout(60)  # without the writer thread, start() waited for a reader that never came
def test_start_returns_before_a_busy_child_reads_its_job(qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A job larger than a pipe holds (64 KB) sent to a child still importing torch had held the window's
    thread ~2 s; here the child reads only after start() has returned, and gets everything in order."""
    ctrl_r, ctrl_w = mp.Pipe(duplex=False)
    data_r, data_w = mp.Pipe(duplex=False)
    monkeypatch.setattr(train_process, "take_standby",
                        lambda: SimpleNamespace(ctrl_w=ctrl_w, data_r=data_r, proc=None))
    job = {"kind": "test", "blob": bytes(1_000_000)}
    worker = ProcessWorker(job)
    worker.start()  # returns at once: nothing reads the pipe yet
    worker.pause()
    worker.set_learning_rate(0.5)
    assert ctrl_r.recv() == job  # the child, free at last, reads the job whole
    assert ctrl_r.recv() == "pause"
    assert ctrl_r.recv() == ("lr", 0.5)
    with qtbot.waitSignal(worker.finished) as blocker:
        data_w.send(("finished", "done", None))
    assert blocker.args == ["done"]
    worker.stop()  # after the end nothing more is sent
    assert not ctrl_r.poll()
    # and its writer has ended: none is left behind by a run
    qtbot.waitUntil(lambda: not any(t.name == "flowscope-training-writer" for t in threading.enumerate()))
    worker.thread.wait(5000)


def test_a_density_pickles_without_its_cache() -> None:
    """The view's 400k-point reference sample had made a moons density's pickle 3.4 MB."""
    d = get_density("moons")
    grid = d.density_grid(128)
    blob = pickle.dumps(d)
    assert len(blob) < 10_000
    back = pickle.loads(blob)
    assert back.name == "moons" and back.box == d.box
    assert (back.density_grid(128) == grid).all()  # made again, the same
    assert d.density_grid(128) is grid  # the original keeps its cache
