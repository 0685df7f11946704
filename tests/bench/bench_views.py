"""Frame rates of the views, and the guidance slider's latency (prints JSON lines; the last sums up).

Each view is opened offscreen on a shipped pretrained model (or an analytic density) at
1000x700 and driven the way a person uses it: the time bar sweeping for the path,
trajectories and field views, the sampler running for Langevin, the solver running with the
time bar playing for Fokker-Planck. A frame counts when a plot actually repaints.
Particles and images: ``--particles`` (default 100,000) for the path, trajectories and
Langevin views, and a 256x256 density image for the path view (its precomputed frames are
upsampled to that size, its particles copied with a small random offset each up to that
count). ``--training`` runs every view without training, with a DDPM training in the child
process (as the window trains), or both (the default). Each line reports frames/s on the wall
clock and the CPU milliseconds this process spent per frame (``cpu_frames_per_s`` is what
a core of its own would give: the machine may be shared), with the load average.

    .venv/bin/python tests/bench/bench_views.py [--seconds 4] [--views path,field] [--particles 20000]

Targets on CPU: >= 30 frames/s for path, trajectories, field, langevin; >= 15 for kfp with its
solver running; guidance re-sample latency <= 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

PRE = ROOT / "assets" / "pretrained"
MODELS = {"path": "cnf_8gaussians", "trajectories": "cnf_8gaussians", "field": "cnf_8gaussians",
          "guidance": "ddpm_8gaussians_conditional", "langevin": None, "kfp": None}


def _wait(app, cond, limit: float) -> None:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    while not cond() and time.perf_counter() - t0 < limit:
        app.processEvents()
        time.sleep(0.005)


class Painter:
    """Counts repaints of every plot under a widget (the busiest plot's count is the frame count)."""

    def __init__(self, widget) -> None:  # type: ignore[no-untyped-def]
        import pyqtgraph as pg
        from PySide6 import QtCore

        self.counts: dict[int, int] = {}
        outer = self

        class Filter(QtCore.QObject):
            def eventFilter(self, obj, ev):  # noqa: N802 - Qt's name
                if ev.type() == QtCore.QEvent.Type.Paint:
                    outer.counts[id(obj)] = outer.counts.get(id(obj), 0) + 1
                return False

        self.filter = Filter()
        for plot in widget.findChildren(pg.PlotWidget) + widget.findChildren(pg.GraphicsLayoutWidget):
            plot.viewport().installEventFilter(self.filter)

    def frames(self) -> int:
        return max(self.counts.values(), default=0)


def open_lab(app, name: str):  # type: ignore[no-untyped-def]
    from app.labs.context import LabContext
    from app.labs.registry import make_lab
    from engine.checkpoint import load_trained
    from engine.densities import get_density

    ctx = LabContext()
    model = MODELS[name]
    tm = load_trained(str(PRE / f"{model}.pt")) if model else None
    spec = "twomodes" if name == "langevin" else "8gaussians"
    ctx.set_density(get_density(spec), spec)
    ctx.set_model(tm)
    lab = make_lab(name, ctx)
    lab.resize(1000, 700)
    lab.show()
    return ctx, lab


def _rates(frames: int, wall: float, cpu: float) -> dict[str, float]:
    return {"frames_per_s": round(frames / wall, 1), "cpu_ms_per_frame": round(1e3 * cpu / max(frames, 1), 1),
            "cpu_frames_per_s": round(frames / max(cpu, 1e-9), 1)}


def sweep(app, ctx, lab, seconds: float) -> dict[str, float]:  # type: ignore[no-untyped-def]
    painter = Painter(lab)
    t0, c0, k = time.perf_counter(), time.process_time(), 0
    while time.perf_counter() - t0 < seconds:
        k += 1
        ctx.set_time((k % 60) / 59)
        app.processEvents()  # paints what changed, once
    return _rates(min(painter.frames(), k), time.perf_counter() - t0, time.process_time() - c0)


class Training:
    """A DDPM training on 8gaussians in the child process, as the window runs it, while a view is measured."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        import torch  # noqa: F401 - the child's job holds a density object

        from app.train_process import ProcessWorker
        from engine.densities import get_density

        self.app, self.snapshots = app, 0
        self.worker = ProcessWorker({"family": "engine.diffusion", "kind": "ddpm", "density": get_density("8gaussians"),
                                     "options": {}, "device": "cpu", "seed": 0, "steps": None, "seconds": 3600.0})
        self.worker.yielded.connect(self._on_snapshot)
        self.worker.start()
        _wait(app, lambda: self.snapshots > 0, 60)

    def _on_snapshot(self, _snap) -> None:  # type: ignore[no-untyped-def]
        self.snapshots += 1

    def close(self) -> dict[str, object]:
        self.worker.shutdown()
        return {"training": "ddpm in the child", "snapshots_received": self.snapshots}


def bench_path(app, seconds: float, particles: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from app.labs.path.compute import ParticlesFrame, PathFrame

    ctx, lab = open_lab(app, "path")
    lab.activate()
    _wait(app, lambda: len(lab.densities) == 21 and not lab.busy, 300)
    n = lab.densities[0].density.shape[0]
    up = int(np.ceil(256 / n))
    lab.densities = [PathFrame(f.t, np.ascontiguousarray(np.kron(f.density, np.ones((up, up)))[:256, :256],
                                                        np.float32)) for f in lab.densities]
    rng = np.random.default_rng(0)
    lab.particles = [ParticlesFrame(f.t, _spread(f.x, particles, rng)) for f in lab.particles]
    rates = sweep(app, ctx, lab, seconds)
    lab.shutdown()
    return {"view": "path", **rates, "particles": int(lab.view.points.count), "image": 256}


def _spread(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points: copies of x, each moved by a small random offset (distinct points, the same cloud)."""
    copies = np.tile(x, (-(-n // len(x)), 1))[:n]
    return (copies + rng.normal(0.0, 0.03, copies.shape)).astype(np.float32)


def bench_trajectories(app, seconds: float, particles: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    ctx, lab = open_lab(app, "trajectories")
    lab.configure(solver="rk4", steps=40, particles=particles, reference=False)
    lab.activate()
    _wait(app, lambda: len(lab.paths["main"]) == 41 and not lab.busy, 300)
    rates = sweep(app, ctx, lab, seconds)
    shown = int(lab.count.value())
    lab.shutdown()
    return {"view": "trajectories", **rates, "particles": shown}


def bench_field(app, seconds: float) -> dict[str, object]:  # type: ignore[no-untyped-def]
    ctx, lab = open_lab(app, "field")
    lab.active = True
    painter = Painter(lab)
    t0, c0, k = time.perf_counter(), time.process_time(), 0
    while time.perf_counter() - t0 < seconds:  # compute and draw the field at each new t
        k += 1
        ctx.t = (k % 60) / 59
        lab.refresh_now()
        app.processEvents()
    rates = _rates(min(painter.frames(), k), time.perf_counter() - t0, time.process_time() - c0)
    lab.shutdown()
    return {"view": "field", **rates, "note": "velocity and divergence recomputed every frame"}


def bench_timer_view(app, name: str, seconds: float, settings: dict[str, object]) -> dict[str, object]:  # type: ignore[no-untyped-def]
    ctx, lab = open_lab(app, name)
    if settings:
        lab.configure(**settings)
    lab.activate()
    _wait(app, lambda: False, 1.0)  # let it start (the KFP solver starts in the background)
    painter = Painter(lab)
    t0, c0 = time.perf_counter(), time.process_time()
    k = 0
    while time.perf_counter() - t0 < seconds:
        k += 1
        if name == "kfp":  # the time bar plays while the solver runs
            ctx.set_time((k % 120) / 119)
        app.processEvents()
        time.sleep(0.001)
    rates = _rates(painter.frames(), time.perf_counter() - t0, time.process_time() - c0)
    busy = bool(lab.busy)
    lab.shutdown()
    return {"view": name, **rates, "solver_running": busy, **({"settings": settings} if settings else {})}


def bench_guidance(app, repeats: int = 6) -> dict[str, object]:  # type: ignore[no-untyped-def]
    ctx, lab = open_lab(app, "guidance")
    lab.activate()
    _wait(app, lambda: not lab.busy, 120)
    waits = []
    for k in range(repeats):
        lab.latency_ms = None
        lab.set_guidance(1.0 + k)  # as the slider does
        _wait(app, lambda: lab.latency_ms is not None, 30)
        if lab.latency_ms is not None:
            waits.append(float(lab.latency_ms))
    lab.shutdown()
    return {"view": "guidance", "latency_ms_median": float(np.median(waits)) if waits else None,
            "latency_ms_max": max(waits) if waits else None, "particles": 2000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--views", default="path,trajectories,field,langevin,kfp,guidance")
    ap.add_argument("--particles", type=int, default=100_000, help="for the path, trajectories and Langevin views")
    ap.add_argument("--training", choices=("none", "child", "both"), default="both",
                    help="measure without training, with a DDPM training in the child process, or both")
    args = ap.parse_args()
    from app.application import create_application
    from engine.device import configure_threads

    configure_threads(1)
    app = create_application()
    results = []
    n = args.particles
    runners = {
        "path": lambda: bench_path(app, args.seconds, n),
        "trajectories": lambda: bench_trajectories(app, args.seconds, n),
        "field": lambda: bench_field(app, args.seconds),
        "langevin": lambda: bench_timer_view(app, "langevin", args.seconds,
                                             {"particles": n, "method": "annealed", "start": "noise"}),
        "kfp": lambda: bench_timer_view(app, "kfp", args.seconds, {}),
        "guidance": lambda: bench_guidance(app),
    }
    modes = {"none": [False], "child": [True], "both": [False, True]}[args.training]
    for name in args.views.split(","):
        for training in modes:
            trainer = Training(app) if training else None
            r = runners[name.strip()]()
            r.update(trainer.close() if trainer else {"training": None})
            r["loadavg_1min"] = os.getloadavg()[0]
            print(json.dumps(r), flush=True)
            results.append(r)
    summary = {f"{r['view']}{' +training' if r['training'] else ''}":
               r.get("frames_per_s", r.get("latency_ms_median")) for r in results}
    print(json.dumps({"summary": summary, "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
