"""What the guidance lab computes: guided samples frame by frame, and the naive tilted target.

Every panel starts from the same noise x_T (one seed) and the same sampler, so panels differ
only by their guidance: γ = 0 reproduces the unconditional panel exactly.

Two qualities of one sampler. Both are DPM-Solver++(2M), the probability-flow ODE in
data-prediction form with x̂_0 held in the box, from the same noise: while γ moves the guided
panel is a *preview* at few steps, once γ rests it is sampled *in full* at the steps where the
solver has converged. Being one deterministic map sampled coarsely and finely, the preview
shows where the full sample's particles will be (an ε-form solver such as DDIM at few steps
overshoots at large γ and pins particles on the box's edge, and a stochastic full sample
would not match any preview particle for particle).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.densities import Box, Density, histogram_density
from engine.diffusion.model import DiffusionModel
from engine.diffusion.tilted import TiltedTarget, estimated_tilted, exact_tilted
from engine.diffusion.views import sampling_frames

__all__ = ["PREVIEW", "FULL", "PARTICLES", "Request", "PanelSamples", "TiltedTarget", "particle_classes",
           "panel_frames", "sample_panel", "sample_panels", "tilted_target"]

# Preview steps per kind of guidance (tests/bench/bench_guidance.py): 2,000 particles answer the
# slider at display rate and agree with the full sample (histogram TV within sampling noise).
PREVIEW = ("dpm++", {"cfg": 10, "classifier": 8})
FULL = ("dpm++", 25)  # the sampler and steps of the trade-off curve (engine.guidance_sweep.SWEEP_SAMPLER)
PARTICLES = 2000


@dataclass(frozen=True)
class Request:
    """One panel to sample: its class, guidance (None: unconditional), seed, quality; ``asked``: when (perf_counter)."""

    panel: str
    label: int | None
    guidance: float | None
    kind: str | None
    seed: int
    asked: float
    preview: bool = False
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


def panel_frames(model: DiffusionModel, req: Request, box: Box, n: int = PARTICLES) -> Iterator[PanelSamples | None]:
    """None after each sampler step (a worker may stop there), then the panel's samples."""
    start = time.perf_counter()
    if req.preview:
        sampler, steps = PREVIEW[0], PREVIEW[1][req.kind if req.label is not None and req.kind else "cfg"]
    else:
        sampler, steps = FULL[0], min(FULL[1], model.process.num_levels)
    frames = []
    extra: dict[str, Any] = {} if req.interval is None or req.guidance is None else {"guidance_interval": req.interval}
    for f in sampling_frames(model, n, seed=req.seed, box=box, sampler=sampler, steps=steps, label=req.label,
                             guidance=req.guidance, guidance_kind=req.kind if req.label is not None else None,
                             **extra):
        frames.append(f)
        yield None
    # a frame's tau is the time its step started from; its x sits at the next frame's tau
    taus = np.array([1.0] + [f.tau for f in frames[2:]] + [0.0], np.float64)
    xs = np.ascontiguousarray(np.stack([f.x for f in frames]), np.float32)
    yield PanelSamples(req, xs, taus, time.perf_counter() - start, sampler, steps)


def sample_panel(model: DiffusionModel, req: Request, box: Box, n: int = PARTICLES) -> PanelSamples:
    *_, last = panel_frames(model, req, box, n)
    assert last is not None
    return last


def sample_panels(model: DiffusionModel, requests: Sequence[Request], box: Box,
                  n: int = PARTICLES) -> Iterator[PanelSamples | None]:
    """The panels in order (with a None after every sampler step)."""
    for req in requests:
        yield from panel_frames(model, req, box, n)


def tilted_target(model: DiffusionModel, density: Density | None, box: Box, n: int = 128) -> TiltedTarget | None:
    """The target exactly when the density has closed forms for p(x) and p(y|x), else estimated; None if neither."""
    if density is not None and density.num_classes == model.num_classes:
        exact = exact_tilted(density, box, n)
        if exact is not None:
            return exact
    if model.classifier is None:
        return None
    if density is not None:
        return estimated_tilted(model, density.density_grid(n, box).astype(np.float64), box, "histogram of the data")
    return estimated_tilted(model, _sample_histogram(model, box, n), box, "histogram of the model's samples")


def particle_classes(model: DiffusionModel | None, density: Density | None, x: np.ndarray) -> np.ndarray | None:
    """Class of each point (n,): by the density's exact posterior when given, else the classifier's at small τ."""
    if density is not None:
        return density.classify(x)
    if model is not None and model.classifier is not None:
        return model.class_probs(x, float(model.process.t_min)).argmax(1)
    return None


def _sample_histogram(model: DiffusionModel, box: Box, n: int) -> np.ndarray:
    x = model.sample(20_000, seed=0, sampler=PREVIEW[0], steps=PREVIEW[1]["cfg"])
    return histogram_density(x, box, n, sigma=1.0).astype(np.float64)
