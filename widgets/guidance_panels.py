"""The guidance lab's picture: controls, unconditional / conditional / guided samples, the classifier's map and
the trade-off over γ."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from .contour_overlay import ContourOverlay
from .density_view import DensityView
from .figure import Legend
from .guidance_controls import GuidanceControls
from .map_view import MapView
from .plot_style import BoxedLabel, corner_label, keep_clear, restyle, scale_font
from .tradeoff_chart import TradeoffChart

__all__ = ["GuidancePanels", "PANELS", "ShortNote"]

Box = tuple[float, float, float, float]
PANELS = ("unconditional", "conditional", "guided")
MESSAGE_SCALE = 1.45  # what the lab needs, said in large type in place of the panels
TITLE_AND_AXIS = 22  # px: a panel's title over its plot and ticks under it, less its left axis: height - width
TOP_SHARE = 0.56  # of the height, at most, for the row of samples (the chart needs the rest)
COLOUR_BAR = 80  # px: the class map's colour bar with its ticks


class ShortNote(Legend):
    """A legend of a few words that takes at most MAX_LINES lines of the width it is given, and shows nothing
    (its tooltip still says it) where it would need more: wrapped a word a line in a row left narrow by a
    larger text size, it had made the whole row of controls five lines tall, and the pictures under it small."""

    MAX_LINES = 2

    def _cap(self) -> int:
        return self.MAX_LINES * self.fontMetrics().lineSpacing() + 2 * self.margin()

    def fits(self) -> bool:
        """Whether the text fits the note's width in MAX_LINES lines (else it is not drawn)."""
        return super().heightForWidth(self.width()) <= self._cap()

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        return min(super().heightForWidth(width), self._cap())

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt's name
        return super().sizeHint().boundedTo(QtCore.QSize(16_777_215, self._cap()))

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt's name
        return super().minimumSizeHint().boundedTo(QtCore.QSize(16_777_215, self._cap()))

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 - Qt's name
        if self.fits():
            super().paintEvent(event)


class GuidancePanels(QtWidgets.QWidget):
    """Controls, a note, three sample panels (particles over a target heatmap), p(y | x_τ) of the
    chosen class and the trade-off chart beside them; or, in their place, a message saying what
    the lab needs (``show_message``).

    The heatmaps are drawn in grey so that the particles' class colours stay readable.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.controls = GuidanceControls()
        # what the grey heatmaps are, in the room the first row of controls leaves (the column beside
        # the chart has none to spare at 1024 x 768); the tooltip says it in full
        self.note = ShortNote()
        self.note.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.note.setWordWrap(True)  # two lines in a narrow window rather than cut off
        self.note.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        # it takes the room there is and never widens the row (which would scroll the lab sideways)
        self.note.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.controls.add_to_first_row(self.note)
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.message.setMargin(40)
        scale_font(self.message, MESSAGE_SCALE)
        content = QtWidgets.QWidget()
        inner = QtWidgets.QVBoxLayout(content)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.setSpacing(2)  # every pixel of height goes to the pictures (1024 x 768)
        inner.addWidget(self.controls)
        self.chart = TradeoffChart()
        self.stage = _Stage()
        inner.addWidget(self.stage, 1)
        self.pages = QtWidgets.QStackedLayout(self)
        self.pages.addWidget(self.message)
        self.pages.addWidget(content)
        self.views: dict[str, DensityView] = {}
        self.contours: dict[str, ContourOverlay] = {}
        self.shares: dict[str, BoxedLabel] = {}
        self._points: dict[str, np.ndarray | None] = {}  # each panel's samples: its share keeps clear of them
        for name in PANELS:
            # the heatmaps say where the target is, not how high: their colour bars only take room
            view = DensityView(title=name, colorbar=False)
            view.set_colormap("CET-L1")
            self.contours[name] = ContourOverlay(view.plot)
            view.points.setZValue(10)
            self.shares[name] = corner_label(view.plot)
            self.views[name] = view
        # its colour bar is not labelled: the title above says what the colours are, and the label
        # would take the width the chart beside it needs at 1024 x 768
        self.class_view = MapView("p(y | x<sub>τ</sub>)", "", cmap="viridis")
        self.stage.set_parts([*self.views.values()], self.class_view, self.chart)
        restyle(self)

    def show_message(self, text: str | None) -> None:
        """Show ``text`` instead of the panels; None shows the panels."""
        self.message.setText(text or "")
        self.pages.setCurrentIndex(0 if text else 1)

    def set_samples(self, panel: str, x: np.ndarray | None, labels: np.ndarray | None = None) -> None:
        self.views[panel].set_points(x, labels)
        self._points[panel] = x
        keep_clear(self.shares[panel], x)

    def set_target(self, panel: str, grid: np.ndarray | None, box: Box) -> None:
        """The panel's target density (heatmap, and contours holding 50% and 90% of its mass); None: none."""
        self.views[panel].set_density(grid, box)
        self.contours[panel].set_grid(grid, box)

    def set_panel_title(self, panel: str, text: str, share: str = "") -> None:
        """The title above the panel, and ``share`` (e.g. how many land in the class) in the corner that hides
        the fewest of its samples."""
        self.views[panel].set_title(text)
        self.shares[panel].setText(share)
        keep_clear(self.shares[panel], self._points.get(panel))

    def set_class_map(self, probs: np.ndarray | None, box: Box, title: str) -> None:
        """p(y | x_τ) of one class, (n, n), on the fixed scale [0, 1]; None shows an empty map."""
        grid = np.zeros((2, 2), np.float32) if probs is None else probs
        self.class_view.set_map(grid, box, scale=(0.0, 1.0))
        self.class_view.set_title(title)


