"""The SDEs the KFP lab can show, each with the density it starts from and how long it runs.

Coordinates are the density's model coordinates. The learned reverse process runs a diffusion
model's reverse-time SDE from its prior; its score is tabulated on a lattice over the box at
a few dozen times and interpolated, because the grid solver evaluates the drift at every cell
face on every step (thousands of steps), and a network there would take minutes. Particles
and grid follow the same tabulated drift, so their comparison stays exact.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from engine.checkpoint import TrainedModel
from engine.densities import Box, Density, grid_points
from engine.densities.analytic import GaussianMixture
from engine.errors import InputError
from engine.sde import SDE, Grid, KfpFrame, Langevin, Reverse, kfp_frames, langevin_for, make_sde, pilot_box

from .fast_mixture import FastMixture

__all__ = ["CHOICES", "Problem", "Progress", "ScoreTable", "Setup", "make_problem", "solve"]

CHOICES: list[tuple[str, str]] = [
    ("ou", "Ornstein–Uhlenbeck"), ("brownian", "Brownian motion"), ("vp", "VP forward diffusion"),
    ("ve", "VE forward diffusion"), ("langevin", "Langevin SDE of p"), ("double-well", "double well"),
    ("reverse", "learned reverse process"), ("custom", "custom formulas"),
]
STOP_NOISE = 0.05  # the reverse process stops at this noise (normalised units): the score is steep below
TABLE_POINTS = 129  # lattice of the tabulated score, per side
TABLE_TIMES = 48
GREEK = {"theta": "θ", "sigma": "σ", "beta_min": "β<sub>min</sub>", "beta_max": "β<sub>max</sub>",
         "sigma_min": "σ<sub>min</sub>", "sigma_max": "σ<sub>max</sub>"}
KEEP = 2000  # particle positions each frame carries, for the dots


@dataclass(frozen=True)
class Problem:
    """An SDE, its start p_0 and its duration T; ``retable(box)`` gives the SDE to solve on that box."""

    key: str
    sde: SDE
    start: Density
    t_end: float
    equation: str
    model: TrainedModel | None = None

    def on_box(self, box: Box) -> Iterator[Progress | SDE]:
        """The SDE to solve on ``box`` (last), after progress reports while a learned score is tabulated."""
        if self.key != "reverse" or self.model is None:
            yield self.sde
            return
        table = ScoreTable(self.model, box, np.linspace(1.0 - self.t_end, 1.0, TABLE_TIMES), fill=False)
        for k in table.filling():
            yield Progress(f"tabulating the learned score: {k}/{TABLE_TIMES} times")
        yield Reverse(forward=self.sde.forward, score=table, t_start=1.0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Progress:
    """A step of the set-up, for the status line."""

    text: str


@dataclass(frozen=True)
class Setup:
    """What a run solves on: the first thing its generator yields."""

    grid: Grid
    times: np.ndarray


@dataclass
class ModelNoising(SDE):
    """A diffusion model's forward SDE in the density's coordinates x = shift + scale·z, where the
    model noises z by dz = f(τ) z dτ + g(τ) dw: so dx = f(τ)(x − shift) dτ + scale·g(τ) dw."""

    model: TrainedModel

    name: ClassVar[str] = "model-noising"

    @functools.lru_cache(maxsize=16)  # noqa: B019 - a few recent times: the solver asks several times per step
    def _coefficients(self, t: float) -> tuple[float, float]:
        m, tau = self.model.model, torch.tensor(float(t), dtype=torch.float64)
        return float(m.process.drift_coef(tau)), float(m.scale) * float(m.process.g2(tau)) ** 0.5

    def drift(self, x: torch.Tensor, t: float) -> torch.Tensor:
        shift = torch.as_tensor(self.model.model.shift, dtype=x.dtype, device=x.device)
        return self._coefficients(float(t))[0] * (x - shift)

    def diffusion(self, t: float) -> float:
        return self._coefficients(float(t))[1]

    __hash__ = object.__hash__  # lru_cache keys on self; the dataclass would make it unhashable


class ScoreTable:
    """s(x, τ) of a model sampled on a lattice over ``box`` at ``taus`` (ascending), interpolated
    linearly in τ and bilinearly in x (constant beyond the box's edge)."""

    def __init__(self, model: TrainedModel, box: Box, taus: np.ndarray, n: int = TABLE_POINTS,
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
            values = self.model.model.score(pts, float(tau)).reshape(self.n, self.n, 2)
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


def _model_score(model: TrainedModel):  # type: ignore[no-untyped-def]
    return lambda x, tau: torch.from_numpy(model.model.score(x.cpu().numpy(), float(tau))).to(x)


def _reverse(model: TrainedModel | None) -> Problem:
    if model is None or model.kind not in ("ddpm", "ncsn"):
        raise InputError("the learned reverse process needs a diffusion model (DDPM or NCSN): train one first")
    m = model.model
    taus = torch.linspace(0.0, 1.0, 2001, dtype=torch.float64)
    noise = m.process.noise(taus).numpy()
    tau_stop = float(taus[int(np.searchsorted(noise, STOP_NOISE))]) if noise[-1] > STOP_NOISE else 0.0
    prior = GaussianMixture("prior", "the model's prior", means=[list(m.shift)],
                            stds=float(m.scale) * float(m.process.prior_std), labelled=False)
    forward = ModelNoising(model)
    sde = Reverse(forward=forward, score=_model_score(model), t_start=1.0)
    return Problem("reverse", sde, prior, 1.0 - tau_stop, "dx = [g² s<sub>θ</sub>(x, τ) − f(x, τ)] ds + g dw, "
                   "τ = 1 − s", model)


def _langevin(density: Density) -> SDE:
    langevin_for(density)  # says why when p has no usable closed-form score
    return Langevin(FastMixture(density).score) if isinstance(density, GaussianMixture) else langevin_for(density)


def make_problem(key: str, density: Density, model: TrainedModel | None = None,
                 formulas: dict[str, str] | None = None) -> Problem:
    """The problem for a choice of :data:`CHOICES`; InputError (a readable sentence) when it cannot be set up."""
    if key == "reverse":
        return _reverse(model)
    if key == "langevin":
        sde = _langevin(density)
    elif key == "custom":
        sde = make_sde("custom", **(formulas or {}))
    else:
        sde = make_sde(key)
    if key == "custom" and formulas:
        equation = f"f = ({formulas['drift_x']}, {formulas['drift_y']}), g = {formulas['diffusion']}"
    else:
        equation = f"{sde.equation}{_parameters(sde)}"
    return Problem(key, sde, density, float(sde.default_t_end()), equation)


def _parameters(sde: SDE) -> str:
    """ "  (θ = 1, σ = 1)": the numbers an SDE was built with, for the equation line."""
    if not dataclasses.is_dataclass(sde):
        return ""
    values = [(f.name, getattr(sde, f.name)) for f in dataclasses.fields(sde)]
    text = ", ".join(f"{GREEK.get(k, k)} = {v:g}" for k, v in values if isinstance(v, (int, float)))
    return f" &nbsp; ({text})" if text else ""


def solve(problem: Problem, n: int, particles: int, frames: int,
          seed: int = 0) -> Iterator[Progress | Setup | KfpFrame]:
    """Progress reports, a Setup, then the paired grid/particle frames at ``frames`` times from 0 to T."""
    yield Progress("finding a box that holds the particles at all times")
    box = pilot_box(problem.sde, problem.start, problem.t_end, seed)
    sde = problem.sde
    for item in problem.on_box(box):
        if isinstance(item, Progress):
            yield item
        else:
            sde = item
    grid = Grid(box, n)
    times = np.linspace(0.0, problem.t_end, frames)
    yield Setup(grid, times)
    yield from kfp_frames(sde, problem.start, grid, times, particles, seed, keep=KEEP)
