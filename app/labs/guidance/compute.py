"""What the guidance lab computes: guided samples frame by frame, and the naive tilted target.

Every panel starts from the same noise x_T (one seed) and the same sampler, so panels differ
only by their guidance: γ = 0 reproduces the unconditional panel exactly.

Two qualities. A slider must answer at once, so while γ moves the guided panel is a *preview*:
deterministic DDIM with few steps (a particle slides smoothly as γ moves). Few steps bias the
picture, though (modes come out too tight, strong guidance overshoots), so once γ rests every
panel is sampled *in full*: ancestral sampling with 100 steps, whose spread matches the data.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from engine.densities import Box, Density, grid_points, histogram_density
from engine.diffusion.model import DiffusionModel
from engine.diffusion.views import sampling_frames

__all__ = ["PREVIEW", "FULL", "PARTICLES", "Request", "PanelSamples", "TiltedTarget", "particle_classes",
           "panel_frames", "sample_panel", "sample_panels", "tilted_target"]

# Preview steps per kind of guidance, so that 2,000 particles answer a slider within 200 ms on
# one core of a busy machine: classifier-free 12 steps (two network calls per step), ~140 ms at a
# load of 4.5 on 2 cores; classifier guidance costs a backward pass more per step, so 8 steps.
PREVIEW = ("ddim", {"cfg": 12, "classifier": 8})
FULL = ("ancestral", 100)
PARTICLES = 2000
_LOG_FLOOR = -30.0  # log p(y|x) where a class is impossible: keeps γ < 0 and γ = 0 finite


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
    for f in sampling_frames(model, n, seed=req.seed, box=box, sampler=sampler, steps=steps, label=req.label,
                             guidance=req.guidance, guidance_kind=req.kind if req.label is not None else None):
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


def tilted_target(model: DiffusionModel, density: Density | None, box: Box, n: int = 128) -> TiltedTarget | None:
    """The target exactly when the density has closed forms for p(x) and p(y|x), else estimated; None if neither."""
    _, _, pts = grid_points(box, n)
    if density is not None and density.analytic and density.num_classes == model.num_classes:
        try:
            with torch.no_grad():
                x = torch.from_numpy(pts).double()
                lp, lpy = density.log_prob(x).numpy(), density.class_log_prob(x).numpy()
            return TiltedTarget(lp.reshape(n, n), _floor(lpy.T.reshape(-1, n, n)), box,
                                "exact: closed-form p(x) and p(y | x)", True)
        except NotImplementedError:
            pass
    if model.classifier is None:
        return None
    tau = float(model.process.t_min)
    lpy = np.log(np.maximum(model.class_probs(pts, tau).astype(np.float64), 1e-300)).T.reshape(-1, n, n)
    if density is not None:
        px, where = density.density_grid(n, box).astype(np.float64), "histogram of the data"
    else:
        px, where = _sample_histogram(model, box, n), "histogram of the model's samples"
    with np.errstate(divide="ignore"):
        lp = np.log(px)
    return TiltedTarget(lp, _floor(lpy), box, f"estimated: p(x) from a {where}, p(y | x) from the noisy "
                        f"classifier at τ = {tau:.2g}", False)


def particle_classes(model: DiffusionModel | None, density: Density | None, x: np.ndarray) -> np.ndarray | None:
    """Class of each point (n,): by the density's exact posterior when given, else the classifier's at small τ."""
    if density is not None:
        return density.classify(x)
    if model is not None and model.classifier is not None:
        return model.class_probs(x, float(model.process.t_min)).argmax(1)
    return None


def _floor(log_py: np.ndarray) -> np.ndarray:
    return np.maximum(np.nan_to_num(log_py, nan=_LOG_FLOOR, neginf=_LOG_FLOOR), _LOG_FLOOR)


def _sample_histogram(model: DiffusionModel, box: Box, n: int) -> np.ndarray:
    x = model.sample(20_000, seed=0, sampler=PREVIEW[0], steps=PREVIEW[1]["cfg"])
    return histogram_density(x, box, n, sigma=1.0).astype(np.float64)
