"""Training in a child process, so drawing on the GUI thread never competes for the GIL.

Measured (tests/bench/bench_ui_latency.py, 2 cores): with training on a QThread, a window
drawing 20k particles and a 256x256 image every frame left DDPM training at ~0.1x of its
headless speed: every torch call releases the GIL and then waits for the drawing thread to
give it back. A process has its own interpreter. Its start-up (importing torch, ~2 s) is
paid in advance: a standby process waits for the next job.

Protocol: parent -> child on ``ctrl``: a job dict, then "pause", "resume", "stop",
("lr", value), or "quit" (standby only). Child -> parent on ``data``: ("snapshot", s),
("finished", how, checkpoint) or ("failed", message, checkpoint or None).
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading
from multiprocessing.connection import Connection
from typing import Any

from PySide6 import QtCore

from .train_child import child_main

__all__ = ["ProcessWorker", "Standby", "take_standby", "close_standby", "prewarm"]


class Standby:
    """A started child process waiting for its job."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self.ctrl_r, self.ctrl_w = ctx.Pipe(duplex=False)
        self.data_r, self.data_w = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=child_main, args=(self.ctrl_r, self.data_w), daemon=True,
                                name="flowscope-training")
        self.proc.start()
        # the child has its own copies: with the window's closed, a child that dies (or is ended
        # while still importing torch) is seen by the reader as the pipe's end, not waited for forever
        self.ctrl_r.close()
        self.data_w.close()

    def close(self) -> None:
        """A standby holds no work: end it at once (it may still be importing torch)."""
        self.proc.terminate()
        self.proc.join(2)


_standby: Standby | None = None
# the next standby starts this long after a run took the last one: warming up costs ~2.3 s of a core, which
# the run's first seconds (the window's and the trainer's, on 2 cores) want more
REFILL_AFTER_MS = 6000


def take_standby() -> Standby:
    """The waiting process (or a new one); a fresh standby is started for the next run."""
    global _standby
    s = _standby if _standby is not None and _standby.proc.is_alive() else Standby()
    _standby = None
    QtCore.QTimer.singleShot(REFILL_AFTER_MS, _refill)
    return s


def prewarm() -> None:
    """Start the standby process if there is none (call once the window is up)."""
    _refill()


def _refill() -> None:
    global _standby
    if _standby is None and QtCore.QCoreApplication.instance() is not None:
        _standby = Standby()


def close_standby() -> None:
    global _standby
    if _standby is not None:
        _standby.close()
        _standby = None


def _read_checkpoint(data: bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    import io

    import torch

    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


class _Reader(QtCore.QObject):
    """On its own thread: blocks on the child's pipe and turns messages into signals."""

    message = QtCore.Signal(object)

    def __init__(self, conn: Connection) -> None:
        super().__init__()
        self.conn = conn

    @QtCore.Slot()
    def run(self) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                self.message.emit(("lost", None))
                break
            self.message.emit(msg)
            if msg[0] in ("finished", "failed"):
                break
        QtCore.QThread.currentThread().quit()


class ProcessWorker(QtCore.QObject):
    """Same signals as :class:`app.worker.GeneratorWorker`, for a training job in a child process.

    After ``finished``/``failed``, ``checkpoint`` holds the best model's checkpoint dict (or None),
    read with ``weights_only=True`` like any checkpoint file.
    """

    yielded = QtCore.Signal(object)
    # the reader's QThread; the name hides QObject.thread(), which nothing here calls
    thread: QtCore.QThread  # type: ignore[assignment]
    finished = QtCore.Signal(str)
    failed = QtCore.Signal(str)
    model_updated = QtCore.Signal(object)  # a checkpoint dict of the model so far, every few seconds

    def __init__(self, job: dict[str, Any]) -> None:
        super().__init__()
        self.job = job
        self.checkpoint: dict[str, Any] | None = None
        self._done = False
        self.standby: Standby | None = None
        self._outbox: queue.SimpleQueue[object] = queue.SimpleQueue()  # to the child, in order
        self.thread = QtCore.QThread()
        self.thread.setObjectName("flowscope-training-reader")

    def start(self) -> None:
        self.standby = take_standby()
        # every message to the child goes through a writer thread: a pipe holds 64 KB, and a job written
        # from the GUI thread to a child still importing torch had held the window ~2 s
        self._outbox.put(self.job)
        threading.Thread(target=self._write, args=(self.standby.ctrl_w,), daemon=True,
                         name="flowscope-training-writer").start()
        self._reader = _Reader(self.standby.data_r)
        self._reader.moveToThread(self.thread)
        self.thread.started.connect(self._reader.run)
        self._reader.message.connect(self._on_message)
        self.thread.start()

    def _write(self, conn: Connection) -> None:
        """The writer thread: the messages in order, until None or a closed pipe."""
        while (msg := self._outbox.get()) is not None:
            try:
                conn.send(msg)
            except (OSError, ValueError):  # the child has gone: what is left has no one to read it
                return

    def _send(self, msg: object) -> None:
        if self.standby is not None and not self._done:
            self._outbox.put(msg)

    def _end_writer(self) -> None:
        self._done = True
        self._outbox.put(None)

    def pause(self) -> None:
        self._send("pause")

    def resume(self) -> None:
        self._send("resume")

    def stop(self) -> None:
        self._send("stop")

    def set_learning_rate(self, lr: float) -> None:
        self._send(("lr", lr))

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop the child, wait for it (killing it if it does not end in time) and the reader."""
        self.stop()
        self._outbox.put(None)  # the writer ends after the stop
        if self.standby is not None:
            self.standby.proc.join(timeout_ms / 1000)
            if self.standby.proc.is_alive():
                self.standby.proc.terminate()
                self.standby.proc.join(1)
        return bool(self.thread.wait(timeout_ms))

    @QtCore.Slot(object)
    def _on_message(self, msg: tuple[Any, ...]) -> None:
        kind = msg[0]
        if kind == "snapshot":
            self.yielded.emit(msg[1])
        elif kind == "model":
            ckpt = _read_checkpoint(msg[1])
            if ckpt is not None:
                self.model_updated.emit(ckpt)
        elif kind == "finished":
            self._end_writer()
            self.checkpoint = _read_checkpoint(msg[2])
            self.finished.emit(msg[1])
        elif kind == "failed":
            self._end_writer()
            self.checkpoint = _read_checkpoint(msg[2])
            self.failed.emit(msg[1])
        elif kind == "lost" and not self._done:
            self._end_writer()
            self.failed.emit("the training process ended unexpectedly")
