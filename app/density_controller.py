"""The window's density: turns a density SPEC into what the views draw (heatmap grid, particles,
thumbnails, status text), and ``DensityController`` shows it, from the list, a file, an image, a
drawing or a scene."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6 import QtCore, QtWidgets

from engine.densities import DENSITIES, Density, builtin_density, get_density, histogram_density
from engine.errors import InputError
from widgets.density_picker import DensityPicker
from widgets.density_view import DensityView
from widgets.draw_canvas import DrawDialog

from .settings import Settings
from .worker import GeneratorWorker

if TYPE_CHECKING:
    from .labs.context import LabContext
    from .training_controller import TrainingController

__all__ = ["DensityState", "density_state", "load_density_state", "thumbnail_grid", "builtin_entries",
           "DensityController", "DATA_FILTER", "IMAGE_FILTER"]

DATA_FILTER = "Point data (*.npy *.npz *.csv *.txt *.tsv);;All files (*)"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"
# the list's thumbnails and the start-up density's entropy wait this long after the window is built:
# a scene's first frames come first
EXTRAS_AFTER_MS = 1500

VIEW_GRID = 256
VIEW_PARTICLES = 2000


@dataclass(frozen=True)
class DensityState:
    """Everything the window shows about the current density (arrays are float32)."""

    spec: str
    density: Density
    grid: np.ndarray
    points: np.ndarray
    labels: np.ndarray | None

    def status_text(self, entropy: bool = True) -> str:
        """The status line; ``entropy=False`` leaves out the entropy (a 400k-point estimate, ~0.3 s)."""
        d = self.density
        parts = [d.name, f"{d.num_classes} classes" if d.num_classes else "no classes",
                 "exact density" if d.analytic else "density estimated from samples"]
        ent = d.entropy() if entropy else None
        if ent is not None:
            parts.append(f"entropy {ent:.3f} nats")
        if d.notice:
            parts.append(d.notice)
        return "  ·  ".join(parts)


def load_density_state(spec: str, seed: int = 0, particles: int = VIEW_PARTICLES) -> DensityState:
    """Load ``spec`` (raises engine.errors.InputError on bad input) and prepare its pictures."""
    return density_state(get_density(spec), spec, seed, particles)


def density_state(d: Density, spec: str, seed: int = 0, particles: int = VIEW_PARTICLES) -> DensityState:
    s = d.sample(particles, seed=seed)
    return DensityState(spec, d, d.density_grid(VIEW_GRID), s.x, s.labels)


def thumbnail_grid(d: Density, n: int = 48) -> np.ndarray:
    """A small picture of a density; cheap (a 30k-sample histogram unless analytic)."""
    if d.analytic:
        return d.density_grid(n)
    return histogram_density(d.sample(30_000, seed=1).x, d.box, n, sigma=0.8)


def builtin_entries() -> list[tuple[str, str]]:
    return [(name, builtin_density(name).description) for name in DENSITIES]


class DensityController(QtCore.QObject):
    """Shows the window's density and keeps the density list, the density view, the status line,
    the training form and the labs in step with it.

    Args:
        window: the main window (parent of the dialogs; its status bar takes short messages).
        settings: remembers the density the user last picked and the folder of the last file.
        picker: the density list (its thumbnails are made here, one per event-loop turn).
        view: the central density view.
        status_label: the permanent status line (name, classes, entropy).
        training: refuses a change while it runs; is told the new density.
        ctx: the labs' shared context.
        stop_preview: stops drawing the previous model's picture (called before each change).

    ``density_changed(spec)`` is emitted after a density is shown.
    """

    density_changed = QtCore.Signal(str)

    def __init__(self, window: QtWidgets.QMainWindow, settings: Settings, picker: DensityPicker,
                 view: DensityView, status_label: QtWidgets.QLabel, training: TrainingController,
                 ctx: LabContext, stop_preview: Callable[[], None]) -> None:
        super().__init__(window)
        self.window, self.settings, self.picker, self.view = window, settings, picker, view
        self.status_label, self.training, self.ctx, self.stop_preview = status_label, training, ctx, stop_preview
        self.state: DensityState | None = None
        self.seed = 0
        self._drawings = 0
        self._workers: list[GeneratorWorker] = []  # entropy lines and a reopened file, still computing
        picker.density_requested.connect(self._on_density_requested)
        picker.open_file_requested.connect(self.open_data_file)
        picker.open_image_requested.connect(self.open_image)
        self.pending_thumbnails = list(picker.names())
        self._thumb_timer = QtCore.QTimer(self)
        self._thumb_timer.timeout.connect(self._make_next_thumbnail)
        self._extras_from = 0.0  # time.monotonic() from which extras (the entropy) start at once
        self._status_later: Callable[[], None] | None = None  # an entropy waiting for the first frames
        self._shut = False
        self._status_timer = QtCore.QTimer(self, singleShot=True)
        self._status_timer.timeout.connect(self._start_status_later)

    def start_thumbnails(self) -> None:
        """Fill in the list's thumbnails after the first frames of what the window opened on
        (~0.5 s of CPU for the 13 of them); until then an entropy waits too."""
        self._extras_from = time.monotonic() + EXTRAS_AFTER_MS / 1000
        QtCore.QTimer.singleShot(EXTRAS_AFTER_MS, self._thumb_timer, lambda: self._thumb_timer.start(0))

    def set_density(self, spec: str, quiet: bool = False) -> bool:
        """Show ``spec``; on bad input show one clear message and keep the current density."""
        if self._refuse_while_training():
            return False
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
        try:
            state = load_density_state(spec, seed=self.seed)
        except InputError as e:
            if quiet:
                self.window.statusBar().showMessage(f"Could not reopen the last density: {e}", 10_000)
            else:
                QtWidgets.QMessageBox.warning(self.window, "Cannot use this density", str(e))
            if self.state is not None:
                self.picker.set_current(self.state.spec)
            return False
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
        return self._show_state(state)

    def show_density(self, density: Density, spec: str) -> bool:
        """Show a density made here (a drawing, a scene's embedded data)."""
        if self._refuse_while_training():
            return False
        return self._show_state(density_state(density, spec, self.seed))

    def show_scene_density(self, density: Density, spec: str) -> bool:
        """A scene's density, shown; a plain start still reopens the density the user picked."""
        picked = self.settings.get("density", None)
        shown = self.show_density(density, spec)
        if picked is not None:
            self.settings.set("density", picked)
        return shown

    def restore(self, asked: str | None) -> None:
        """Show the density asked for on the command line, else the one last picked (a remembered file
        or image is read in the background over 8gaussians), else 8gaussians."""
        spec = asked or str(self.settings.get("density", "8gaussians"))
        if asked is None and spec.startswith(("file:", "image:")):
            self.set_density("8gaussians")
            self._reopen_in_background(spec)
        elif not self.set_density(spec, quiet=asked is None) and spec != "8gaussians":
            self.set_density("8gaussians")

    def resample(self) -> None:
        if self.state is not None:
            self.seed += 1
            s = self.state.density.sample(len(self.state.points), seed=self.seed)
            self.view.set_points(s.x, s.labels)

    def open_data_file(self) -> None:
        self._open_file("Open data file", DATA_FILTER, "file")

    def open_image(self) -> None:
        self._open_file("Open image", IMAGE_FILTER, "image")

    def last_dir(self) -> str:
        return str(self.settings.get("last_dir", os.path.expanduser("~")))

    def draw_density(self, mass: np.ndarray | None = None) -> bool:
        """Paint a density (or use ``mass``, an (H, W) array); any model can then train on it."""
        if mass is None:
            dialog = DrawDialog(self.window)
            if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
                return False
            mass = dialog.canvas.array()
        from engine.densities.data import darkness_density

        self._drawings += 1
        try:
            d = darkness_density(mass, f"drawn:{self._drawings}", "your drawing")
        except InputError as e:
            QtWidgets.QMessageBox.warning(self.window, "Cannot use this drawing", str(e))
            return False
        return self.show_density(d, d.name)

    def shutdown(self) -> None:
        """Stop the thumbnails and the background work (they finish on their own threads)."""
        self._thumb_timer.stop()
        self._shut = True
        self._status_timer.stop()  # an entropy that has not started yet never will
        self._status_later = None
        for worker in list(self._workers):
            worker.shutdown()

    def _open_file(self, title: str, filter_: str, kind: str) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, title, self.last_dir(), filter_)
        if path:
            self.settings.set("last_dir", os.path.dirname(path))
            self.set_density(f"{kind}:{path}")

    def _refuse_while_training(self) -> bool:
        if not self.training.running:
            return False
        QtWidgets.QMessageBox.information(self.window, "Training is running",
                                          "Stop training before changing the density.")
        if self.state is not None:
            self.picker.set_current(self.state.spec)
        return True

    def _show_state(self, state: DensityState) -> bool:
        spec = state.spec
        self.state = state
        self.stop_preview()
        self.training.set_density(state.density, spec)
        self.ctx.set_model(None)
        self.ctx.set_density(state.density, spec)
        self.view.set_density(state.grid, state.density.box)
        self.view.set_points(state.points, state.labels)
        self.view.set_title(state.density.name if ":" not in spec else os.path.basename(spec))
        self.view.fit()
        self.picker.set_current(spec)
        self.status_label.setText(state.status_text(entropy=False))
        self._complete_status(state)
        if not spec.startswith("scene:"):
            self.settings.set("density", spec)
        self.density_changed.emit(spec)
        return True

    def _complete_status(self, state: DensityState) -> None:
        """The status line with the density's entropy, computed off the GUI thread (~0.3 s of CPU, which
        a scene's first frames do not wait for: at start-up it begins with the thumbnails) and shown unless
        another density came meanwhile."""
        if not state.density.analytic:
            return

        def text() -> Iterator[str]:
            yield state.status_text()

        def arrived(line: object) -> None:
            if self.state is state and not self._shut:  # a window closed meanwhile may have lost its label
                self.status_label.setText(str(line))
                self.training.update_reference()  # the entropy is known now

        def start() -> None:
            if self.state is state:  # not when another density came meanwhile
                # an earlier one still computing is left to finish (waiting for it would hold the window);
                # a failure simply leaves the line without its entropy
                self._run(text, arrived, lambda _text: None)

        wait_ms = int(1000 * (self._extras_from - time.monotonic()))
        if wait_ms > 0:  # the window has just opened (a scene): its first frames come first
            self._status_later = start  # replaces one still waiting: only the newest density's counts
            self._status_timer.start(wait_ms)
        else:
            start()

    def _start_status_later(self) -> None:
        start, self._status_later = self._status_later, None
        if start is not None:
            start()

    def _reopen_in_background(self, spec: str) -> None:
        """The remembered file, read off the GUI thread (a big or unreadable file never holds the window
        up); shown when it arrives unless the user has moved on."""
        def load() -> Iterator[DensityState]:
            yield load_density_state(spec, seed=self.seed)

        def arrived(state: object) -> None:
            if isinstance(state, DensityState) and self.state is not None and self.state.spec == "8gaussians" \
                    and not self.training.running:
                self._show_state(state)

        self._run(load, arrived, lambda text: self.window.statusBar().showMessage(
            f"Could not reopen the last density: {text}", 10_000))

    def _run(self, work: Callable[[], Iterator[object]], arrived: Callable[[object], None],
             failed: Callable[[str], None]) -> None:
        """``work`` on a worker thread; the worker is let go once its thread has ended."""
        worker = GeneratorWorker(work)

        def ended() -> None:
            worker.shutdown()  # its thread has ended: this returns at once
            self._workers.remove(worker)

        def gave_up(text: str) -> None:
            failed(text)
            ended()

        worker.yielded.connect(arrived)
        worker.finished.connect(ended)
        worker.failed.connect(gave_up)
        self._workers.append(worker)
        worker.start()

    def _on_density_requested(self, spec: str) -> None:
        if self.state is None or spec != self.state.spec:
            self.set_density(spec)

    def _make_next_thumbnail(self) -> None:
        """One thumbnail per event-loop turn, so the window is usable while they appear."""
        if not self.pending_thumbnails:
            self._thumb_timer.stop()
            return
        name = self.pending_thumbnails.pop(0)
        self.picker.set_thumbnail(name, thumbnail_grid(builtin_density(name)))
