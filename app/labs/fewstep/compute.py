"""What the few-step lab computes: Euler samples with few steps, straightness, couplings, reflow."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files

import numpy as np

from engine.checkpoint import TrainedModel, load_trained
from engine.cnf import CNF
from engine.densities import Density
from engine.errors import InputError
from engine.flowmatch import FlowMatchingModel, make_reflow_trainer, ot_permutation
from engine.flowmatch.coupling import pairing_cost
from engine.metrics import histogram_tv

__all__ = ["STEPS", "CouplingFrame", "FewStepFrame", "ReflowProgress", "coupling_frame", "few_step_frame",
           "load_shipped", "reflow_run", "row_label"]

STEPS = (1, 2, 4, 8)


@dataclass(frozen=True)
class FewStepFrame:
    """One model's samples from one noise batch: ``panels`` (title, (n, 2) float32), its straightness S
    (None for a CNF trained by likelihood) and the histogram TV of each panel against the data."""

    name: str
    label: str
    panels: list[tuple[str, np.ndarray]]
    tv: list[float]
    straightness: float | None


@dataclass(frozen=True)
class CouplingFrame:
    """Noise x0 (n, 2), data x1 (n, 2), the independent and OT pairings, and their total squared cost."""

    x0: np.ndarray
    x1: np.ndarray
    ot: np.ndarray
    cost_independent: float
    cost_ot: float


@dataclass(frozen=True)
class ReflowProgress:
    """Reflow under way (``step``, ``elapsed`` seconds, ``loss``), or done (``model`` set)."""

    step: int
    elapsed: float
    loss: float
    model: TrainedModel | None = None


def row_label(tm: TrainedModel) -> str:
    """How a row names its model: its reflow generation, or its coupling (flow matching), or CNF."""
    model = tm.model
    if not isinstance(model, FlowMatchingModel):
        return "CNF"
    if model.generation:
        return f"reflow-{model.generation}"
    return "OT" if model.info["coupling"] == "ot" else "indep."


def load_shipped(name: str) -> TrainedModel:
    """A pretrained model shipped with flowscope, by file name only (a scene's comparison row)."""
    if os.path.basename(name) != name or not name.endswith(".pt"):
        raise InputError(f"'{name}' is not the file name of a shipped model (e.g. fm_moons_reflow1.pt)")
    return load_trained(str(files("app.assets") / "pretrained" / name))


def few_step_frame(name: str, tm: TrainedModel, density: Density | None, n: int = 1500,
                   seed: int = 1) -> FewStepFrame:
    """Samples of ``tm`` with 1, 2, 4, 8 Euler steps and dopri5 from the same noise (model coordinates)."""
    model = tm.model
    assert isinstance(model, CNF)
    panels = [(f"{k} Euler step{'s' if k > 1 else ''}", model.sample(n, seed=seed, solver="euler", steps=k))
              for k in STEPS]
    panels.append(("reference (dopri5)", model.sample(n, seed=seed)))
    tv = []
    if density is not None:
        ref = density.sample(n, seed=seed + 17).x
        tv = [histogram_tv(x, ref, density.box) for _, x in panels]
    s = model.straightness(min(n, 1000), seed=seed) if isinstance(model, FlowMatchingModel) else None
    return FewStepFrame(name, row_label(tm), panels, tv, s)


def coupling_frame(density: Density, n: int = 64, seed: int = 3) -> CouplingFrame:
    """A batch of noise and data points with its independent and minibatch-OT pairings."""
    x0 = np.random.default_rng(seed).standard_normal((n, 2)).astype(np.float32)
    x1 = density.sample(n, seed=seed + 1).x
    perm = ot_permutation(x0, x1)
    return CouplingFrame(x0, x1, x1[perm], pairing_cost(x0, x1), pairing_cost(x0, x1[perm]))


def reflow_run(tm: TrainedModel, density: Density | None, seconds: float, pairs: int = 8000,
               seed: int = 0) -> Iterator[ReflowProgress]:
    """Reflow ``tm`` for ``seconds``: progress every step, and last the reflowed model."""
    assert isinstance(tm.model, FlowMatchingModel)
    trainer = make_reflow_trainer(tm.model, pairs, {"sample_every": 0.0}, density=density, seed=seed)
    last = None
    for snap in trainer.run(seconds=seconds):
        last = snap
        yield ReflowProgress(snap.step, snap.elapsed, snap.loss)
    model = trainer.best_model()
    metrics = {"generation": model.generation, "straightness": model.straightness(1000)}
    yield ReflowProgress(0 if last is None else last.step, 0.0 if last is None else last.elapsed,
                         float("nan") if last is None else last.loss, TrainedModel(model, dict(tm.density), metrics))
