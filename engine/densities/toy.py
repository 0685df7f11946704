"""Toy densities known only through their samplers (FFJORD's scalings where they exist).

Their densities are estimated for plotting by a smoothed histogram of many samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .base import Density

__all__ = ["SampledDensity", "moons", "circles", "rings", "pinwheel", "two_spirals", "swissroll"]

Sampler = Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray | None]]


@dataclass
class SampledDensity(Density):
    """A density given by a vectorised sampler ``sampler(n, rng) -> (x, labels)``."""

    sampler: Sampler | None = None

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        assert self.sampler is not None
        return self.sampler(n, rng)


def moons(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles with noise 0.1, scaled by 2 and shifted to the centre."""
    label = rng.integers(0, 2, n)
    theta = rng.random(n) * np.pi
    outer = np.stack([np.cos(theta), np.sin(theta)], 1)
    inner = np.stack([1 - np.cos(theta), 0.5 - np.sin(theta)], 1)
    x = np.where(label[:, None] == 0, outer, inner) + 0.1 * rng.standard_normal((n, 2))
    return x * 2 + np.array([-1.0, -0.2]), label


def circles(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles (radii 3 and 1.5) with noise 0.24."""
    label = rng.integers(0, 2, n)
    theta = rng.random(n) * 2 * np.pi
    r = np.where(label == 0, 1.0, 0.5)
    x = np.stack([r * np.cos(theta), r * np.sin(theta)], 1) + 0.08 * rng.standard_normal((n, 2))
    return 3 * x, label


def rings(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Four equally weighted concentric rings (radii 3, 2.25, 1.5, 0.75) with noise 0.08."""
    label = rng.integers(0, 4, n)
    theta = rng.random(n) * 2 * np.pi
    r = 3.0 * (1.0 - 0.25 * label)
    x = np.stack([r * np.cos(theta), r * np.sin(theta)], 1)
    return x + 0.08 * rng.standard_normal((n, 2)), label


def pinwheel(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Five curved arms: a radial/tangential Gaussian bent by an exponential twist."""
    label = rng.integers(0, 5, n)
    f = rng.standard_normal((n, 2)) * np.array([0.3, 0.1]) + np.array([1.0, 0.0])
    angle = label * (2 * np.pi / 5) + 0.25 * np.exp(f[:, 0])
    c, s = np.cos(angle), np.sin(angle)
    x = np.stack([f[:, 0] * c + f[:, 1] * s, -f[:, 0] * s + f[:, 1] * c], 1)
    return 2 * x, label


def two_spirals(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved Archimedean spirals; each arm is a class."""
    label = rng.integers(0, 2, n)
    t = np.sqrt(rng.random(n)) * 540 * (2 * np.pi) / 360
    arm = np.stack([-np.cos(t) * t + rng.random(n) * 0.5, np.sin(t) * t + rng.random(n) * 0.5], 1)
    sign = np.where(label == 0, 1.0, -1.0)[:, None]
    return sign * arm / 3 + 0.1 * rng.standard_normal((n, 2)), label


def swissroll(n: int, rng: np.random.Generator) -> tuple[np.ndarray, None]:
    """A rolled sheet seen from its side: t (cos t, sin t) for t in [1.5 pi, 4.5 pi], noise 0.2."""
    t = 1.5 * np.pi * (1 + 2 * rng.random(n))
    x = np.stack([t * np.cos(t), t * np.sin(t)], 1) + rng.standard_normal((n, 2))
    return x / 5, None
