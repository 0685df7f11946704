"""Presentation: full screen, light/dark theme, font size, and controls a lecturer hides or locks."""

from __future__ import annotations

from contextlib import ExitStack

from PySide6 import QtCore, QtGui, QtWidgets

from widgets.figure import figure_mode
from widgets.plot_style import restyle

from .labs.registry import lab_title
from .theme import DEFAULT_FONT_PT, apply_theme

__all__ = ["PresentationMixin"]

FONT_RANGE = (8, 28)


class PresentationMixin:
    """For MainWindow: expects ``settings``, ``lab_tabs``, ``picker``, ``panel`` and the docks."""

    _presenting: ExitStack | None = None
    _normal_geometry: QtCore.QRect | None = None

    def toggle_full_screen(self) -> None:
        """F11. Without a window manager nothing resizes a full-screen window, so it is also given
        the screen's geometry (and its own back on leaving)."""
        w: QtWidgets.QMainWindow = self  # type: ignore[assignment]
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
        w: QtWidgets.QMainWindow = self  # type: ignore[assignment]
        if on == self.presenting:
            return
        bars = [w.menuBar(), w.statusBar(), self.lab_tabs.tabs.tabBar(), self.lab_tabs.time_bar,  # type: ignore[attr-defined]
                self.density_dock, self.training_dock]  # type: ignore[attr-defined]
        if on:
            stack = ExitStack()
            shown = [b for b in bars if b.isVisible()]
            for b in shown:
                b.setVisible(False)
            stack.callback(lambda: [b.setVisible(True) for b in shown])
            stack.enter_context(figure_mode(self._presented(), *self._presented_words()))
            self._presenting = stack
            if not w.isFullScreen():
                self.toggle_full_screen()
                stack.callback(self.toggle_full_screen)
        else:
            stack, self._presenting = self._presenting, None
            stack.close()  # type: ignore[union-attr]

    def _presented(self) -> QtWidgets.QWidget:
        lab = self.lab_tabs.current_lab()  # type: ignore[attr-defined]
        return lab if lab is not None else self.lab_tabs.tabs.currentWidget()  # type: ignore[attr-defined]

    def _presented_words(self) -> tuple[str, str]:
        scene = getattr(getattr(self, "scenes", None), "scene", None)
        name = self.lab_tabs.current_name()  # type: ignore[attr-defined]
        title = "Training" if name == "training" else lab_title(name)
        if scene is not None and scene.view == name:
            return scene.title or title, scene.description
        return title, ""

    def apply_look(self, theme: str | None = None, font_pt: int | None = None) -> None:
        """Theme ("dark", or "light": high contrast for projectors) and base font size, remembered."""
        app = QtWidgets.QApplication.instance()
        theme = theme or str(self.settings.get("theme", "dark"))  # type: ignore[attr-defined]
        font_pt = int(font_pt or self.settings.get("font_pt", DEFAULT_FONT_PT))  # type: ignore[attr-defined]
        font_pt = max(FONT_RANGE[0], min(FONT_RANGE[1], font_pt))
        apply_theme(app, theme, font_pt)  # type: ignore[arg-type]
        self._restyle_plots(theme)
        self.settings.set("theme", theme)  # type: ignore[attr-defined]
        self.settings.set("font_pt", font_pt)  # type: ignore[attr-defined]

    def change_font(self, delta: int) -> None:
        self.apply_look(font_pt=int(self.settings.get("font_pt", DEFAULT_FONT_PT)) + delta)  # type: ignore[attr-defined]

    def _restyle_plots(self, theme: str) -> None:
        """Plots made before the theme changed take its background, text colours and sizes now."""
        restyle(self)  # type: ignore[arg-type]

    def set_controls(self, hidden: list[str] | tuple[str, ...] = (), locked: list[str] | tuple[str, ...] = ()) -> None:
        """Hide or lock parts of the window (a focused exercise); empty lists restore everything."""
        docks = {"densities": self.density_dock, "training": self.training_dock}  # type: ignore[attr-defined]
        for name, dock in docks.items():
            dock.setVisible(name not in hidden)
        self.lab_tabs.time_bar.setVisible("time_bar" not in hidden)  # type: ignore[attr-defined]
        self.lab_tabs.tabs.tabBar().setVisible("tabs" not in hidden)  # type: ignore[attr-defined]
        self.picker.setEnabled("density" not in locked)  # type: ignore[attr-defined]
        for act in self.density_actions:  # type: ignore[attr-defined]
            act.setEnabled("density" not in locked)
        self.panel.setEnabled("model" not in locked)  # type: ignore[attr-defined]
        self.lab_tabs.tabs.tabBar().setEnabled("view" not in locked)  # type: ignore[attr-defined]

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in self.SHORTCUTS)  # type: ignore[attr-defined]
        box = QtWidgets.QMessageBox(self)  # type: ignore[call-overload]
        box.setWindowTitle("Keyboard shortcuts")
        box.setTextFormat(QtCore.Qt.TextFormat.RichText)
        box.setText(f"<table>{rows}</table>")
        box.setModal(False)
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()


