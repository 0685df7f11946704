"""The uniform grid on which densities evolve, in the project's grid convention.

``p[i, j]`` is the density at the centre of cell row ``i`` (y, bottom to top) and column
``j`` (x, left to right) of ``n x n`` cells over ``box = (x_min, x_max, y_min, y_max)``;
a density on the grid is normalised when ``p.sum() * dx * dy == 1``.

>>> g = Grid((-1.0, 1.0, -1.0, 1.0), 4)
>>> g.dx, g.cell_area
(0.5, 0.25)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..densities import Box, Density, grid_points
from ..errors import InputError

__all__ = ["Grid", "initial_density", "covering_box"]


@dataclass(frozen=True)
class Grid:
    """``n x n`` cells over ``box``.

    Arguments:
        box: (x_min, x_max, y_min, y_max).
        n: cells per side.
    """

    box: Box
    n: int

    def __post_init__(self) -> None:
        x0, x1, y0, y1 = self.box
        if not all(math.isfinite(v) for v in self.box) or not (x1 > x0 and y1 > y0):
            raise InputError(f"a grid box needs finite x_min < x_max and y_min < y_max, not {self.box}")
        if not 4 <= self.n <= 4096:
            raise InputError(f"a grid needs between 4 and 4096 cells per side, not {self.n}")

    @property
    def dx(self) -> float:
        return (self.box[1] - self.box[0]) / self.n

    @property
    def dy(self) -> float:
        return (self.box[3] - self.box[2]) / self.n

    @property
    def cell_area(self) -> float:
        return self.dx * self.dy

    def centres(self) -> np.ndarray:
        """Cell centres, (n*n, 2) float32, row-major in y (reshape values to (n, n))."""
        return grid_points(self.box, self.n)[2]

    def x_faces(self) -> np.ndarray:
        """Centres of the interior faces between horizontal neighbours, (n, n-1, 2) float64."""
        x0, _, y0, _ = self.box
        xs = x0 + np.arange(1, self.n) * self.dx
        ys = y0 + (np.arange(self.n) + 0.5) * self.dy
        gx, gy = np.meshgrid(xs, ys)
        return np.stack([gx, gy], -1)

    def y_faces(self) -> np.ndarray:
        """Centres of the interior faces between vertical neighbours, (n-1, n, 2) float64."""
        x0, _, y0, _ = self.box
        xs = x0 + (np.arange(self.n) + 0.5) * self.dx
        ys = y0 + np.arange(1, self.n) * self.dy
        gx, gy = np.meshgrid(xs, ys)
        return np.stack([gx, gy], -1)

    def mass(self, p: np.ndarray | torch.Tensor) -> float:
        """Σ p ΔxΔy, summed in float64."""
        total = p.double().sum().item() if isinstance(p, torch.Tensor) else float(np.sum(p, dtype=np.float64))
        return total * self.cell_area

    def normalise(self, p: np.ndarray) -> np.ndarray:
        """``p`` scaled to unit mass, float32."""
        m = self.mass(p)
        if not (m > 0 and math.isfinite(m)):
            raise InputError("the density has no mass on this grid (is the box far from the data?)")
        return (np.asarray(p, np.float64) / m).astype(np.float32)

    def moments(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean (2,) and covariance (2, 2) of the normalised grid density, by the midpoint rule."""
        w = np.asarray(p, np.float64).ravel()
        w = w / w.sum()
        c = self.centres().astype(np.float64)
        mean = w @ c
        d = c - mean
        return mean, (d * w[:, None]).T @ d

    def counts(self, x: np.ndarray) -> np.ndarray:
        """Particles per cell, (n, n) int32; points outside the box are not counted."""
        x0, x1, y0, y1 = self.box
        h, _, _ = np.histogram2d(x[:, 1], x[:, 0], bins=self.n, range=[[y0, y1], [x0, x1]])
        return h.astype(np.int32)


def initial_density(density: Density, grid: Grid) -> np.ndarray:
    """p_0 on the grid, normalised: the log-density at cell centres when it has a closed form,
    else a smoothed histogram of many samples."""
    if density.analytic:
        with torch.no_grad():
            lp = density.log_prob(torch.from_numpy(grid.centres()).double()).numpy()
        top = np.max(lp)
        if not np.isfinite(top):
            raise InputError(f"density '{density.name}' has no mass in the box {grid.box}")
        p = np.exp(lp - top).reshape(grid.n, grid.n)  # shifted: far-away boxes would underflow
    else:
        p = density.density_grid(grid.n, grid.box)
    return grid.normalise(p)


def covering_box(points: np.ndarray, box: Box, pad: float = 0.05) -> Box:
    """The smallest square box that holds ``box`` and every point, padded by ``pad`` of its side."""
    if not np.all(np.isfinite(points)):
        raise InputError("the particles left the finite numbers, so no box can hold them")
    x0 = min(box[0], float(points[..., 0].min(initial=np.inf)))
    x1 = max(box[1], float(points[..., 0].max(initial=-np.inf)))
    y0 = min(box[2], float(points[..., 1].min(initial=np.inf)))
    y1 = max(box[3], float(points[..., 1].max(initial=-np.inf)))
    half = 0.5 * max(x1 - x0, y1 - y0) * (1 + 2 * pad)
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    return (cx - half, cx + half, cy - half, cy + half)
