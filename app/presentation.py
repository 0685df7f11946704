"""Presentation: full screen, light/dark theme, font size, and controls a lecturer hides or locks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import ExitStack

from PySide6 import QtCore, QtGui, QtWidgets

from widgets.figure import figure_mode
from widgets.plot_style import restyle

from .lab_tabs import LabTabs
from .labs.registry import lab_title
from .scenes import Scene
from .settings import Settings
from .theme import DEFAULT_FONT_PT, apply_theme

__all__ = ["Presentation", "FONT_RANGE"]

FONT_RANGE = (8, 28)

Control = QtWidgets.QWidget | QtGui.QAction


class Presentation:
    """How the window looks, which of its controls a lecturer hides or locks, and presentation mode.

    Args:
        window: the main window (full screen, its menu and status bars, and the plots it contains).
        settings: where the theme and font size are remembered.
        lab_tabs: the tabs whose current view presentation mode shows alone.
        hideable: the widget each name in a scene's ``hidden`` list hides (presentation hides them all).
        lockable: the controls each name in a scene's ``locked`` list disables.
    """

    def __init__(self, window: QtWidgets.QMainWindow, settings: Settings, lab_tabs: LabTabs,
                 hideable: Mapping[str, QtWidgets.QWidget], lockable: Mapping[str, Sequence[Control]]) -> None:
        self.window, self.settings, self.lab_tabs = window, settings, lab_tabs
        self.hideable = dict(hideable)
        self.lockable = {name: list(controls) for name, controls in lockable.items()}
        self.scene: Scene | None = None  # the scene shown last: its title and paragraph head its view
        self._presenting: ExitStack | None = None
        self._normal_geometry: QtCore.QRect | None = None

    def lock_with(self, name: str, *controls: Control) -> None:
        """Disable ``controls`` too whenever ``name`` is locked (menu actions made after this object)."""
        self.lockable.setdefault(name, []).extend(controls)

    def set_scene(self, scene: Scene | None) -> None:
        """The scene whose title and paragraph head its view when it is presented."""
        self.scene = scene

    def toggle_full_screen(self) -> None:
        """F11. Without a window manager nothing resizes a full-screen window, so it is also given
        the screen's geometry (and its own back on leaving)."""
        w = self.window
        if w.isFullScreen():
            w.showNormal()
            if self._normal_geometry is not None:
                w.setGeometry(self._normal_geometry)
            return
        self._normal_geometry = w.geometry()
        screen = w.screen() or QtGui.QGuiApplication.primaryScreen()
        if screen is not None:
            w.setGeometry(screen.geometry())  # first: a geometry set after showFullScreen leaves full screen
        w.showFullScreen()

    @property
    def presenting(self) -> bool:
        return self._presenting is not None

    def toggle_presentation(self) -> None:
        self.set_presentation(not self.presenting)

    def set_presentation(self, on: bool) -> None:
        """F5: the current view as a figure filling the screen (its title and the scene's paragraph,
        no side panels, tabs, menus or controls; Space and the arrows still play the time); again: back."""
        if on == self.presenting:
            return
        if not on:
            stack, self._presenting = self._presenting, None
            if stack is not None:
                stack.close()
            return
        stack = ExitStack()
        full = not self.window.isFullScreen()
        if full:  # undone last: the window takes its size back with its side panels shown, which it
            # then fits to that size (undone first, it fitted panels that were hidden still, and one
            # came back ~600 px wide at 1024 x 768)
            stack.callback(self.toggle_full_screen)
        bars = [self.window.menuBar(), self.window.statusBar(), *self.hideable.values()]
        shown = [b for b in bars if b.isVisible()]
        for b in shown:
            b.setVisible(False)
            stack.callback(b.setVisible, True)
        stack.enter_context(figure_mode(self._presented(), *self._presented_words()))
        self._presenting = stack
        if full:
            self.toggle_full_screen()

    def _presented(self) -> QtWidgets.QWidget:
        lab = self.lab_tabs.current_lab()
        return lab if lab is not None else self.lab_tabs.tabs.currentWidget()

    def _presented_words(self) -> tuple[str, str]:
        name = self.lab_tabs.current_name()
        title = "Training" if name == "training" else lab_title(name)
        if self.scene is not None and self.scene.view == name:
            return self.scene.title or title, self.scene.description
        return title, ""

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
