"""What the few-step lab computes: Euler samples with few steps, straightness, couplings, reflow."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files

import numpy as np

from engine.checkpoint import TrainedModel, finite_or_none, load_trained
from engine.cnf import CNF
from engine.densities import Density
from engine.errors import InputError
from engine.flowmatch import FlowMatchingModel, iter_reflow_pairs, make_reflow_trainer, ot_permutation, reflow_labels
from engine.flowmatch.coupling import pairing_cost
from engine.metrics import histogram_tv

__all__ = ["STEPS", "CouplingFrame", "FewStepFrame", "ReflowProgress", "coupling_frame", "few_step_frame",
           "load_shipped", "reflow_run", "row_label", "straightness"]

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
    """Reflow under way: drawing its pairs (``pairs_done`` of ``pairs``), then training (``step``,
    ``elapsed`` seconds, ``loss``); or done (``model`` set)."""

    pairs_done: int
    pairs: int
    step: int = 0
    elapsed: float = 0.0
    loss: float = math.nan
    model: TrainedModel | None = None

    @property
    def training(self) -> bool:
        """Whether the pairs are drawn and training has begun."""
        return self.pairs_done >= self.pairs


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
                   seed: int = 1, reference: bool = True) -> FewStepFrame:
    """Samples of ``tm`` with 1, 2, 4, 8 Euler steps and dopri5 from the same noise (model coordinates).

    ``reference=False``: the Euler panels alone, without the dopri5 reference and the straightness
    (a first picture in a few milliseconds; the ODE library alone takes ~0.4 s to load)."""
    model = tm.model
    assert isinstance(model, CNF)
    panels = [(f"{k} Euler step{'s' if k > 1 else ''}", model.sample(n, seed=seed, solver="euler", steps=k))
              for k in STEPS]
    if reference:
        panels.append(("reference (dopri5)", model.sample(n, seed=seed)))
    tv = []
    if density is not None:
        ref = density.sample(n, seed=seed + 17).x
        tv = [histogram_tv(x, ref, density.box) for _, x in panels]
    s = straightness(tm, min(n, 1000), seed) if reference else None
    return FewStepFrame(name, row_label(tm), panels, tv, s)


def straightness(tm: TrainedModel, n: int, seed: int) -> float | None:
    """S of a flow-matching model: the one its checkpoint records (measured on its own paths when it was
    saved or reflowed, 2,000 of them; a shipped model's costs ~0.17 s to measure again), else measured."""
    if not isinstance(tm.model, FlowMatchingModel):
        return None
    recorded = tm.metrics.get("straightness")
    if isinstance(recorded, (int, float)) and math.isfinite(recorded):
        return float(recorded)
    return tm.model.straightness(n, seed=seed)


def coupling_frame(density: Density, n: int = 64, seed: int = 3) -> CouplingFrame:
    """A batch of noise and data points with its independent and minibatch-OT pairings."""
    x0 = np.random.default_rng(seed).standard_normal((n, 2)).astype(np.float32)
    x1 = density.sample(n, seed=seed + 1).x
    perm = ot_permutation(x0, x1)
    return CouplingFrame(x0, x1, x1[perm], pairing_cost(x0, x1), pairing_cost(x0, x1[perm]))


def reflow_run(tm: TrainedModel, density: Density | None, seconds: float, pairs: int = 8000, seed: int = 0,
               chunk: int = 1000) -> Iterator[ReflowProgress]:
    """Reflow ``tm``: progress after every ``chunk`` pairs drawn and every training step (``seconds`` of
    training), and last the reflowed model with its record (generation, pairs, steps, straightness)."""
    teacher = tm.model
    assert isinstance(teacher, FlowMatchingModel)
    labels = reflow_labels(teacher, pairs, density, seed)
    drawn = None
    for done, batch in iter_reflow_pairs(teacher, pairs, seed=seed, labels=labels, chunk=chunk):
        drawn = batch  # None until the last chunk
        yield ReflowProgress(done, pairs)
    trainer = make_reflow_trainer(teacher, pairs, {"sample_every": 0.0}, density=density, seed=seed, pairs=drawn)
    last = None
    for last in trainer.run(seconds=seconds):
        yield ReflowProgress(pairs, pairs, last.step, last.elapsed, last.loss)
    model = trainer.best_model()
    steps, elapsed = (0, 0.0) if last is None else (last.step, round(last.elapsed, 2))
    metrics = {"generation": model.generation, "pairs": pairs, "seed": seed, "steps": steps, "seconds": elapsed,
               "heldout_nll": None if last is None else finite_or_none(last.heldout_nll),
               "straightness": round(model.straightness(1000), 5)}
    yield ReflowProgress(pairs, pairs, steps, elapsed, math.nan if last is None else last.loss,
                         TrainedModel(model, dict(tm.density), metrics))
