"""The time bar every view follows: play/pause, step, speed, loop and scrubbing over t in [0, 1]."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["TimeBar"]

TICKS = 1000
SPEEDS = ["0.25×", "0.5×", "1×", "2×", "4×"]


class TimeBar(QtWidgets.QWidget):
    """``time_changed(t)`` when the user scrubs or playback advances; ``set_time`` moves it silently.

    At 1× a sweep from 0 to 1 takes ``sweep_seconds``; with loop on it starts over, else it stops.
    """

    time_changed = QtCore.Signal(float)

    def __init__(self, sweep_seconds: float = 4.0, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.sweep_seconds = sweep_seconds
        self.play_button = QtWidgets.QToolButton()
        self.play_button.setText("▶")
        self.play_button.setToolTip("Play or pause the time bar (Space)")
        self.play_button.setCheckable(True)
        self.back = QtWidgets.QToolButton()
        self.back.setText("◀|")
        self.back.setToolTip("One step back (Left)")
        self.forward = QtWidgets.QToolButton()
        self.forward.setText("|▶")
        self.forward.setToolTip("One step forward (Right)")
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, TICKS)
        self.slider.setToolTip("t: 0 is noise, 1 is data")
        self.label = QtWidgets.QLabel()
        self.label.setMinimumWidth(80)
        self.speed = QtWidgets.QComboBox()
        self.speed.addItems(SPEEDS)
        self.speed.setCurrentText("1×")
        self.speed.setToolTip("Playback speed")
        self.loop = QtWidgets.QCheckBox("loop")
        self.loop.setChecked(True)
        self.loop.setToolTip("Start again at the end")
        self.steps = 50
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        for button in (self.play_button, self.back, self.forward):
            lay.addWidget(button)
        lay.addWidget(self.slider, 1)
        for widget in (self.label, self.speed, self.loop):
            lay.addWidget(widget)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(33)
        self.timer.timeout.connect(self._on_tick)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.back.clicked.connect(lambda: self.step(-1))
        self.forward.clicked.connect(lambda: self.step(1))
        self.slider.valueChanged.connect(self._on_slider_moved)
        self._t = 1.0
        self.set_time(1.0)

    @property
    def t(self) -> float:
        return self._t

    def set_time(self, t: float) -> None:
        """Move without emitting (the model changed it)."""
        self._t = min(1.0, max(0.0, t))
        self.slider.blockSignals(True)
        self.slider.setValue(round(self._t * TICKS))
        self.slider.blockSignals(False)
        self.label.setText(f"t = {self._t:.2f}")

    def play(self, on: bool = True) -> None:
        self.play_button.setChecked(on)

    def toggle(self) -> None:
        self.play_button.toggle()

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def step(self, direction: int) -> None:
        self._move(self._t + direction / self.steps)

    def speed_factor(self) -> float:
        return float(self.speed.currentText().rstrip("×"))

    def _move(self, t: float) -> None:
        self.set_time(t)
        self.time_changed.emit(self._t)

    def _on_slider_moved(self, value: int) -> None:
        self._t = value / TICKS
        self.label.setText(f"t = {self._t:.2f}")
        self.time_changed.emit(self._t)

    def _on_play_toggled(self, on: bool) -> None:
        self.play_button.setText("❚❚" if on else "▶")
        if on:
            if self._t >= 1.0:
                self._move(0.0)
            self.timer.start()
        else:
            self.timer.stop()

    def _on_tick(self) -> None:
        t = self._t + self.timer.interval() / 1000 / self.sweep_seconds * self.speed_factor()
        if t > 1.0:
            if self.loop.isChecked():
                t = 0.0
            else:
                self._move(1.0)
                self.play(False)
                return
        self._move(t)
