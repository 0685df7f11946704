"""What the model view shows of a finished model: samples and its density on the view grid."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from engine.checkpoint import TrainedModel
from engine.densities import Box, grid_points

__all__ = ["Preview", "preview_frames"]

CHUNK_ROWS = 8


@dataclass(frozen=True)
class Preview:
    samples: np.ndarray
    grid: np.ndarray | None
    done: bool = False


def preview_frames(tm: TrainedModel, box: Box, n: int = 2000, grid: int = 96, seed: int = 0) -> Iterator[Preview]:
    """Samples first (fast), then the model density filled in a few rows at a time.

    Yielding between chunks keeps a stop request answered quickly: an exact log-density
    through an ODE solve is the slow part.
    """
    samples = tm.model.sample(n, seed=seed).astype(np.float32)
    yield Preview(samples, None)
    _, _, pts = grid_points(box, grid)
    dens = np.zeros((grid, grid), np.float32)
    for r0 in range(0, grid, CHUNK_ROWS):
        rows = slice(r0, min(grid, r0 + CHUNK_ROWS))
        lp = tm.model.log_prob(pts[rows.start * grid: rows.stop * grid])
        dens[rows] = np.where(np.isfinite(lp), np.exp(np.clip(lp, -50, 50)), 0.0).reshape(-1, grid)
        yield Preview(samples, dens.copy(), done=rows.stop == grid)
