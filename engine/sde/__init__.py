"""SDEs, Langevin dynamics and the Kolmogorov–Fokker–Planck equation on a grid.

Two ways to watch a density move under dx = f(x, t) dt + g(t) dw, which must agree:
particles (:func:`euler_maruyama`) and the density itself (:class:`FokkerPlanck`,
∂p/∂t = −div(f p) + ½ g² Δp). Both are generators of frozen frames of float32 arrays;
:func:`kfp_frames` pairs them. Langevin samplers (plain, annealed, Metropolis-adjusted)
are in :mod:`engine.sde.langevin`, the safe parser of user formulas in :mod:`engine.sde.formula`.

>>> from engine.densities import get_density
>>> from engine.sde import FokkerPlanck, Grid, euler_maruyama, initial_density, make_sde
>>> density, sde = get_density("8gaussians"), make_sde("ou", theta=1.0, sigma=1.0)
>>> grid = Grid((-5.0, 5.0, -5.0, 5.0), 64)
>>> pde = FokkerPlanck(sde, grid).solve(initial_density(density, grid), [0.0, 0.5])
>>> particles = euler_maruyama(sde, density.sample(1000, seed=0).x, [0.0, 0.5], seed=0)
>>> [(a.t, b.t) for a, b in zip(pde, particles)]
[(0.0, 0.0), (0.5, 0.5)]
"""

from __future__ import annotations

from .fokker_planck import LIMITERS, DensityFrame, FokkerPlanck
from .formula import Formula, parse_formula
from .grid import Grid, covering_box, initial_density
from .kfp import KfpFrame, kfp_frames, pilot_box
from .langevin import (
    LangevinFrame,
    Level,
    annealed_langevin,
    annealing_levels,
    geometric_sigmas,
    langevin,
    mala,
    mixture_noise,
    mode_shares,
    noised_mixture,
    run_levels,
)
from .nonlinear import CustomSDE, DoubleWell, Langevin, Reverse, Velocity
from .registry import SDES, langevin_for, make_sde, sde_options
from .sdes import SDE, VESDE, VPSDE, Brownian, LinearSDE, OrnsteinUhlenbeck, ScoreFn, TimeScoreFn, VelocityFn
from .simulate import ParticleFrame, euler_maruyama, trajectories

__all__ = [
    "LIMITERS", "SDES", "SDE", "Brownian", "CustomSDE", "DensityFrame", "DoubleWell", "FokkerPlanck",
    "Formula", "Grid", "Langevin", "LangevinFrame", "Level", "LinearSDE", "OrnsteinUhlenbeck", "ParticleFrame",
    "Reverse", "ScoreFn", "TimeScoreFn", "VESDE", "KfpFrame", "kfp_frames", "pilot_box",
    "VPSDE", "Velocity", "VelocityFn", "annealed_langevin", "annealing_levels", "covering_box", "euler_maruyama",
    "geometric_sigmas",
    "initial_density", "langevin", "langevin_for", "make_sde", "mala", "mixture_noise", "mode_shares",
    "noised_mixture", "parse_formula", "run_levels", "sde_options", "trajectories",
]
