"""Metrics of a trained model against the density it was trained on (``flowscope eval``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .checkpoint import TrainedModel
from .densities import get_density
from .errors import InputError
from .metrics import histogram_tv

__all__ = ["evaluate_model"]


def evaluate_model(tm: TrainedModel, n: int = 5000, seed: int = 1234) -> dict[str, Any]:
    """Held-out NLL (nats, model coordinates), entropy gap when analytic, and sample histogram TV."""
    out: dict[str, Any] = {"kind": tm.kind, "density": tm.density.get("spec"), "n": n}
    try:
        density = get_density(str(tm.density.get("spec")))
    except InputError as e:
        out["note"] = f"the training data cannot be re-read, so no held-out figures: {e}"
        out["training"] = tm.metrics
        return out
    ref = density.sample(n, seed=seed).x
    lp = tm.model.log_prob(ref)
    nll = float(-np.mean(lp)) if np.all(np.isfinite(lp)) else math.inf
    out["heldout_nll"] = nll if math.isfinite(nll) else None
    ent = tm.density.get("entropy")
    if ent is not None:
        out["entropy"] = float(ent)
        out["gap"] = None if not math.isfinite(nll) else nll - float(ent)
    samples = tm.model.sample(n, seed=seed + 1)
    out["tv_64"] = histogram_tv(samples, density.sample(n, seed=seed + 2).x, density.box)
    out["tv_64_exact_sample"] = histogram_tv(density.sample(n, seed=seed + 3).x, density.sample(n, seed=seed + 2).x,
                                             density.box)
    out["training"] = tm.metrics
    return out
