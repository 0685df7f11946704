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

from typing import Any

import numpy as np
import torch

from ..cnf.model import seeded_generator
from ..densities import Density
from ..errors import InputError
from .model import FlowMatchingModel
from .train import FlowMatchingTrainer, Pairs

__all__ = ["MAX_PAIRS", "make_reflow_trainer", "reflow_pairs"]

MAX_PAIRS = 1_000_000


def reflow_pairs(teacher: FlowMatchingModel, n: int, *, seed: int = 0, labels: np.ndarray | None = None,
                 solver: str = "dopri5", steps: int = 32) -> Pairs:
    """n pairs (x_0, ψ(x_0)) of the teacher's flow map, solved accurately (labels: per-pair classes)."""
    if not 1 <= int(n) <= MAX_PAIRS:
        raise InputError(f"--pairs must be between 1 and {MAX_PAIRS:,}, not {n}")
    x0 = torch.randn(int(n), teacher.net.dim, generator=seeded_generator(seed))
    if labels is None:
        return Pairs(x0, teacher.flow(x0, 0.0, 1.0, solver=solver, steps=steps).cpu())
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    x1 = torch.empty_like(x0)
    for k in torch.unique(y).tolist():
        mask = y == k
        x1[mask] = teacher.guided(int(k)).flow(x0[mask], 0.0, 1.0, solver=solver, steps=steps).cpu()
    return Pairs(x0, x1, y)


def make_reflow_trainer(teacher: FlowMatchingModel, n_pairs: int, options: dict[str, Any] | None = None,
                        *, density: Density | None = None, seed: int = 0,
                        device: torch.device | str = "cpu") -> FlowMatchingTrainer:
    """A trainer of the teacher's reflow: its architecture, weights and path, on ``n_pairs`` of its pairs.

    ``density`` gives a conditional teacher's class shares; options override the teacher's
    training options (learning rate, batch, ...); the coupling is the pairs' own.
    """
    labels = None
    if teacher.num_classes:
        if density is None or density.num_classes != teacher.num_classes:
            raise InputError("reflowing a conditional model needs its training data for the class shares")
        labels = density.sample(int(n_pairs), seed=seed + 31).labels
    pairs = reflow_pairs(teacher, n_pairs, seed=seed, labels=labels)
    net = teacher.net
    opts = {"width": net.width, "depth": net.depth, "activation": net.activation,
            "conditional": bool(net.num_classes), "path": teacher.info["path"],
            "sigma_min": float(teacher.info["sigma_min"]), "time_sampling": teacher.info["time_sampling"],
            **(options or {})}
    opts["coupling"] = "independent"  # the pairs are the coupling
    init = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    return FlowMatchingTrainer(density, opts, device, seed, pairs=pairs, init=init,
                               generation=teacher.generation + 1)
