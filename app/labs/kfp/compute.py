"""What the KFP lab computes (no Qt): the SDEs it can show, each with the density it starts from and
how long it runs, their solution, and the maps and status line of one frame.

Coordinates are the density's model coordinates. The learned reverse process runs a diffusion
model's reverse-time SDE from its prior; its score is tabulated on a lattice over the box at
a few dozen times and interpolated (engine.diffusion.sde.ScoreTable), because the grid solver
evaluates the drift at every cell face on every step. Particles and grid follow the same
tabulated drift, so their comparison stays exact.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch

from engine.api import FLOW_KINDS
from engine.checkpoint import TrainedModel
from engine.cnf import CNF
from engine.densities import Box, Density
from engine.densities.analytic import GaussianMixture
from engine.diffusion.model import DiffusionModel
from engine.diffusion.sde import ModelNoising, ScoreTable, time_at_noise
from engine.errors import InputError
from engine.sde import SDE, Grid, KfpFrame, Langevin, Reverse, kfp_frames, langevin_for, make_sde, pilot_box
from engine.sde.kfp import TV_BINS

__all__ = ["CHOICES", "HIST_CELLS", "KfpImages", "Problem", "Progress", "Setup", "block_sum", "images",
           "make_problem", "nice_ceiling", "solve", "status_text"]

CHOICES: list[tuple[str, str]] = [
    ("ou", "Ornstein–Uhlenbeck"), ("brownian", "Brownian motion"), ("vp", "VP forward diffusion"),
    ("ve", "VE forward diffusion"), ("langevin", "Langevin SDE of p"), ("double-well", "double well"),
    ("reverse", "learned reverse process"), ("flow", "learned flow (g = 0)"), ("custom", "custom formulas"),
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
        table = ScoreTable(cast(DiffusionModel, self.model.model), box, np.linspace(1.0 - self.t_end, 1.0, TABLE_TIMES),
                           TABLE_POINTS, fill=False)
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


def _model_score(model: TrainedModel):
    m = cast(DiffusionModel, model.model)
    return lambda x, tau: torch.from_numpy(m.score(x.cpu().numpy(), float(tau))).to(x)


def _reverse(model: TrainedModel | None) -> Problem:
    if model is None or model.kind not in ("ddpm", "ncsn"):
        raise InputError("the learned reverse process needs a diffusion model (DDPM or NCSN): train one first")
    m = cast(DiffusionModel, model.model)  # a DDPM or NCSN, checked above
    tau_stop = time_at_noise(m.process, STOP_NOISE)
    prior = GaussianMixture("prior", "the model's prior", means=np.asarray([m.shift]),
                            stds=np.asarray(float(m.scale) * float(m.process.prior_std)), labelled=False)
    forward = ModelNoising(m)
    sde = Reverse(forward=forward, score=_model_score(model), t_start=1.0)
    return Problem("reverse", sde, prior, 1.0 - tau_stop, "dx = [g² s<sub>θ</sub>(x, τ) − f(x, τ)] ds + g dw, "
                   "τ = 1 − s", model)


class LearnedFlow(SDE):
    """dx = v_θ(x, t) dt with g = 0: a CNF's or flow-matching model's own velocity, from N(0, I) at t = 0.

    With no noise the Fokker–Planck equation is the continuity equation ∂p/∂t = −∇·(p v): the grid
    carries the density by the learned velocity, the particles follow its ODE, and at t = 1 both
    should show the model's samples.
    """

    name = "flow"
    equation = "dx = v<sub>θ</sub>(x, t) dt, g = 0: &nbsp; ∂p/∂t = −∇·(p v<sub>θ</sub>)"

    def __init__(self, model: CNF) -> None:
        self.model = model

    def drift(self, x: torch.Tensor, t: float) -> torch.Tensor:
        return self.model.velocity(x, min(max(float(t), 0.0), 1.0)).to(x)

    def diffusion(self, t: float) -> float:
        return 0.0


def _flow(model: TrainedModel | None) -> Problem:
    if model is None or model.kind not in FLOW_KINDS or not isinstance(model.model, CNF):
        raise InputError("the learned flow needs a CNF or flow-matching model: train one first")
    start = GaussianMixture("noise", "N(0, I)", means=np.zeros((1, 2)), stds=np.ones(1), labelled=False)
    return Problem("flow", LearnedFlow(model.model), start, 1.0, LearnedFlow.equation, model)


def _langevin(density: Density) -> SDE:
    langevin_for(density)  # says why when p has no usable closed-form score
    return Langevin(density.fast.score) if isinstance(density, GaussianMixture) else langevin_for(density)


def make_problem(key: str, density: Density, model: TrainedModel | None = None,
                 formulas: dict[str, str] | None = None) -> Problem:
    """The problem for a choice of :data:`CHOICES`; InputError (a readable sentence) when it cannot be set up."""
    if key == "reverse":
        return _reverse(model)
    if key == "flow":
        return _flow(model)
    if key == "langevin":
        sde = _langevin(density)
    elif key == "custom":
        sde = make_sde("custom", None, None, **(formulas or {}))
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


# -- what the lab shows of one frame --------------------------------------------------------------
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
