"""The guidance lab's controls: class, kind of guidance, the guidance scale γ and the interval of times it acts in."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets
from superqt import QLabeledDoubleRangeSlider

from .keys import keep_arrow_keys
from .palette import CLASS_COLORS
from .plot_style import scale_font

__all__ = ["GuidanceControls", "GAMMA_RANGE"]

GAMMA_RANGE = (-2.0, 10.0)
_TICKS_PER_UNIT = 10  # the slider moves γ in steps of 0.1: arrows 0.1, Page Up / Down 1 (10 ticks)
FULL_INTERVAL = (0.0, 1.0)
KIND_NAMES = {"cfg": "classifier-free", "classifier": "classifier"}


class GuidanceControls(QtWidgets.QWidget):
    """Class picker (swatches in the particles' class colours), guidance kind and a γ slider.

    Signals carry the user's intent; ``set_*`` methods change the controls silently.
    """

    label_changed = QtCore.Signal(int)
    kind_changed = QtCore.Signal(str)
    guidance_changed = QtCore.Signal(float)
    interval_changed = QtCore.Signal(object)  # (τ_lo, τ_hi)
    reseed_requested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.label_box = QtWidgets.QComboBox()
        self.label_box.setToolTip("The class y that guidance steers towards")
        self.kind_box = QtWidgets.QComboBox()
        self.kind_box.setToolTip("Classifier-free: one model, conditional and unconditional ε mixed.\n"
                                 "Classifier: the unconditional ε pushed along ∇ log p(y | x_t) of a noisy classifier.")
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        lo, hi = (int(round(v * _TICKS_PER_UNIT)) for v in GAMMA_RANGE)
        self.slider.setRange(lo, hi)
        self.slider.setTickPosition(QtWidgets.QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(_TICKS_PER_UNIT)
        self.slider.setSingleStep(1)
        self.slider.setPageStep(_TICKS_PER_UNIT)
        keep_arrow_keys(self.slider)  # the arrows move γ, not the time bar
        self.slider.setMinimumWidth(140)  # at 1024 px the row squeezed it to a few pixels
        self.slider.setToolTip("γ = 0: unconditional, γ = 1: conditional, γ > 1: sharper, γ < 0: away from y")
        self.value = QtWidgets.QLabel()
        self.value.setMinimumWidth(90)
        self.interval = QLabeledDoubleRangeSlider(QtCore.Qt.Orientation.Horizontal)
        # superqt's stubs type the double slider's range and step as int (its integer twin's)
        self.interval.setRange(0.0, 1.0)  # type: ignore[arg-type]
        self.interval.setSingleStep(0.05)  # type: ignore[arg-type]
        self.interval.setDecimals(2)
        # the two ends' values in the edge boxes (τ_lo left, τ_hi right); labels on the handles overlap
        self.interval.setHandleLabelPosition(QLabeledDoubleRangeSlider.LabelPosition.NoLabel)
        self.interval.setEdgeLabelMode(QLabeledDoubleRangeSlider.EdgeLabelMode.LabelIsValue)
        self.interval.setMinimumWidth(100)
        self.interval.setValue(FULL_INTERVAL)
        self.interval.setToolTip("Guidance acts only at diffusion times τ inside this interval (0: data, 1: noise);\n"
                                 "outside it the plain conditional model (γ = 1) draws the sample.")
        self.reseed = QtWidgets.QPushButton("New noise")
        self.reseed.setToolTip("Start every panel from a new draw of x_T")
        # two rows (what to guide, then how hard and when): one row would be wider than the view
        # at 1024 px and make the whole lab scroll sideways
        first, second = QtWidgets.QHBoxLayout(), QtWidgets.QHBoxLayout()
        for text, w in (("class y", self.label_box), ("guidance", self.kind_box)):
            first.addWidget(QtWidgets.QLabel(text))
            first.addWidget(w)
        first.addWidget(self.reseed)
        first.addStretch(1)
        second.addWidget(self.value)
        second.addWidget(self.slider, 2)
        second.addWidget(QtWidgets.QLabel("τ ∈"))
        second.addWidget(self.interval, 1)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 0, 6, 0)
        lay.setSpacing(2)
        lay.addLayout(first)
        lay.addLayout(second)
        self._first = first
        self._bigger_font()
        self.label_box.currentIndexChanged.connect(self._on_label_changed)
        self.kind_box.currentIndexChanged.connect(self._on_kind_changed)
        self.slider.valueChanged.connect(self._on_slider_changed)
        self.interval.valueChanged.connect(self._on_interval_changed)
        self.reseed.clicked.connect(self.reseed_requested)
        self.set_guidance(3.0)

    def add_to_first_row(self, widget: QtWidgets.QWidget) -> None:
        """A widget at the right end of the first row, given the room the row leaves (a short note)."""
        last = self._first.itemAt(self._first.count() - 1)
        if last is not None and last.spacerItem() is not None:  # the widget takes the stretch's room
            self._first.removeItem(last)
        self._first.addWidget(widget, 1)

    # -- state ---------------------------------------------------------------------
    @property
    def label(self) -> int:
        return max(self.label_box.currentIndex(), 0)

    @property
    def kind(self) -> str:
        return str(self.kind_box.currentData() or "cfg")

    @property
    def guidance(self) -> float:
        return self.slider.value() / _TICKS_PER_UNIT

    @property
    def guidance_interval(self) -> tuple[float, float] | None:
        """(τ_lo, τ_hi), or None when guidance acts at every time."""
        lo, hi = (round(float(v), 4) for v in self.interval.value())
        return None if (lo, hi) == FULL_INTERVAL else (lo, hi)

    # -- silent setters ------------------------------------------------------------
    def set_classes(self, count: int) -> None:
        with QtCore.QSignalBlocker(self.label_box):
            keep = self.label
            self.label_box.clear()
            for k in range(count):
                self.label_box.addItem(_swatch(CLASS_COLORS[k % len(CLASS_COLORS)]), f"class {k}")
            self.label_box.setCurrentIndex(min(keep, count - 1) if count else -1)

    def set_label(self, label: int) -> None:
        with QtCore.QSignalBlocker(self.label_box):
            self.label_box.setCurrentIndex(int(label))

    def set_kinds(self, kinds: list[str]) -> None:
        with QtCore.QSignalBlocker(self.kind_box):
            keep = self.kind
            self.kind_box.clear()
            for k in kinds:
                self.kind_box.addItem(KIND_NAMES.get(k, k), k)
            self.kind_box.setCurrentIndex(max(kinds.index(keep) if keep in kinds else 0, 0))

    def set_kind(self, kind: str) -> None:
        with QtCore.QSignalBlocker(self.kind_box):
            self.kind_box.setCurrentIndex(max(self.kind_box.findData(kind), 0))

    def set_guidance(self, gamma: float) -> None:
        with QtCore.QSignalBlocker(self.slider):
            self.slider.setValue(int(round(gamma * _TICKS_PER_UNIT)))
        self._show_value()

    def set_interval(self, interval: tuple[float, float] | None) -> None:
        with QtCore.QSignalBlocker(self.interval):
            self.interval.setValue(FULL_INTERVAL if interval is None else tuple(float(v) for v in interval))

    # -- relays --------------------------------------------------------------------
    def _on_interval_changed(self, _value: object) -> None:
        self.interval_changed.emit(self.guidance_interval)

    def _on_label_changed(self, index: int) -> None:
        if index >= 0:
            self.label_changed.emit(index)

    def _on_kind_changed(self, _index: int) -> None:
        self.kind_changed.emit(self.kind)

    def _on_slider_changed(self, _value: int) -> None:
        self._show_value()
        self.guidance_changed.emit(self.guidance)

    def _show_value(self) -> None:
        self.value.setText(f"γ = {self.guidance:+.1f}")

    def _bigger_font(self) -> None:
        scale_font(self, 1.2)  # it follows the text size (plot_style.restyle)


def _swatch(color: str) -> QtGui.QIcon:
    pix = QtGui.QPixmap(14, 14)
    pix.fill(QtGui.QColor(color))
    return QtGui.QIcon(pix)