class _Stage(QtWidgets.QWidget):
    """The sample panels in a row over the trade-off chart, as big as the space allows: three samples
    over the class map and the chart, or in a wide space the samples and the class map over a chart
    as wide as the view. Every picture grows with the window and the lab fits 1024 x 768 unscrolled."""

    def __init__(self) -> None:
        super().__init__()
        self.top: list[QtWidgets.QWidget] = []
        self.left: QtWidgets.QWidget | None = None
        self.wide: QtWidgets.QWidget | None = None
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)

    def set_parts(self, top: list[QtWidgets.QWidget], left: QtWidgets.QWidget, wide: QtWidgets.QWidget) -> None:
        self.top, self.left, self.wide = top, left, wide
        for w in (*top, left, wide):
            w.setParent(self)
        self._place()

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt's name
        return QtCore.QSize(300, 200)

    def resizeEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        self._place()

    def _place(self) -> None:
        if self.left is None or self.wide is None:
            return
        gap, w, h = 6, self.width() + 6, self.height() + 6
        # in a wide space the class map joins the row of samples and the chart takes the width under
        # them; otherwise the map sits beside the chart under three bigger samples
        three = min(w / 3, (h - 2 * TITLE_AND_AXIS) / 2)  # the class map under them as tall as they are
        four = min((w - COLOUR_BAR) / 4, TOP_SHARE * h - TITLE_AND_AXIS)
        in_row = four >= three - 1
        cell_w = four if in_row else three
        top_h = cell_w + TITLE_AND_AXIS
        widths = [cell_w] * 3 + ([cell_w + COLOUR_BAR] if in_row else [])
        x0 = (w - sum(widths)) / 2
        x = x0
        for panel, width in zip([*self.top, self.left], widths):
            panel.setGeometry(int(x), 0, int(width - gap), int(top_h - gap))
            x += width
        bottom_h = h - top_h
        x, width = 0.0, w  # the row under the samples takes the whole width: the chart's text needs it
        if not in_row:
            map_w = min(bottom_h - TITLE_AND_AXIS + COLOUR_BAR, 1.4 * cell_w)
            self.left.setGeometry(0, int(top_h), int(map_w - gap), int(bottom_h - gap))
            x, width = map_w, w - map_w
        self.wide.setGeometry(int(x), int(top_h), int(width - gap), int(bottom_h - gap))
