"""Checkpoints: a state dict plus JSON-able configuration, loaded with ``weights_only=True``.

A checkpoint is a plain dict::

    {"format": "flowscope", "version": 1, "kind": "cnf" | "ddpm" | "ncsn",
     "config": {...},                       # JSON-able model/training configuration
     "state_dict": {name: tensor},          # the model's weights
     "extra": {name: {name: tensor}},       # further state dicts (e.g. a guidance classifier)
     "density": {"spec", "name", "num_classes", "box", "data_map", "entropy"},
     "metrics": {...}}                      # JSON-able figures measured at save time

:class:`TrainedModel` wraps a loaded model with its density record so that samples and
log-densities come out in the user's own coordinates.
"""

from __future__ import annotations

import json
import math
import os
import pickle
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .api import Model, family
from .densities import DataMap, Density
from .errors import InputError

__all__ = ["FORMAT", "density_record", "save_checkpoint", "load_checkpoint", "TrainedModel", "load_trained"]

FORMAT = "flowscope"
VERSION = 1


def density_record(density: Density, spec: str | None = None) -> dict[str, Any]:
    """What a checkpoint remembers of the density it was trained on."""
    ent = density.entropy() if density.analytic else None
    return {
        "spec": spec or density.name,
        "name": density.name,
        "num_classes": int(density.num_classes),
        "box": [float(v) for v in density.box],
        "data_map": density.data_map.to_dict(),
        "entropy": None if ent is None else float(ent),
    }


def save_checkpoint(path: str, checkpoint: dict[str, Any]) -> None:
    """Write atomically (a crash never leaves half a file where a good one was)."""
    json.dumps(checkpoint.get("config", {}))  # the config must stay JSON-able
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        torch.save({"format": FORMAT, "version": VERSION, **checkpoint}, tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise InputError(f"{path}: cannot write checkpoint ({e.strerror or e})") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_checkpoint(path: str) -> dict[str, Any]:
    """Read a checkpoint without executing anything it carries."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such checkpoint file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "Unsupported global" in str(e) or "GLOBAL" in str(e):
            raise InputError(
                f"{path}: refused: the file carries Python objects that a checkpoint must not hold"
            ) from None
        raise InputError(f"{path}: not a readable flowscope checkpoint (damaged or another format)") from None
    except Exception as e:  # noqa: BLE001 - truncated zip, not a torch file, ...
        raise InputError(f"{path}: not a readable flowscope checkpoint ({type(e).__name__})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise InputError(f"{path}: not a flowscope checkpoint")
    if ckpt.get("version") != VERSION:
        raise InputError(f"{path}: checkpoint version {ckpt.get('version')!r} is not supported (expected {VERSION})")
    for key, kind in (("kind", str), ("config", dict), ("state_dict", dict), ("density", dict)):
        if not isinstance(ckpt.get(key), kind):
            raise InputError(f"{path}: checkpoint is missing its '{key}' entry")
    return ckpt


@dataclass
class TrainedModel:
    """A model with the record of its data: the bridge to the user's coordinates."""

    model: Model
    density: dict[str, Any]
    metrics: dict[str, Any]

    @property
    def data_map(self) -> DataMap:
        return DataMap.from_dict(self.density.get("data_map", {}))

    @property
    def kind(self) -> str:
        return self.model.kind

    def sample_user(self, n: int, seed: int | None = None, **options: Any) -> np.ndarray:
        return self.data_map.to_user(self.model.sample(n, seed=seed, **options))

    def log_prob_user(self, x_user: np.ndarray) -> np.ndarray:
        dm = self.data_map
        return self.model.log_prob(dm.to_model(x_user)).astype(np.float64) + dm.log_det

    def to_checkpoint(self) -> dict[str, Any]:
        return {**self.model.to_checkpoint(), "density": self.density, "metrics": self.metrics}


def load_trained(path: str, device: torch.device | None = None) -> TrainedModel:
    """Load a checkpoint file into a ready model (on ``device``, CPU by default)."""
    ckpt = load_checkpoint(path)
    try:
        model = family(ckpt["kind"]).load_model(ckpt, device or torch.device("cpu"))
        DataMap.from_dict(ckpt["density"].get("data_map", {}))
    except InputError as e:
        raise InputError(f"{path}: {e}") from None
    except (KeyError, ValueError, TypeError, RuntimeError) as e:
        first = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise InputError(f"{path}: checkpoint does not match a {ckpt['kind']} model ({first})") from None
    return TrainedModel(model, ckpt["density"], dict(ckpt.get("metrics") or {}))


def finite_or_none(v: float | None) -> float | None:
    """JSON has no NaN: store non-finite figures as null."""
    return None if v is None or not math.isfinite(v) else float(v)
