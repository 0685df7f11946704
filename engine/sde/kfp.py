"""A density under an SDE computed two ways, side by side: the Fokker–Planck grid solution
and the histogram of Euler–Maruyama particles (``flowscope kfp`` and the KFP lab).

>>> from engine.densities import get_density
>>> from engine.sde import make_sde
>>> density, sde = get_density("8gaussians"), make_sde("ou")
>>> grid = Grid(pilot_box(sde, density, 0.5), 48)
>>> frames = list(kfp_frames(sde, density, grid, [0.0, 0.5], particles=2000))
>>> frames[-1].pde.shape, frames[-1].hist.shape, frames[-1].particles.shape
((48, 48), (48, 48), (2000, 2))
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..densities import Box, Density
from ..errors import InputError
from .fokker_planck import FokkerPlanck
from .grid import Grid, covering_box, initial_density
from .sdes import SDE
from .simulate import euler_maruyama

__all__ = ["TV_BINS", "KfpFrame", "em_step", "kfp_frames", "pilot_box", "total_variation"]

TV_BINS = 32


@dataclass(frozen=True)
class KfpFrame:
    """One time of the comparison.

    Attributes:
        t: the time.  steps: grid-solver steps so far.
        pde: the grid density (n, n) float32, normalised so pde.sum() ΔxΔy = 1 (grid convention).
        hist: particles per cell (n, n) int32 on the same grid.
        particles: positions of a fixed subsample of the particles (m, 2) float32.
        mass_error: |Σ p ΔxΔy − 1| of the solver's own state, before normalising.
        tv: total variation between the grid's masses and the particles' shares in
            :data:`TV_BINS` x :data:`TV_BINS` blocks of cells (on single cells the particles'
            counting noise would swamp it), particles outside the box counting as one more block.
        tv_floor: the same figure for an exact sample of as many points from the grid density:
            grid and particles agree when ``tv`` is close to it.
    """

    t: float
    steps: int
    pde: np.ndarray
    hist: np.ndarray
    particles: np.ndarray
    mass_error: float
    tv: float
    tv_floor: float


def em_step(t_end: float) -> float:
    """Euler–Maruyama step for a run to ``t_end``: 500 steps, none longer than 0.005."""
    return min(t_end / 500, 0.005)


def pilot_box(sde: SDE, density: Density, t_end: float, seed: int = 0, n: int = 2000,
              device: torch.device | str | None = None) -> Box:
    """A square box holding the density's own box and a pilot cloud of ``n`` particles at all times."""
    if not (np.isfinite(t_end) and t_end > 0):
        raise InputError(f"the end time must be a positive number, not {t_end}")
    times = np.linspace(0.0, t_end, 21)
    frames = euler_maruyama(sde, density.sample(n, seed=seed + 7919).x, times, em_step(t_end), seed + 7919,
                            device=device)
    return covering_box(np.stack([f.x for f in frames]), density.box, pad=0.1)


def _blocks(n: int, bins: int) -> np.ndarray:
    """(bins, n) 0/1 matrix summing n cells into ``bins`` blocks (A @ m @ A.T)."""
    a = np.zeros((bins, n))
    a[(np.arange(n) * bins) // n, np.arange(n)] = 1.0
    return a


def total_variation(p: np.ndarray, counts: np.ndarray, total: int, grid: Grid, bins: int = TV_BINS) -> float:
    """½ Σ |P_block − N_block/N| over ``bins`` x ``bins`` blocks of cells, plus ½ the share of
    particles outside the box (``total`` particles in all)."""
    a = _blocks(grid.n, min(bins, grid.n))
    mass = a @ np.asarray(p, np.float64) @ a.T
    mass /= mass.sum()
    share = a @ counts.astype(np.float64) @ a.T / max(total, 1)
    outside = 1.0 - share.sum()
    return float(0.5 * (np.abs(mass - share).sum() + abs(outside)))


def _tv_floor(p: np.ndarray, total: int, grid: Grid, rng: np.random.Generator) -> float:
    """TV of an exact sample of ``total`` points drawn from the grid density itself."""
    mass = np.asarray(p, np.float64).ravel()
    counts = rng.multinomial(total, mass / mass.sum()).reshape(grid.n, grid.n)
    return total_variation(p, counts, total, grid)


def kfp_frames(sde: SDE, density: Density, grid: Grid, times: Sequence[float] | np.ndarray, particles: int = 20000,
               seed: int = 0, device: torch.device | str = "cpu", keep: int | None = None,
               limiter: str = "mc") -> Iterator[KfpFrame]:
    """Evolve p_0 = ``density`` on ``grid`` and ``particles`` samples of it; yield both at each time.

    Arguments:
        keep: how many particle positions each frame carries (default all).
    """
    if particles < 1:
        raise InputError(f"the number of particles must be positive, not {particles}")
    x0 = density.sample(particles, seed=seed).x
    solver = FokkerPlanck(sde, grid, limiter=limiter, device=device)
    t_end = float(times[-1]) if len(times) else 0.0
    pde = solver.solve(initial_density(density, grid), times)
    cloud = euler_maruyama(sde, x0, times, em_step(t_end) if t_end > 0 else 1.0, seed, device=device)
    m = particles if keep is None else min(keep, particles)
    rng = np.random.default_rng(seed + 104729)
    for fp, fx in zip(pde, cloud):
        counts = grid.counts(fx.x)
        yield KfpFrame(fp.t, fp.steps, grid.normalise(fp.p), counts, fx.x[:m].copy(), abs(fp.mass - 1.0),
                       total_variation(fp.p, counts, particles, grid), _tv_floor(fp.p, particles, grid, rng))
