"""One point's story in the trajectories lab: its path, log p_t along it, or an SDE fan from it."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch

from engine.api import FLOW_KINDS

from ..worker import GeneratorWorker
from .context import LabContext

__all__ = ["TrajectoryProbe", "cnf_probe", "diffusion_fan"]

TIMES = np.linspace(0.0, 1.0, 41)
FAN = 24


def cnf_probe(model: object, x: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ODE path through x at time t: positions (K, 2), log p_t(z(t)) (K,), log p_t(x) at the fixed x (K,)."""
    from engine.cnf.views import trajectories

    z = model.as_input(torch.as_tensor(x, dtype=torch.float32).reshape(1, 2))  # type: ignore[attr-defined]
    z0 = model.flow(z, t0=t, t1=0.0, solver="rk4", steps=64)  # type: ignore[attr-defined]
    frames = list(trajectories(model, points=z0.detach().cpu().numpy(), direction="forward", solver="rk4",  # type: ignore[arg-type]
                               steps=len(TIMES) - 1))
    path = np.stack([f.x[0] for f in frames])
    along = np.array([f.log_density[0] for f in frames])
    with torch.no_grad():
        fixed = np.array([float(model.log_prob_at(z, float(s), solver="rk4", steps=16)[0]) for s in TIMES])  # type: ignore[attr-defined]
    return path, along, fixed


def diffusion_fan(model: object, x: np.ndarray, sampler: str, seed: int = 0) -> np.ndarray:
    """Paths (K, n, 2) of the reverse process started at x (as noise at t = 0)."""
    from engine.diffusion.samplers import run_sampler

    n = FAN if sampler != "ode" else 1
    z = model.to_z(np.repeat(np.asarray(x, np.float64).reshape(1, 2), n, 0))  # type: ignore[attr-defined]
    gen = torch.Generator().manual_seed(seed)
    eps, options = model.sampler_setup(sampler, None, None, None, {})  # type: ignore[attr-defined]
    frames = run_sampler(sampler, eps, model.process, z.float(), None, gen, True, **options)  # type: ignore[attr-defined]
    xs = [model.from_z(z.float())] + [model.from_z(f.x) for f in frames]  # type: ignore[attr-defined]
    return np.stack(xs)


class TrajectoryProbe:
    """A chart of log-density against t and an overlay of the traced path(s) on the plot."""

    def __init__(self, ctx: LabContext, plot: pg.PlotItem) -> None:
        self.ctx = ctx
        self.chart = pg.PlotWidget(title="log-density along a path")
        self.chart.setLabel("bottom", "t")
        self.chart.addLegend(offset=(10, 10))
        # no grid: an axis with grid lines is replayed on every repaint of the moving time cursor
        self.along = self.chart.plot(pen=pg.mkPen("#E69F00", width=3), name="log p_t(z(t)): moving particle")
        self.fixed = self.chart.plot(pen=pg.mkPen("#56B4E9", width=3), name="log p_t(z): fixed place")
        self.now = pg.InfiniteLine(angle=90, pen=pg.mkPen("#AAAAAA", width=1))
        self.chart.addItem(self.now)
        self.path = pg.PlotCurveItem(pen=pg.mkPen("#FFFFFF", width=3), connect="finite")
        self.fan = pg.PlotCurveItem(pen=pg.mkPen((255, 255, 255, 90), width=1.2), connect="finite")
        self.marker = pg.ScatterPlotItem(size=14, pen=pg.mkPen("#000000", width=2), brush=pg.mkBrush("#FFFFFF"))
        for item in (self.fan, self.path, self.marker):
            plot.addItem(item)
        self.worker: GeneratorWorker | None = None
        self.sampler = "ancestral"

    def reset(self) -> None:
        self._stop()
        for c in (self.along, self.fixed, self.path, self.fan):
            c.setData([], [])
        self.marker.clear()

    def trace(self, x: float, y: float) -> None:
        tm = self.ctx.trained
        if tm is None:
            return
        self.reset()
        point, t = np.array([x, y]), self.ctx.t
        self.marker.setData([x], [y])
        if tm.kind in FLOW_KINDS:
            job = lambda: iter([("cnf", cnf_probe(tm.model, point, t))])  # noqa: E731
        else:
            job = lambda: iter([("fan", diffusion_fan(tm.model, point, "ancestral")),  # noqa: E731
                                ("ode", diffusion_fan(tm.model, point, "ode"))])
        self.worker = GeneratorWorker(job, min_interval=0.0)
        self.worker.yielded.connect(self._on_result)
        self.worker.start()

    def show_time(self, t: float) -> None:
        self.now.setValue(t)

    def _on_result(self, item: tuple[str, object]) -> None:
        kind, data = item
        if kind == "cnf":
            path, along, fixed = data  # type: ignore[misc]
            self.path.setData(path[:, 0], path[:, 1])
            self.along.setData(TIMES, along)
            self.fixed.setData(TIMES, fixed)
        elif kind == "fan":
            fan = np.concatenate([data.transpose(1, 0, 2), np.full((data.shape[1], 1, 2), np.nan)], 1)  # type: ignore[union-attr]
            fan = fan.reshape(-1, 2)
            self.fan.setData(fan[:, 0], fan[:, 1])
        else:
            self.path.setData(data[:, 0, 0], data[:, 0, 1])  # type: ignore[index]

    def _stop(self) -> None:
        if self.worker is not None:
            self.worker.shutdown(10_000)
            self.worker = None
