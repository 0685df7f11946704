"""GUI responsiveness while a model trains (prints JSON; the last line is the summary).

Runs the real main window offscreen and trains a model for ``--seconds`` while the model
view redraws 20k particles and a 256x256 density image from every redraw tick. Measures:

- ``p99_event_delay_ms``: p99 lateness of a 10 ms QTimer on the GUI thread;
- ``redraws_per_s``: paints of the model view actually completed per second;
- ``train_throughput_ratio``: training steps/s with the GUI / headless steps/s, same settings.

Targets on 2 CPU cores: p99 <= 50 ms, >= 30 redraws/s, ratio >= 0.8.

    .venv/bin/python tests/bench/bench_ui_latency.py --model ddpm --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

if os.environ.get("BENCH_SWITCH"):
    sys.setswitchinterval(float(os.environ["BENCH_SWITCH"]))


def headless_rate(model: str, density: str, seconds: float) -> float:
    import torch

    from app.option_specs import option_specs
    from engine.api import make_trainer
    from engine.densities import get_density
    from engine.device import configure_threads

    configure_threads(1)
    opts = {s.name: s.default for s in option_specs(model)}
    trainer = make_trainer(model, get_density(density), opts, torch.device("cpu"), 0)
    snaps = list(trainer.run(seconds=seconds))
    return snaps[-1].step / snaps[-1].elapsed


def gui_run(model: str, density: str, seconds: float, particles: int, grid: int) -> dict[str, float]:
    from PySide6 import QtCore

    from app.application import create_application
    from app.main_window import MainWindow
    from app.settings import Settings

    app = create_application()  # noqa: F841 - kept alive for the run
    ini = os.path.join(tempfile.mkdtemp(), "bench.ini")
    win = MainWindow(settings=Settings(QtCore.QSettings(ini, QtCore.QSettings.Format.IniFormat)), density=density,
                     model=model)
    win.resize(1600, 1000)
    win.show()
    ctrl, view = win.training, win.model_view
    from app.train_process import prewarm

    prewarm()
    warm = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(4000, warm.quit)  # the standby process imports torch meanwhile
    warm.exec()
    rng = np.random.default_rng(0)
    base_grid = win.state.density.density_grid(grid) if win.state else np.ones((grid, grid), np.float32)
    paints = [0]

    class PaintCounter(QtCore.QObject):
        def eventFilter(self, obj, ev):  # noqa: N802 - Qt's name
            if ev.type() == QtCore.QEvent.Type.Paint:
                paints[0] += 1
            return False

    counter = PaintCounter()
    view.plot.viewport().installEventFilter(counter)
    original = ctrl._redraw

    def heavy_redraw(*args: object, **kwargs: object) -> None:  # every tick: 20k particles + a 256^2 image
        original(*args, **kwargs)
        src = ctrl._samples if ctrl._samples is not None else rng.normal(size=(1000, 2)).astype(np.float32)
        idx = rng.integers(0, len(src), particles)
        view.set_points(src[idx] + rng.normal(scale=0.02, size=(particles, 2)).astype(np.float32))
        view.set_density(base_grid * rng.uniform(0.9, 1.1), win.state.density.box)

    if particles:
        ctrl._redraw = heavy_redraw  # type: ignore[method-assign]
    ctrl._dirty = True
    delays: list[float] = []
    probe = QtCore.QTimer()
    probe.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    last = [time.perf_counter()]

    def on_probe() -> None:
        now = time.perf_counter()
        delays.append(max(0.0, (now - last[0]) * 1000 - 10.0))
        last[0] = now

    probe.timeout.connect(on_probe)
    win.panel.budget_kind.setCurrentText("seconds")
    win.panel.budget.setValue(int(seconds))
    loop = QtCore.QEventLoop()
    ctrl.run_finished.connect(lambda how: loop.quit())
    QtCore.QTimer.singleShot(int((seconds * 3 + 30) * 1000), loop.quit)
    ctrl.start()
    ctrl.timer.timeout.connect(lambda: setattr(ctrl, "_dirty", True))
    t0 = time.perf_counter()
    probe.start(10)
    paints[0] = 0
    loop.exec()
    wall = time.perf_counter() - t0
    probe.stop()
    snap = ctrl.latest
    rate = snap.step / snap.elapsed if snap else 0.0
    win.close()
    return {"p99_event_delay_ms": float(np.percentile(delays, 99)) if delays else float("nan"),
            "max_event_delay_ms": float(max(delays)) if delays else float("nan"),
            "redraws_per_s": paints[0] / wall, "gui_steps_per_s": rate, "wall_s": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="ddpm", choices=["cnf", "ddpm", "ncsn"])
    ap.add_argument("--density", default="8gaussians")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--particles", type=int, default=20_000)
    ap.add_argument("--grid", type=int, default=256)
    args = ap.parse_args()
    headless = headless_rate(args.model, args.density, args.seconds)
    print(json.dumps({"headless_steps_per_s": headless}), flush=True)
    gui = gui_run(args.model, args.density, args.seconds, args.particles, args.grid)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    out = {"model": args.model, "density": args.density, "seconds": args.seconds, "particles": args.particles,
           "grid": args.grid, "headless_steps_per_s": headless, **gui,
           "train_throughput_ratio": gui["gui_steps_per_s"] / headless if headless else None, "loadavg_1min": load}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
