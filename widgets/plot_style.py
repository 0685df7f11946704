"""One look for every plot: background, text colour and text size, applied live to whatever is on screen.

pyqtgraph fixes an item's colours and fonts when the item is made, so a theme or text-size change
must walk what exists: axes (ticks and labels), plot and colour-bar titles, legends, line labels,
text in the data, and the Qt titles and equations above the plots. ``restyle(root)`` does that
for every plot under ``root``; ``set_style`` chooses the look first (a window calls both, a
headless render calls them before grabbing).

Text drawn over data (a share in a corner, a value above a bar) sits on a box of the plot's
background colour (``BoxedLabel``, ``boxed_text``), so it reads over any heatmap or particle.
Sizes are roles relative to the base size (``ROLE_SCALE``), not fixed points, so Ctrl+= grows
ticks, titles and legends together with the controls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets

__all__ = ["PlotStyle", "BoxedLabel", "boxed_text", "corner_label", "keep_clear", "current_style", "set_style",
           "restyle", "text_items", "contrast_ratio", "strip_swatches", "scale_font", "ROLE_SCALE",
           "FONT_SCALE_PROPERTY"]

# a text's size relative to the base font, by what the text is
ROLE_SCALE = {"tick": 0.95, "axis": 1.0, "legend": 0.95, "title": 1.2, "overlay": 1.05}
# a Qt widget with this dynamic property (a float) keeps that multiple of the base font size
FONT_SCALE_PROPERTY = "flowscope_font_scale"


@dataclass(frozen=True)
class PlotStyle:
    """Plot background, plot text colour and the base text size in points."""

    bg: str = "#111214"
    fg: str = "#d0d3d8"
    font_pt: float = 11.0

    def pt(self, role: str) -> float:
        return round(self.font_pt * ROLE_SCALE[role], 1)


_CURRENT = [PlotStyle()]


def current_style() -> PlotStyle:
    return _CURRENT[0]


def set_style(style: PlotStyle) -> None:
    """The look of plots made from now on and of the next ``restyle``."""
    _CURRENT[0] = style
    pg.setConfigOptions(background=style.bg, foreground=style.fg)


class BoxedLabel(pg.LabelItem):
    """A LabelItem on an opaque box of the plot background: readable over any image or particles."""

    def paint(self, p: QtGui.QPainter, *args: object) -> None:
        if self.text:
            p.fillRect(self.itemRect(), QtGui.QColor(self.box_color()))
        super().paint(p, *args)

    def itemRect(self):  # type: ignore[no-untyped-def]  # noqa: N802 - pyqtgraph's name
        return self.item.mapRectToParent(self.item.boundingRect())

    def box_color(self) -> str:
        return current_style().bg


CORNERS = ((0, 0), (1, 0), (0, 1), (1, 1))  # of a view, as fractions of its width and height from its top left


def corner_label(plot: pg.PlotWidget) -> BoxedLabel:
    """A line of text on a box, pinned to the top-left corner of the plot's view, above the data; ``keep_clear``
    moves it to the corner that hides the fewest points."""
    label = BoxedLabel("")
    label.setParentItem(plot.getPlotItem().vb)
    _pin(label, CORNERS[0])
    label.setZValue(30)
    return label


def _pin(label: BoxedLabel, corner: tuple[int, int]) -> None:
    cx, cy = corner
    label.anchor(itemPos=corner, parentPos=corner, offset=(6 - 12 * cx, 2 - 4 * cy))
    label.corner = corner


def keep_clear(label: BoxedLabel, points: np.ndarray | None) -> tuple[int, int]:
    """Pin a corner label (:func:`corner_label`) to the corner of its view where the fewest of ``points``
    ((n, 2), data coordinates) lie under it, staying where it is unless another hides under half as many,
    and return that corner. A share over the top left had hidden the very samples it counted when they
    gathered at the top (the upper class of 8gaussians)."""
    current: tuple[int, int] = getattr(label, "corner", CORNERS[0])
    vb = label.parentItem()
    size = label.boundingRect()
    if points is None or not len(points) or not label.text or vb is None or vb.width() <= 0 or vb.height() <= 0:
        return current
    (x0, x1), (y0, y1) = vb.viewRange()
    fx, fy = min((size.width() + 6) / vb.width(), 1.0), min((size.height() + 2) / vb.height(), 1.0)
    x, y = points[:, 0], points[:, 1]
    counts = {}
    for cx, cy in CORNERS:
        left = x0 if cx == 0 else x1 - fx * (x1 - x0)
        at_high_y = (cy == 0) != vb.yInverted()  # the view's top shows y1 unless y points down
        low = y1 - fy * (y1 - y0) if at_high_y else y0
        counts[(cx, cy)] = int(np.count_nonzero((x >= left) & (x <= left + fx * (x1 - x0)) & (y >= low)
                                                & (y <= low + fy * (y1 - y0))))
    best = min(CORNERS, key=lambda c: (counts[c], CORNERS.index(c)))
    if counts[best] >= 0.5 * counts[current]:  # no corner clearly better (points everywhere): it stays put
        return current
    _pin(label, best)
    return best


def boxed_text(text: str = "", anchor: tuple[float, float] = (0.5, 1.0)) -> pg.TextItem:
    """A TextItem in the data (e.g. a value above a bar) on a box of the plot background."""
    s = current_style()
    item = pg.TextItem(text, color=s.fg, anchor=anchor, fill=pg.mkBrush(s.bg))
    item.setZValue(50)
    return item


def scale_font(widget: QtWidgets.QWidget, scale: float) -> QtWidgets.QWidget:
    """Give ``widget`` ``scale`` times the base text size, now and after every text-size change
    (``restyle`` keeps it so): no text has a fixed point size that Ctrl+= / Ctrl+- would miss."""
    widget.setProperty(FONT_SCALE_PROPERTY, float(scale))
    font = QtGui.QFont(widget.font())
    font.setPointSizeF(current_style().font_pt * scale)
    widget.setFont(font)
    return widget


def restyle(root: QtWidgets.QWidget, style: PlotStyle | None = None) -> None:
    """Apply ``style`` (default: the current one) to every plot and scaled label under ``root``."""
    s = style or current_style()
    for view in _graphics_views(root):
        view.setBackground(s.bg)
        for item in view.scene().items():
            _restyle_item(item, s)
    for w in [root, *root.findChildren(QtWidgets.QWidget)]:
        scale = w.property(FONT_SCALE_PROPERTY)
        if scale is not None:
            font = QtGui.QFont(w.font())
            font.setPointSizeF(s.font_pt * float(scale))
            w.setFont(font)


def _graphics_views(root: QtWidgets.QWidget) -> list[pg.GraphicsView]:
    views = root.findChildren(pg.GraphicsView)
    return [root, *views] if isinstance(root, pg.GraphicsView) else views


def _restyle_item(item: object, s: PlotStyle) -> None:
    hook = getattr(item, "on_restyle", None)
    if callable(hook):  # an item that draws in theme colours of its own (the vector field's arrows)
        hook(s)
    if isinstance(item, pg.AxisItem):
        _restyle_axis(item, s)
    elif isinstance(item, pg.LegendItem):
        item.setLabelTextSize(f"{s.pt('legend')}pt")
        item.setLabelTextColor(s.fg)
        for _sample, label in item.items:  # setLabelTextColor stores the colour but draws nothing new
            label.setText(label.text, color=s.fg, size=f"{s.pt('legend')}pt")
        item.setBrush(pg.mkBrush(QtGui.QColor(s.bg)))
        item.setPen(pg.mkPen(s.fg, width=0.5))
    elif isinstance(item, BoxedLabel):
        item.setText(item.text, color=s.fg, size=f"{s.pt('overlay')}pt")
    elif isinstance(item, pg.LabelItem) and isinstance(item.parentItem(), pg.PlotItem):
        if item is item.parentItem().titleLabel:
            item.setText(item.text, color=s.fg, size=f"{s.pt('title')}pt")
    elif isinstance(item, pg.TextItem):
        _restyle_text(item, s)


def _restyle_axis(axis: pg.AxisItem, s: PlotStyle) -> None:
    axis.setPen(s.fg)
    axis.setTextPen(s.fg)
    font = QtGui.QFont(QtWidgets.QApplication.font())
    font.setPointSizeF(s.pt("tick"))
    axis.setStyle(tickFont=font)
    axis.labelStyle = {**axis.labelStyle, "color": s.fg, "font-size": f"{s.pt('axis')}pt"}
    axis._updateLabel()


def _restyle_text(item: pg.TextItem, s: PlotStyle) -> None:
    """Text in the data: theme colours (and its box, if it has one), base size."""
    item.setColor(s.fg)
    item.fill = pg.mkBrush(s.bg)  # text in the data is over curves or images: it needs its box
    font = QtGui.QFont(item.textItem.font())
    font.setPointSizeF(s.pt("overlay"))
    item.setFont(font)
    item.update()


# -- for tests and checks: what text is drawn, in what colour, on what -------------------------

_COLOR_RE = re.compile(r"color:\s*(#[0-9A-Fa-f]{6,8})")
# a span that holds only a line or marker glyph is a legend swatch (a picture of the curve), not text
_SWATCH_RE = re.compile(r"<span style=['\"]color:[^'\"]*['\"]>[\s━╌─┄●■▲◆▬-]*</span>")


def text_items(root: QtWidgets.QWidget) -> list[tuple[str, QtGui.QColor, QtGui.QColor]]:
    """(what, text colour, colour behind it) for every visible piece of plot text under ``root``.

    Behind a label is its box if it has one; otherwise the plot background, or, for text placed
    over an image or particles without a box, the worst case (both black and white are tried).
    """
    out: list[tuple[str, QtGui.QColor, QtGui.QColor]] = []
    for view in _graphics_views(root):
        if not view.isVisible():
            continue
        bg = view.backgroundBrush().color()
        for item in view.scene().items():
            if not item.isVisible():
                continue
            out.extend(_texts_of(item, bg))
    return out


def _texts_of(item: object, bg: QtGui.QColor) -> list[tuple[str, QtGui.QColor, QtGui.QColor]]:
    if isinstance(item, pg.AxisItem):
        if not item.style.get("showValues", True):
            return []
        return [(f"axis {item.orientation} ticks", item.textPen().color(), bg)]
    if isinstance(item, BoxedLabel):
        return [(f"boxed label {item.text!r}", c, QtGui.QColor(item.box_color())) for c in _html_colors(item)]
    if isinstance(item, pg.LabelItem):
        if not item.text:
            return []
        behind = _behind_label(item, bg)
        return [(f"label {item.text!r}", c, b) for c in _html_colors(item) for b in behind]
    if isinstance(item, pg.TextItem):
        if not item.textItem.toPlainText():
            return []
        fill = item.fill
        behind = ([fill.color()] if fill.style() != pg.QtCore.Qt.BrushStyle.NoBrush
                  else [QtGui.QColor("#000000"), QtGui.QColor("#ffffff")])
        color = item.color if isinstance(item.color, QtGui.QColor) else QtGui.QColor(item.color)
        return [(f"text {item.textItem.toPlainText()!r}", color, b) for b in behind]
    return []


def strip_swatches(html: str) -> str:
    """``html`` without its legend swatches (spans holding only a line or marker glyph)."""
    return _SWATCH_RE.sub("", html)


def _html_colors(item: pg.LabelItem) -> list[QtGui.QColor]:
    """The label's colour and any colour its own rich text gives to words (not to swatches)."""
    base = pg.mkColor(item.opts.get("color") or pg.getConfigOption("foreground"))
    return [base, *(QtGui.QColor(c[:7]) for c in _COLOR_RE.findall(_SWATCH_RE.sub("", item.text)))]


def _behind_label(item: pg.LabelItem, bg: QtGui.QColor) -> list[QtGui.QColor]:
    """A title sits on the plot background, a legend's label on the legend's box if it has one; a
    label inside a view box with nothing under it sits over the data (black or white, say)."""
    parent = item.parentItem()
    while parent is not None:
        if isinstance(parent, pg.LegendItem) and parent.brush().style() != pg.QtCore.Qt.BrushStyle.NoBrush:
            return [parent.brush().color()]
        if isinstance(parent, pg.ViewBox):
            return [QtGui.QColor("#000000"), QtGui.QColor("#ffffff")]
        parent = parent.parentItem()
    return [bg]


def contrast_ratio(a: QtGui.QColor, b: QtGui.QColor) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21)."""
    def lum(c: QtGui.QColor) -> float:
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
