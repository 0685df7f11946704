"""2D densities: built-in toys, closed-form targets, and the user's own data.

>>> from engine.densities import get_density
>>> d = get_density("8gaussians")
>>> d.sample(1000, seed=0).x.shape
(1000, 2)
"""

from __future__ import annotations

from ..errors import InputError
from .base import DEFAULT_BOX, Box, DataMap, Density, Sample, grid_points, histogram_density
from .data import load_image, load_points, read_points
from .registry import DENSITIES, builtin_density

__all__ = [
    "Box",
    "DEFAULT_BOX",
    "builtin_density",
    "DENSITIES",
    "DataMap",
    "Density",
    "Sample",
    "builtin_density",
    "get_density",
    "grid_points",
    "histogram_density",
    "load_image",
    "load_points",
    "read_points",
]


def get_density(spec: str) -> Density:
    """A density from a SPEC: a built-in name, ``file:PATH`` or ``image:PATH``.

    Raises:
        InputError: unknown name or unusable file, with one sentence saying why.
    """
    spec = spec.strip()
    if spec.startswith("file:"):
        return load_points(spec[5:])
    if spec.startswith("image:"):
        return load_image(spec[6:])
    if spec in DENSITIES:
        return builtin_density(spec)
    raise InputError(
        f"unknown density '{spec}'; choose one of {', '.join(DENSITIES)}, or file:PATH or image:PATH"
    )
