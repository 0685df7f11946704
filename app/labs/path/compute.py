"""What the path lab computes (no Qt): frames of a model's probability path p_t and its particles
(the trajectories lab draws the particles' frames too).

Every frame uses the labs' time t (0 noise, 1 data). For a CNF, p_t is the model's own
density by the instantaneous change of variables, and the particles are carried by its ODE.
For a diffusion model (time τ = 1 − t), p_t is the forward process's exact marginal of the
data, q(x_τ) = ∫ q(x_τ | x_0) p(x_0) dx_0, estimated from many exactly noised samples, and
the particles are the model's reverse sampler: where they go is what the model learned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from engine.api import FLOW_KINDS
from engine.checkpoint import TrainedModel
from engine.densities import Box, Density, histogram_density
from engine.diffusion.model import DiffusionModel
from engine.diffusion.sde import noised_data
from engine.flowmatch.model import SDE_SAMPLER

__all__ = ["PathFrame", "ParticlesFrame", "path_frames", "particle_frames", "diffusion_marginal"]


@dataclass(frozen=True)
class PathFrame:
    t: float
    density: np.ndarray  # (n, n) float32, rows = y


@dataclass(frozen=True)
class ParticlesFrame:
    t: float
    x: np.ndarray  # (n, 2) float32
    log_density: np.ndarray | None = None


def diffusion_marginal(model: DiffusionModel, data: np.ndarray, tau: float, box: Box, n: int,
                       seed: int = 0) -> np.ndarray:
    """Histogram of the forward marginal x_τ = a x_0 + (1 − a) shift + scale · s · ε in model coordinates."""
    x = noised_data(model, data, tau, seed)
    return histogram_density(x.astype(np.float32), box, n, sigma=1.0)


def path_frames(tm: TrainedModel, density: Density, box: Box, times: np.ndarray, n: int = 72) -> Iterator[PathFrame]:
    """p_t on the grid of ``box`` at each of ``times``."""
    if tm.kind in FLOW_KINDS:
        from engine.cnf.views import probability_path

        for f in probability_path(tm.model, box, n, times, solver="rk4", steps=16):  # type: ignore[arg-type]
            yield PathFrame(f.t, np.nan_to_num(f.density).astype(np.float32))
        return
    data = density.sample(150_000, seed=7).x.astype(np.float64)
    for t in times:
        yield PathFrame(float(t), diffusion_marginal(tm.model, data, 1.0 - float(t), box, n))  # type: ignore[arg-type]


def particle_frames(tm: TrainedModel, count: int = 2000, seed: int = 0, solver: str = "rk4",
                    steps: int = 40, sampler: str | None = None, points: np.ndarray | None = None,
                    frames: int = 41) -> Iterator[ParticlesFrame]:
    """Particles from noise (t = 0) to data (t = 1): the CNF's ODE (or a flow-matching model's stochastic
    sampler, ``solver`` sde), or the diffusion model's sampler."""
    if tm.kind == "fm" and solver == SDE_SAMPLER:
        import torch

        from engine.cnf.model import seeded_generator

        gen = seeded_generator(seed)  # the noise, then the kicks: the model's own sample with that seed
        start = torch.as_tensor(np.asarray(points, np.float32)) if points is not None else torch.randn(count, 2,
                                                                                                      generator=gen)
        for t, x in tm.model.sde_states(start, steps, gen):  # type: ignore[attr-defined]
            yield ParticlesFrame(t, x.float().cpu().numpy())
        return
    if tm.kind in FLOW_KINDS:
        from engine.cnf.views import trajectories

        for f in trajectories(tm.model, count, direction="forward", points=points, seed=seed,  # type: ignore[arg-type]
                              solver=solver, steps=steps, frames=frames):
            yield ParticlesFrame(f.t, f.x, f.log_density)
        return
    from engine.diffusion.views import sampling_frames

    model = tm.model
    total = None
    for sf in sampling_frames(model, count, seed=seed, every=1, sampler=sampler, steps=steps if sampler else None):  # type: ignore[arg-type]
        total = total or max(sf.total, 1)
        stride = max(1, total // max(frames - 1, 1))
        if sf.step % stride == 0 or sf.step >= sf.total:
            yield ParticlesFrame(1.0 - sf.tau, sf.x)
