"""A scene's density: built from what a scene file holds, and embedded back into one."""

from __future__ import annotations

import base64
import os
from typing import Any

import numpy as np

from engine.densities import Density, get_density
from engine.densities.data import _check_points, image_from_bytes, points_density
from engine.errors import InputError

from .scenes import Scene, png_to_base64

__all__ = ["scene_density", "embed_density", "EMBED_POINTS"]

EMBED_POINTS = 20_000


def scene_density(scene: Scene) -> tuple[Density, str]:
    """The scene's density and the spec the window shows for it."""
    if isinstance(scene.density, str):
        return get_density(scene.density), scene.density
    label = f"scene:{scene.title or os.path.basename(scene.path)}"
    d = scene.density
    if "image_png" in d:
        try:
            raw = base64.b64decode(d["image_png"], validate=True)
        except ValueError:
            raise InputError(f"{scene.path}: density.image_png is not valid base64") from None
        return image_from_bytes(raw, scene.path, label), label
    x, labels = _check_points(scene.path, np.asarray(d["points"], np.float64),
                              None if d.get("labels") is None else np.asarray(d["labels"]))
    return points_density(x, labels, label, f"{len(x):,} points from the scene"), label


def embed_density(density: Density, spec: str) -> str | dict[str, Any]:
    """A density as a scene stores it: built-in names stay names, user data is embedded."""
    if not (spec.startswith(("file:", "image:", "scene:", "drawn:"))):
        return spec
    weights = getattr(density, "weights", None)
    if weights is not None:  # a picture or a drawing: store its darkness as an 8-bit PNG
        dark = np.asarray(weights) / max(float(np.max(weights)), 1e-300)
        return {"image_png": png_to_base64((255 * (1.0 - dark)).round().astype(np.uint8))}
    s = density.sample(EMBED_POINTS, seed=0)
    pts = density.data_map.to_user(s.x).round(5).tolist()
    out: dict[str, Any] = {"points": pts}
    if s.labels is not None:
        out["labels"] = s.labels.tolist()
    return out
