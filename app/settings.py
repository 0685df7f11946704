"""Persistent user choices (QSettings): window geometry, last density, view options."""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore

__all__ = ["Settings"]


class Settings:
    """Typed access to QSettings under organisation/application "flowscope"."""

    def __init__(self, qsettings: QtCore.QSettings | None = None) -> None:
        self.q = qsettings or QtCore.QSettings("flowscope", "flowscope")

    def get(self, key: str, default: Any) -> Any:
        value: Any = self.q.value(key, default)  # a string from an INI file, or what was stored
        if isinstance(default, bool):
            return value in (True, "true", "1", 1)
        if isinstance(default, int):
            try:
                return int(value)
            except (TypeError, ValueError):
                return default
        return value if value is not None else default

    def set(self, key: str, value: Any) -> None:
        self.q.setValue(key, value)

    def sync(self) -> None:
        self.q.sync()
