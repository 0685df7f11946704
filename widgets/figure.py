"""A view drawn as a figure: its plots, title, equation, colour bars and legends, without its controls.

Exports and presentations show what the plots say, not the buttons that made them. A control is an
input (button, box, slider, field) or a panel holding inputs and no plot; a row of a layout that
holds controls and their labels only goes with them, and so do the plots' own "A" (auto-range)
buttons, which pyqtgraph shows under the mouse. ``figure_mode(root, title)`` hides them all for the
duration of a ``with`` block and shows them again after.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyqtgraph as pg
from PySide6 import QtWidgets

from .equation_label import EquationLabel

__all__ = ["figure_mode", "controls_of", "plot_items_of", "Legend"]

_INPUTS = (QtWidgets.QAbstractButton, QtWidgets.QComboBox, QtWidgets.QAbstractSlider, QtWidgets.QAbstractSpinBox,
           QtWidgets.QLineEdit)


class Legend(QtWidgets.QLabel):
    """Words that say what a picture's colours are: a figure keeps them, even in a row of controls (a
    plain label there goes with the controls) or a panel of them."""


def _has_plot(w: QtWidgets.QWidget) -> bool:
    return isinstance(w, pg.GraphicsView) or bool(w.findChildren(pg.GraphicsView))


def _is_control(w: QtWidgets.QWidget) -> bool:
    if isinstance(w, EquationLabel | QtWidgets.QScrollBar):
        return False  # a scroll area's bar comes and goes with the space there is: it is no choice of the figure's
    if isinstance(w, _INPUTS):
        return True
    if w.findChildren(Legend):
        return False  # its controls go one by one, its legend stays
    # a scroll area's own bars make it no control (the words beside a chart scroll in a small window)
    return not _has_plot(w) and any(isinstance(c, _INPUTS) and not isinstance(c, QtWidgets.QScrollBar)
                                    and not c.isHidden() for c in w.findChildren(QtWidgets.QWidget))


def controls_of(root: QtWidgets.QWidget) -> list[QtWidgets.QWidget]:
    """The outermost controls under ``root`` and the labels that share a layout row with them only."""
    found: list[QtWidgets.QWidget] = []

    def walk(w: QtWidgets.QWidget) -> None:
        for child in w.findChildren(QtWidgets.QWidget, options=pg.QtCore.Qt.FindChildOption.FindDirectChildrenOnly):
            if child.isHidden() or isinstance(child, EquationLabel):
                continue
            if _is_control(child):
                found.append(child)
            else:
                walk(child)

    walk(root)
    for lay in root.findChildren(QtWidgets.QLayout):
        items = [w for w in (_widget_at(lay, i) for i in range(lay.count())) if w is not None and not w.isHidden()]
        # a row of controls takes its plain labels with it; a label of its own kind (a legend) stays
        if items and any(w in found for w in items) and all(w in found or isinstance(w, QtWidgets.QLabel)
                                                            for w in items):
            found.extend(w for w in items if w not in found and type(w) is QtWidgets.QLabel)
    return found


def plot_items_of(root: QtWidgets.QWidget) -> list[pg.PlotItem]:
    """The plots drawn under ``root`` (each a pyqtgraph PlotItem, with its axes and buttons)."""
    return [item for view in root.findChildren(pg.GraphicsView) if view.scene() is not None
            for item in view.scene().items() if isinstance(item, pg.PlotItem)]


def _widget_at(lay: QtWidgets.QLayout, i: int) -> QtWidgets.QWidget | None:
    item = lay.itemAt(i)
    return None if item is None else item.widget()


@contextmanager
def figure_mode(root: QtWidgets.QWidget, title: str | None = None, description: str = "") -> Iterator[None]:
    """Within the block, ``root`` shows as a figure (controls hidden, ``title`` and ``description``
    above the equation)."""
    hidden = controls_of(root)
    headers = [h for h in root.findChildren(EquationLabel) if not h.isHidden()]
    buttons = [p for p in plot_items_of(root) if not p.buttonsHidden]
    for w in hidden:
        w.setVisible(False)
    for p in buttons:
        p.hideButtons()  # the "A" would show in the figure wherever the mouse rests on a plot
    for h in headers:
        h.set_figure(title or "", description)
    try:
        yield
    finally:
        for w in hidden:
            w.setVisible(True)
        for p in buttons:
            p.showButtons()
        for h in headers:
            h.set_figure(None)
