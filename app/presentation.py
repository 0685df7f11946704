"""Presentation: full screen, light/dark theme, font size, and controls a lecturer hides or locks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6 import QtGui, QtWidgets

from widgets.plot_style import restyle

from .settings import Settings
from .theme import DEFAULT_FONT_PT, apply_theme

__all__ = ["Presentation", "FONT_RANGE"]

FONT_RANGE = (8, 28)

Control = QtWidgets.QWidget | QtGui.QAction


class Presentation:
    """How the window looks and which of its controls a lecturer hides or locks.

    Args:
        window: the main window (full screen, and the plots it contains are restyled).
        settings: where the theme and font size are remembered.
        hideable: the widget each name in a scene's ``hidden`` list hides.
        lockable: the controls each name in a scene's ``locked`` list disables.
    """

    def __init__(self, window: QtWidgets.QMainWindow, settings: Settings, hideable: Mapping[str, QtWidgets.QWidget],
                 lockable: Mapping[str, Sequence[Control]]) -> None:
        self.window, self.settings = window, settings
        self.hideable = dict(hideable)
        self.lockable = {name: list(controls) for name, controls in lockable.items()}

    def lock_with(self, name: str, *controls: Control) -> None:
        """Disable ``controls`` too whenever ``name`` is locked (menu actions made after this object)."""
        self.lockable.setdefault(name, []).extend(controls)

    def toggle_full_screen(self) -> None:
        w = self.window
        w.showNormal() if w.isFullScreen() else w.showFullScreen()

    def apply_look(self, theme: str | None = None, font_pt: int | None = None) -> None:
        """Theme ("dark", or "light": high contrast for projectors) and base font size, remembered."""
        theme = theme or str(self.settings.get("theme", "dark"))
        font_pt = int(font_pt or self.settings.get("font_pt", DEFAULT_FONT_PT))
        font_pt = max(FONT_RANGE[0], min(FONT_RANGE[1], font_pt))
        app = QtWidgets.QApplication.instance()
        if isinstance(app, QtWidgets.QApplication):
            apply_theme(app, theme, font_pt)
        self._restyle_plots(theme)
        self.settings.set("theme", theme)
        self.settings.set("font_pt", font_pt)

    def change_font(self, delta: int) -> None:
        self.apply_look(font_pt=int(self.settings.get("font_pt", DEFAULT_FONT_PT)) + delta)

    def _restyle_plots(self, theme: str) -> None:
        """Plots made before the theme changed take its background, text colours and sizes now."""
        restyle(self.window)

    def set_controls(self, hidden: Sequence[str] = (), locked: Sequence[str] = ()) -> None:
        """Hide or lock parts of the window (a focused exercise); empty lists restore everything."""
        for name, widget in self.hideable.items():
            widget.setVisible(name not in hidden)
        for name, controls in self.lockable.items():
            for control in controls:
                control.setEnabled(name not in locked)
