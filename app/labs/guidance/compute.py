"""What the guidance lab computes: guided samples frame by frame, and the naive tilted target.

Every panel starts from the same noise x_T (one seed) and the same sampler, so panels differ
only by their guidance: γ = 0 reproduces the unconditional panel exactly.

One sampler for every picture: DPM-Solver++(2M), the probability-flow ODE in data-prediction
form with x̂_0 held in the box, at the steps of :data:`STEPS` from the same noise. What the
slider shows while γ moves is therefore the sample that stays once γ rests, the one the
trade-off curve scores and the one ``flowscope sample --sampler dpm++ --steps N`` draws: a
coarser stand-in lies at large γ, where the guided ODE is stiff (a 10-step solve pinned
particles on the box's edge that a 25-step one put in the class), and a stochastic sampler
would not match any picture particle for particle. The steps are what one core answers at
display rate for 2,000 particles (tests/bench/bench_guidance.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from engine.densities import Box, Density, histogram_density
from engine.diffusion.dpm_solver import dpm_solver_pp
from engine.diffusion.model import DiffusionModel
from engine.diffusion.tilted import TiltedTarget, estimated_tilted, exact_tilted
from engine.flowmatch.model import FlowMatchingModel
from engine.guidance_sweep import SWEEP_FM, SWEEP_SAMPLER, SWEEP_STEPS

__all__ = ["SAMPLER", "STEPS", "FM_SOLVER", "GuidedModel", "PARTICLES", "steps_for", "Request", "PanelSamples",
           "TiltedTarget", "particle_classes", "panel_frames", "sample_panel", "sample_panels", "tilted_target"]

# the sampler and steps per kind of guidance, shared with the trade-off curve (tests/bench/bench_guidance.py
# measures the latency and the distance to a converged solve); flow-matching models: a fixed-step solver
SAMPLER, STEPS, FM_SOLVER = SWEEP_SAMPLER, SWEEP_STEPS, SWEEP_FM
PARTICLES = 2000
GuidedModel = DiffusionModel | FlowMatchingModel  # what the lab guides: diffusion and flow-matching models


@dataclass(frozen=True)
class Request:
    """One panel to sample: its class, guidance (None: unconditional), seed, quality; ``asked``: when (perf_counter)."""

    panel: str
    label: int | None
    guidance: float | None
    kind: str | None
    seed: int
    asked: float
    preview: bool = False  # asked by a slider move: its job is never interrupted (see queue.py)
    interval: tuple[float, float] | None = None  # diffusion times where γ acts (None: all)


@dataclass(frozen=True)
class PanelSamples:
    """The reverse process of one panel: xs (F, n, 2) float32 from noise to samples, taus (F,) the time of each."""

    request: Request
    xs: np.ndarray
    taus: np.ndarray
    seconds: float
    sampler: str
    steps: int

    def at(self, tau: float) -> np.ndarray:
        """The particles (n, 2) at the frame nearest to diffusion time τ."""
        return self.xs[int(np.argmin(np.abs(self.taus - tau)))]


def steps_for(kind: str | None, label: int | None = 0) -> int:
    """The sampler steps of a panel: by its guidance kind (cfg without a class or kind)."""
    return STEPS[kind if label is not None and kind in STEPS else "cfg"]


def panel_frames(model: GuidedModel, req: Request, box: Box, n: int = PARTICLES) -> Iterator[PanelSamples | None]:
    """None after each sampler step (a worker may stop there), then the panel's samples.

    The states stay tensors until the end and are mapped to model coordinates in one pass: per
    frame that mapping was a third of the time a 2,000-particle step took besides the network.
    """
    if isinstance(model, FlowMatchingModel):
        yield from _flow_frames(model, req, box, n)
        return
    start = time.perf_counter()
    steps = steps_for(req.kind, req.label)
    kind = req.kind if req.label is not None else None
    limited = req.interval is not None and req.guidance is not None
    options: dict[str, Any] = {"guidance_interval": req.interval} if limited else {}
    eps, options = model.sampler_setup(SAMPLER, req.label, req.guidance, kind, options)
    x, _ = model.initial_noise(n, req.seed)
    states, taus = [x], [1.0]
    for _step, tau, xi, _x0 in dpm_solver_pp(eps, model.process, x, steps, bounds=options.get("bounds")):
        states.append(xi)
        taus.append(tau)  # the time this step started from: its x sits at the next step's time
        yield None
    times = np.array(taus[:1] + taus[2:] + [0.0], np.float64)
    xs = model.from_z(torch.stack(states).reshape(-1, 2)).reshape(len(states), -1, 2)
    yield PanelSamples(req, np.ascontiguousarray(xs, np.float32), times, time.perf_counter() - start, SAMPLER, steps)


def _flow_frames(model: FlowMatchingModel, req: Request, box: Box, n: int) -> Iterator[PanelSamples | None]:
    """A flow-matching panel: classifier-free guidance on the velocity, τ = 1 − t (the interval in τ too),
    its predicted end point held in the box as the diffusion samplers hold x̂_0."""
    start = time.perf_counter()
    solver, steps = FM_SOLVER
    limited = req.interval is not None and req.guidance is not None and req.label is not None
    states, taus = [], []
    for t, x in model.states(n, seed=req.seed, solver=solver, steps=steps, label=req.label, guidance=req.guidance,
                             guidance_interval=req.interval if limited else None, box=box):
        states.append(x)
        taus.append(1.0 - t)
        yield None
    xs = torch.stack(states).float().cpu().numpy()
    yield PanelSamples(req, np.ascontiguousarray(xs), np.array(taus, np.float64), time.perf_counter() - start,
                       solver, steps)


def sample_panel(model: GuidedModel, req: Request, box: Box, n: int = PARTICLES) -> PanelSamples:
    *_, last = panel_frames(model, req, box, n)
    assert last is not None
    return last


def sample_panels(model: GuidedModel, requests: Sequence[Request], box: Box,
                  n: int = PARTICLES) -> Iterator[PanelSamples | None]:
    """The panels in order (with a None after every sampler step)."""
    for req in requests:
        yield from panel_frames(model, req, box, n)


def tilted_target(model: GuidedModel, density: Density | None, box: Box, n: int = 128) -> TiltedTarget | None:
    """The target exactly when the density has closed forms for p(x) and p(y|x), else estimated; None if neither."""
    if density is not None and density.num_classes == model.num_classes:
        exact = exact_tilted(density, box, n)
        if exact is not None:
            return exact
    if not isinstance(model, DiffusionModel) or model.classifier is None:
        return None
    if density is not None:
        return estimated_tilted(model, density.density_grid(n, box).astype(np.float64), box, "histogram of the data")
    return estimated_tilted(model, _sample_histogram(model, box, n), box, "histogram of the model's samples")


def particle_classes(model: GuidedModel | None, density: Density | None, x: np.ndarray) -> np.ndarray | None:
    """Class of each point (n,): by the density's exact posterior when given, else the classifier's at small τ."""
    if density is not None:
        return density.classify(x)
    if isinstance(model, DiffusionModel) and model.classifier is not None:
        return model.class_probs(x, float(model.process.t_min)).argmax(1)
    return None


def _sample_histogram(model: DiffusionModel, box: Box, n: int) -> np.ndarray:
    x = model.sample(20_000, seed=0, sampler=SAMPLER, steps=STEPS["cfg"])
    return histogram_density(x, box, n, sigma=1.0).astype(np.float64)
