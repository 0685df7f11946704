"""The Langevin lab's controls: score, method, start, step size η, steps per frame, particles."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6 import QtCore, QtWidgets

from .control_row import elide_choices
from .keys import keep_arrow_keys

__all__ = ["LangevinControls", "eta_of", "tick_of"]

SOURCES = [("true", "true score ∇log p"), ("learned", "learned score s_θ")]
METHODS = [("plain", "plain Langevin"), ("annealed", "annealed (NCSN)"), ("mala", "MALA (Metropolis)")]
STARTS = [("noise", "from noise (uniform)"), ("p", "from p (stationary)")]
PARTICLES = [1_000, 5_000, 20_000, 50_000, 100_000]
ETA_TICKS = 80  # η = 10^(−4 + tick/20): 1e-4 … 1, 20 ticks a decade


def eta_of(tick: int) -> float:
    return 10 ** (-4 + tick / 20)


def tick_of(eta: float) -> int:
    return max(0, min(ETA_TICKS, round(20 * (math.log10(eta) + 4))))


def _combo(items: Sequence[tuple[object, str]]) -> QtWidgets.QComboBox:
    box = QtWidgets.QComboBox()
    for key, text in items:
        box.addItem(text, key)
    # at 1024 px and three steps of larger text the row had pushed the buttons out of the window
    return elide_choices(box, 8)


class LangevinControls(QtWidgets.QWidget):
    """``settings_changed(name)`` names what the user changed (source, method, start, eta, every,
    particles); read the values from the properties. ``reset_requested`` and
    ``pause_requested(paused)`` are intents."""

    settings_changed = QtCore.Signal(str)
    reset_requested = QtCore.Signal()
    pause_requested = QtCore.Signal(bool)

    def __init__(self, eta: float = 0.01, every: int = 5, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.source_box = _combo(SOURCES)
        self.method_box = _combo(METHODS)
        self.start_box = _combo(STARTS)
        self.particles_box = _combo([(n, f"{n:,}".replace(",", " ")) for n in PARTICLES])
        self.particles_box.setCurrentIndex(PARTICLES.index(20_000))
        self.eta_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.eta_slider.setRange(0, ETA_TICKS)
        self.eta_slider.setValue(tick_of(eta))
        self.eta_slider.setToolTip("Step size η (log scale). Large η: fast but biased; too large: particles fly off")
        self.every_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        for slider in (self.eta_slider, self.every_slider):
            keep_arrow_keys(slider)  # the arrows move η or steps/frame, not the time bar
        self.every_slider.setRange(1, 100)
        self.every_slider.setValue(every)
        self.every_slider.setToolTip("Langevin steps between two drawn frames")
        self.eta_label, self.every_label = QtWidgets.QLabel(), QtWidgets.QLabel()
        self.reset_button = QtWidgets.QPushButton("Reset")
        self.reset_button.setToolTip("Start the particles again")
        self.pause_button = QtWidgets.QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self._layout()
        self._on_eta_moved(self.eta_slider.value())
        self._on_every_moved(self.every_slider.value())
        self._connect()

    def _layout(self) -> None:
        """Two label-and-control pairs a row, the buttons at the end: a band above the picture, so
        the particles and the bars beside them keep the height (and it fits 1024 px across)."""
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        pairs: list[tuple[QtWidgets.QLabel, QtWidgets.QWidget]] = [
            (QtWidgets.QLabel("score"), self.source_box), (QtWidgets.QLabel("method"), self.method_box),
            (QtWidgets.QLabel("start"), self.start_box), (QtWidgets.QLabel("particles"), self.particles_box),
            (self.eta_label, self.eta_slider), (self.every_label, self.every_slider)]
        for k, (label, control) in enumerate(pairs):
            r, c = divmod(k, 2)
            grid.addWidget(label, r, 2 * c)
            grid.addWidget(control, r, 2 * c + 1)
            grid.setColumnStretch(2 * c + 1, 1)
        grid.addWidget(self.reset_button, 0, 4)
        grid.addWidget(self.pause_button, 1, 4)

    def _connect(self) -> None:
        for name, box in (("source", self.source_box), ("method", self.method_box), ("start", self.start_box),
                          ("particles", self.particles_box)):
            box.currentIndexChanged.connect(lambda _, n=name: self.settings_changed.emit(n))
        self.eta_slider.valueChanged.connect(self._on_eta_moved)
        self.every_slider.valueChanged.connect(self._on_every_moved)
        self.reset_button.clicked.connect(self.reset_requested)
        self.pause_button.toggled.connect(self._on_pause_toggled)

    # -- values -------------------------------------------------------------------------
    @property
    def source(self) -> str:
        return str(self.source_box.currentData())

    @property
    def method(self) -> str:
        return str(self.method_box.currentData())

    @property
    def start(self) -> str:
        return str(self.start_box.currentData())

    @property
    def particles(self) -> int:
        return int(self.particles_box.currentData())

    @property
    def eta(self) -> float:
        return eta_of(self.eta_slider.value())

    @property
    def every(self) -> int:
        return int(self.every_slider.value())

    def set_source(self, key: str) -> None:
        """Select a score source without emitting (the lab decided it)."""
        self.apply(source=key)

    def values(self) -> dict[str, object]:
        return {"source": self.source, "method": self.method, "start": self.start, "eta": self.eta,
                "every": self.every, "particles": self.particles}

    def apply(self, source: str | None = None, method: str | None = None, start: str | None = None,
              eta: float | None = None, every: int | None = None, particles: int | None = None) -> None:
        """Set several values at once without emitting (a scene was opened); unknown ones are ignored."""
        for box, key in ((self.source_box, source), (self.method_box, method), (self.start_box, start),
                         (self.particles_box, particles)):
            if key is not None and box.findData(key) >= 0:
                box.blockSignals(True)
                box.setCurrentIndex(box.findData(key))
                box.blockSignals(False)
        for slider, value in ((self.eta_slider, None if eta is None else tick_of(float(eta))),
                              (self.every_slider, every)):
            if value is not None:
                slider.blockSignals(True)
                slider.setValue(int(value))
                slider.blockSignals(False)
        self.eta_label.setText(f"η = {self.eta:.4g}")
        self.every_label.setText(f"steps/frame {self.every}")

    # -- slots --------------------------------------------------------------------------
    def _on_eta_moved(self, tick: int) -> None:
        self.eta_label.setText(f"η = {eta_of(tick):.4g}")
        self.settings_changed.emit("eta")

    def _on_every_moved(self, value: int) -> None:
        self.every_label.setText(f"steps/frame {value}")
        self.settings_changed.emit("every")

    def _on_pause_toggled(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_requested.emit(paused)
