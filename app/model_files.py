"""Models in the window: save and open checkpoints, and draw a finished model's samples and density."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

from engine.checkpoint import TrainedModel
from engine.densities import Box
from engine.errors import InputError
from widgets.density_view import DensityView

from .labs.context import LabContext
from .model_preview import Preview, preview_frames
from .training_controller import TrainingController
from .worker import GeneratorWorker

__all__ = ["ModelFiles", "MODEL_FILTER", "samples_title"]

MODEL_FILTER = "flowscope models (*.pt);;All files (*)"


def samples_title(tm: TrainedModel | None) -> str:
    """The model view's title: the kind of model, and a reflowed model's generation."""
    if tm is None:
        return "model samples"
    generation = int(getattr(tm.model, "generation", 0))
    return f"{tm.kind} samples · reflow generation {generation}" if generation else f"{tm.kind} samples"


class ModelFiles(QtCore.QObject):
    """Saves and opens models, and draws each finished model in the model view off the GUI thread.

    The model view is drawn only where it can be seen: a model that arrives while another tab
    covers it (a scene opening its view) waits, without a computation competing with the
    visible view's first frames, until the view is shown.

    Args:
        parent: the window its dialogs belong to.
        training: owns the trained model; its ``model_ready`` and ``live_model`` signals are followed.
        ctx: the shared context the labs read the model from (and the density's box and spec).
        model_view: where a finished model's samples and density are drawn.
        status: where a model that cannot be drawn is reported.
        last_dir: the folder a file dialog opens in.
        set_density: shows a density spec (an opened model's own) without a dialog; False when it could not.
    """

    def __init__(self, parent: QtWidgets.QWidget, training: TrainingController, ctx: LabContext,
                 model_view: DensityView, status: QtWidgets.QStatusBar, last_dir: Callable[[], str],
                 set_density: Callable[[str], bool]) -> None:
        super().__init__(parent)
        self.window, self.training, self.ctx, self.model_view = parent, training, ctx, model_view
        self.status, self.last_dir, self.set_density = status, last_dir, set_density
        self._preview: GeneratorWorker | None = None
        self._pending: tuple[TrainedModel, Box] | None = None  # a model to draw once the view is seen
        model_view.installEventFilter(self)
        self._orphans: list[GeneratorWorker] = []  # previews that did not stop in time: kept until they do
        training.model_ready.connect(self._on_model_ready)
        training.live_model.connect(self._on_live_model)

    def save_model(self) -> None:
        if self.training.trained is None:
            QtWidgets.QMessageBox.information(self.window, "Nothing to save", "Train or open a model first.")
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, "Save model", self.last_dir(), MODEL_FILTER)
        if path:
            path = path if path.endswith(".pt") else path + ".pt"
            try:
                self.training.save(path)
            except InputError as e:
                QtWidgets.QMessageBox.warning(self.window, "Cannot save", str(e))

    def open_model(self, path: str | None = None) -> bool:
        """Open a checkpoint (asking for one when ``path`` is None) with the density it was trained on."""
        if not path:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, "Open model", self.last_dir(), MODEL_FILTER)
        if not path:
            return False
        try:
            tm = self.training.load(path)
            spec = str(tm.density.get("spec", ""))
            if self.ctx.density is None or spec != self.ctx.spec:
                self.set_density(spec)
            self.training.adopt(tm)
        except InputError as e:
            QtWidgets.QMessageBox.warning(self.window, "Cannot open this model", str(e))
            return False
        return True

    def adopt(self, tm: TrainedModel) -> None:
        """Make a model made in a view (a reflow) the current one: every view shows it, Save saves it."""
        if self.training.running:
            self.status.showMessage("Stop training before using another model", 8000)
            return
        generation = getattr(tm.model, "generation", 0)
        how = f"Reflowed {tm.kind} model (generation {generation})" if generation else f"{tm.kind} model"
        self.training.adopt(tm, f"{how} · trained {tm.metrics.get('steps', '?')} steps · not saved yet")

    def stop_preview(self) -> None:
        """Stop drawing the finished model (training starts, the density changes, the window closes)."""
        self._pending = None
        if self._preview is not None:
            if not self._preview.shutdown(10_000):
                self._orphans.append(self._preview)  # never destroy a running QThread
            self._preview = None

    def _on_model_ready(self, tm: TrainedModel) -> None:
        """Draw a finished model's samples and density without blocking the window."""
        self.stop_preview()
        self.ctx.training = False
        self.ctx.set_model(tm)
        self._pending = (tm, self.ctx.box)
        # says at once which model the view is about to show (the last one's picture stays until then)
        self.model_view.set_title(f"{samples_title(tm)} · drawing…")
        # looked at once control is back in the event loop: a scene adopts its model and then turns
        # to its own view in one go, and the model view is not seen then
        QtCore.QTimer.singleShot(0, self._preview_if_seen)

    @property
    def preview_pending(self) -> bool:
        """A finished model waits to be drawn until the model view is seen."""
        return self._pending is not None

    @property
    def drawing(self) -> bool:
        """A finished model waits to be drawn, or is being drawn."""
        return self._pending is not None or (self._preview is not None and self._preview.thread.isRunning())

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802 - Qt's name
        if obj is self.model_view and event.type() == QtCore.QEvent.Type.Show:
            QtCore.QTimer.singleShot(0, self._preview_if_seen)
        return False

    def _preview_if_seen(self) -> None:
        # seen, or would be once the window shows: not on a tab page that another tab covers
        if self._pending is None or not self.model_view.isVisibleTo(self.model_view.window()):
            return
        tm, box = self._pending
        self._pending = None
        self._preview = GeneratorWorker(lambda: preview_frames(tm, box), min_interval=0.0)
        self._preview.yielded.connect(self._on_preview)
        self._preview.failed.connect(lambda m: self.status.showMessage(f"Could not draw the model: {m}", 8000))
        self._preview.start()

    def _on_preview(self, p: Preview) -> None:
        if self._preview is None or self.training.running:
            return  # a late frame of a preview that was stopped
        self.model_view.set_points(p.samples)
        if p.grid is not None and self.ctx.density is not None:
            self.model_view.set_density(p.grid, self.ctx.box)
        self.model_view.set_title(samples_title(self.training.trained))

    def _on_live_model(self, tm: TrainedModel) -> None:
        self.ctx.training = self.training.running
        self.ctx.set_model(tm)
