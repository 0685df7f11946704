"""Chart titles as Qt labels above the plot: they wrap in a narrow window instead of widening the plot.

pyqtgraph makes a plot title's width the plot's minimum width, which in a narrow window pushes the
axes and the colour bar outside the widget.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from .plot_style import FONT_SCALE_PROPERTY, ROLE_SCALE, current_style

__all__ = ["TitleLabel", "ColumnLayout"]


class TitleLabel(QtWidgets.QLabel):
    """A centred, word-wrapped rich-text title (sub- and superscripts allowed)."""

    def __init__(self, text: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        # the size of a plot's own title, and it follows the text size (see plot_style.restyle)
        self.setProperty(FONT_SCALE_PROPERTY, ROLE_SCALE["title"])
        font = self.font()
        font.setPointSizeF(current_style().pt("title"))
        self.setFont(font)


class ColumnLayout(QtWidgets.QVBoxLayout):
    """A column that does not report height-for-width to what holds it.

    A word-wrapped label makes its layout height-for-width, and a parent layout or scroll area then
    asks for the height at a given width, which is answered with the *preferred* height (a plot's
    480-pixel size hint): stretch factors stop working and scroll areas scroll at any size. A
    plot with a title in this column is sized like a plot; the title still wraps inside it.
    """

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt's name
        return False
