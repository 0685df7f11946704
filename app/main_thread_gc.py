"""Python's cycle collector, run from the GUI thread only.

The collector runs in whichever thread happens to allocate when its thresholds are crossed,
often a background worker. When it frees a cycle that holds a Qt object (a closed window, a
finished worker), shiboken hands the deletion to the GUI thread, whose ~QObject takes Qt's
signal-slot lock while holding the GIL; a worker emitting a signal with a Python argument holds
that lock while it waits for the GIL: both wait for ever (seen in the test suite, about one run
in three). So automatic collection is switched off and a GUI-thread timer collects instead, by
the same generation thresholds.
"""

from __future__ import annotations

import gc

from PySide6 import QtCore

__all__ = ["MainThreadCollector", "collect_like_the_collector"]


def collect_like_the_collector(threshold: tuple[int, int, int]) -> int | None:
    """Collect the generation the automatic collector would have by now; the generation, or None."""
    counts = gc.get_count()
    if counts[0] <= threshold[0]:
        return None
    gen = 2 if counts[2] > threshold[2] and counts[1] > threshold[1] else 1 if counts[1] > threshold[1] else 0
    gc.collect(gen)
    return gen


class MainThreadCollector(QtCore.QObject):
    """Switches automatic collection off and collects from a GUI-thread timer every ``interval_ms``."""

    def __init__(self, parent: QtCore.QObject | None = None, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    @QtCore.Slot()
    def check(self) -> None:
        collect_like_the_collector(self.threshold)
