"""A form that scrolls up and down where its panel is too short, never sideways."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["FormScrollArea"]


class FormScrollArea(QtWidgets.QScrollArea):
    """A side panel's form that scrolls up and down only, never sideways.

    The area is never narrower than the form plus its vertical scroll bar: where the form is taller
    than its panel, the bar sits beside the form instead of over its last pixels, and no sideways bar
    appears under it (the panel widens by what larger text needs)."""

    def __init__(self, form: QtWidgets.QWidget) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(form)

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt's name
        hint = super().minimumSizeHint()
        form = self.widget()
        if form is None:
            return hint
        # the bar's width is kept whether it shows or not: a width that followed it would change the
        # form's wrapped height, which can hide the bar again, and so on
        width = form.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()
        return QtCore.QSize(width, hint.height())

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt's name
        return super().sizeHint().expandedTo(self.minimumSizeHint())

    def viewportEvent(self, event: QtCore.QEvent) -> bool:  # noqa: N802 - Qt's name
        # the form asks its parent (the viewport) to lay out again when its size changes (larger
        # text): the panel must hear of it too, or it keeps the old minimum and cuts the form off
        if event.type() == QtCore.QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().viewportEvent(event)
