"""The Qt application: created once, themed, its allocator tuned and known Qt noise dropped."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from PySide6 import QtCore, QtWidgets

__all__ = ["create_application"]

_NOISE = ("propagateSizeHints",)


def create_application(argv: list[str] | None = None) -> QtWidgets.QApplication:
    """The QApplication (created once), themed."""
    from PySide6 import QtWidgets

    from .memory import tune_allocator
    from .settings import Settings
    from .theme import apply_theme

    tune_allocator()
    _quiet_known_qt_noise()
    # instance() is typed as the core application; the one made here (or by a test) is a QApplication
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(argv or sys.argv[:1])
    app = cast(QtWidgets.QApplication, app)
    app.setApplicationName("flowscope")
    app.setOrganizationName("flowscope")
    s = Settings()
    apply_theme(app, str(s.get("theme", "dark")), int(s.get("font_pt", 11)))
    return app


def _quiet_known_qt_noise() -> None:
    """Drop Qt messages that say nothing to a user (the offscreen platform's size hints)."""
    from PySide6 import QtCore

    previous = None

    def handler(mode: QtCore.QtMsgType, context: QtCore.QMessageLogContext, message: str) -> None:
        if any(n in message for n in _NOISE):
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            sys.stderr.write(message + "\n")

    previous = QtCore.qInstallMessageHandler(handler)
