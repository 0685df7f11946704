"""Benchmark: how soon the window is painted and each shipped scene's picture moves; prints JSON.

Every case starts a fresh ``python -m app`` (plain, then once per shipped scene, assets/scenes, with
``--scene``) in a process of its own, on Qt's offscreen platform unless ``--platform xcb``
(then under a display, e.g. ``xvfb-run``). Times count from just before the process is
launched, so the interpreter's start and every import are included:

* ``first_paint_s``: the main window's first paint;
* ``view_built_s``: the first look (every 50 ms) at the scene's view after the first paint
  (the window paints a frame saying it is loading, then builds its views);
* ``first_frame_s``: the first look at the current view at which its picture differs from
  the look at ``view_built_s`` (what the scene shows has been drawn; None when that look
  already showed it or nothing came);
* ``last_change_s``: the last look at which the picture had changed (for a still scene,
  when its picture was complete; ``view_built_s`` when it never changed);
* ``first_motion_s``: the first of two looks in a row at which the view's picture differs
  from the look before (the picture is moving: playing, sampling, solving); None when it did
  not change within ``--limit`` seconds of the first paint (a still scene);

and for a start that trains at once (``--train KIND:DENSITY``, the command ``flowscope --density DENSITY
--model KIND --train``; ``none`` to leave it out):

* ``train_started_s``: the first look at which the window's run had begun (its progress says so);
* ``first_step_s``: the first look at which a training snapshot had arrived from the training process;
* ``longest_stall_s``: the longest wait between two looks after the first paint (the looks are due every
  50 ms: a longer wait is a window that did not answer, as when it once wrote a 3.4 MB job into the
  pipe of a child still importing torch);

each with the CPU seconds the process had used by then (``*_cpu_s``: on a shared machine
the wall clock waits for other work; the load average is printed too). Looking costs a
little: a grab of the view every 50 ms. The project's modules run from compiled bytecode, as
an installed package's do (compiled into their __pycache__ folders before the first case). Each
case has settings of its own in a fresh folder, as on a first start: a person's settings are
neither read nor changed.

Usage::

    python tests/bench/bench_startup.py                       # the window and every scene
    python tests/bench/bench_startup.py --scenes cnf_probability_path,ddpm_forward_reverse
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SCENES = ROOT / "assets" / "scenes"
LOOK_MS = 50


def _probe(t0: float, limit: float) -> None:
    """In the child: watch from the application's creation, then run the command line as usual."""
    sys.path.insert(0, str(ROOT))
    import app.application as application
    import app.gui as gui

    watcher = _Watcher(t0, limit)
    create, shown = application.create_application, gui.close_on_signals

    def created() -> Any:
        qapp = create()
        watcher.install(qapp)
        return qapp

    def hooked(win: Any) -> None:
        shown(win)
        watcher.watch(win)

    application.create_application = created  # run_gui imports it when it runs
    gui.close_on_signals = hooked  # type: ignore[assignment]
    from app.cli import main

    sys.exit(main(sys.argv[sys.argv.index("--") + 1:]))


class _Watcher:
    """Records the first paint, the first settled look and the first motion, then closes the window."""

    def __init__(self, t0: float, limit: float) -> None:
        self.t0, self.limit = t0, limit
        self.win: Any = None
        self.out: dict[str, Any] = {}
        self.first: bytes | None = None  # the view as the first look after the first paint saw it
        self.last: bytes | None = None
        self.changes = 0
        self.training = "--train" in sys.argv
        self.previous_look: float | None = None

    def install(self, qapp: Any) -> None:
        """Catch the main window's first paint, which may come as soon as it is shown."""
        from PySide6 import QtCore

        outer = self

        class Filter(QtCore.QObject):
            def eventFilter(self, obj: Any, ev: Any) -> bool:  # noqa: N802 - Qt's name
                if ev.type() == QtCore.QEvent.Type.Paint and "first_paint_s" not in outer.out:
                    top = obj.window() if hasattr(obj, "window") else None
                    if type(top).__name__ == "MainWindow":
                        outer._mark("first_paint")
                return False

        self.filter = Filter()
        qapp.installEventFilter(self.filter)

    def watch(self, win: Any) -> None:
        from PySide6 import QtCore

        self.win = win
        self.timer = QtCore.QTimer()
        self.timer.timeout.connect(self._look)
        self.timer.start(LOOK_MS)

    def _mark(self, what: str) -> None:
        self.out[f"{what}_s"] = round(time.time() - self.t0, 3)
        self.out[f"{what}_cpu_s"] = round(time.process_time(), 3)

    def _look(self) -> None:
        now = time.time()
        if "first_paint_s" in self.out:
            if self.previous_look is not None:
                self.out["longest_stall_s"] = round(max(self.out.get("longest_stall_s", 0.0),
                                                        now - self.previous_look), 3)
            self.previous_look = now
        if self.training:
            self._look_at_training()
            return
        tabs = getattr(self.win, "lab_tabs", None)  # None while the window is still loading
        lab = None if tabs is None else tabs.current_lab()
        if "first_paint_s" in self.out and lab is not None:
            img = lab.grab().toImage()
            data = bytes(img.constBits())[: img.sizeInBytes()]
            if self.first is None:
                self.first = data
                self._mark("view_built")
                self._mark("last_change")
            elif data != self.first and "first_frame_s" not in self.out:
                self._mark("first_frame")
            if self.last is not None and data != self.last:
                self._mark("last_change")
                self.changes += 1
                if self.changes == 2 and "first_motion_s" not in self.out:
                    self._mark("first_motion")
            else:
                self.changes = 0
            self.last = data
        self._end_when("first_motion_s" in self.out or time.time() - self.t0 > 300)

    def _look_at_training(self) -> None:
        training = getattr(self.win, "training", None)  # None while the window is still loading
        if training is not None and training.running and "train_started_s" not in self.out:
            self._mark("train_started")
        if training is not None and training.latest is not None and "first_step_s" not in self.out:
            self._mark("first_step")
        self._end_when("first_step_s" in self.out)

    def _end_when(self, done: bool) -> None:
        """Print the figures and close the window once ``done``, or ``limit`` seconds after the first paint."""
        started = self.out.get("first_paint_s")
        late = started is not None and time.time() - self.t0 > started + self.limit
        if done or late:
            self.timer.stop()
            print("STARTUP " + json.dumps(self.out), flush=True)
            self.win.close()


