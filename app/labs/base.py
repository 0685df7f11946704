"""The base of every lab: equation, explanation, settings, background work, animation, headless frames."""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from PySide6 import QtCore, QtWidgets

from widgets.equation_label import EquationLabel

from ..worker import GeneratorWorker
from .context import LabContext

__all__ = ["Lab", "STATUS_EVERY_S"]

STATUS_EVERY_S = 0.25  # an animated lab's status line changes at most this often: relaying out a label costs
FPS_WINDOW = 30  # frames the frame-rate meter averages over


class Lab(QtWidgets.QWidget):
    """A view of one piece of theory.

    Subclasses set ``equation`` (HTML, rendered: never raw LaTeX) and ``explanation`` (HTML,
    shown on demand), build their widgets into ``self.body``, and implement:

    * ``refresh()``: recompute/redraw after the density, model or time changed;
    * ``settings()`` / ``configure(**values)``: the lab's choices as plain values, for scenes
      and ``flowscope render`` (``configure`` ignores keys it does not know and None values);
    * ``render_frames(count)``: for headless rendering, draw ``count`` frames synchronously,
      yielding after each one is drawn (the caller grabs the widget then).

    ``activate()``/``deactivate()`` are called when the lab's tab is shown or hidden, so an
    animation runs only while someone can see it. ``run_in_background`` runs one engine
    generator on a worker thread, replacing the previous one; ``shutdown()`` stops it.

    An animated lab sets ``tick_ms``: then ``self.timer`` calls ``on_tick()`` every ``tick_ms``
    while the lab is active and ``animating()`` says so (call ``sync_timer()`` when that
    changes). Each frame drawn calls ``count_frame()``; ``throttled_status`` shows a status
    line at most every :data:`STATUS_EVERY_S` with ``frames_per_second()`` available, which
    reads 0 inside ``with self.recording():`` (no frame rate in a recorded animation).
    """

    equation = ""
    explanation = ""
    # While a model trains it is replaced every few seconds: a lab whose computation takes
    # longer than that sets this, so it finishes what it started and then redraws the newest.
    defer_updates = False
    tick_ms: int | None = None  # interval of the animation timer; None: the lab does not animate
    uses_time = True  # False: the view ignores the time bar, which is then disabled on its tab

    def __init__(self, ctx: LabContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.active = False
        self._worker: GeneratorWorker | None = None
        self._unsettled: GeneratorWorker | None = None  # the worker whose end has not reached this thread yet
        self._orphans: list[GeneratorWorker] = []
        self._stale = False
        self._stamps: deque[float] = deque(maxlen=FPS_WINDOW)
        self._status_at = 0.0
        self._recording = False
        self.timer = QtCore.QTimer(self)
        if self.tick_ms is not None:
            self.timer.setInterval(self.tick_ms)
        self.timer.timeout.connect(self.on_tick)
        self.header = EquationLabel(self.equation, self.explanation)
        self.body = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.header)
        lay.addWidget(self.body, 1)
        ctx.density_changed.connect(self._on_context_changed)
        ctx.model_changed.connect(self._on_context_changed)
        ctx.time_changed.connect(self._on_time_changed)

    # -- to implement ------------------------------------------------------------------
    def refresh(self) -> None:
        """Recompute and redraw from the context."""

    def on_time(self, t: float) -> None:
        """The time bar moved (default: refresh)."""
        self.refresh()

    def settings(self) -> dict[str, object]:
        """The lab's choices as plain values (a scene stores them; ``configure`` takes them back)."""
        return {}

    def configure(self, **values: Any) -> None:
        """Apply choices from ``settings()``, a scene or the command line; unknown keys and None are ignored.
        (A subclass names the keys it takes, typed, and takes the rest as ``**_``.)"""

    def render_frames(self, count: int) -> Iterator[int]:
        """Draw ``count`` frames synchronously (headless rendering), yielding each index."""
        for k in range(count):
            self.ctx.set_time(k / max(count - 1, 1))
            self.refresh_now()
            yield k

    def refresh_now(self) -> None:
        """Synchronous version of refresh, for rendering (default: refresh)."""
        self.refresh()

    # -- lifecycle -------------------------------------------------------------------------
    def activate(self) -> None:
        self.active = True
        self.refresh()
        self.sync_timer()

    def deactivate(self) -> None:
        self.timer.stop()
        self.active = False
        self.stop_background()

    def shutdown(self) -> None:
        self.timer.stop()
        self.active = False
        self.stop_background()

    # -- animation -------------------------------------------------------------------------
    def on_tick(self) -> None:
        """One tick of the animation timer (labs that set ``tick_ms``)."""

    def animating(self) -> bool:
        """Whether the animation should run while the lab is active (default: always)."""
        return True

    def sync_timer(self) -> None:
        """Run the animation timer exactly while the lab is active and animating."""
        if self.tick_ms is not None and self.active and self.animating():
            self.timer.start()
        else:
            self.timer.stop()

    def count_frame(self) -> None:
        """A frame was drawn (for the frame-rate meter)."""
        self._stamps.append(time.monotonic())

    def reset_frame_rate(self) -> None:
        """Forget the frames counted so far (a new run starts)."""
        self._stamps.clear()

    def frames_per_second(self) -> float:
        """Frames drawn per second over the last few; 0 while recording."""
        s = self._stamps
        if self._recording or len(s) < 2 or s[-1] <= s[0]:
            return 0.0
        return (len(s) - 1) / (s[-1] - s[0])

    def throttled_status(self, text: Callable[[], str], force: bool = False) -> bool:
        """Show ``text()`` as the status line unless one was shown less than STATUS_EVERY_S ago
        (``force``: show it anyway); True when it was shown."""
        now = time.monotonic()
        if not force and now - self._status_at <= STATUS_EVERY_S:
            return False
        self._status_at = now
        self.header.set_status(text())
        return True

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        """Within it, frames are being recorded (``flowscope render``): the frame rate reads 0."""
        self._recording = True
        try:
            yield
        finally:
            self._recording = False

    # -- background work ---------------------------------------------------------------------
    def run_in_background(self, make: Callable[[], Iterator[Any]], on_frame: Callable[[Any], None],
                          on_done: Callable[[str], None] | None = None) -> GeneratorWorker:
        """Run ``make()`` on a worker thread; each yielded frame goes to ``on_frame`` on the GUI thread."""
        self.stop_background()
        w = GeneratorWorker(make, min_interval=0.0)
        w.yielded.connect(lambda f: on_frame(f) if self._worker is w else None)
        w.failed.connect(self._on_failed)
        if on_done is not None:
            w.finished.connect(on_done)
        w.finished.connect(self._on_background_finished)
        # connected last: the lab is busy until the worker's end has been handled here (on_done ran),
        # not only until its thread stopped, which comes first
        w.finished.connect(lambda _how: self._settle(w))
        w.failed.connect(lambda _text: self._settle(w))
        self._worker = self._unsettled = w
        w.start()
        return w

    def _settle(self, w: GeneratorWorker) -> None:
        if self._unsettled is w:
            self._unsettled = None

    def stop_background(self) -> None:
        if self._worker is not None:
            if not self._worker.shutdown(10_000):
                self._orphans.append(self._worker)  # never destroy a running QThread
            self._worker = None
        self._unsettled = None

    @property
    def busy(self) -> bool:
        """Whether background work is under way: from its start until its end was handled here."""
        return self._unsettled is not None

    def _on_failed(self, text: str) -> None:
        self.header.set_status(f"⚠ {text}")

    # -- context signals -------------------------------------------------------------------
    def _on_context_changed(self) -> None:
        if not self.active:
            return
        if self.defer_updates and self.busy and self.ctx.training:
            self._stale = True
            return
        self.refresh()

    def _on_background_finished(self, how: str) -> None:
        if self._stale and self.active and how == "done":
            self._stale = False
            self.refresh()

    def _on_time_changed(self, t: float) -> None:
        if self.active:
            self.on_time(t)
