"""Soak: drive the real main window offscreen through train / pause / stop / switch density /
switch model / render cycles for a while, and print JSON: cycles, errors, resident memory.

    .venv/bin/python tests/bench/soak.py --minutes 30

Target: zero errors and resident memory growing by less than 50 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

DENSITIES = ["8gaussians", "moons", "checkerboard", "twomodes", "banana", "rings"]
MODELS = ["cnf", "ddpm", "ncsn"]
VIEWS = ["path", "trajectories", "field", "langevin", "kfp", "guidance", "trace", "adjoint", "training"]


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
    from PySide6 import QtCore, QtWidgets

    from app.gui import create_application
    from app.main_window import MainWindow
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

    pump(3.0)
    start_rss, start = rss_mb(), time.monotonic()
    cycles = 0
    while time.monotonic() - start < args.minutes * 60:
        win.set_density(rng.choice(DENSITIES))
        win.panel.set_model(rng.choice(MODELS))
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
        cycles += 1
    end_rss = rss_mb()
    win.close()
    print(json.dumps({"minutes": args.minutes, "cycles": cycles, "errors": len(errors), "error_messages": errors[:5],
                      "rss_start_mb": round(start_rss, 1), "rss_end_mb": round(end_rss, 1),
                      "rss_growth_mb": round(end_rss - start_rss, 1)}))


if __name__ == "__main__":
    main()
