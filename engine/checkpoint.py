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
import pickle
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .api import Model, family
from .densities import DataMap, Density
from .errors import InputError
from .files import atomic_write, check_npz, check_regular
from .schema import check_depth, check_finite_state, integer, mapping, number, number_list

__all__ = ["FORMAT", "density_record", "save_checkpoint", "load_checkpoint", "validate_checkpoint", "TrainedModel",
           "load_trained", "MAX_CHECKPOINT_BYTES"]

FORMAT = "flowscope"
VERSION = 1
MAX_CHECKPOINT_BYTES = 1 << 30  # on disk and unpacked: these models weigh well under a megabyte
MAX_CLASSES = 1000
MAX_BOX = 1e6  # model coordinates: the view box of any density is a few units wide
MAX_MAP = 1e15  # data-map scale and shift: beyond this float32 model coordinates lose the data


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
    """Write atomically (a crash never leaves half a file where a good one was).

    Weights that are not finite are refused: a file of NaN would only fail later, elsewhere.
    """
    json.dumps(checkpoint.get("config", {}))  # the config must stay JSON-able
    check_finite_state(checkpoint.get("state_dict", {}), "state_dict")
    with atomic_write(path) as tmp:
        torch.save({"format": FORMAT, "version": VERSION, **checkpoint}, tmp)


def load_checkpoint(path: str) -> dict[str, Any]:
    """Read a checkpoint without executing anything it carries."""
    check_regular(path, MAX_CHECKPOINT_BYTES, "checkpoint file")
    if zipfile.is_zipfile(path):  # torch's format: its members' sizes are known before anything is unpacked
        check_npz(path, path, MAX_CHECKPOINT_BYTES)
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


def _check_density_record(record: Any) -> None:
    d = mapping(record, "density")
    for key in ("spec", "name"):
        if key in d and not isinstance(d[key], str):
            raise InputError(f"'density.{key}' must be text")
    integer(d, "num_classes", 0, MAX_CLASSES, 0, where="density.")
    if "box" in d:
        box = number_list(d, "box", 4, MAX_BOX, where="density.")
        if not (box[0] < box[1] and box[2] < box[3]):
            raise InputError("'density.box' must be [x_min, x_max, y_min, y_max] with each min below its max")
    dm = mapping(d.get("data_map", {}), "density.data_map")
    if "shift" in dm:
        number_list(dm, "shift", 2, MAX_MAP, where="density.data_map.")
    if "scale" in dm:
        number(dm, "scale", 1.0 / MAX_MAP, MAX_MAP, where="density.data_map.")
    if d.get("entropy") is not None:
        number(d, "entropy", -1e6, 1e6, where="density.")


def validate_checkpoint(ckpt: dict[str, Any]) -> None:
    """The shared checks every family gets, then the family's own ``validate_config`` (if it has one).

    Shared: nesting depth, the density record (classes, box, data map), the metrics, and every
    state dict (tensors only, finite, a bounded number of weights). InputError names the key.
    """
    check_depth(ckpt.get("config"), what="'config'")
    check_depth(ckpt.get("metrics"), what="'metrics'")
    check_depth(ckpt.get("density"), what="'density'")
    _check_density_record(ckpt["density"])
    if ckpt.get("metrics") is not None:
        mapping(ckpt["metrics"], "metrics")
    check_finite_state(ckpt["state_dict"], "state_dict")
    extra = ckpt.get("extra") or {}
    for name, state in mapping(extra, "extra").items():
        check_finite_state(state, f"extra.{name}")
    validate = getattr(family(ckpt["kind"]), "validate_config", None)
    if validate is not None:
        validate(ckpt["config"])


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
        validate_checkpoint(ckpt)
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
