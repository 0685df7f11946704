r"""Reflow: straightening a flow-matching model by training on its own noise-to-data map.

Given a teacher with flow map ψ (noise x_0 at t = 0 to x_1 = ψ(x_0) at t = 1), reflow draws
fresh noise, integrates the teacher accurately (dopri5, every point to atol/rtol) and
trains a new model by flow matching on the deterministic pairs (x_0, ψ(x_0)). The new
model's marginals are the teacher's, and its paths are straighter: the straightness S
never increases and the transport cost E‖x_1 − x_0‖² does not either (Liu et al., 2023,
Theorems 3.3 and 3.5), so one or two Euler steps sample it well. A reflow of a reflow
straightens further; the generation is recorded in the model.

A conditional teacher is reflowed class by class: labels are drawn from the data's class
shares and each x_1 is the conditional flow's image (γ = 1).

References:
    | Flow Straight and Fast (Liu et al., 2023) https://arxiv.org/abs/2209.03003
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from ..cnf.model import seeded_generator
from ..densities import Density
from ..errors import InputError
from .model import FlowMatchingModel
from .train import FlowMatchingTrainer, Pairs

__all__ = ["MAX_PAIRS", "iter_reflow_pairs", "make_reflow_trainer", "reflow_labels", "reflow_pairs"]

MAX_PAIRS = 1_000_000


def iter_reflow_pairs(teacher: FlowMatchingModel, n: int, *, seed: int = 0, labels: np.ndarray | None = None,
                      solver: str = "dopri5", steps: int = 32, chunk: int = 2000) -> Iterator[tuple[int, Pairs | None]]:
    """The pairs of :func:`reflow_pairs` solved ``chunk`` at a time: yields (pairs done, None) after
    each chunk but the last, then (n, the pairs), so a caller can show progress or stop between chunks.
    The noise is drawn at once from ``seed``: the pairs do not depend on ``chunk`` beyond the solver's
    tolerance."""
    if not 1 <= int(n) <= MAX_PAIRS:
        raise InputError(f"--pairs must be between 1 and {MAX_PAIRS:,}, not {n}")
    n, chunk = int(n), max(1, int(chunk))
    x0 = torch.randn(n, teacher.net.dim, generator=seeded_generator(seed))
    y = None if labels is None else torch.as_tensor(np.asarray(labels), dtype=torch.long)
    x1 = torch.empty_like(x0)
    for start in range(0, n, chunk):
        part = slice(start, min(start + chunk, n))
        x1[part] = _images(teacher, x0[part], None if y is None else y[part], solver, steps)
        if part.stop < n:
            yield part.stop, None
    yield n, Pairs(x0, x1, y)


def _images(teacher: FlowMatchingModel, x0: torch.Tensor, y: torch.Tensor | None, solver: str,
            steps: int) -> torch.Tensor:
    """ψ(x0): the teacher's flow map (a conditional teacher's, class by class at γ = 1)."""
    if y is None:
        return teacher.flow(x0, 0.0, 1.0, solver=solver, steps=steps).cpu()
    x1 = torch.empty_like(x0)
    for k in torch.unique(y).tolist():
        mask = y == k
        x1[mask] = teacher.guided(int(k)).flow(x0[mask], 0.0, 1.0, solver=solver, steps=steps).cpu()
    return x1


def reflow_pairs(teacher: FlowMatchingModel, n: int, *, seed: int = 0, labels: np.ndarray | None = None,
                 solver: str = "dopri5", steps: int = 32) -> Pairs:
    """n pairs (x_0, ψ(x_0)) of the teacher's flow map, solved accurately (labels: per-pair classes)."""
    *_, (_, pairs) = iter_reflow_pairs(teacher, n, seed=seed, labels=labels, solver=solver, steps=steps,
                                       chunk=max(1, int(n)))
    assert pairs is not None
    return pairs


def reflow_labels(teacher: FlowMatchingModel, n: int, density: Density | None, seed: int = 0) -> np.ndarray | None:
    """The classes of n reflow pairs, drawn with the data's class shares (None for an unconditional teacher)."""
    if not teacher.num_classes:
        return None
    if density is None or density.num_classes != teacher.num_classes:
        raise InputError("reflowing a conditional model needs its training data for the class shares")
    return density.sample(int(n), seed=seed + 31).labels


def make_reflow_trainer(teacher: FlowMatchingModel, n_pairs: int, options: dict[str, Any] | None = None,
                        *, density: Density | None = None, seed: int = 0, device: torch.device | str = "cpu",
                        pairs: Pairs | None = None) -> FlowMatchingTrainer:
    """A trainer of the teacher's reflow: its architecture, weights and path, on ``n_pairs`` of its pairs.

    ``density`` gives a conditional teacher's class shares; options override the teacher's
    training options (learning rate, batch, ...); the coupling is the pairs' own. ``pairs``:
    the teacher's pairs drawn already (:func:`iter_reflow_pairs`); otherwise they are drawn here.
    """
    if pairs is None:
        pairs = reflow_pairs(teacher, n_pairs, seed=seed, labels=reflow_labels(teacher, n_pairs, density, seed))
    elif (pairs.y is not None) != bool(teacher.num_classes):
        raise InputError("reflow pairs need labels exactly when the model is class-conditional")
    net = teacher.net
    opts = {"width": net.width, "depth": net.depth, "activation": net.activation, "fourier": net.fourier,
            "fourier_scale": net.fourier_scale, "time_features": net.time_features, "radial": net.radial,
            "conditional": bool(net.num_classes), "path": teacher.info["path"],
            "sigma_min": float(teacher.info["sigma_min"]), "time_sampling": teacher.info["time_sampling"],
            **(options or {})}
    opts["coupling"] = "independent"  # the pairs are the coupling
    init = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    return FlowMatchingTrainer(density, opts, device, seed, pairs=pairs, init=init,
                               generation=teacher.generation + 1)
