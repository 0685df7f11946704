"""What the KFP lab shows of one frame: three maps on shared, rounded colour scales, and its status line (no Qt)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.sde import Grid, KfpFrame
from engine.sde.kfp import TV_BINS

__all__ = ["HIST_CELLS", "KfpImages", "block_sum", "images", "nice_ceiling", "status_text"]

HIST_CELLS = 64  # the particle histogram is shown on at most 64 x 64 blocks: finer is mostly noise


@dataclass(frozen=True)
class KfpImages:
    """pde (n, n) and hist (m, m): densities on the same scale (0, top); diff (32, 32): grid mass minus
    particle share per block, in % of the mass, on the scale (−limit, limit)."""

    pde: np.ndarray
    hist: np.ndarray
    diff: np.ndarray
    top: float
    limit: float


def nice_ceiling(v: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k at or above v (v > 0): colour scales
    rounded so that they do not change, and redraw their axes, on every frame."""
    k = math.floor(math.log10(v))
    return next(m * 10.0**k for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * 10.0**k >= v * (1 - 1e-12))


def block_sum(a: np.ndarray, m: int) -> np.ndarray:
    """Sum an (n, n) array over m x m equal blocks (n a multiple of m), float64."""
    n = a.shape[0]
    return np.asarray(a, np.float64).reshape(m, n // m, m, n // m).sum((1, 3))


def images(f: KfpFrame, grid: Grid, particles: int) -> KfpImages:
    """The maps of frame ``f`` of a run with ``particles`` particles on ``grid``."""
    m = min(grid.n, HIST_CELLS)
    hist = block_sum(f.hist, m) / particles / (grid.cell_area * (grid.n // m) ** 2)
    mass = block_sum(f.pde, TV_BINS) * grid.cell_area
    diff = 100 * (mass / mass.sum() - block_sum(f.hist, TV_BINS) / particles)
    # at least ~3 sampling standard deviations of the largest block, so noise does not look like error
    limit = nice_ceiling(max(float(np.abs(diff).max()), 300 * math.sqrt(float(mass.max()) / particles)))
    return KfpImages(np.ascontiguousarray(f.pde, np.float32), hist.astype(np.float32), diff.astype(np.float32),
                     nice_ceiling(max(float(f.pde.max()), 1e-12)), limit)


def status_text(f: KfpFrame, t_end: float, done: int, total: int, fps: float = 0.0) -> str:
    """The status line: the time mapping, mass, TV against its floor, solver steps, progress."""
    parts = [f"s = t·T = {f.t:.3g} (T = {t_end:.3g})", f"mass 1 ± {f.mass_error:.1e}",
             f"TV {f.tv:.3f} (noise floor {f.tv_floor:.3f})", f"{f.steps:,} grid steps".replace(",", " ")]
    if done < total:
        parts.append(f"solving: {done}/{total} frames")
    if fps:
        parts.append(f"{fps:.0f} frames/s")
    return " · ".join(parts)
