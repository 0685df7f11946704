r"""Flow matching and rectified flow: CNFs trained by regression on a probability path.

A flow-matching model is a continuous normalizing flow dx/dt = v_θ(x, t) from noise at
t = 0 to data at t = 1 (:class:`engine.cnf.CNF`: the same network, solvers, exact
log-density and views). Only the training differs: instead of maximising the likelihood
through an ODE solve, v_θ is regressed on the velocity u_t(x_t | x_0, x_1) of a chosen path
between paired noise and data points (:mod:`.paths`, :mod:`.coupling`), with no solve at
all. Reflow (:mod:`.reflow`) retrains on the model's own noise-to-data pairs and
straightens its paths until one or two Euler steps sample it.

This module is the ``fm`` family of :mod:`engine.api`: ``KINDS``, ``OPTIONS``,
:func:`default_options`, :func:`make_trainer`, :func:`load_model` and :func:`validate_config`.

References:
    | Flow Matching for Generative Modeling (Lipman et al., 2023) https://arxiv.org/abs/2210.02747
    | Flow Straight and Fast (Liu et al., 2023) https://arxiv.org/abs/2209.03003
    | Improving and Generalizing Flow-Based Generative Models with Minibatch Optimal Transport
    |   (Tong et al., 2024) https://arxiv.org/abs/2302.00482

Example:
    >>> from engine.densities import get_density
    >>> trainer = make_trainer("fm", get_density("moons"), {"steps": 5}, torch.device("cpu"), seed=0)
    >>> last = list(trainer.run())[-1]
    >>> trainer.best_model().sample(3, seed=0, sampler="euler", steps=1).shape
    (3, 2)
"""

from __future__ import annotations

from typing import Any

import torch

from ..densities import Density
from ..errors import InputError
from .coupling import COUPLINGS, couple, ot_permutation
from .model import FlowMatchingModel, validate_config
from .nets import FlowField, GuidedField
from .options import OPTIONS, check_options, default_options
from .paths import PATHS, TIME_SAMPLING, interpolate, sample_times
from .reflow import iter_reflow_pairs, make_reflow_trainer, reflow_labels, reflow_pairs
from .train import FlowMatchingTrainer, Pairs

__all__ = [
    "COUPLINGS",
    "FlowField",
    "FlowMatchingModel",
    "FlowMatchingTrainer",
    "GuidedField",
    "KINDS",
    "OPTIONS",
    "PATHS",
    "Pairs",
    "TIME_SAMPLING",
    "check_options",
    "couple",
    "default_options",
    "interpolate",
    "iter_reflow_pairs",
    "load_model",
    "make_reflow_trainer",
    "make_trainer",
    "ot_permutation",
    "reflow_labels",
    "reflow_pairs",
    "sample_times",
    "validate_config",
]

KINDS = ("fm",)


def make_trainer(kind: str, density: Density, options: dict[str, Any], device: torch.device,
                 seed: int) -> FlowMatchingTrainer:
    """A :class:`FlowMatchingTrainer` for ``density`` with ``options`` (see ``OPTIONS["fm"]``)."""
    if kind not in KINDS:
        raise InputError(f"the flow-matching family has no model '{kind}'; it has {', '.join(KINDS)}")
    return FlowMatchingTrainer(density, options, device, seed)


def load_model(checkpoint: dict[str, Any], device: torch.device) -> FlowMatchingModel:
    """The :class:`FlowMatchingModel` of a checkpoint dict (its config checked first)."""
    if checkpoint.get("kind") not in KINDS:
        raise InputError(f"checkpoint holds a '{checkpoint.get('kind')}' model, not a flow-matching model")
    return FlowMatchingModel.from_checkpoint(checkpoint, device)
