"""Models in the window: save and open checkpoints, and draw a finished model's samples and density."""

from __future__ import annotations

from typing import Any

from PySide6 import QtWidgets

from engine.errors import InputError

from .model_preview import preview_frames
from .worker import GeneratorWorker

__all__ = ["ModelFilesMixin", "MODEL_FILTER"]

MODEL_FILTER = "flowscope models (*.pt);;All files (*)"


class ModelFilesMixin:
    """For MainWindow: expects ``training``, ``ctx``, ``state``, ``model_view``, ``_preview``, ``_orphans``."""

    training: Any
    ctx: Any
    state: Any
    model_view: Any
    _preview: GeneratorWorker | None
    _orphans: list[GeneratorWorker]

    def save_model(self) -> None:
        if self.training.trained is None:
            QtWidgets.QMessageBox.information(self, "Nothing to save", "Train or open a model first.")
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save model", self._last_dir(), MODEL_FILTER)
        if path:
            path = path if path.endswith(".pt") else path + ".pt"
            try:
                self.training.save(path)
            except InputError as e:
                QtWidgets.QMessageBox.warning(self, "Cannot save", str(e))

    def open_model(self, path: str | None = None) -> bool:
        if not path:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open model", self._last_dir(), MODEL_FILTER)
        if not path:
            return False
        try:
            tm = self.training.load(path)
            spec = str(tm.density.get("spec", ""))
            if self.state is None or spec != self.state.spec:
                self.set_density(spec, quiet=True)
            self.training.adopt(tm)
        except InputError as e:
            QtWidgets.QMessageBox.warning(self, "Cannot open this model", str(e))
            return False
        return True

    def _on_model_ready(self, tm: object) -> None:
        """Draw a finished model's samples and density without blocking the window."""
        self._stop_preview()
        self.ctx.training = False
        self.ctx.set_model(tm)  # type: ignore[arg-type]
        box = self.state.density.box if self.state else (-4.0, 4.0, -4.0, 4.0)
        self._preview = GeneratorWorker(lambda: preview_frames(tm, box), min_interval=0.0)  # type: ignore[arg-type]
        self._preview.yielded.connect(self._on_preview)
        self._preview.failed.connect(lambda m: self.statusBar().showMessage(f"Could not draw the model: {m}", 8000))
        self._preview.start()

    def _stop_preview(self) -> None:
        if self._preview is not None:
            if not self._preview.shutdown(10_000):
                self._orphans.append(self._preview)  # never destroy a running QThread
            self._preview = None

    def _on_preview(self, p: object) -> None:
        if self._preview is None or self.training.running:
            return  # a late frame of a preview that was stopped
        self.model_view.set_points(p.samples)  # type: ignore[attr-defined]
        if p.grid is not None and self.state is not None:  # type: ignore[attr-defined]
            self.model_view.set_density(p.grid, self.state.density.box)  # type: ignore[attr-defined]
        self.model_view.set_title(f"{self.training.trained.kind if self.training.trained else 'model'} samples")

    def _on_live_model(self, tm: object) -> None:
        self.ctx.training = self.training.running
        self.ctx.set_model(tm)  # type: ignore[arg-type]

