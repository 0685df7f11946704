"""A lab's equation, rendered as rich text, with its explanation shown on demand."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from .plot_style import FONT_SCALE_PROPERTY, current_style

EQUATION_SCALE = 1.35

__all__ = ["EquationLabel", "StatusLine"]


class EquationLabel(QtWidgets.QWidget):
    """The equation in large type (HTML with Unicode maths), a "?" button for the explanation,
    and a status line (what the view is doing, or what went wrong)."""

    def __init__(self, equation: str, explanation: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.equation = QtWidgets.QLabel(equation)
        self.equation.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.equation.setProperty(FONT_SCALE_PROPERTY, EQUATION_SCALE)  # it follows the text size
        font = self.equation.font()
        font.setPointSizeF(current_style().font_pt * EQUATION_SCALE)
        font.setFamily("serif")
        self.equation.setFont(font)
        self.equation.setWordWrap(True)
        self.help = QtWidgets.QToolButton()
        self.help.setText("?")
        self.help.setCheckable(True)
        self.help.setToolTip("Show what this view illustrates")
        self.status = StatusLine("")
        self.explanation = QtWidgets.QLabel(explanation)
        self.explanation.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.explanation.setWordWrap(True)
        self.explanation.setVisible(False)
        self.help.toggled.connect(self.explanation.setVisible)
        self.help.setVisible(bool(explanation))
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.equation, 1)
        top.addWidget(self.help, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.addLayout(top)
        lay.addWidget(self.explanation)
        lay.addWidget(self.status)

    def set_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)

    def set_equation(self, html: str) -> None:
        self.equation.setText(html)


class StatusLine(QtWidgets.QLabel):
    """A word-wrapped label that always takes two lines' height, however long its text: a status that
    wrapped and unwrapped as it changed made everything below it jump while a slider was dragged."""

    LINES = 2

    def __init__(self, text: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        self._fit_height()

    def changeEvent(self, event: QtCore.QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:  # larger text: two larger lines
            self._fit_height()

    def _fit_height(self) -> None:
        self.setFixedHeight(self.LINES * self.fontMetrics().lineSpacing() + 2)
