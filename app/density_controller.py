"""Turns a density SPEC into what the views draw: heatmap grid, particles, thumbnails, status text."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.densities import DENSITIES, Density, builtin_density, get_density, histogram_density

__all__ = ["DensityState", "density_state", "load_density_state", "thumbnail_grid", "builtin_entries"]

VIEW_GRID = 256
VIEW_PARTICLES = 2000


@dataclass(frozen=True)
class DensityState:
    """Everything the window shows about the current density (arrays are float32)."""

    spec: str
    density: Density
    grid: np.ndarray
    points: np.ndarray
    labels: np.ndarray | None

    def status_text(self, entropy: bool = True) -> str:
        """The status line; ``entropy=False`` leaves out the entropy (a 400k-point estimate, ~0.3 s)."""
        d = self.density
        parts = [d.name, f"{d.num_classes} classes" if d.num_classes else "no classes",
                 "exact density" if d.analytic else "density estimated from samples"]
        ent = d.entropy() if entropy else None
        if ent is not None:
            parts.append(f"entropy {ent:.3f} nats")
        if d.notice:
            parts.append(d.notice)
        return "  ·  ".join(parts)


def load_density_state(spec: str, seed: int = 0, particles: int = VIEW_PARTICLES) -> DensityState:
    """Load ``spec`` (raises engine.errors.InputError on bad input) and prepare its pictures."""
    return density_state(get_density(spec), spec, seed, particles)


def density_state(d: Density, spec: str, seed: int = 0, particles: int = VIEW_PARTICLES) -> DensityState:
    s = d.sample(particles, seed=seed)
    return DensityState(spec, d, d.density_grid(VIEW_GRID), s.x, s.labels)


def thumbnail_grid(d: Density, n: int = 48) -> np.ndarray:
    """A small picture of a density; cheap (a 30k-sample histogram unless analytic)."""
    if d.analytic:
        return d.density_grid(n)
    return histogram_density(d.sample(30_000, seed=1).x, d.box, n, sigma=0.8)


def builtin_entries() -> list[tuple[str, str]]:
    return [(name, builtin_density(name).description) for name in DENSITIES]
