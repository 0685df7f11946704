"""The trace lab's controls: probe distribution, number of probes, new draws, and the cost measurement."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from .control_row import wrapping_row
from .plot_style import scale_font

__all__ = ["TraceControls"]

PROBE_NAMES = {"gaussian": "Gaussian", "rademacher": "Rademacher (±1)"}
MAP_PROBES = (1, 2, 4, 8, 16)


class TraceControls(QtWidgets.QWidget):
    """Signals: ``probe_changed(str)``, ``probes_changed(int)``, ``redraw_requested()``, ``measure_requested()``."""

    probe_changed = QtCore.Signal(str)
    probes_changed = QtCore.Signal(int)
    redraw_requested = QtCore.Signal()
    measure_requested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.probe_box = QtWidgets.QComboBox()
        for key, name in PROBE_NAMES.items():
            self.probe_box.addItem(name, key)
        self.probe_box.setToolTip("Distribution of the probes v: zero mean, identity covariance")
        self.k_box = QtWidgets.QComboBox()
        for k in MAP_PROBES:
            self.k_box.addItem(str(k), k)
        self.k_box.setToolTip("Probes K averaged per point in the estimate map")
        self.redraw = QtWidgets.QPushButton("New probes")
        self.redraw.setToolTip("Draw fresh probes for the estimate map")
        self.measure = QtWidgets.QPushButton("Measure cost again")
        self.measure.setToolTip("Time the exact trace and Hutchinson's estimate again as m grows")
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(6, 0, 6, 0)
        lay.addWidget(wrapping_row([("probes v", self.probe_box), ("K", self.k_box), self.redraw, self.measure]))
        scale_font(self, 1.2)  # it follows the text size (plot_style.restyle)
        self.probe_box.currentIndexChanged.connect(lambda _i: self.probe_changed.emit(self.probe))
        self.k_box.currentIndexChanged.connect(lambda _i: self.probes_changed.emit(self.k))
        self.redraw.clicked.connect(self.redraw_requested)
        self.measure.clicked.connect(self.measure_requested)

    @property
    def probe(self) -> str:
        return str(self.probe_box.currentData())

    @property
    def k(self) -> int:
        return int(self.k_box.currentData())

    def set_probe(self, probe: str) -> None:
        """Select ``probe`` (emits ``probe_changed`` as a user's choice would)."""
        self.probe_box.setCurrentIndex(max(self.probe_box.findData(probe), 0))

    def set_k(self, k: int) -> None:
        """Select ``k`` probes (emits ``probes_changed``)."""
        self.k_box.setCurrentIndex(max(self.k_box.findData(int(k)), 0))
