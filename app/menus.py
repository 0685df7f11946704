"""The window's menus as a table, their shortcuts, and the shortcut list shown by Help."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["build_menus", "show_shortcuts", "MENUS", "CHECKABLE", "DENSITY_ITEMS", "SHORTCUTS"]

SHORTCUTS = [
    ("Ctrl+Enter", "train / pause / resume"), ("Esc", "stop training"), ("Ctrl+S", "save the model"),
    ("Ctrl+O", "open a model"), ("Ctrl+Shift+O", "open a data file"), ("Ctrl+I", "open an image"),
    ("Ctrl+D", "draw a density"), ("Ctrl+Shift+E", "open a scene"), ("Ctrl+E", "export the view as PNG/SVG"),
    ("Space", "play / pause the time bar"), ("Left / Right", "step the time bar"), ("R", "draw new particles"),
    ("L", "log colour scale"), ("P", "show or hide particles"), ("F5", "presentation"), ("F11", "full screen"),
    ("Ctrl+= / Ctrl+-", "larger / smaller text"), ("F1", "this list"), ("Ctrl+Q", "quit"),
]

# (text, slot name, shortcuts separated by ", "); None draws a separator
Item = tuple[str, str, str] | None
MENUS: dict[str, list[Item]] = {
    "&File": [
        ("&Open model…", "open_model", "Ctrl+O"), ("&Save model…", "save_model", "Ctrl+S"), None,
        ("Open &data file…", "open_data_file", "Ctrl+Shift+O"), ("Open &image…", "open_image", "Ctrl+I"),
        ("&Draw a density…", "draw_density", "Ctrl+D"), None,
        ("Open s&cene…", "open_scene", "Ctrl+Shift+E"), ("Save sc&ene…", "save_scene", ""), None,
        ("&Export view (PNG, SVG)…", "export_image", "Ctrl+E"),
        ("Export &animation (GIF, MP4)…", "export_animation", ""),
        ("Export particles and &grids (NPZ, CSV)…", "export_data", ""), None,
        ("&Quit", "quit", "Ctrl+Q"),
    ],
    "&Train": [
        ("&Train / pause / resume", "train_toggle", "Ctrl+Return, Ctrl+Enter"), ("&Stop", "train_stop", "Esc"),
        ("&Reset", "train_reset", ""),
    ],
    "&View": [
        ("&New particles", "resample", "R"), ("&Log colour scale", "log_scale", "L"),
        ("Show &particles", "show_particles", "P"), None,
        ("&Full screen", "full_screen", "F11"),
        ("&Presentation (the view alone, full screen)", "presentation", "F5"), ("&Dark theme", "dark_theme", ""),
        ("Light &projector theme", "light_theme", ""), ("&Larger text", "larger_text", "Ctrl+="),
        ("&Smaller text", "smaller_text", "Ctrl+-"), ("Show all &controls", "show_all_controls", ""),
    ],
    "&Help": [("&Keyboard shortcuts", "shortcuts", "F1"), ("&About flowscope", "about", "")],
}
CHECKABLE = {"log_scale", "show_particles"}  # their slots receive the new state (bool); the others nothing
DENSITY_ITEMS = ("open_data_file", "open_image", "draw_density")  # locked with the density picker


def build_menus(window: QtWidgets.QMainWindow, slots: Mapping[str, Callable[..., object]]) -> dict[str, QtGui.QAction]:
    """The menu bar of ``window`` from MENUS; returns the actions by slot name."""
    names = [item[1] for items in MENUS.values() for item in items if item is not None]
    missing = sorted(set(names) - set(slots))
    if missing:
        raise KeyError(f"menu slots missing: {', '.join(missing)}; given: {', '.join(sorted(slots))}")
    actions: dict[str, QtGui.QAction] = {}
    for title, items in MENUS.items():
        menu = window.menuBar().addMenu(title)
        for item in items:
            if item is None:
                menu.addSeparator()
            else:
                actions[item[1]] = _action(window, menu, item, slots[item[1]])
    return actions


def _action(window: QtWidgets.QMainWindow, menu: QtWidgets.QMenu, item: tuple[str, str, str],
            slot: Callable[..., object]) -> QtGui.QAction:
    text, name, keys = item
    act = QtGui.QAction(text, window)
    act.setShortcuts([QtGui.QKeySequence(k) for k in keys.split(", ") if k])
    if name in CHECKABLE:
        act.setCheckable(True)
        act.toggled.connect(slot)
    else:  # triggered(bool) would hand `checked` to a slot's first optional argument (a path, a drawing)
        act.triggered.connect(lambda _checked=False, slot=slot: slot())
    menu.addAction(act)
    window.addAction(act)  # its shortcut works while the menu bar is hidden (presentation)
    return act


def show_shortcuts(parent: QtWidgets.QWidget) -> None:
    """The keyboard shortcuts in a small window that stays open beside the main one."""
    rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in SHORTCUTS)
    box = QtWidgets.QMessageBox(parent)
    box.setWindowTitle("Keyboard shortcuts")
    box.setTextFormat(QtCore.Qt.TextFormat.RichText)
    box.setText(f"<table>{rows}</table>")
    box.setModal(False)
    box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
