"""The central area: the training page and one tab per lab, above the shared time bar."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from widgets.plot_style import restyle
from widgets.time_bar import TimeBar
from widgets.titles import ColumnLayout

from .labs.base import Lab
from .labs.context import LabContext
from .labs.registry import available_labs, lab_short_title, lab_title, make_lab

__all__ = ["LabTabs", "scrolled"]

class LabTabs(QtWidgets.QWidget):
    """Tabs over a time bar. Labs are built the first time their tab is opened, and only the
    visible lab is active (animating, computing)."""

    def __init__(self, ctx: LabContext, training_page: QtWidgets.QWidget,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(training_page, "Training")
        self.names: list[str] = []
        self.labs: dict[str, Lab] = {}
        for name in available_labs():
            holder = QtWidgets.QWidget()
            QtWidgets.QVBoxLayout(holder).setContentsMargins(0, 0, 0, 0)
            self.tabs.addTab(holder, lab_title(name))
            self.names.append(name)
        # the tabs' own bar, beside the side panels, needed scroll arrows at 1024 px: ``bar`` stands in
        # for it, for the window to put where it has the whole width (whole titles, or each in a word)
        self.titles = ["Training", *(lab_title(n) for n in self.names)]
        self.short_titles = ["Training", *(lab_short_title(n) for n in self.names)]
        self.bar = _FittingTabBar(self.titles, self.short_titles)
        self.tabs.tabBar().hide()
        self.bar.currentChanged.connect(self.tabs.setCurrentIndex)
        self.tabs.currentChanged.connect(self.bar.setCurrentIndex)
        self.time_bar = TimeBar()
        self.time_bar.set_time(ctx.t)
        self.time_bar.time_changed.connect(ctx.set_time)
        ctx.time_changed.connect(self.time_bar.set_time)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tabs, 1)
        # the bar in a holder: a scene or presentation hides the holder, a view that ignores t the bar
        self.time_area = QtWidgets.QWidget()
        bar_layout = QtWidgets.QVBoxLayout(self.time_area)
        bar_layout.setContentsMargins(0, 0, 0, 0)
        bar_layout.addWidget(self.time_bar)
        lay.addWidget(self.time_area)
        self._current: Lab | None = None
        self.tabs.currentChanged.connect(self._on_tab_changed)

    def lab(self, name: str) -> Lab:
        """The lab ``name``, built on first use."""
        if name not in self.labs:
            lab = make_lab(name, self.ctx)
            restyle(lab)  # the plots a lab made itself take the current theme and text size
            holder = self.tabs.widget(1 + self.names.index(name))
            holder.layout().addWidget(scrolled(lab))  # type: ignore[union-attr]  # every holder was made with a layout
            self.labs[name] = lab
        return self.labs[name]

    def show_lab(self, name: str) -> None:
        self.tabs.setCurrentIndex(1 + self.names.index(name))

    def show_view(self, name: str) -> None:
        """A lab by name, or "training" for the training page."""
        if name == "training" or name not in self.names:
            self.tabs.setCurrentIndex(0)
        else:
            self.show_lab(name)

    def current_lab(self) -> Lab | None:
        return self._current

    def current_name(self) -> str:
        i = self.tabs.currentIndex()
        return "training" if i == 0 else self.names[i - 1]

    def install_shortcuts(self, window: QtWidgets.QWidget) -> None:
        """Space plays/pauses the time bar, the arrows step it (not while typing in a field)."""
        for key, slot in (("Space", self.time_bar.toggle), ("Left", lambda: self.time_bar.step(-1)),
                          ("Right", lambda: self.time_bar.step(1))):
            sc = QtGui.QShortcut(QtGui.QKeySequence(key), window)
            sc.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda slot=slot: slot() if self.time_bar.isEnabled() else None)

    def shutdown(self) -> None:
        self.time_bar.play(False)
        for lab in self.labs.values():
            lab.shutdown()

    def _on_tab_changed(self, index: int) -> None:
        if self._current is not None:
            self._current.deactivate()
            self._current = None
        if index > 0:
            self._current = self.lab(self.names[index - 1])
            self._current.activate()
        self._follow_time(self._current is not None and self._current.uses_time)

    def _follow_time(self, meaningful: bool) -> None:
        """The time bar is there only where the view follows t (not on a step clock or a chart of
        costs): elsewhere it is stopped, disabled and hidden, and the pictures take its height."""
        if not meaningful:
            self.time_bar.play(False)
        self.time_bar.setEnabled(meaningful)
        self.time_bar.setVisible(meaningful)


class _FittingTabBar(QtWidgets.QTabBar):
    """A tab per view with its whole title, or each in a word where the whole ones do not fit: never
    scroll arrows nor cut titles while the short ones fit. The whole title is the tooltip."""

    def __init__(self, titles: list[str], short: list[str]) -> None:
        super().__init__()
        self.setDocumentMode(True)
        self.setExpanding(False)
        self.setDrawBase(False)
        self.setElideMode(QtCore.Qt.TextElideMode.ElideNone)
        # as wide as the row it is put in, so that it can tell whether the whole titles fit
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self._titles, self._short = titles, short
        for title in titles:
            self.setTabToolTip(self.addTab(title), title)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 - Qt's name
        self._fit()
        super().resizeEvent(event)

    def changeEvent(self, event: QtCore.QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:
            self._fit()

    def _fit(self) -> None:
        """The whole titles when they fit the width, else the short ones."""
        for k, title in enumerate(self._titles):
            self.setTabText(k, title)
        if self.sizeHint().width() > self.width():
            for k, title in enumerate(self._short):
                self.setTabText(k, title)


def scrolled(widget: QtWidgets.QWidget) -> QtWidgets.QScrollArea:
    """``widget`` in a frameless scroll area: it fills the space there is and scrolls only when the
    window is smaller than the widget can be (a 1024 × 768 projector with larger text), so the
    window itself always fits the screen and no control is cut off."""
    area = QtWidgets.QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    holder = QtWidgets.QWidget()
    lay = ColumnLayout(holder)  # the view scrolls below its minimum size only, not its preferred one
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(widget)
    area.setWidget(holder)
    return area
