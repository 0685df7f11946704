"""Runs an engine generator on a QThread and hands its snapshots to the GUI thread.

Engine loops are generators (docs/ARCHITECTURE.md, "Data flow"); a worker runs one on a
QThread and emits each snapshot by signal; pause, resume and stop are checked between yields;
an exception arrives on the GUI thread as ``failed(message)``, never as a crash or a silent stop.

The thread uses one torch thread, so the GUI keeps a core (two spinning torch threads on a busy
two-core machine collapse). It is not niced unless FLOWSCOPE_WORKER_NICE says so: a niced
thread descheduled while it holds the GIL stalls the GUI thread.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from PySide6 import QtCore

from engine.device import configure_threads

from .messages import readable_error
from .thinning import Thinner

__all__ = ["GeneratorWorker", "readable_error", "wait_for_workers"]


_ENDED: list[GeneratorWorker] = []  # ended workers, released at the next turn of the event loop


# every worker whose thread may still run: a QThread destroyed while running aborts the process,
# so the program waits for these before it exits (a lab gives up waiting on a slow one after 10 s)
_LIVE: weakref.WeakSet[GeneratorWorker] = weakref.WeakSet()


def wait_for_workers(timeout_s: float) -> bool:
    """Stop every worker and wait up to ``timeout_s`` in all for their threads; True when all ended."""
    deadline = time.monotonic() + timeout_s
    for w in list(_LIVE):
        w.stop()
        w.thread.quit()
        left_ms = max(0, int((deadline - time.monotonic()) * 1000))
        if w.thread.isRunning() and not w.thread.wait(left_ms):
            return False
    return True


def _nothing() -> Iterator[Any]:
    return iter(())


class _Runner(QtCore.QObject):
    """Lives on the worker thread and runs the generator; its signals cross to the GUI thread."""

    yielded = QtCore.Signal(object)
    finished = QtCore.Signal(str)
    failed = QtCore.Signal(str)

    def __init__(self, owner: GeneratorWorker) -> None:
        super().__init__()
        self.owner = owner

    @QtCore.Slot()
    def run(self) -> None:
        o = self.owner
        _lower_priority(o._nice)
        # torch's thread count is per OS thread under OpenMP: set it on this thread too
        configure_threads()
        thin, gen = Thinner(o._min_interval, o._keep), None
        try:
            gen = o._make()
            for snap in gen:
                out = thin.offer(snap, time.monotonic())
                if out is not None:
                    self.yielded.emit(out)
                if not o._running.is_set():
                    out = thin.flush()
                    if out is not None:
                        self.yielded.emit(out)
                    while not o._running.wait(0.05):
                        pass
                if o._stop.is_set():
                    break
            out = thin.flush()
            if out is not None:
                self.yielded.emit(out)
            self.finished.emit("stopped" if o._stop.is_set() else "done")
        except Exception as e:  # noqa: BLE001 - every failure must reach the GUI as a message
            self.failed.emit(readable_error(e))
        finally:
            if gen is not None and hasattr(gen, "close"):
                try:
                    gen.close()
                except Exception:  # noqa: BLE001, S110 - closing a failed generator may raise again
                    pass
            o.thread.quit()


def _lower_priority(nice: int) -> None:
    if nice and hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        except OSError:
            pass  # not permitted here: the worker simply runs at normal priority


class GeneratorWorker(QtCore.QObject):
    """Drives ``make_generator()`` on its own thread; its signals arrive on the GUI thread.

    The worker object itself stays on the thread that made it (the GUI thread), so anything
    connected to its signals, lambdas included, runs there.

    Signals:
        yielded(object): a snapshot (at most every ``min_interval`` s, but never dropping
            one that carries pictures: ``keep(snapshot)`` says which must pass).
        finished(str): "done" (generator ended) or "stopped".
        failed(str): the generator raised; the message is readable.
    """

    yielded = QtCore.Signal(object)
    finished = QtCore.Signal(str)
    failed = QtCore.Signal(str)
    # the worker's own QThread; the name hides QObject.thread(), which nothing here calls
    thread: QtCore.QThread  # type: ignore[assignment]

    def __init__(self, make_generator: Callable[[], Iterator[Any]], min_interval: float = 0.03,
                 keep: Callable[[Any], bool] | None = None, nice: int | None = None) -> None:
        super().__init__()
        self._make = make_generator
        self._min_interval = min_interval
        self._keep = keep or (lambda s: False)
        # 0 by default: a niced thread descheduled while it holds the GIL stalls the GUI thread
        # on a busy machine (training, the heavy loop, runs in its own process instead)
        self._nice = int(os.environ.get("FLOWSCOPE_WORKER_NICE", "0")) if nice is None else nice
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self.thread = QtCore.QThread()
        self.thread.setObjectName("flowscope-worker")
        self._runner = _Runner(self)
        self._runner.moveToThread(self.thread)
        self.thread.started.connect(self._runner.run)
        _LIVE.add(self)
        self._runner.yielded.connect(self._on_yielded)
        self._runner.finished.connect(self._on_finished)
        self._runner.failed.connect(self._on_failed)

    # -- called from the GUI thread ------------------------------------------------
    def start(self) -> None:
        self.thread.start()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop, and wait for the thread to end; True when it did.

        An ended worker lets go of everything: its generator's closure (models, frames) and the
        slots connected to it, which often hold the worker itself (a cycle through Qt that
        Python's collector cannot see: one leaked worker per background job otherwise).
        """
        self.stop()
        self.thread.quit()
        ended = bool(self.thread.wait(timeout_ms))
        if ended:
            # shutdown often runs inside a slot of this very worker (a view restarting its job when
            # the last one finished): keep it alive until control is back in the event loop
            _ENDED.append(self)
            if len(_ENDED) == 1:
                QtCore.QTimer.singleShot(0, _ENDED.clear)
            self._make = _nothing
            with warnings.catch_warnings():  # PySide warns when a signal had nothing connected
                warnings.simplefilter("ignore", RuntimeWarning)
                for sig in (self.yielded, self.finished, self.failed):
                    try:
                        sig.disconnect()
                    except (RuntimeError, TypeError, SystemError):
                        pass
        return ended

    # -- relays (queued from the runner: they run on this object's thread) ---------
    @QtCore.Slot(object)
    def _on_yielded(self, snap: object) -> None:
        self.yielded.emit(snap)

    @QtCore.Slot(str)
    def _on_finished(self, how: str) -> None:
        self.finished.emit(how)

    @QtCore.Slot(str)
    def _on_failed(self, text: str) -> None:
        self.failed.emit(text)
