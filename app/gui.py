"""Starting the window: Qt application, theme, thread settings, and the main window."""

from __future__ import annotations

import argparse
import gc
import sys

__all__ = ["run_gui", "create_application"]


def create_application(argv: list[str] | None = None):  # type: ignore[no-untyped-def]
    """The QApplication (created once), themed."""
    from PySide6 import QtWidgets

    from .memory import tune_allocator
    from .settings import Settings
    from .theme import apply_theme

    tune_allocator()
    _quiet_known_qt_noise()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(argv or sys.argv[:1])
    app.setApplicationName("flowscope")
    app.setOrganizationName("flowscope")
    s = Settings()
    apply_theme(app, str(s.get("theme", "dark")), int(s.get("font_pt", 11)))
    return app


_NOISE = ("propagateSizeHints",)


def _quiet_known_qt_noise() -> None:
    """Drop Qt messages that say nothing to a user (the offscreen platform's size hints)."""
    from PySide6 import QtCore

    previous = None

    def handler(mode, context, message):  # type: ignore[no-untyped-def]
        if any(n in message for n in _NOISE):
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            sys.stderr.write(message + "\n")

    previous = QtCore.qInstallMessageHandler(handler)


def close_on_signals(win) -> None:  # type: ignore[no-untyped-def]
    """Ctrl+C in the terminal or a SIGTERM closes the window as its close button does (training
    stopped, settings kept, no traceback). Python runs signal handlers only when it holds the
    interpreter, so a quiet timer hands it control four times a second."""
    import signal

    from PySide6 import QtCore

    def handler(signum, frame):  # type: ignore[no-untyped-def]
        QtCore.QTimer.singleShot(0, win.close)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    tick = QtCore.QTimer(win)
    tick.timeout.connect(lambda: None)
    tick.start(250)


def run_gui(args: argparse.Namespace) -> int:
    """Open the main window with the choices given on the command line."""
    from engine.densities import get_density
    from engine.device import configure_threads

    if args.density:
        get_density(args.density)  # bad input: exit 2 on the command line before any window
    scene = None
    if args.scene:
        from .scene_controller import scene_density
        from .scenes import load_scene

        scene = load_scene(args.scene)  # a bad scene: exit 2 with one line, before any window
        scene_density(scene)
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
    # Full collections over torch's ~200k objects stall the GUI for ~200 ms; freeze them once.
    gc.collect()
    gc.freeze()
    from .main_thread_gc import MainThreadCollector

    collector = MainThreadCollector(app)  # cycles are freed by the GUI thread only (see the module)
    try:
        return int(app.exec())
    finally:
        collector.timer.stop()
        gc.enable()
