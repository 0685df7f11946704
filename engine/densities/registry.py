"""The built-in densities, by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .analytic import Banana, Checkerboard, Funnel, GaussianMixture
from .base import Density
from .toy import SampledDensity, circles, moons, pinwheel, rings, swissroll, two_spirals

__all__ = ["DENSITIES", "builtin_density"]


def _eight_gaussians() -> Density:
    angles = np.arange(8) * np.pi / 4
    means = 4 * np.stack([np.cos(angles), np.sin(angles)], 1) / 1.414
    return GaussianMixture("8gaussians", "8 Gaussians on a circle (FFJORD scaling)", means=means,
                           stds=np.asarray(0.5 / 1.414))


def _twenty_five_gaussians() -> Density:
    g = np.arange(-2, 3) * 1.2
    means = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    return GaussianMixture("25gaussians", "5 x 5 grid of Gaussians", means=means, stds=np.asarray(0.15))


def _two_modes() -> Density:
    return GaussianMixture(
        "twomodes",
        "1/5 - 4/5 mixture of two far-apart Gaussians (NCSN's Langevin demo)",
        means=np.array([[-2.0, -2.0], [2.0, 2.0]]),
        stds=np.asarray(0.5),
        weights=np.array([0.2, 0.8]),
    )


def _gaussian() -> Density:
    return GaussianMixture("gaussian", "standard normal N(0, I)", means=np.zeros((1, 2)), stds=np.asarray(1.0),
                           labelled=False)


def _sampled(name: str, desc: str, sampler: Callable[..., Any], classes: int) -> Callable[[], Density]:
    return lambda: SampledDensity(name, desc, num_classes=classes, sampler=sampler)


DENSITIES: dict[str, Callable[[], Density]] = {
    "8gaussians": _eight_gaussians,
    "25gaussians": _twenty_five_gaussians,
    "moons": _sampled("moons", "two interleaved half moons", moons, 2),
    "circles": _sampled("circles", "two concentric circles", circles, 2),
    "rings": _sampled("rings", "four concentric rings", rings, 4),
    "checkerboard": lambda: Checkerboard("checkerboard", "uniform on 8 squares of a 4 x 4 board"),
    "pinwheel": _sampled("pinwheel", "five curved arms", pinwheel, 5),
    "2spirals": _sampled("2spirals", "two interleaved spirals", two_spirals, 2),
    "swissroll": _sampled("swissroll", "a rolled sheet seen from its side", swissroll, 0),
    "banana": lambda: Banana("banana", "a curved Gaussian ridge"),
    "funnel": lambda: Funnel("funnel", "Neal's funnel: scale of x grows with y"),
    "twomodes": _two_modes,
    "gaussian": _gaussian,
}


def builtin_density(name: str) -> Density:
    """A fresh built-in density by name."""
    return DENSITIES[name]()
