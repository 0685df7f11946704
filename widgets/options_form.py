"""A form of typed options (ints, floats, booleans, choices) built from plain descriptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6 import QtCore, QtWidgets

__all__ = ["OptionSpec", "OptionsForm"]


@dataclass(frozen=True)
class OptionSpec:
    """One knob: ``kind`` is "int", "float", "bool" or "choice"; ``tooltip`` is one sentence."""

    name: str
    label: str
    kind: str
    default: Any
    tooltip: str = ""
    choices: tuple[str, ...] = ()
    minimum: float = 0.0
    maximum: float = 1e9
    decimals: int = 6
    live: bool = False  # may change while training runs
    extra: dict[str, Any] = field(default_factory=dict)


class OptionsForm(QtWidgets.QWidget):
    """Editors for a list of :class:`OptionSpec`; ``values()`` reads them back, typed.

    ``value_changed(name, value)`` is emitted when the user edits a value.
    """

    value_changed = QtCore.Signal(str, object)

    def __init__(self, specs: list[OptionSpec], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.specs = {s.name: s for s in specs}
        self.editors: dict[str, QtWidgets.QWidget] = {}
        lay = QtWidgets.QFormLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for s in specs:
            ed = self._editor(s)
            ed.setToolTip(s.tooltip)
            label = QtWidgets.QLabel(s.label)
            label.setToolTip(s.tooltip)
            lay.addRow(label, ed)
            self.editors[s.name] = ed

    def _editor(self, s: OptionSpec) -> QtWidgets.QWidget:
        emit = lambda *_: self.value_changed.emit(s.name, self.value(s.name))  # noqa: E731
        if s.kind == "bool":
            check = QtWidgets.QCheckBox()
            check.setChecked(bool(s.default))
            check.toggled.connect(emit)
            return check
        if s.kind == "choice":
            combo = QtWidgets.QComboBox()
            combo.addItems(list(s.choices))
            combo.setCurrentText(str(s.default))
            combo.currentTextChanged.connect(emit)
            return combo
        if s.kind == "int":
            spin = QtWidgets.QSpinBox()
            spin.setRange(int(s.minimum), int(min(s.maximum, 2**31 - 1)))
            spin.setValue(int(s.default))
            spin.valueChanged.connect(emit)
            return spin
        ed = QtWidgets.QDoubleSpinBox()
        ed.setDecimals(s.decimals)
        ed.setRange(s.minimum, s.maximum)
        ed.setStepType(QtWidgets.QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        ed.setValue(float(s.default))
        ed.valueChanged.connect(emit)
        return ed

    def value(self, name: str) -> Any:
        ed = self.editors[name]
        if isinstance(ed, QtWidgets.QCheckBox):
            return ed.isChecked()
        if isinstance(ed, QtWidgets.QComboBox):
            return ed.currentText()
        assert isinstance(ed, (QtWidgets.QSpinBox, QtWidgets.QDoubleSpinBox)), name
        return ed.value()

    def set_value(self, name: str, value: Any) -> None:
        ed = self.editors[name]
        ed.blockSignals(True)
        if isinstance(ed, QtWidgets.QCheckBox):
            ed.setChecked(bool(value))
        elif isinstance(ed, QtWidgets.QComboBox):
            ed.setCurrentText(str(value))
        elif isinstance(ed, (QtWidgets.QSpinBox, QtWidgets.QDoubleSpinBox)):
            ed.setValue(value)
        ed.blockSignals(False)

    def values(self) -> dict[str, Any]:
        return {name: self.value(name) for name in self.editors}

    def set_running(self, running: bool) -> None:
        """While training runs only ``live`` options stay editable."""
        for name, ed in self.editors.items():
            ed.setEnabled(not running or self.specs[name].live)
