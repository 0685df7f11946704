"""Starting the window from the command line: checked arguments, thread settings, the main window, Ctrl+C."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6 import QtWidgets

    from .main_window import MainWindow
    from .scenes import Scene

__all__ = ["run_gui", "close_on_signals"]

EXIT_WAIT_S = 60.0  # how long the program waits at exit for a background computation to end
FIRST_PAINT_WAIT_MS = 2000  # the window is built after its first paint, or after this long without one


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
    """The scene asked for, validated: bad input exits 2 with one line, before any window opens.

    The engine (and torch) load here only when there is something to check: a plain start
    paints its window first."""
    if args.density:
        from engine.density_names import BUILTIN_NAMES

        if args.density.strip() not in BUILTIN_NAMES:  # a file, a picture or a mistyped name: loading tells
            from engine.densities import get_density

            get_density(args.density)
    if not args.scene:
        return None
    from .scene_data import scene_density
    from .scenes import load_scene

    scene = load_scene(args.scene)
    scene_density(scene)
    return scene


def run_gui(args: argparse.Namespace) -> int:
    """Open the main window with the choices given on the command line.

    The window is painted first, as a frame saying that it is loading (Qt and pyqtgraph only),
    and built at the next turn of the event loop after that paint: torch, the engine and the
    labs load while the window is already on the screen.
    """
    from .application import create_application

    # Start-up makes about a million objects (torch, Qt, the views) and few cycles: the collector's
    # passes over them cost ~0.17 s of CPU before the first frame. They are frozen out of collection
    # once the window is built, and the main-thread collector takes over (see _exec).
    gc.disable()
    try:
        scene = checked_scene(args)
        app = create_application()
        from PySide6 import QtCore

        from .main_window import MainWindow

        win = MainWindow(density=args.density, model=args.model, build=False)

        def finish() -> None:
            if not win.built:
                if args.train:  # the run's process loads torch on the other core while the window is built
                    from .train_process import prewarm

                    prewarm()
                if scene is not None and scene.view in PREFETCH:
                    threading.Thread(target=_prefetch, args=(PREFETCH[scene.view],), daemon=True).start()
                _build(win, scene, bool(args.train))

        win.first_painted.connect(lambda: QtCore.QTimer.singleShot(0, finish))
        QtCore.QTimer.singleShot(FIRST_PAINT_WAIT_MS, finish)  # a window never painted (minimised) is built too
        win.show()
        close_on_signals(win)
        return _exec(app)
    finally:
        gc.enable()


# What a scene's first frame imports on the lab's worker thread, by view: torchdiffeq (~0.4 s) and,
# through torch.autograd.grad with given output gradients (the adjoint's, Hutchinson's), torch's
# symbolic-shapes module with sympy (~0.3 s). Imported on a thread of its own while Qt opens the
# window, they are there when the lab asks.
PREFETCH = {"adjoint": ("torchdiffeq", "torch.fx.experimental.symbolic_shapes"),
            "trace": ("torch.fx.experimental.symbolic_shapes",)}


def _prefetch(modules: tuple[str, ...]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:  # the lab reports what is missing when it runs
            return


def _build(win: MainWindow, scene: Scene | None, train: bool) -> None:
    """The window's contents, then the scene and training asked for."""
    from PySide6 import QtCore, QtWidgets

    from engine.device import configure_threads
    from engine.errors import InputError

    configure_threads()
    win.build(show_density=scene is None)  # a scene shows its own density: one picture to compute, not two
    if scene is not None:
        try:
            win.scenes.apply(scene)
        except InputError as e:  # its checkpoint is loaded only now: bad input still exits 2 with one line
            sys.stderr.write(f"flowscope: error: {' '.join(str(e).split())}\n")
            QtWidgets.QApplication.exit(2)
            return
    if train:
        QtCore.QTimer.singleShot(300, win.training.start)
    # Full collections over torch's ~200k objects stall the GUI for ~200 ms: the objects made so far
    # are frozen out of them (without a collection first, which took ~0.4 s before the first frame)
    gc.freeze()


def _exec(app: QtWidgets.QApplication) -> int:
    """Run the event loop with the collector tuned for a window over torch's many objects."""
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
