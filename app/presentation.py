"""Presentation: full screen, light/dark theme, font size, and controls a lecturer hides or locks."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from widgets.plot_style import restyle

from .theme import DEFAULT_FONT_PT, apply_theme

__all__ = ["PresentationMixin"]

FONT_RANGE = (8, 28)


class PresentationMixin:
    """For MainWindow: expects ``settings``, ``lab_tabs``, ``picker``, ``panel`` and the docks."""

    def toggle_full_screen(self) -> None:
        w: QtWidgets.QMainWindow = self  # type: ignore[assignment]
        w.showNormal() if w.isFullScreen() else w.showFullScreen()

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


