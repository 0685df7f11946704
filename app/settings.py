"""Persistent user choices (QSettings): window geometry, last density, view options.

The settings file is plain text that anyone (or anything) may have edited, so every value
read is checked against :data:`CHECKS` — its type and range — and a value that fails falls
back to the default. Each fallback leaves a sentence in :attr:`Settings.notes`, which the
window shows in its status bar: the window always starts, whatever the file holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore

__all__ = ["Settings", "CHECKS", "FONT_PT_RANGE"]

FONT_PT_RANGE = (6, 40)
MAX_STATE_BYTES = 1 << 16  # saved geometry and dock state take a few hundred bytes
MODELS = ("cnf", "fm", "ddpm", "ncsn")


def _choice(*allowed: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise ValueError(f"not one of {', '.join(allowed)}")
        return value

    return check


def _int_in(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("not a whole number")
        number = float(value)  # "12", 12 and 12.0 pass; "1e23" and "nan" fail below
        if not (math.isfinite(number) and number.is_integer() and low <= number <= high):
            raise ValueError(f"not a whole number from {low} to {high}")
        return int(number)

    return check


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false", "1", "0", 1, 0):
        return value in ("true", "1", 1)
    raise ValueError("not true or false")


def _blob(value: Any) -> QtCore.QByteArray:
    if isinstance(value, (bytes, bytearray)):
        value = QtCore.QByteArray(bytes(value))
    if not isinstance(value, QtCore.QByteArray) or value.size() > MAX_STATE_BYTES:
        raise ValueError("not a saved window state")
    return value


def _text(limit: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or len(value) > limit or "\x00" in value:
            raise ValueError("not a usable text")
        return value

    return check


# key -> check returning the value (converted) or raising ValueError/TypeError
CHECKS: dict[str, Callable[[Any], Any]] = {
    "theme": _choice("dark", "light"),
    "font_pt": _int_in(*FONT_PT_RANGE),
    "model": _choice(*MODELS),
    "log_scale": _flag,
    "geometry": _blob,
    "window_state": _blob,
    "density": _text(4096),
    "last_dir": _text(4096),
}


class Settings:
    """Typed, checked access to QSettings under organisation/application "flowscope"."""

    def __init__(self, qsettings: QtCore.QSettings | None = None) -> None:
        self.q = qsettings or QtCore.QSettings("flowscope", "flowscope")
        self.notes: list[str] = []  # one sentence per unusable value that fell back to its default

    def get(self, key: str, default: Any) -> Any:
        try:
            value = self.q.value(key, None)
        except (TypeError, ValueError, RuntimeError):  # a value Qt itself cannot decode
            value = object()
        if value is None:
            return default
        check = CHECKS.get(key)
        if check is not None:
            try:
                return check(value)
            except (TypeError, ValueError, OverflowError) as e:
                self._note(key, value, str(e))
                return default
        if isinstance(default, bool):
            return value in (True, "true", "1", 1)
        if isinstance(default, int):
            try:
                return int(str(value))
            except (TypeError, ValueError, OverflowError):
                self._note(key, value, "not a whole number")
                return default
        return value

    def _note(self, key: str, value: Any, why: str) -> None:
        shown = repr(value) if isinstance(value, (str, int, float)) else type(value).__name__
        note = f"the saved setting {key} = {shown[:40]} was ignored ({why})"
        if note not in self.notes:
            self.notes.append(note)

    def set(self, key: str, value: Any) -> None:
        self.q.setValue(key, value)

    def sync(self) -> None:
        self.q.sync()
