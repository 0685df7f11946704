"""Starting the window from the command line: checked arguments, thread settings, the main window, Ctrl+C."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6 import QtWidgets

    from .scenes import Scene

__all__ = ["run_gui", "close_on_signals"]

EXIT_WAIT_S = 60.0  # how long the program waits at exit for a background computation to end


def close_on_signals(win: QtWidgets.QWidget) -> None:
    """Ctrl+C in the terminal or a SIGTERM closes the window as its close button does (training
    stopped, settings kept, no traceback). Python runs signal handlers only when it holds the
    interpreter, so a quiet timer hands it control four times a second."""
    import signal

    from PySide6 import QtCore

    def handler(signum: int, frame: FrameType | None) -> None:
        QtCore.QTimer.singleShot(0, win.close)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    tick = QtCore.QTimer(win)
    tick.timeout.connect(lambda: None)
    tick.start(250)


def checked_scene(args: argparse.Namespace) -> Scene | None:
    """The scene asked for, validated: bad input exits 2 with one line, before any window opens."""
    from engine.densities import get_density

    if args.density:
        get_density(args.density)
    if not args.scene:
        return None
    from .scene_data import scene_density
    from .scenes import load_scene

    scene = load_scene(args.scene)
    scene_density(scene)
    return scene


def run_gui(args: argparse.Namespace) -> int:
    """Open the main window with the choices given on the command line."""
    from engine.device import configure_threads

    from .application import create_application

    scene = checked_scene(args)
    configure_threads()
    app = create_application()
    from PySide6 import QtCore

    from .main_window import MainWindow

    win = MainWindow(density=args.density, model=args.model)
    win.show()
    if scene is not None:
        win.scenes.apply(scene)
    if args.train:
        QtCore.QTimer.singleShot(300, win.training.start)
    close_on_signals(win)
    return _exec(app)


def _exec(app: QtWidgets.QApplication) -> int:
    """Run the event loop with the collector tuned for a window over torch's many objects."""
    # Full collections over torch's ~200k objects stall the GUI for ~200 ms; freeze them once.
    gc.collect()
    gc.freeze()
    from .main_thread_gc import MainThreadCollector

    collector = MainThreadCollector(app)  # cycles are freed by the GUI thread only (see the module)
    try:
        code = int(app.exec())
    finally:
        collector.timer.stop()
        gc.enable()
    _end_workers(code)
    return code


def _end_workers(code: int) -> None:
    """Wait for background threads still computing; leave at once if one will not end.

    A lab stops waiting for a slow computation after 10 s (its window stays responsive), but a
    Qt thread destroyed while it runs aborts the process at exit. The window has saved its
    settings by now, so leaving without the interpreter's teardown loses nothing.
    """
    from .worker import wait_for_workers

    if not wait_for_workers(EXIT_WAIT_S):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
