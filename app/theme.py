"""Application look: Fusion style, a dark palette, and a font size that reads on a projector."""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

from widgets.plot_style import PlotStyle, set_style

__all__ = ["apply_theme", "THEMES", "DEFAULT_FONT_PT"]

DEFAULT_FONT_PT = 11

THEMES: dict[str, dict[str, str]] = {
    # inputs (base) lighter than the window, so check boxes and fields stand out on a projector
    "dark": {"window": "#202124", "base": "#33363b", "text": "#e8eaed", "button": "#3a3d42",
             "highlight": "#4f8cc9", "plot_bg": "#111214", "plot_fg": "#d0d3d8"},
    "light": {"window": "#f4f4f4", "base": "#ffffff", "text": "#101010", "button": "#e4e4e4",
              "highlight": "#1a5fb4", "plot_bg": "#ffffff", "plot_fg": "#101010"},
}


def apply_theme(app: QtWidgets.QApplication, name: str = "dark", font_pt: float = DEFAULT_FONT_PT) -> None:
    """Set style, palette, font and the plots' look (plots made later take it; ``restyle`` updates the others)."""
    t = THEMES.get(name, THEMES["dark"])
    app.setStyle("Fusion")
    pal = QtGui.QPalette()
    role = QtGui.QPalette.ColorRole
    for r, key in ((role.Window, "window"), (role.Base, "base"), (role.AlternateBase, "button"),
                   (role.Button, "button"), (role.Highlight, "highlight"), (role.ToolTipBase, "base")):
        pal.setColor(r, QtGui.QColor(t[key]))
    for r in (role.WindowText, role.Text, role.ButtonText, role.ToolTipText, role.BrightText):
        pal.setColor(r, QtGui.QColor(t["text"]))
    pal.setColor(role.HighlightedText, QtGui.QColor("#ffffff"))
    app.setPalette(pal)
    # a widget with a style sheet of its own (superqt's slider labels) keeps the palette it was
    # polished with; setting the sheet again polishes it with the new one
    for w in app.allWidgets():
        if w.styleSheet():
            w.setStyleSheet(w.styleSheet())
    font = app.font()
    font.setPointSizeF(font_pt)
    app.setFont(font)
    set_style(PlotStyle(bg=t["plot_bg"], fg=t["plot_fg"], font_pt=float(font_pt)))
