"""Paint a density with the mouse: a brush adds mass, the eraser (or the right button) removes it."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["DrawCanvas", "DrawDialog"]

SIDE = 128


class DrawCanvas(QtWidgets.QWidget):
    """A SIDE x SIDE mass grid shown enlarged; ``array()`` is the mass (row 0 at the top), in [0, 1]."""

    changed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.mass = np.zeros((SIDE, SIDE), np.float32)
        self.brush = 6.0
        self.erasing = False
        self.setMinimumSize(384, 384)
        self.setCursor(QtCore.Qt.CursorShape.CrossCursor)
        yy, xx = np.mgrid[0:SIDE, 0:SIDE]
        self._yy, self._xx = yy.astype(np.float32), xx.astype(np.float32)

    def array(self) -> np.ndarray:
        return self.mass.copy()

    def clear(self) -> None:
        self.mass[:] = 0.0
        self.update()
        self.changed.emit()

    def stroke(self, x: float, y: float, erase: bool | None = None) -> None:
        """Paint (or erase) a soft round dab at grid coordinates (x, y)."""
        d2 = (self._xx - x) ** 2 + (self._yy - y) ** 2
        dab = np.exp(-0.5 * d2 / (0.5 * self.brush) ** 2).astype(np.float32)
        if self.erasing if erase is None else erase:
            self.mass = np.clip(self.mass - dab, 0.0, 1.0)
        else:
            self.mass = np.clip(self.mass + 0.5 * dab, 0.0, 1.0)
        self.update()
        self.changed.emit()

    def _to_grid(self, pos: QtCore.QPointF) -> tuple[float, float]:
        return pos.x() / self.width() * SIDE, pos.y() / self.height() * SIDE

    def mousePressEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802 - Qt's name
        self.mouseMoveEvent(ev)

    def mouseMoveEvent(self, ev: QtGui.QMouseEvent) -> None:  # noqa: N802 - Qt's name
        buttons = ev.buttons()
        if buttons & (QtCore.Qt.MouseButton.LeftButton | QtCore.Qt.MouseButton.RightButton):
            erase = True if buttons & QtCore.Qt.MouseButton.RightButton else None
            self.stroke(*self._to_grid(ev.position()), erase=erase)

    def paintEvent(self, ev: QtGui.QPaintEvent) -> None:  # noqa: N802 - Qt's name
        gray = np.ascontiguousarray((255 * (1.0 - self.mass)).astype(np.uint8))
        img = QtGui.QImage(gray.data, SIDE, SIDE, SIDE, QtGui.QImage.Format.Format_Grayscale8)
        p = QtGui.QPainter(self)
        p.drawImage(self.rect(), img)
        p.setPen(QtGui.QPen(QtGui.QColor("#888888"), 1))
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        p.end()


class DrawDialog(QtWidgets.QDialog):
    """The canvas with brush size, eraser and clear; accepted only with some ink on it."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Draw a density")
        self.canvas = DrawCanvas()
        self.size_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.size_slider.setRange(1, 30)
        self.size_slider.setValue(6)
        self.size_slider.setToolTip("Brush size")
        self.size_slider.valueChanged.connect(lambda v: setattr(self.canvas, "brush", float(v)))
        self.eraser = QtWidgets.QCheckBox("eraser")
        self.eraser.setToolTip("Remove mass (the right mouse button erases too)")
        self.eraser.toggled.connect(lambda on: setattr(self.canvas, "erasing", on))
        clear = QtWidgets.QPushButton("Clear")
        clear.clicked.connect(self.canvas.clear)
        self.buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                                  | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        ok = self.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok)
        ok.setText("Use this density")
        ok.setEnabled(False)
        self.canvas.changed.connect(lambda: ok.setEnabled(bool(self.canvas.mass.max() > 0.05)))
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("brush"))
        row.addWidget(self.size_slider, 1)
        row.addWidget(self.eraser)
        row.addWidget(clear)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(QtWidgets.QLabel("Paint where the probability mass should be (darker = more)."))
        lay.addWidget(self.canvas, 1)
        lay.addLayout(row)
        lay.addWidget(self.buttons)
