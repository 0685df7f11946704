"""Keys a focused control keeps: the window's arrow-key shortcuts (stepping the time bar) must not
take the arrows from a focused slider, which would then move the time instead of its own value."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["keep_arrow_keys"]

_KEYS = {QtCore.Qt.Key.Key_Left, QtCore.Qt.Key.Key_Right, QtCore.Qt.Key.Key_Up, QtCore.Qt.Key.Key_Down,
         QtCore.Qt.Key.Key_PageUp, QtCore.Qt.Key.Key_PageDown, QtCore.Qt.Key.Key_Home, QtCore.Qt.Key.Key_End}


class _ArrowKeeper(QtCore.QObject):
    def eventFilter(self, obj: QtCore.QObject, ev: QtCore.QEvent) -> bool:  # noqa: N802 - Qt's name
        # accepting the override tells Qt the key is the widget's own: no shortcut fires, the key arrives
        if isinstance(ev, QtGui.QKeyEvent) and ev.type() == QtCore.QEvent.Type.ShortcutOverride and ev.key() in _KEYS:
            ev.accept()
        return False


def keep_arrow_keys(widget: QtWidgets.QWidget) -> None:
    """While ``widget`` has the focus, the arrow, page and home/end keys go to it, not to shortcuts."""
    keeper = _ArrowKeeper(widget)
    widget.installEventFilter(keeper)
