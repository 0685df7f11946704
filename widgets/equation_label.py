"""A lab's equation, rendered as rich text, with its explanation shown on demand."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from .plot_style import FONT_SCALE_PROPERTY, current_style

EQUATION_SCALE = 1.35

__all__ = ["EquationLabel"]


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
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
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

    def set_equation(self, html: str) -> None:
        self.equation.setText(html)
