"""Training controls: model, its knobs, budget, device, seed, buttons and progress."""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from .form_scroll import FormScrollArea
from .options_form import OptionsForm, OptionSpec

__all__ = ["TrainPanel", "STATES"]

STATES = ("idle", "running", "paused", "trained")


class TrainPanel(QtWidgets.QWidget):
    """Controls for one training run; it only emits intents, the controller acts on them.

    Arguments:
        models: (key, label, tooltip) per model family.
        specs: model key -> its option specs.
        devices: (key, label) of the devices found.
    """

    train_requested = QtCore.Signal()
    pause_requested = QtCore.Signal()
    resume_requested = QtCore.Signal()
    stop_requested = QtCore.Signal()
    reset_requested = QtCore.Signal()
    model_changed = QtCore.Signal(str)
    option_changed = QtCore.Signal(str, object)

    def __init__(self, models: list[tuple[str, str, str]], specs: dict[str, list[OptionSpec]],
                 devices: list[tuple[str, str]], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = "idle"
        self.model_box = QtWidgets.QComboBox()
        self.stack = QtWidgets.QStackedWidget()
        self.forms: dict[str, OptionsForm] = {}
        for key, label, tip in models:
            self.model_box.addItem(label, key)
            self.model_box.setItemData(self.model_box.count() - 1, tip, QtCore.Qt.ItemDataRole.ToolTipRole)
            form = OptionsForm(specs.get(key, []))
            form.value_changed.connect(self.option_changed)
            self.forms[key] = form
            self.stack.addWidget(form)
        self.model_box.currentIndexChanged.connect(self._on_model_changed)
        self.model_box.setToolTip("The kind of generative model to train")
        self.budget_kind = QtWidgets.QComboBox()
        self.budget_kind.addItems(["seconds", "steps"])
        self.budget_kind.setToolTip("Train for a wall-clock time or for a number of steps")
        self.budget = QtWidgets.QSpinBox()
        self.budget.setRange(1, 10_000_000)
        self.budget.setValue(60)
        self.budget.setToolTip("How long to train (the best model on held-out data is kept)")
        self.budget_kind.currentTextChanged.connect(self._on_budget_kind_changed)
        self.device = QtWidgets.QComboBox()
        for key, label in devices:
            self.device.addItem(label, key)
        self.device.setToolTip("Where training runs: Auto picks a CUDA GPU when one is found, else the CPU")
        self.seed = QtWidgets.QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Random seed: the same seed and settings give the same run")
        self.train_button = QtWidgets.QPushButton("Train")
        self.train_button.setToolTip("Start training (Ctrl+Enter); pause and resume while it runs")
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.stop_button.setToolTip("Stop training and keep the best model so far (Esc)")
        self.reset_button = QtWidgets.QPushButton("Reset")
        self.reset_button.setToolTip("Forget the trained model and its curves")
        self.train_button.clicked.connect(self._on_train_clicked)
        self.stop_button.clicked.connect(self.stop_requested)
        self.reset_button.clicked.connect(self.reset_requested)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.progress_label = QtWidgets.QLabel("Not trained yet")
        self.progress_label.setWordWrap(True)
        self._layout(models)
        self._fit_stack()
        self.set_state("idle")

    def _layout(self, models: list[tuple[str, str, str]]) -> None:
        top = QtWidgets.QFormLayout()
        top.addRow("Model", self.model_box)
        budget = QtWidgets.QHBoxLayout()
        budget.addWidget(self.budget, 1)
        budget.addWidget(self.budget_kind)
        top.addRow("Train for", budget)
        top.addRow("Device", self.device)
        top.addRow("Seed", self.seed)
        group = QtWidgets.QGroupBox("Model settings")
        g = QtWidgets.QVBoxLayout(group)
        # narrow margins: at 1024 px the form and its scroll bar fit the dock's 300 px
        g.setContentsMargins(4, 4, 4, 4)
        g.addWidget(self.stack)
        settings = QtWidgets.QWidget()
        s = QtWidgets.QVBoxLayout(settings)
        s.setContentsMargins(5, 6, 5, 0)
        s.addLayout(top)
        s.addWidget(group)
        s.addStretch(1)
        # the settings scroll in a short window (1280 x 720), the buttons and progress stay in sight
        self.settings_area = FormScrollArea(settings)
        buttons = QtWidgets.QHBoxLayout()
        for b in (self.train_button, self.stop_button, self.reset_button):
            buttons.addWidget(b)
        below = QtWidgets.QVBoxLayout()
        below.setContentsMargins(5, 0, 5, 6)
        below.addLayout(buttons)
        below.addWidget(self.progress)
        below.addWidget(self.progress_label)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.settings_area, 1)
        lay.addLayout(below)

    # -- reading and setting ------------------------------------------------------
    def model(self) -> str:
        return str(self.model_box.currentData())

    def set_model(self, key: str) -> None:
        i = self.model_box.findData(key)
        if i >= 0:
            self.model_box.setCurrentIndex(i)

    def options(self) -> dict[str, Any]:
        return self.forms[self.model()].values()

    def budget_value(self) -> tuple[int | None, float | None]:
        """(steps, seconds): exactly one is set."""
        v = self.budget.value()
        return (v, None) if self.budget_kind.currentText() == "steps" else (None, float(v))

    def device_key(self) -> str:
        return str(self.device.currentData())

    def set_state(self, state: str) -> None:
        """idle / running / paused / trained: which controls are usable follows from it."""
        assert state in STATES, state
        self.state = state
        busy = state in ("running", "paused")
        self.train_button.setText({"running": "Pause", "paused": "Resume"}.get(state, "Train"))
        self.stop_button.setEnabled(busy)
        self.reset_button.setEnabled(state == "trained")
        for w in (self.model_box, self.budget, self.budget_kind, self.device, self.seed):
            w.setEnabled(not busy)
        for form in self.forms.values():
            form.set_running(busy)
        if state == "running":
            self._leave_the_fields()

    def _leave_the_fields(self) -> None:
        """Training started from the keyboard (Ctrl+Enter) while typing in a field: leave the field,
        so that Space plays the time bar instead of overwriting the selected value."""
        focus = QtWidgets.QApplication.focusWidget()
        if focus is not None and self.isAncestorOf(focus):
            focus.clearFocus()

    def set_progress(self, fraction: float | None, text: str) -> None:
        if fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * max(0.0, min(1.0, fraction))))
            self.progress.setFormat(f"{100 * fraction:.0f}%")
        self.progress_label.setText(text)

    # -- slots ---------------------------------------------------------------------
    def _on_train_clicked(self) -> None:
        {"running": self.pause_requested, "paused": self.resume_requested}.get(
            self.state, self.train_requested).emit()

    def _on_model_changed(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        self._fit_stack()
        self.model_changed.emit(self.model())

    def _fit_stack(self) -> None:
        """The settings as tall as the shown model's (a stack is as tall as its tallest page): the
        short DDPM form once left a gap that pushed the buttons out of a 720-pixel window."""
        ignored, preferred = QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        for k, page in enumerate(self.forms.values()):
            page.setSizePolicy(preferred, preferred if k == self.stack.currentIndex() else ignored)
        self.stack.updateGeometry()

    def _on_budget_kind_changed(self, kind: str) -> None:
        self.budget.setValue(60 if kind == "seconds" else 2000)
