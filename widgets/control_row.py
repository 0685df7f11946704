"""Rows of controls that never widen a view: they wrap onto a second line where the width runs out, and a
choice box may narrow by eliding its text.

At 1024 px and one step of larger text (Ctrl+=) the Fokker–Planck and trace rows had become 10-12 px wider
than the view, which then scrolled sideways with its last button cut off. A label stays with its control.
"""

from __future__ import annotations

from PySide6 import QtWidgets
from superqt import QFlowLayout

__all__ = ["elide_choices", "wrapping_row"]

Item = QtWidgets.QWidget | tuple[str, QtWidgets.QWidget]


def wrapping_row(items: list[Item], parent: QtWidgets.QWidget | None = None) -> QtWidgets.QWidget:
    """A widget holding ``items`` left to right, wrapping as a paragraph does; a (text, control) item keeps
    its label beside its control."""
    row = QtWidgets.QWidget(parent)
    flow = QFlowLayout(row)
    flow.setContentsMargins(0, 0, 0, 0)
    flow.setVerticalSpacing(2)
    for item in items:
        if isinstance(item, tuple):
            text, control = item
            pair = QtWidgets.QWidget()
            lay = QtWidgets.QHBoxLayout(pair)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.addWidget(QtWidgets.QLabel(text))
            lay.addWidget(control)
            item = pair
        flow.addWidget(item)
    return row


def elide_choices(box: QtWidgets.QComboBox, chars: int) -> QtWidgets.QComboBox:
    """Let ``box`` narrow to ``chars`` characters (its longest choice, if shorter), eliding its choice in a
    narrow room rather than widening the row past the view; the drop-down list shows the choices whole."""
    box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(min(chars, max((len(box.itemText(i)) for i in range(box.count())), default=1)))
    return box