def bytecode_env() -> dict[str, str]:
    """The environment of a start with compiled bytecode, as an installed package has: the project's
    packages are compiled into their __pycache__ folders first (where PYTHONDONTWRITEBYTECODE is
    set, every start would otherwise compile them from source, ~0.4 s of CPU). Nothing else is
    written: the starts themselves run with the environment as it is."""
    env = dict(os.environ)
    for package in ("engine", "widgets", "app"):
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / package)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    return env


def run_case(scene: str | None, platform: str, limit: float, base_env: dict[str, str],
             train: str | None = None) -> dict[str, Any]:
    args = ["--scene", str(SCENES / f"{scene}.json")] if scene else []
    if train is not None:
        kind, _, density = train.partition(":")
        args = ["--density", density, "--model", kind, "--train"]
    # settings of their own: every case starts as a first start does, and none changes a person's settings
    # (the window saves its geometry when it closes)
    with tempfile.TemporaryDirectory(prefix="flowscope-startup-") as config:
        env = {**base_env, "QT_QPA_PLATFORM": platform, "XDG_CONFIG_HOME": config}
        t0 = time.time()
        cmd = [sys.executable, __file__, "--probe", str(t0), "--limit", str(limit), "--", *args]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=limit + 400, cwd=ROOT)
    line = next((s for s in done.stdout.splitlines() if s.startswith("STARTUP ")), None)
    row: dict[str, Any] = {"scene": scene, "exit": done.returncode, **({"train": train} if train else {})}
    if line is None:
        row["error"] = (done.stderr.strip().splitlines() or ["no result"])[-1]
    else:
        row.update(json.loads(line[len("STARTUP "):]))
    row["load_1min"] = round(os.getloadavg()[0], 2)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenes", default="all", help="comma-separated scene names (assets/scenes), all, or none")
    p.add_argument("--platform", default="offscreen", help="Qt platform: offscreen, or xcb under a display")
    p.add_argument("--limit", type=float, default=15.0, help="seconds after the first paint to wait for motion")
    p.add_argument("--train", default="cnf:rings",
                   help="KIND:DENSITY: also time a start that trains at once (none: leave it out)")
    p.add_argument("--probe", type=float, default=None, help=argparse.SUPPRESS)
    args, _ = p.parse_known_args()
    if args.probe is not None:
        _probe(args.probe, args.limit)
        return
    names = sorted(f.stem for f in SCENES.glob("*.json")) if args.scenes == "all" else (
        [] if args.scenes == "none" else args.scenes.split(","))
    load0 = os.getloadavg()
    env = bytecode_env()
    window = run_case(None, args.platform, args.limit, env)
    print(json.dumps(window), file=sys.stderr, flush=True)
    train = None if args.train == "none" else run_case(None, args.platform, args.limit, env, args.train)
    if train is not None:
        print(json.dumps(train), file=sys.stderr, flush=True)
    rows = []
    for name in names:
        rows.append(run_case(name, args.platform, args.limit, env))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(json.dumps({"platform": args.platform, "cpus": os.cpu_count(), "load_before": [round(v, 2) for v in load0],
                      "load_after": [round(v, 2) for v in os.getloadavg()], "window": window, "train": train,
                      "scenes": rows},
                     indent=1))


if __name__ == "__main__":
    main()
