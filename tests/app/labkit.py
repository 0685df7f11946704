"""Shared by the lab tests: a tiny model trained on 8gaussians and a context for it (the
``open_lab`` fixture that builds and shows labs is in conftest.py)."""

from __future__ import annotations

import torch

from app.labs.context import LabContext
from engine.api import make_trainer
from engine.checkpoint import TrainedModel, density_record
from engine.densities import get_density

__all__ = ["context", "train_tiny"]


def train_tiny(kind: str, steps: int, **options: object) -> TrainedModel:
    """A ``kind`` model trained ``steps`` steps on 8gaussians (seed 0, CPU)."""
    d = get_density("8gaussians")
    trainer = make_trainer(kind, d, options, torch.device("cpu"), 0)
    for _ in trainer.run(steps=steps):
        pass
    return TrainedModel(trainer.best_model(), density_record(d), {})


def context(tm: TrainedModel | None, t: float = 1.0) -> LabContext:
    """8gaussians with ``tm`` at time ``t``."""
    ctx = LabContext()
    ctx.set_density(get_density("8gaussians"), "8gaussians")
    ctx.set_model(tm)
    ctx.t = t
    return ctx
