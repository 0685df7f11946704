r"""A diffusion model in the density's own coordinates, as the SDE solvers of :mod:`engine.sde` see it.

A model noises its normalised coordinates z = (x − shift)/scale by dz = f(τ) z dτ + g(τ) dw,
so that q(z_τ | z_0) = N(a(τ) z_0, s(τ)² I). In the density's coordinates x the same process is
dx = f(τ)(x − shift) dτ + scale·g(τ) dw (:class:`ModelNoising`), and its marginal is
x_τ = a x_0 + (1 − a) shift + scale·s·ε (:func:`noised_data`).

The grid solver of the Fokker–Planck equation evaluates the drift at every cell face on every
step (thousands of steps): a network there would take minutes, so :class:`ScoreTable` samples a
model's score on a lattice at a few dozen times and interpolates it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from ..densities import Box, grid_points
from ..sde import SDE
from .model import DiffusionModel
from .schedules import NoiseProcess

__all__ = ["ModelNoising", "ScoreTable", "noised_data", "time_at_noise"]

TIME_GRID = 2001  # times τ searched by time_at_noise


def time_at_noise(process: NoiseProcess, level: float) -> float:
    """The first τ of a grid of 2001 times in [0, 1] where the noise s(τ) reaches ``level``
    (normalised units; s increases with τ); 0 when the process never gets that noisy."""
    taus = torch.linspace(0.0, 1.0, TIME_GRID, dtype=torch.float64)
    noise = process.noise(taus).numpy()
    if noise[-1] <= level:
        return 0.0
    return float(taus[int(np.searchsorted(noise, level))])


def noised_data(model: DiffusionModel, data: np.ndarray, tau: float, seed: int = 0) -> np.ndarray:
    """Samples x_τ = a x_0 + (1 − a) shift + scale·s·ε of the forward marginal at τ, in the data's coordinates."""
    a, s = (float(v) for v in model.process.marginal(torch.tensor(float(tau), dtype=torch.float64)))
    shift, scale = np.asarray(model.shift), float(model.scale)
    eps = np.random.default_rng(seed).standard_normal(data.shape)
    out: np.ndarray = a * data + (1 - a) * shift + scale * s * eps
    return out


@dataclass
class ModelNoising(SDE):
    """A diffusion model's forward SDE in the density's coordinates x = shift + scale·z, where the
    model noises z by dz = f(τ) z dτ + g(τ) dw: so dx = f(τ)(x − shift) dτ + scale·g(τ) dw."""

    model: DiffusionModel

    name: ClassVar[str] = "model-noising"

    @functools.lru_cache(maxsize=16)  # noqa: B019 - a few recent times: the solver asks several times per step
    def _coefficients(self, t: float) -> tuple[float, float]:
        m, tau = self.model, torch.tensor(float(t), dtype=torch.float64)
        return float(m.process.drift_coef(tau)), float(m.scale) * float(m.process.g2(tau)) ** 0.5

    def drift(self, x: torch.Tensor, t: float) -> torch.Tensor:
        shift = torch.as_tensor(self.model.shift, dtype=x.dtype, device=x.device)
        return self._coefficients(float(t))[0] * (x - shift)

    def diffusion(self, t: float) -> float:
        return self._coefficients(float(t))[1]

    __hash__ = object.__hash__  # lru_cache keys on self; the dataclass would make it unhashable


class ScoreTable:
    """s(x, τ) of a model sampled on a lattice over ``box`` at ``taus`` (ascending), interpolated
    linearly in τ and bilinearly in x (constant beyond the box's edge)."""

    def __init__(self, model: DiffusionModel, box: Box, taus: np.ndarray, n: int = 129,
                 fill: bool = True) -> None:
        self.model, self.box, self.n = model, box, n
        self.taus = np.asarray(taus, np.float64)
        self.table = torch.zeros(len(self.taus), 2, n, n)  # (K, 2, n, n): component, y, x
        self._lo = torch.tensor([box[0], box[2]], dtype=torch.float32)
        self._span = torch.tensor([box[1] - box[0], box[3] - box[2]], dtype=torch.float32)
        # the grid solver asks at its two fixed sets of cell faces, both at each step's time
        self._field: tuple[float, torch.Tensor] | None = None
        self._where: list[tuple[torch.Tensor, int, torch.Tensor]] = []
        if fill:
            for _ in self.filling():
                pass

    def filling(self) -> Iterator[int]:
        """Evaluate the model at each time in turn, yielding how many are done (a worker can stop between)."""
        _, _, pts = grid_points(self.box, self.n)
        for k, tau in enumerate(self.taus):
            values = self.model.score(pts, float(tau)).reshape(self.n, self.n, 2)
            self.table[k] = torch.from_numpy(values).permute(2, 0, 1)
            yield k + 1

    def _at_time(self, tau: float) -> torch.Tensor:
        if self._field is None or self._field[0] != tau:
            k = int(np.clip(np.searchsorted(self.taus, tau) - 1, 0, len(self.taus) - 2))
            w = float(np.clip((tau - self.taus[k]) / (self.taus[k + 1] - self.taus[k]), 0.0, 1.0))
            self._field = (tau, torch.lerp(self.table[k], self.table[k + 1], w)[None])
        return self._field[1]

    def _lattice_coords(self, x: torch.Tensor) -> torch.Tensor:
        """x in grid_sample's −1 … 1 (lattice points are cell centres: align_corners), (1, 1, n, 2)."""
        for known, version, u in self._where:
            if known is x and version == x._version:  # the same points, not changed in place since
                return u
        n = self.table.shape[-1]
        u = (((x.float() - self._lo) / self._span * n - 0.5) / (n - 1) * 2 - 1)[None, None]
        self._where = [*self._where[-1:], (x, x._version, u)]
        return u

    def __call__(self, x: torch.Tensor, tau: float) -> torch.Tensor:
        out = F.grid_sample(self._at_time(float(tau)), self._lattice_coords(x), mode="bilinear",
                            padding_mode="border", align_corners=True)
        return out[0, :, 0].T.to(x.dtype)
