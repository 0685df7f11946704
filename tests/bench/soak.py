"""Soak: drive the real main window offscreen through train / pause / stop / switch density /
switch model / render cycles for a while, and print JSON: cycles, errors, resident memory.

    .venv/bin/python tests/bench/soak.py --minutes 30

Target: zero errors and resident memory growing by less than 50 MB. Growth is counted from
the end of a warm-up that opens every view and trains every model once (what a window
allocates on first use is not a leak). Memory is compared in a settled state, the same one
each time: no training, the same view shown, garbage collected and the heaps trimmed, as the
window does on its own every 20 s; it is measured so every few cycles, and the least-squares
trend of those figures is printed in MB per hour. The memory at start, the highest seen
between cycles (unsettled, with a model and a view's data live) and the count of live Python
objects are printed too.
"""

from __future__ import annotations

import argparse
import faulthandler
import gc
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.labs.registry import lab_names  # noqa: E402 - after the path is set

DENSITIES = ["8gaussians", "moons", "checkerboard", "twomodes", "banana", "rings"]
MODELS = ["cnf", "fm", "ddpm", "ncsn"]
MODELS_NOW = list(MODELS)
VIEWS = [*lab_names(), "training"]


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    faulthandler.enable()  # a crash prints where it happened
    from PySide6 import QtCore, QtWidgets

    from app.application import create_application
    from app.main_window import MainWindow
    from app.memory import release_memory
    from app.settings import Settings
    from engine.device import configure_threads

    configure_threads(1)
    app = create_application()
    errors: list[str] = []
    for name in ("warning", "critical", "information"):
        setattr(QtWidgets.QMessageBox, name, lambda *a, **k: errors.append(str(a[2]) if len(a) > 2 else "?"))
    tmp = tempfile.mkdtemp()
    win = MainWindow(settings=Settings(QtCore.QSettings(os.path.join(tmp, "s.ini"),
                                                        QtCore.QSettings.Format.IniFormat)))
    win.resize(1400, 900)
    win.show()
    rng = random.Random(args.seed)

    def pump(seconds: float) -> None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            app.processEvents()
            time.sleep(0.01)

    def cycle() -> None:
        win.set_density(rng.choice(DENSITIES))
        win.panel.set_model(rng.choice(MODELS_NOW))
        win.panel.budget_kind.setCurrentText("seconds")
        win.panel.budget.setValue(4)
        win.training.start()
        pump(rng.uniform(1.0, 3.0))
        if win.training.running:
            win.training.pause()
            pump(0.3)
            win.training.resume()
            pump(rng.uniform(0.5, 1.5))
            win.training.stop()
        t0 = time.monotonic()
        while win.training.running and time.monotonic() - t0 < 30:
            pump(0.05)
        win.lab_tabs.show_view(rng.choice(VIEWS))
        pump(rng.uniform(1.0, 3.0))
        if win.lab_tabs.current_lab() is not None and rng.random() < 0.3:
            win.export_animation(os.path.join(tmp, "soak.gif"), frames=3)

    def settle() -> float:
        """The same quiet state every time: no training, the training view, heaps trimmed."""
        win.lab_tabs.show_view("training")
        pump(1.0)
        gc.collect()
        release_memory()
        return rss_mb()

    pump(3.0)
    first_rss = rss_mb()
    for model in MODELS:  # warm-up: every model trained once, every view opened once
        MODELS_NOW[:] = [model]
        cycle()
    MODELS_NOW[:] = MODELS
    for view in VIEWS:
        win.lab_tabs.show_view(view)
        pump(2.0)
    start_rss, start, start_objects = settle(), time.monotonic(), len(gc.get_objects())
    cycles, samples, peak = 0, [(0.0, start_rss)], start_rss
    while time.monotonic() - start < args.minutes * 60:
        cycle()
        cycles += 1
        peak = max(peak, rss_mb())
        if cycles % 5 == 0:
            samples.append((time.monotonic() - start, settle()))
            print(f"{samples[-1][0] / 60:6.1f} min  {cycles:4d} cycles  {samples[-1][1]:7.1f} MB  "
                  f"{len(gc.get_objects())} objects  {len(errors)} errors", file=sys.stderr, flush=True)
    end_rss, end_objects = settle(), len(gc.get_objects())
    samples.append((time.monotonic() - start, end_rss))
    win.close()
    t = [a for a, _ in samples]
    m = [b for _, b in samples]
    tm, mm = sum(t) / len(t), sum(m) / len(m)
    slope = sum((a - tm) * (b - mm) for a, b in samples) / max(sum((a - tm) ** 2 for a in t), 1e-9)
    print(json.dumps({"minutes": args.minutes, "cycles": cycles, "errors": len(errors), "error_messages": errors[:5],
                      "rss_first_mb": round(first_rss, 1), "rss_after_warmup_mb": round(start_rss, 1),
                      "rss_end_mb": round(end_rss, 1), "rss_max_mb": round(peak, 1),
                      "rss_growth_mb": round(end_rss - start_rss, 1), "rss_trend_mb_per_hour": round(slope * 3600, 1),
                      "python_objects_start": start_objects, "python_objects_end": end_objects}))


if __name__ == "__main__":
    main()
