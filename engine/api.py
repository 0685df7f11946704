"""The contract between model families (CNF, diffusion) and everything that uses them.

A family is a module that defines::

    KINDS: tuple[str, ...]                       # model kinds it provides, e.g. ("cnf",)
    OPTIONS: dict[str, dict[str, object]]        # kind -> default training options
    def make_trainer(kind, density, options, device, seed) -> Trainer
    def load_model(checkpoint: dict, device) -> Model

Trainers and models work in *model coordinates* (the density's view box);
:class:`engine.checkpoint.TrainedModel` adds the user's coordinates on top.
Training is a generator of :class:`TrainSnapshot`: data flows one way, from the engine to whoever
draws it (docs/ARCHITECTURE.md, "Data flow").
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

import numpy as np
import torch

from .densities import Density
from .errors import InputError

__all__ = ["FAMILIES", "FLOW_KINDS", "HELDOUT_NLL", "HISTOGRAM_TV", "Model", "TrainSnapshot", "Trainer", "family",
           "make_trainer", "default_options", "metric_name", "warm_up"]

# kind -> module that implements it (imported lazily: a family may be heavy)
FAMILIES: dict[str, str] = {
    "cnf": "engine.cnf", "ddpm": "engine.diffusion", "ncsn": "engine.diffusion", "fm": "engine.flowmatch",
}
# kinds whose models are engine.cnf.CNF flows: an ODE from noise to data with an exact log-density,
# so every CNF view (probability path, trajectories, vector field, trace) applies to them
FLOW_KINDS: tuple[str, ...] = ("cnf", "fm")
# the quality figures trainers report (TrainSnapshot.metric_name)
HELDOUT_NLL = "held-out NLL"
HISTOGRAM_TV = "histogram TV"


def metric_name(kind: str) -> str:
    """The quality figure a kind's runs report: a flow's held-out NLL, a diffusion model's histogram TV."""
    return HELDOUT_NLL if kind in FLOW_KINDS else HISTOGRAM_TV


@dataclass(frozen=True)
class TrainSnapshot:
    """One training step as seen from outside; every array is float32 numpy.

    Attributes:
        step: steps done so far.  total_steps / budget_seconds: the budget, when given.
        elapsed: seconds of training so far (pauses excluded).
        loss: training loss of this step.  lr: current learning rate.
        steps_per_s: recent throughput.  heldout_nll: nats on a held-out batch (when measured).
        metric_name / metric: a quality figure (e.g. "held-out NLL", "histogram TV").
        metric_reference: what the figure reads for a perfect model (the TV between two exact
            samples of the sizes compared, measured once per run), when the trainer knows it.
        nfe: function evaluations of the last step (CNF).  best_step: step of the kept model.
        samples: (n, 2) model samples, when produced this step.
        density: (G, G) model density on the view grid, when produced this step (cheap only).
        between: (step, loss, metric) of earlier steps whose snapshots were not delivered on
            their own (a transport that thins a fast stream fills it; trainers leave it empty).
        note: a sentence for the person watching about how this run trains, on its first snapshot
            (a CNF on rotation-invariant data: its radial features); transports keep such a snapshot.
    """

    step: int
    elapsed: float
    loss: float
    lr: float
    steps_per_s: float
    total_steps: int | None = None
    budget_seconds: float | None = None
    heldout_nll: float | None = None
    metric_name: str | None = None
    metric: float | None = None
    metric_reference: float | None = None
    nfe: float | None = None
    best_step: int | None = None
    samples: np.ndarray | None = None
    density: np.ndarray | None = None
    between: tuple[tuple[int, float, float | None], ...] = ()
    note: str | None = None

    @property
    def fraction_done(self) -> float | None:
        if self.total_steps:
            return min(1.0, self.step / self.total_steps)
        if self.budget_seconds:
            return min(1.0, self.elapsed / self.budget_seconds)
        return None


class Model(Protocol):
    """A trained generative model in model coordinates."""

    kind: str
    num_classes: int

    def sample(self, n: int, *, seed: int | None = None, **options: Any) -> np.ndarray:
        """(n, 2) float32 samples; options: label, guidance, guidance_kind, sampler, steps."""

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """Exact log-density (nats) at (n, 2) points -> (n,) float64."""

    def to_checkpoint(self) -> dict[str, Any]:
        """Everything needed to rebuild the model: kind, config, state_dict (see engine.checkpoint)."""


class Trainer(Protocol):
    """Trains one model; ``run`` is a generator, so the caller decides when to pause or stop."""

    def run(self, steps: int | None = None, seconds: float | None = None) -> Iterator[TrainSnapshot]: ...

    def set_learning_rate(self, lr: float) -> None: ...

    def best_model(self) -> Model:
        """The model with the best held-out score so far (the last good one after a failure)."""


def family(kind: str) -> ModuleType:
    """The module that implements a model kind."""
    if kind not in FAMILIES:
        raise InputError(f"unknown model '{kind}'; choose one of {', '.join(FAMILIES)}")
    return importlib.import_module(FAMILIES[kind])


def default_options(kind: str, conditional: bool = False) -> dict[str, Any]:
    """The default training options of ``kind`` (a family may give class-conditional models their own)."""
    return _family_defaults(family(kind), kind, conditional)


def _family_defaults(fam: ModuleType, kind: str, conditional: bool) -> dict[str, Any]:
    if hasattr(fam, "default_options"):
        return dict(fam.default_options(kind, conditional))
    return dict(fam.OPTIONS[kind])


def make_trainer(
    kind: str, density: Density, options: dict[str, Any] | None, device: torch.device, seed: int,
    module: str | None = None,
) -> Trainer:
    """A trainer for ``kind`` on ``density``; unknown option names are refused with InputError.

    ``module`` names the family module explicitly (a child process that must use the same
    family as its parent); by default it is ``FAMILIES[kind]``.
    """
    fam = importlib.import_module(module) if module else family(kind)
    opts = _family_defaults(fam, kind, bool((options or {}).get("conditional", False)))
    for key, value in (options or {}).items():
        if key not in opts:
            raise InputError(f"option '{key}' does not apply to {kind}; its options are {', '.join(opts)}")
        opts[key] = value
    return fam.make_trainer(kind, density, opts, device, seed)


def warm_up() -> None:
    """Load what a run's first steps would otherwise load, so that a process that waits for its job can
    start it at once.

    - every family's modules;
    - torch's compiler front end (torch._dynamo), which the first torch.optim optimizer a process
      builds imports (~1.3 s of one core here);
    - torchdiffeq with scipy.integrate (~0.4 s), for the adaptive solves of the held-out NLL.

    The first picture of a run then came 0.1-0.4 s after its job instead of 1.1-1.4 s
    (tests/bench/bench_train_start.py).
    """
    import torchdiffeq  # noqa: F401 - the import is the point

    for name in dict.fromkeys(FAMILIES.values()):
        importlib.import_module(name)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
