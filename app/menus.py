"""The window's menus and their shortcuts."""

from __future__ import annotations

from typing import Any

from PySide6 import QtGui, QtWidgets

__all__ = ["build_menus", "SHORTCUTS"]

SHORTCUTS = [
    ("Ctrl+Enter", "train / pause / resume"), ("Esc", "stop training"), ("Ctrl+S", "save the model"),
    ("Ctrl+O", "open a model"), ("Ctrl+Shift+O", "open a data file"), ("Ctrl+I", "open an image"),
    ("Ctrl+D", "draw a density"), ("Ctrl+Shift+E", "open a scene"), ("Ctrl+E", "export the view as PNG/SVG"),
    ("Space", "play / pause the time bar"), ("Left / Right", "step the time bar"), ("R", "draw new particles"),
    ("L", "log colour scale"), ("P", "show or hide particles"), ("F5", "presentation"), ("F11", "full screen"),
    ("Ctrl+= / Ctrl+-", "larger / smaller text"), ("F1", "this list"), ("Ctrl+Q", "quit"),
]


def _action(w: QtWidgets.QMainWindow, menu: QtWidgets.QMenu, text: str, slot: Any, shortcut: str | None = None,
            checkable: bool = False) -> QtGui.QAction:
    act = QtGui.QAction(text, w)
    if shortcut:
        act.setShortcut(QtGui.QKeySequence(shortcut))
    act.setCheckable(checkable)
    (act.toggled if checkable else act.triggered).connect(slot)
    menu.addAction(act)
    w.addAction(act)  # its shortcut works while the menu bar is hidden (presentation)
    return act


def build_menus(w: Any) -> None:
    """File, Train, View, Help; sets ``w.log_action``, ``w.points_action`` and ``w.density_actions``."""
    bar = w.menuBar()
    f = bar.addMenu("&File")
    _action(w, f, "&Open model…", lambda: w.open_model(), "Ctrl+O")
    _action(w, f, "&Save model…", w.save_model, "Ctrl+S")
    f.addSeparator()
    w.density_actions = [
        _action(w, f, "Open &data file…", w.open_data_file, "Ctrl+Shift+O"),
        _action(w, f, "Open &image…", w.open_image, "Ctrl+I"),
        # a lambda: triggered(checked) would arrive as the drawing itself
        _action(w, f, "&Draw a density…", lambda: w.draw_density(), "Ctrl+D"),
    ]
    f.addSeparator()
    _action(w, f, "Open s&cene…", lambda: w.open_scene(), "Ctrl+Shift+E")
    _action(w, f, "Save sc&ene…", w.save_scene)
    f.addSeparator()
    _action(w, f, "&Export view (PNG, SVG)…", w.export_image, "Ctrl+E")
    _action(w, f, "Export &animation (GIF, MP4)…", w.export_animation)
    _action(w, f, "Export particles and &grids (NPZ, CSV)…", w.export_data)
    f.addSeparator()
    _action(w, f, "&Quit", w.close, "Ctrl+Q")
    t = bar.addMenu("&Train")
    toggle = _action(w, t, "&Train / pause / resume", w.training.toggle, "Ctrl+Return")
    toggle.setShortcuts([QtGui.QKeySequence("Ctrl+Return"), QtGui.QKeySequence("Ctrl+Enter")])
    _action(w, t, "&Stop", w.training.stop, "Esc")
    _action(w, t, "&Reset", w.training.reset)
    v = bar.addMenu("&View")
    _action(w, v, "&New particles", w.resample, "R")
    w.log_action = _action(w, v, "&Log colour scale", w.view.set_log_scale, "L", checkable=True)
    w.points_action = _action(w, v, "Show &particles", w.view.set_points_visible, "P", checkable=True)
    w.points_action.setChecked(True)
    v.addSeparator()
    _action(w, v, "&Full screen", w.toggle_full_screen, "F11")
    _action(w, v, "&Presentation (the view alone, full screen)", w.toggle_presentation, "F5")
    _action(w, v, "&Dark theme", lambda: w.apply_look("dark"))
    _action(w, v, "Light &projector theme", lambda: w.apply_look("light"))
    _action(w, v, "&Larger text", lambda: w.change_font(+1), "Ctrl+=")
    _action(w, v, "&Smaller text", lambda: w.change_font(-1), "Ctrl+-")
    _action(w, v, "Show all &controls", lambda: w.set_controls())
    h = bar.addMenu("&Help")
    _action(w, h, "&Keyboard shortcuts", w.show_shortcuts, "F1")
    _action(w, h, "&About flowscope", w.show_about)
