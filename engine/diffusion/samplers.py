r"""The sampler registry: every sampler as a generator of frames (x_t and x̂_0 after each step).

=============  ==========================================================  ===================
name           what it does                                                ``steps`` counts
=============  ==========================================================  ===================
ancestral      p(x_{t−1} | x_t) = N(μ_θ, σ_t² I), respaced when steps < L  levels visited
ddim           deterministic DDIM (η = 0)                                  levels visited
sde            Euler–Maruyama on the reverse SDE                           model evaluations
ode            probability-flow ODE with a CNF solver (RK4 by default)     solver steps
langevin       annealed Langevin dynamics (``steps_per_level`` per level)  levels visited
dpm++          DPM-Solver++(2M), the probability-flow ODE in x̂_0 form      model evaluations
=============  ==========================================================  ===================

All work for both processes (VP for DDPM, VE for NCSN) and run in the model's normalised
coordinates; :mod:`engine.diffusion.model` maps them back.

References:
    | Ho et al. (2020); Song, Meng & Ermon (2021); Song et al. (2021); Song & Ermon (2019);
    | Lu et al. (2022b), see the modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..errors import InputError
from .ddpm import AncestralScheduler, DDIMScheduler, Scheduler
from .dpm_solver import dpm_solver_pp
from .ncsn import annealed_langevin
from .schedules import NoiseProcess
from .score import EVAL_MAX_NFE, ProbabilityFlow, ReverseSDEScheduler, continuous_times

__all__ = ["SAMPLERS", "Frame", "check_sampler", "count_frames", "default_steps", "run_sampler"]

EpsFn = Callable[[Tensor, Tensor], Tensor]


@dataclass(frozen=True)
class Frame:
    """The state after one sampler step: step number, time τ, x_t and x̂_0 (n, 2) (x̂_0 may be None)."""

    step: int
    tau: float
    x: Tensor
    x0: Tensor | None


def _scheduled(sch: Scheduler | ReverseSDEScheduler, eps_fn: EpsFn, x: Tensor,
               generator: torch.Generator | None) -> Iterator[Frame]:
    for i, t in enumerate(sch.timesteps):
        out = sch.step(eps_fn(x, t), t, x, generator)
        x = out.prev_sample
        yield Frame(i + 1, float(t), x, out.pred_original_sample)


def _ancestral(eps_fn: EpsFn, process: NoiseProcess, x: Tensor, steps: int, generator: torch.Generator | None,
               track: bool, options: dict[str, Any]) -> Iterator[Frame]:
    sch = AncestralScheduler(process, str(options.get("variance", "beta_tilde")),
                             str(options.get("spacing", "level")))
    sch.set_timesteps(steps)
    return _scheduled(sch, eps_fn, x, generator)


def _ddim(eps_fn: EpsFn, process: NoiseProcess, x: Tensor, steps: int, generator: torch.Generator | None,
          track: bool, options: dict[str, Any]) -> Iterator[Frame]:
    sch = DDIMScheduler(process, str(options.get("spacing", "level")))
    sch.set_timesteps(steps)
    return _scheduled(sch, eps_fn, x, generator)


def _sde(eps_fn: EpsFn, process: NoiseProcess, x: Tensor, steps: int, generator: torch.Generator | None,
         track: bool, options: dict[str, Any]) -> Iterator[Frame]:
    sch = ReverseSDEScheduler(process)
    sch.set_timesteps(max(steps, 2))
    return _scheduled(sch, eps_fn, x, generator)


def _ode(eps_fn: EpsFn, process: NoiseProcess, x: Tensor, steps: int, generator: torch.Generator | None,
         track: bool, options: dict[str, Any]) -> Iterator[Frame]:
    flow = ProbabilityFlow(eps_fn, process, solver=str(options.get("solver", "rk4")), steps=steps,
                          max_nfe=EVAL_MAX_NFE)
    if not track:  # one solve over the whole interval, then Tweedie's denoising step
        x = flow.solve(x, process.t_max, process.t_min)
        x0 = flow.denoise(x, process.t_min)
        yield Frame(steps, process.t_min, x0, x0)
        return
    times = continuous_times(process, steps + 1).tolist()
    for i, (t0, t1) in enumerate(zip(times[:-1], times[1:])):
        x0 = flow.denoise(x, t0)
        x = flow.solve(x, t0, t1, steps=1)
        yield Frame(i + 1, t0, x, x0)
    x0 = flow.denoise(x, process.t_min)
    yield Frame(steps + 1, process.t_min, x0, x0)


def _langevin(eps_fn: EpsFn, process: NoiseProcess, x: Tensor, steps: int, generator: torch.Generator | None,
              track: bool, options: dict[str, Any]) -> Iterator[Frame]:
    per_level = int(options.get("steps_per_level", 10))
    size = float(options.get("step_size", 0.1))
    for i, st in enumerate(annealed_langevin(eps_fn, process, x, steps, per_level, size, generator)):
        yield Frame(i + 1, st.tau, st.x, st.x0)


def _dpmpp(eps_fn: EpsFn, process: NoiseProcess, x: Tensor, steps: int, generator: torch.Generator | None,
           track: bool, options: dict[str, Any]) -> Iterator[Frame]:
    for step, tau, xi, x0 in dpm_solver_pp(eps_fn, process, x, steps, str(options.get("spacing", "logsnr")),
                                           options.get("bounds")):
        yield Frame(step, tau, xi, x0)


Runner = Callable[[EpsFn, NoiseProcess, Tensor, int, "torch.Generator | None", bool, dict[str, Any]], Iterator[Frame]]

SAMPLERS: dict[str, Runner] = {
    "ancestral": _ancestral,
    "ddim": _ddim,
    "sde": _sde,
    "ode": _ode,
    "langevin": _langevin,
    "dpm++": _dpmpp,
}


def check_sampler(name: str) -> Runner:
    """The sampler called ``name``; an InputError names the allowed ones otherwise."""
    if name not in SAMPLERS:
        raise InputError(f"unknown sampler '{name}'; choose one of {', '.join(SAMPLERS)}")
    return SAMPLERS[name]


def default_steps(name: str, process: NoiseProcess) -> int:
    """Steps a sampler takes when none are asked for."""
    levels = process.num_levels
    return {"ancestral": levels, "ddim": min(levels, 100), "sde": max(levels, 1000), "ode": 100,
            "langevin": min(levels, 100), "dpm++": 25}[name]


def count_frames(name: str, process: NoiseProcess, steps: int | None, options: dict[str, Any]) -> int:
    """How many frames :func:`run_sampler` yields (for progress bars)."""
    n = default_steps(name, process) if steps is None else int(steps)
    if name == "sde":
        return max(n, 2)
    if name == "ode":
        return n + 1
    if name == "langevin":
        return n * int(options.get("steps_per_level", 10)) + 1
    return n


def run_sampler(name: str, eps_fn: EpsFn, process: NoiseProcess, x: Tensor, steps: int | None = None,
                generator: torch.Generator | None = None, track: bool = True,
                **options: Any) -> Iterator[Frame]:
    """Frames of sampler ``name`` from noise ``x`` (n, 2); the last frame's ``x`` is the sample.

    ``track=False`` lets a sampler skip work only needed for watching (the ODE's x̂_0).
    Options: ``variance`` (ancestral), ``solver`` (ode), ``steps_per_level``, ``step_size`` (langevin),
    ``spacing`` (dpm++: ``logsnr`` or ``time``; ancestral and ddim: ``level`` or ``logsnr``).
    """
    runner = check_sampler(name)
    n_steps = default_steps(name, process) if steps is None else int(steps)
    if n_steps < 1:
        raise InputError(f"a sampler needs at least one step, not {n_steps}")
    if name in ("ancestral", "ddim", "langevin") and n_steps > process.num_levels:
        raise InputError(f"the {name} sampler visits at most the model's {process.num_levels} levels, "
                         f"not {n_steps}")
    return runner(eps_fn, process, x, n_steps, generator, track, options)
