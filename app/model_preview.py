"""What the model view shows of a finished model: samples and its density on the view grid."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from engine.checkpoint import TrainedModel
from engine.densities import Box, grid_points

__all__ = ["Preview", "preview_frames"]


@dataclass(frozen=True)
class Preview:
    samples: np.ndarray
    grid: np.ndarray | None


def preview_frames(tm: TrainedModel, box: Box, n: int = 2000, grid: int = 96, seed: int = 0) -> Iterator[Preview]:
    """Samples first (fast), then the same with the model's density on a grid (slower)."""
    samples = tm.model.sample(n, seed=seed).astype(np.float32)
    yield Preview(samples, None)
    _, _, pts = grid_points(box, grid)
    lp = tm.model.log_prob(pts)
    dens = np.exp(np.clip(lp, -50, 50)).reshape(grid, grid).astype(np.float32)
    yield Preview(samples, np.where(np.isfinite(dens), dens, 0.0).astype(np.float32))
