r"""What the views draw, as frozen snapshots of float32 numpy arrays in model coordinates.

* :func:`sampling_frames` — the reverse process particle by particle: x_t and the
  predicted clean x̂_0 after every step of any sampler, with any guidance.
* :func:`noising_frames` — the forward process: the chain x_t = √(1−β_t) x_{t−1} + √β_t z
  (or σ levels for NCSN) carried from data to noise.
* :func:`field` / :func:`fields` — the ε or score field on a grid at any time τ.
* :func:`classifier_map` — the noisy classifier's p(y | x_τ) on a grid.

Grids follow :mod:`engine.densities.base`: ``grid[i, j]`` is row i (y, bottom to top),
column j (x, left to right) of the box.

References:
    | Ho et al. (2020); Song et al. (2021); Dhariwal & Nichol (2021): see the package docstring.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..densities import Box, grid_points
from ..errors import InputError
from .ddpm import pick_levels
from .model import DiffusionModel
from .samplers import count_frames, run_sampler

__all__ = [
    "SamplingFrame",
    "NoisingFrame",
    "FieldFrame",
    "ClassMap",
    "sampling_frames",
    "noising_frames",
    "field",
    "fields",
    "classifier_map",
]


@dataclass(frozen=True)
class SamplingFrame:
    """One reverse step. x, x0: (n, 2) float32 (x0 is x̂_0, clipped to 3 boxes around the view).

    step runs 0 (pure noise) … total; tau is the time just left; noise_std is s(τ) in model units.
    """

    step: int
    total: int
    tau: float
    noise_std: float
    x: np.ndarray
    x0: np.ndarray


@dataclass(frozen=True)
class NoisingFrame:
    """One forward level: level t (0 = data), its time τ, and the noised points x (n, 2) float32."""

    level: int
    tau: float
    noise_std: float
    x: np.ndarray


@dataclass(frozen=True)
class FieldFrame:
    """A vector field on a grid: xs (G,), ys (G,), vectors (G, G, 2) float32; kind ``score`` or ``eps``."""

    tau: float
    kind: str
    xs: np.ndarray
    ys: np.ndarray
    vectors: np.ndarray


@dataclass(frozen=True)
class ClassMap:
    """p(y | x_τ) on a grid: probs (C, G, G) float32, rows = y."""

    tau: float
    xs: np.ndarray
    ys: np.ndarray
    probs: np.ndarray


def _box(model: DiffusionModel, box: Box | None) -> Box:
    return box or tuple(model.config.get("box", (-4.0, 4.0, -4.0, 4.0)))


def _noise_std(model: DiffusionModel, tau: float) -> float:
    return float(model.process.noise(torch.tensor(tau, dtype=torch.float64))) * model.scale


def _clip(x: np.ndarray, box: Box) -> np.ndarray:
    x0, x1, y0, y1 = box
    wx, wy = x1 - x0, y1 - y0  # x̂_0 of the first steps can be far off: keep it drawable
    return np.stack([np.clip(x[:, 0], x0 - wx, x1 + wx), np.clip(x[:, 1], y0 - wy, y1 + wy)], 1).astype(np.float32)


def sampling_frames(model: DiffusionModel, n: int, *, seed: int = 0, every: int = 1, box: Box | None = None,
                    sampler: str | None = None, steps: int | None = None, label: int | None = None,
                    guidance: float | None = None, guidance_kind: str | None = None,
                    **sampler_options: Any) -> Iterator[SamplingFrame]:
    """Frames of the reverse process: the starting noise (step 0, x0 = x), then every ``every`` steps and the last.

    The options are those of :meth:`DiffusionModel.sample`; generating lazily lets a
    worker pause, resume or stop between frames.
    """
    if every < 1:
        raise InputError(f"'every' must be a positive number of steps, not {every}")
    name = sampler or model.default_sampler
    eps, options = model.sampler_setup(name, label, guidance, guidance_kind, sampler_options)
    total = count_frames(name, model.process, steps, options)
    view = _box(model, box)
    x, gen = model.initial_noise(n, seed)
    start = model.from_z(x)
    yield SamplingFrame(0, total, 1.0, _noise_std(model, 1.0), start, _clip(start, view))
    for frame in run_sampler(name, eps, model.process, x, steps, gen, True, **options):
        if frame.step % every == 0 or frame.step >= total:
            x0 = frame.x if frame.x0 is None else frame.x0
            yield SamplingFrame(frame.step, total, frame.tau, _noise_std(model, frame.tau), model.from_z(frame.x),
                                _clip(model.from_z(x0), view))


def noising_frames(model: DiffusionModel, x0: np.ndarray, *, seed: int = 0, every: int = 1,
                   levels: int | None = None) -> Iterator[NoisingFrame]:
    """The forward chain from data points x0 (n, 2) (model coordinates) to noise, level by level.

    Each step applies q(x_t | x_p) = N(α_{t|p} x_p, (s_t² − α_{t|p}² s_p²) I) between consecutive
    chosen levels, so every frame has exactly the closed-form marginal q(x_t | x_0); with
    ``levels`` fewer than the model's, the chain is respaced.
    """
    proc = model.process
    chosen = pick_levels(proc.num_levels, levels or proc.num_levels).flip(0).tolist()
    gen = torch.Generator().manual_seed(int(seed))
    z = model.to_z(x0).double()
    a_p, s_p = 1.0, 0.0
    yield NoisingFrame(0, 0.0, 0.0, np.array(x0, np.float32))
    for i, t in enumerate(chosen, start=1):
        tau = proc.level_time(t)
        a_t, s_t = (float(v) for v in proc.marginal(tau))
        alpha = a_t / a_p
        var = max(s_t**2 - alpha**2 * s_p**2, 0.0)
        z = alpha * z + var**0.5 * torch.randn(z.shape, generator=gen, dtype=torch.float64).to(z.device)
        a_p, s_p = a_t, s_t
        if i % every == 0 or i == len(chosen):
            yield NoisingFrame(int(t), float(tau), s_t * model.scale, model.from_z(z))


def field(model: DiffusionModel, tau: float, *, kind: str = "score", grid: int = 32, box: Box | None = None,
          label: int | None = None, guidance: float | None = None, guidance_kind: str | None = None) -> FieldFrame:
    """The (guided) score ∇ log p_τ (model units) or ε̂ on a grid x grid lattice at time τ."""
    if kind not in ("score", "eps"):
        raise InputError(f"unknown field '{kind}'; choose score or eps")
    xs, ys, pts = grid_points(_box(model, box), grid)
    fn = model.score if kind == "score" else model.eps
    vectors = fn(pts, tau, label=label, guidance=guidance, guidance_kind=guidance_kind)
    return FieldFrame(float(tau), kind, xs, ys, vectors.reshape(grid, grid, 2).astype(np.float32))


def fields(model: DiffusionModel, taus: Iterable[float], **options: Any) -> Iterator[FieldFrame]:
    """:func:`field` at each time of ``taus`` in turn (options as for :func:`field`)."""
    for tau in taus:
        yield field(model, float(tau), **options)


def classifier_map(model: DiffusionModel, tau: float, *, grid: int = 64, box: Box | None = None) -> ClassMap:
    """The noisy classifier's p(y | x_τ) on a grid x grid lattice, (C, G, G)."""
    xs, ys, pts = grid_points(_box(model, box), grid)
    probs = model.class_probs(pts, tau)
    return ClassMap(float(tau), xs, ys, np.ascontiguousarray(probs.T.reshape(-1, grid, grid), np.float32))
