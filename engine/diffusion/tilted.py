r"""The naive target of guidance, p(x) p(y | x)^γ / Z, on a grid.

Guidance follows the score of p_τ(x) p_τ(y | x)^γ at every noise level τ. Tilting the data's
density instead, p(x) p(y | x)^γ, is the tempting guess of where guided samples go; they go
there only at γ = 0 (p(x)) and γ = 1 (p(x | y)), because noising and tilting do not commute.
The target is exact where the density has closed forms for p(x) and p(y | x)
(:func:`exact_tilted`), else estimated from a histogram of p(x) and a model's noisy classifier at
its least noisy level (:func:`estimated_tilted`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..densities import Box, Density, grid_points
from .model import DiffusionModel

__all__ = ["LOG_FLOOR", "TiltedTarget", "estimated_tilted", "exact_tilted", "floor_log"]

LOG_FLOOR = -30.0  # log p(y | x) where a class is impossible: keeps γ < 0 and γ = 0 finite


@dataclass(frozen=True)
class TiltedTarget:
    """log p(x) (G, G) and log p(y | x) (C, G, G) on the grid of ``box``; ``source`` says where they come from."""

    log_px: np.ndarray
    log_py: np.ndarray
    box: Box
    source: str
    exact: bool

    def density(self, label: int, gamma: float) -> np.ndarray:
        """p(x) p(y|x)^γ / Z on the grid, (G, G) float32 (normalised over the box)."""
        log = self.log_px + gamma * self.log_py[label]
        top = np.max(log[np.isfinite(log)]) if np.isfinite(log).any() else 0.0
        p = np.where(np.isfinite(log), np.exp(log - top), 0.0)
        x0, x1, y0, y1 = self.box
        cell = (x1 - x0) * (y1 - y0) / p.size
        return (p / max(p.sum() * cell, 1e-300)).astype(np.float32)


def floor_log(log_py: np.ndarray) -> np.ndarray:
    """log p(y | x) with NaN and −∞ raised to :data:`LOG_FLOOR`."""
    return np.maximum(np.nan_to_num(log_py, nan=LOG_FLOOR, neginf=LOG_FLOOR), LOG_FLOOR)


def exact_tilted(density: Density, box: Box, n: int = 128) -> TiltedTarget | None:
    """The target from the density's closed-form p(x) and p(y | x); None when it has none."""
    if not density.analytic or not density.num_classes:
        return None
    _, _, pts = grid_points(box, n)
    try:
        with torch.no_grad():
            x = torch.from_numpy(pts).double()
            lp, lpy = density.log_prob(x).numpy(), density.class_log_prob(x).numpy()
    except NotImplementedError:
        return None
    return TiltedTarget(lp.reshape(n, n), floor_log(lpy.T.reshape(-1, n, n)), box,
                        "exact: closed-form p(x) and p(y | x)", True)


def estimated_tilted(model: DiffusionModel, px: np.ndarray, box: Box, where: str) -> TiltedTarget | None:
    """The target from a density grid ``px`` (n, n) over ``box`` (``where`` says what it is) and the
    model's noisy classifier at its least noisy level; None without a classifier."""
    if model.classifier is None:
        return None
    n = px.shape[0]
    _, _, pts = grid_points(box, n)
    tau = float(model.process.t_min)
    lpy = np.log(np.maximum(model.class_probs(pts, tau).astype(np.float64), 1e-300)).T.reshape(-1, n, n)
    with np.errstate(divide="ignore"):
        lp = np.log(np.asarray(px, np.float64))
    return TiltedTarget(lp, floor_log(lpy), box, f"estimated: p(x) from a {where}, p(y | x) from the noisy "
                        f"classifier at τ = {tau:.2g}", False)
