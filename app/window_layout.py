"""The main window's layout helpers: the frame shown until the window is built, and side panels
sized to the window (on a narrow projector the density list shares the training dock)."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["FirstFrame", "available_geometry", "first_geometry", "fit_docks",
           "FILL_SCREEN_BELOW", "SHARED_DOCK_BELOW"]

# below this window width the density list becomes a tab of the right-hand dock, beside Training:
# on a 1024-pixel projector two side panels would leave the pictures barely half the width
SHARED_DOCK_BELOW = 1400
# on a screen smaller than this (width, height) a first window fills it: at 95 % of 1024 x 768 the
# pictures are ~190 px, below the 200 px a projected plot needs
FILL_SCREEN_BELOW = (1400, 800)


class FirstFrame(QtWidgets.QLabel):
    """What the window shows until it is built: its name and a line saying what is loading.

    ``painted`` is emitted once, after the first paint (the window is on the screen)."""

    painted = QtCore.Signal()

    def __init__(self) -> None:
        super().__init__("<h2>flowscope</h2><p>loading the models…</p>")
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self._told = False

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if not self._told:
            self._told = True
            self.painted.emit()


def available_geometry() -> QtCore.QRect:
    """The primary screen's room for windows (the desktop less its panels)."""
    screen = QtGui.QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QtCore.QRect(0, 0, 1600, 1000)


def first_geometry(avail: QtCore.QRect) -> tuple[QtCore.QRect, bool]:
    """Where a window with no remembered size opens on a screen with room ``avail``, and whether
    maximised: a small screen is filled, a large one gets a window of up to 1600 x 1000."""
    if avail.width() < FILL_SCREEN_BELOW[0] or avail.height() < FILL_SCREEN_BELOW[1]:
        return QtCore.QRect(avail), True
    size = QtCore.QSize(min(1600, int(avail.width() * 0.95)), min(1000, int(avail.height() * 0.95)))
    rect = QtCore.QRect(QtCore.QPoint(0, 0), size)
    rect.moveCenter(avail.center())
    return rect, False


def fit_docks(window: QtWidgets.QMainWindow, density_dock: QtWidgets.QDockWidget,
              training_dock: QtWidgets.QDockWidget, width: int) -> None:
    """Side panels in proportion to the window: on a 1024-pixel projector the pictures keep
    most of the width (the panels scroll what does not fit, and share one dock area)."""
    shared = _share_dock_area(window, density_dock, training_dock, width < SHARED_DOCK_BELOW)
    docks = [d for d in (density_dock, training_dock) if d.isVisible() and not d.isFloating()]
    share = {density_dock: (0.13, 130, 260), training_dock: (0.24, 300, 400)}
    if shared:  # one area holds both: it is sized for the training form, whichever tab is up
        share[density_dock] = share[training_dock]
    sizes = [int(min(hi, max(lo, f * width))) for d in docks for f, lo, hi in [share[d]]]
    if docks:
        window.resizeDocks(docks, sizes, QtCore.Qt.Orientation.Horizontal)


def _share_dock_area(window: QtWidgets.QMainWindow, d: QtWidgets.QDockWidget, t: QtWidgets.QDockWidget,
                     narrow: bool) -> bool:
    """Put the density list in a tab beside Training (narrow window) or back on the left; True
    when they share an area. Docks a person has floated are left where they are."""
    if d.isFloating() or t.isFloating():
        return False
    tabbed = t in window.tabifiedDockWidgets(d)
    if narrow and not tabbed:
        window.tabifyDockWidget(t, d)
        t.raise_()
    elif not narrow and tabbed:
        window.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, d)
    return narrow
