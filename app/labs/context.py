"""What every lab shares: the current density, the current model, and the time bar's t."""

from __future__ import annotations

from PySide6 import QtCore

from engine.checkpoint import TrainedModel
from engine.densities import Box, Density

__all__ = ["LabContext"]


class LabContext(QtCore.QObject):
    """The state the labs follow (model-first: labs read it and subscribe to its signals).

    Time convention shared by every view: ``t`` runs from noise (0) to data (1). A CNF
    integrates dz/dt = f(z, t) over the same t; a diffusion model's own time τ is 1 − t.
    """

    density_changed = QtCore.Signal()
    model_changed = QtCore.Signal()
    time_changed = QtCore.Signal(float)
    # a lab offers a model (a TrainedModel: a reflow of the current one) to become the window's current model
    adopt_requested = QtCore.Signal(object)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.density: Density | None = None
        self.spec = ""
        self.trained: TrainedModel | None = None
        self.t = 1.0
        self.training = False  # True while the model is being trained (it may change often)

    @property
    def box(self) -> Box:
        return self.density.box if self.density is not None else (-4.0, 4.0, -4.0, 4.0)

    @property
    def kind(self) -> str | None:
        return None if self.trained is None else self.trained.kind

    def set_density(self, density: Density, spec: str) -> None:
        self.density, self.spec = density, spec
        self.density_changed.emit()

    def set_model(self, trained: TrainedModel | None) -> None:
        self.trained = trained
        self.model_changed.emit()

    def set_time(self, t: float) -> None:
        t = min(1.0, max(0.0, float(t)))
        if t != self.t:
            self.t = t
            self.time_changed.emit(t)
