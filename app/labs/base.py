"""The base of every lab: title, equation, explanation, background work, headless frames."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from PySide6 import QtWidgets

from widgets.equation_label import EquationLabel

from ..worker import GeneratorWorker
from .context import LabContext

__all__ = ["Lab"]


class Lab(QtWidgets.QWidget):
    """A view of one piece of theory.

    Subclasses set ``title``, ``equation`` (HTML, rendered: never raw LaTeX) and
    ``explanation`` (HTML, shown on demand), build their widgets into ``self.body``, and
    implement:

    * ``refresh()``: recompute/redraw after the density, model or time changed;
    * ``render_frames(count)``: for headless rendering, draw ``count`` frames synchronously,
      yielding after each one is drawn (the caller grabs the widget then).

    ``activate()``/``deactivate()`` are called when the lab's tab is shown or hidden, so an
    animation runs only while someone can see it. ``run_in_background`` runs one engine
    generator on a worker thread, replacing the previous one; ``shutdown()`` stops it.
    """

    title = "lab"
    equation = ""
    explanation = ""
    # While a model trains it is replaced every few seconds: a lab whose computation takes
    # longer than that sets this, so it finishes what it started and then redraws the newest.
    defer_updates = False

    def __init__(self, ctx: LabContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.active = False
        self._worker: GeneratorWorker | None = None
        self._orphans: list[GeneratorWorker] = []
        self._stale = False
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

    def deactivate(self) -> None:
        self.active = False
        self.stop_background()

    def shutdown(self) -> None:
        self.active = False
        self.stop_background()

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
        self._worker = w
        w.start()
        return w

    def stop_background(self) -> None:
        if self._worker is not None:
            if not self._worker.shutdown(10_000):
                self._orphans.append(self._worker)  # never destroy a running QThread
            self._worker = None

    @property
    def busy(self) -> bool:
        return self._worker is not None and self._worker.thread.isRunning()

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
