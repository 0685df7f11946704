"""A lab's equation, rendered as rich text, with its explanation shown on demand."""

from __future__ import annotations

import re

from PySide6 import QtCore, QtWidgets

from .plot_style import FONT_SCALE_PROPERTY, current_style

EQUATION_SCALE = 1.35
TITLE_SCALE = 1.6
_TAG = re.compile(r"(<[^>]*>)")
_GAP = re.compile(r"(?:\s|&nbsp;){2,}")


def keep_formulas_whole(html: str) -> str:
    """Line breaks only between formulas: a gap of two or more spaces separates formulas; inside a
    formula spaces do not break and a word joiner follows "|" and "/", which Unicode would otherwise
    break after (so "p(x<sub>t</sub> | y)" is never split over two lines)."""
    out = []
    for part in _TAG.split(html):
        if not part.startswith("<"):
            part = _GAP.sub("\0", part).replace(" ", "&nbsp;").replace("\0", "&nbsp;&nbsp; ")
            part = part.replace("|", "|\u2060").replace("/", "/\u2060")
        out.append(part)
    return "".join(out)


class EquationLabel(QtWidgets.QWidget):
    """The equation in large type (HTML with Unicode maths), a "?" button for the explanation,
    and a status line (what the view is doing, or what went wrong)."""

    def __init__(self, equation: str, explanation: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        # a figure's title and the time shown, only in a figure (an export, a presentation)
        self.title = QtWidgets.QLabel()
        self.title.setProperty(FONT_SCALE_PROPERTY, TITLE_SCALE)
        font = self.title.font()
        font.setPointSizeF(current_style().font_pt * TITLE_SCALE)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setVisible(False)
        self.description = QtWidgets.QLabel()  # a presented scene's paragraph
        self.description.setWordWrap(True)
        self.description.setVisible(False)
        self.time = QtWidgets.QLabel()
        self.time.setProperty(FONT_SCALE_PROPERTY, EQUATION_SCALE)
        self.time.setFont(font)
        self.time.setVisible(False)
        self.equation = FormulaLabel(equation)
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
        for label in (self.title, self.description, self.time, self.status):
            # text wraps or is clipped: it never makes the view wider than the window or a render
            label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, label.sizePolicy().verticalPolicy())
        self.explanation = QtWidgets.QLabel(explanation)
        self.explanation.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.explanation.setWordWrap(True)
        self.explanation.setVisible(False)
        self.help.toggled.connect(self.explanation.setVisible)
        self.help.setVisible(bool(explanation))
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.equation, 1)
        top.addWidget(self.time, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.help, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.addWidget(self.title)
        lay.addWidget(self.description)
        lay.addLayout(top)
        lay.addWidget(self.explanation)
        lay.addWidget(self.status)

    def set_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)

    def set_equation(self, html: str) -> None:
        self.equation.setText(html)

    def set_figure(self, title: str | None, description: str = "") -> None:
        """As a figure (``title`` and a ``description`` above the equation, no "?" button and no
        explanation), or as a view (None)."""
        figure = title is not None
        self.title.setText(title or "")
        self.title.setVisible(figure)
        self.description.setText(description if figure else "")
        self.description.setVisible(figure and bool(description))
        self.help.setVisible(not figure and bool(self.explanation.text()))
        self.explanation.setVisible(not figure and self.help.isChecked())
        if not figure:
            self.time.setVisible(False)

    def show_time(self, t: float | None) -> None:
        """The time the figure shows (t = 0.40), or none."""
        self.time.setText("" if t is None else f"t = {t:.2f}")
        self.time.setVisible(t is not None)


class FormulaLabel(QtWidgets.QLabel):
    """Rich-text equations that break only between formulas (``keep_formulas_whole``); ``text()``
    gives back the HTML as it was set."""

    def __init__(self, html: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._source = ""
        self.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.setWordWrap(True)
        # a formula wider than the window is clipped, never widens the window or a render
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.setText(html)

    def setText(self, html: str) -> None:  # noqa: N802 - Qt's name
        self._source = html
        super().setText(keep_formulas_whole(html))

    def text(self) -> str:
        return self._source


class StatusLine(QtWidgets.QLabel):
    """A word-wrapped label that always takes two lines' height, however long its text: a status that
    wrapped and unwrapped as it changed made everything below it jump while a slider was dragged."""

    LINES = 2

    def __init__(self, text: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.lines = self.LINES
        self.setWordWrap(True)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        self._fit_height()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self._fit_height()

    def set_lines(self, lines: int) -> None:
        """The lines it keeps room for: one for a view whose statuses are short and whose pictures
        need the height (a longer one is cut at the right; the tooltip has it whole)."""
        self.lines = max(1, int(lines))
        self.setWordWrap(self.lines > 1)
        self._fit_height()

    def changeEvent(self, event: QtCore.QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:  # larger text: two larger lines
            self._fit_height()

    def _fit_height(self) -> None:
        """Its lines while there is a status, none without one (a view with nothing to say keeps the room)."""
        self.setFixedHeight(self.lines * self.fontMetrics().lineSpacing() + 2 if self.text() else 0)
