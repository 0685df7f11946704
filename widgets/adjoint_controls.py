"""The adjoint lab's controls: ODE solver, batch size, and a button to measure again."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from .plot_style import scale_font

__all__ = ["AdjointControls"]

SOLVERS = {"euler": "Euler", "midpoint": "midpoint", "rk4": "RK4"}
BATCHES = (64, 128, 256, 512)


class AdjointControls(QtWidgets.QWidget):
    """``run_requested()`` when the user asks for a new measurement (after changing solver or batch)."""

    run_requested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.solver_box = QtWidgets.QComboBox()
        for key, name in SOLVERS.items():
            self.solver_box.addItem(name, key)
        self.solver_box.setCurrentIndex(list(SOLVERS).index("rk4"))
        self.solver_box.setToolTip("Fixed-step solver used by both methods, forwards and (adjoint) backwards")
        self.batch_box = QtWidgets.QComboBox()
        for b in BATCHES:
            self.batch_box.addItem(str(b), b)
        self.batch_box.setCurrentIndex(BATCHES.index(128))
        self.batch_box.setToolTip("Data points in the loss −mean log p(x)")
        self.run = QtWidgets.QPushButton("Measure")
        self.run.setToolTip("Compute both gradients again for every number of steps")
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(6, 0, 6, 0)
        for text, w in (("solver", self.solver_box), ("batch", self.batch_box)):
            lay.addWidget(QtWidgets.QLabel(text))
            lay.addWidget(w)
        lay.addWidget(self.run)
        lay.addStretch(1)
        scale_font(self, 1.2)  # it follows the text size (plot_style.restyle)
        self.solver_box.currentIndexChanged.connect(lambda _i: self.run_requested.emit())
        self.batch_box.currentIndexChanged.connect(lambda _i: self.run_requested.emit())
        self.run.clicked.connect(self.run_requested)

    @property
    def solver(self) -> str:
        return str(self.solver_box.currentData())

    @property
    def batch(self) -> int:
        return int(self.batch_box.currentData())

    def set_choice(self, solver: str | None = None, batch: int | None = None) -> None:
        """Select a solver and a batch size silently (None keeps the current one)."""
        for box, value in ((self.solver_box, solver), (self.batch_box, batch)):
            index = box.findData(value)
            if value is not None and index >= 0:
                with QtCore.QSignalBlocker(box):
                    box.setCurrentIndex(index)
