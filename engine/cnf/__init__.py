"""Continuous normalizing flows (FFJORD) on 2D densities.

A CNF moves noise z(0) ~ N(0, I) at t=0 to data x = z(1) at t=1 along dz/dt = f_θ(z, t),
and tracks the log-density along the way with d log p(z(t))/dt = −tr(∂f_θ/∂z). It is
trained by maximum likelihood (:class:`CNFTrainer`); the trained :class:`CNF` samples,
evaluates exact log-densities, and feeds the views (:mod:`engine.cnf.views`).

This module is the ``cnf`` family of :mod:`engine.api`: ``KINDS``, ``OPTIONS``,
:func:`make_trainer` and :func:`load_model`.

References:
    | Neural Ordinary Differential Equations (Chen et al., 2018) https://arxiv.org/abs/1806.07366
    | FFJORD (Grathwohl et al., 2019) https://arxiv.org/abs/1810.01367
    | How to train your neural ODE (Finlay et al., 2020) https://arxiv.org/abs/2002.02798

Example:
    >>> from engine.densities import get_density
    >>> trainer = make_trainer("cnf", get_density("8gaussians"), {"steps": 5}, torch.device("cpu"), seed=0)
    >>> last = list(trainer.run())[-1]
    >>> trainer.best_model().sample(3, seed=0).shape
    (3, 2)
"""

from __future__ import annotations

from typing import Any

import torch

from ..densities import Density
from ..errors import InputError
from .divergence import PROBES, TraceEstimator
from .dynamics import CNFDynamics, FieldDynamics
from .model import CNF, validate_config
from .nets import ACTIVATIONS, VectorField
from .options import OPTIONS, TrainConfig
from .solvers import ODE_SOLVERS, odesolve
from .train import CNFTrainer

__all__ = [
    "ACTIVATIONS",
    "CNF",
    "CNFDynamics",
    "CNFTrainer",
    "FieldDynamics",
    "KINDS",
    "ODE_SOLVERS",
    "OPTIONS",
    "PROBES",
    "TraceEstimator",
    "TrainConfig",
    "VectorField",
    "load_model",
    "make_trainer",
    "odesolve",
    "validate_config",
]

KINDS = ("cnf",)


def make_trainer(kind: str, density: Density, options: dict[str, Any], device: torch.device, seed: int) -> CNFTrainer:
    """A :class:`CNFTrainer` for ``density`` with ``options`` (see ``OPTIONS["cnf"]``)."""
    if kind not in KINDS:
        raise InputError(f"the CNF family has no model '{kind}'; it has {', '.join(KINDS)}")
    return CNFTrainer(density, options, device, seed)


def load_model(checkpoint: dict[str, Any], device: torch.device) -> CNF:
    """The :class:`CNF` saved in a checkpoint dict (see engine.checkpoint)."""
    return CNF.from_checkpoint(checkpoint, device)
