r"""Flow-matching training (and reflow), as a generator of :class:`~engine.api.TrainSnapshot`.

Each step draws data x_1 (with labels), noise x_0 ~ N(0, I), pairs them by the coupling,
draws times t and minimises the regression loss

.. math:: \frac1n \sum_i \| v_θ(x_t^i, t_i[, y_i]) - u_t(x_t^i | x_0^i, x_1^i) \|^2,

no ODE solve needed. A conditional model sees each label replaced by the null label ∅ with
probability ``label_dropout``. Reflow (Liu et al., 2023) trains on fixed pairs
(x_0, x_1 = ψ(x_0)) of a teacher's flow map ψ instead, starting from the teacher's weights.

Every few seconds the exact held-out NLL is measured with the accurate solver (the CNF's
log-density), and the model with the best one is kept; a non-finite loss or gradient stops
the run with :class:`~engine.errors.TrainingError`, and :meth:`FlowMatchingTrainer.best_model`
still returns the last good model.

References:
    | Flow Matching for Generative Modeling (Lipman et al., 2023) https://arxiv.org/abs/2210.02747
    | Flow Straight and Fast (Liu et al., 2023) https://arxiv.org/abs/2209.03003
    | Tong et al. (2024), minibatch OT couplings: see :mod:`engine.flowmatch.coupling`.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..api import HELDOUT_NLL, TrainSnapshot
from ..cnf.dynamics import FieldDynamics
from ..cnf.optim import EMA, fused_adam, lr_factor
from ..cnf.solvers import SolverDiverged, odesolve
from ..cnf.train import StepChecks, _Budget
from ..densities import Density
from ..errors import InputError
from ..guard import check_learning_rate
from .coupling import couple
from .model import SDE_SAMPLER, FlowMatchingModel
from .nets import FlowField, GuidedField
from .options import check_options
from .paths import interpolate, sample_times

__all__ = ["FlowMatchingTrainer", "Pairs"]

# a held-out NLL this far above the best one is a run that has come apart
_DIVERGED_NATS = 5.0
# monitoring waits at least this many times its own cost: it never takes more than ~1/5 of the time
# (a training step is cheap, a solve for samples or an NLL is not)
_MAX_SHARE = 4.0


@dataclass(frozen=True)
class Pairs:
    """Fixed training pairs for reflow: noise x0 (n, d), the teacher's images x1 (n, d), labels y (n,) or None."""

    x0: Tensor
    x1: Tensor
    y: Tensor | None = None


class FlowMatchingTrainer(StepChecks):
    """Trains a flow-matching model; :meth:`run` yields a snapshot after every step.

    Arguments:
        density: the data (model coordinates), sampled afresh each step.
        options: see ``OPTIONS["fm"]``; missing ones take their defaults.
        device: where to compute.  seed: seeds the weights, batches, times and held-out batch.
        pairs: reflow pairs to train on instead of the density (the held-out batch then comes
            from their last ``heldout`` pairs, which training never sees).
        init: a state dict to start from (reflow starts from its teacher).
        generation: recorded in the model (0 on data, k for the k-th reflow).
    """

    def __init__(self, density: Density | None, options: dict[str, Any], device: torch.device | str, seed: int,
                 *, pairs: Pairs | None = None, init: dict[str, Tensor] | None = None, generation: int = 0) -> None:
        self.opts = opts = check_options(options)
        self.density, self.device = density, torch.device(device)
        self.num_classes = self._classes(density, pairs, opts)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = self._new_net()
        if init is not None:
            self.net.load_state_dict(init, strict=True)
        self.net.to(self.device)
        self.info = {k: opts[k] for k in ("path", "sigma_min", "coupling", "time_sampling")}
        self.info["generation"] = int(generation)
        self.optimizer = fused_adam(self.net.parameters(), lr=opts["lr"], betas=(0.9, opts["beta2"]),
                                    weight_decay=opts["weight_decay"])
        self.ema = EMA(self.net, opts["ema"]) if opts["ema"] > 0 else None
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator().manual_seed(seed)
        self.pairs, self.heldout = self._split(pairs, density, opts["heldout"], seed)
        self.noise = torch.randn(opts["samples"], 2, generator=torch.Generator().manual_seed(seed + 104729)).to(
            self.device)
        self._kicks_seed = seed + 1299709  # the sde preview's Brownian increments, the same at every look
        self.peak_lr = opts["lr"]
        self._pending_lr: float | None = None
        self.step, self.elapsed = 0, 0.0
        self._fraction = 0.0  # of the run's budget done (the early_ramp times follow it)
        self.best_nll, self.best_step = math.inf, 0
        self._best_state = self._state()
        self.last_heldout: float | None = None

    def _new_net(self) -> FlowField:
        o = self.opts
        return FlowField(2, o["width"], o["depth"], o["activation"], self.num_classes, o["fourier"], o["fourier_scale"],
                         o["time_features"], o["radial"])

    @staticmethod
    def _classes(density: Density | None, pairs: Pairs | None, opts: dict[str, Any]) -> int:
        if not opts["conditional"]:
            return 0
        if pairs is not None:
            if pairs.y is None:
                raise InputError("conditional reflow needs labelled pairs")
            return int(pairs.y.max()) + 1
        assert density is not None
        if density.num_classes < 2:
            raise InputError(f"--conditional needs labelled data with at least 2 classes; '{density.name}' has "
                             f"{density.num_classes}")
        return int(density.num_classes)

    def _split(self, pairs: Pairs | None, density: Density | None, n_heldout: int,
               seed: int) -> tuple[Pairs | None, Tensor]:
        if pairs is None:
            if density is None:
                raise InputError("flow matching needs a density or reflow pairs to train on")
            return None, self._tensor(density.sample(n_heldout, seed=seed + 7919).x)
        n = len(pairs.x0)
        k = min(n_heldout, n // 5)
        if n - k < 1 or k < 1:
            raise InputError(f"reflow needs at least 5 pairs, not {n}")
        y = None if pairs.y is None else pairs.y[: n - k].to(self.device)
        train = Pairs(pairs.x0[: n - k].to(self.device), pairs.x1[: n - k].to(self.device), y)
        return train, pairs.x1[n - k:].to(self.device)

    # -- the Trainer contract ----------------------------------------------------------
    def set_learning_rate(self, lr: float) -> None:
        """New peak learning rate, applied before the next step (safe from another thread)."""
        self._pending_lr = check_learning_rate(lr)

    def best_model(self) -> FlowMatchingModel:
        """The model with the lowest held-out NLL so far (the last good one after a failure)."""
        net = self._new_net()
        net.load_state_dict(self._best_state)
        return FlowMatchingModel(net.to(self.device), dict(self.info), self.opts["atol"], self.opts["rtol"]).eval()

    def current_model(self) -> FlowMatchingModel:
        """The model as it is now (its EMA weights when kept), sharing the weights; solves stop at max_nfe."""
        model = FlowMatchingModel(self._eval_net(), dict(self.info), self.opts["atol"], self.opts["rtol"])
        model.max_nfe = int(self.opts["max_nfe"])
        return model

    def run(self, steps: int | None = None, seconds: float | None = None) -> Iterator[TrainSnapshot]:
        """Train for ``steps`` steps or ``seconds`` of compute (the default step count without either)."""
        if steps is None and seconds is None:
            steps = int(self.opts["steps"])
        budget = _Budget(steps, seconds, self.step, self.elapsed)
        recent: deque[float] = deque(maxlen=20)
        next_eval, next_samples = self.elapsed + float(self.opts["eval_every"]), self.elapsed
        while True:
            resumed = time.perf_counter()
            self._fraction = budget.fraction(self.step, self.elapsed)
            lr = self._apply_lr(self._fraction)
            loss = self._train_step(lr)
            self.step += 1
            now = self.elapsed + time.perf_counter() - resumed
            finished = budget.finished(self.step, now)
            if finished or now >= next_eval:
                cost = self._timed(self._measure_heldout)[1]
                next_eval = now + max(float(self.opts["eval_every"]), _MAX_SHARE * cost)
            samples = None
            if self.opts["sample_every"] > 0 and (finished or now >= next_samples):
                samples, cost = self._timed(self._samples)
                next_samples = now + max(float(self.opts["sample_every"]), _MAX_SHARE * cost)
            self.elapsed += time.perf_counter() - resumed
            recent.append(self.elapsed)
            rate = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 else 0.0
            yield TrainSnapshot(
                step=self.step, elapsed=self.elapsed, loss=loss, lr=lr, steps_per_s=rate,
                total_steps=None if budget.steps is None else budget.first_step + budget.steps,
                budget_seconds=budget.seconds, heldout_nll=self.last_heldout, metric_name=HELDOUT_NLL,
                metric=self.last_heldout, best_step=self.best_step, samples=samples)
            if finished:
                return

    @staticmethod
    def _timed(fn: Any) -> tuple[Any, float]:
        start = time.perf_counter()
        return fn(), time.perf_counter() - start

    # -- one step ----------------------------------------------------------------------------
    def _apply_lr(self, fraction: float) -> float:
        if self._pending_lr is not None:
            self.peak_lr, self._pending_lr = self._pending_lr, None
        lr = self.peak_lr * lr_factor(fraction, self.opts["schedule"], self.opts["warmup"], self.opts["lr_floor"])
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def batch(self) -> tuple[Tensor, Tensor, Tensor | None]:
        """A training batch of coupled pairs (x0, x1, y)."""
        n = int(self.opts["batch"])
        if self.pairs is not None:
            idx = torch.randint(len(self.pairs.x0), (n,), generator=self.gen).to(self.device)
            y = None if self.pairs.y is None else self.pairs.y[idx]
            return self.pairs.x0[idx], self.pairs.x1[idx], y
        assert self.density is not None
        smp = self.density.sample(n, seed=self.rng)
        x1 = self._tensor(smp.x)
        y = torch.from_numpy(smp.labels).to(self.device) if self.num_classes and smp.labels is not None else None
        x0 = torch.randn(n, 2, generator=self.gen).to(self.device)
        return couple(self.opts["coupling"], x0, x1, y, int(self.opts["ot_block"]))

    def loss(self, x0: Tensor, x1: Tensor, y: Tensor | None) -> Tensor:
        """The regression loss of a batch of pairs (mean over the batch of ‖v − u‖²)."""
        t = sample_times(len(x0), self.opts["time_sampling"], self.gen, self.opts["path"],
                         mean=self.opts["t_mean"], std=self.opts["t_std"], fraction=self._fraction).to(self.device)
        x_t, u = interpolate(self.opts["path"], x0, x1, t, self.opts["sigma_min"])
        if y is not None:
            drop = torch.rand(len(y), generator=self.gen).to(self.device) < self.opts["label_dropout"]
            y = torch.where(drop, torch.full_like(y, self.net.null_label), y)
        return ((self.net(t, x_t, y) - u) ** 2).sum(1).mean()

    def _train_step(self, lr: float) -> float:
        loss = self.loss(*self.batch())
        self._check_finite(loss, "loss", lr)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.net.parameters(), math.inf)
        self._check_finite(norm, "gradient", lr)
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update(self.net)
        return float(loss.detach())

    # -- monitoring -----------------------------------------------------------------------------
    def _eval_net(self) -> FlowField:
        return self.ema.shadow if self.ema is not None else self.net  # type: ignore[return-value]

    def _state(self) -> dict[str, Tensor]:
        return {k: v.detach().clone() for k, v in self._eval_net().state_dict().items()}

    def _measure_heldout(self) -> None:
        """Exact held-out NLL with the accurate solver; keeps the best weights."""
        try:
            nll = float(-self.current_model().log_prob_at(self.heldout).mean())
        except SolverDiverged as e:
            raise self._failure(f"held-out evaluation: {e}") from None
        if not math.isfinite(nll):
            raise self._failure("the held-out NLL is not finite")
        if nll > self.best_nll + _DIVERGED_NATS:
            raise self._failure(f"the held-out NLL rose to {nll:.4g} nats, from {self.best_nll:.4g} at best (a "
                                f"learning rate of {self.peak_lr:g} is probably too high)")
        self.last_heldout = nll
        if nll < self.best_nll:
            self.best_nll, self.best_step = nll, self.step
            self._best_state = self._state()

    def _samples(self) -> np.ndarray:
        """Model samples (float32 (m, 2)) from fixed noise (and fixed kicks) with the snapshot sampler."""
        if self.opts["sample_solver"] == SDE_SAMPLER:
            model = self.current_model()
            kicks = torch.Generator().manual_seed(self._kicks_seed)
            return model.sde_solve(self.noise, int(self.opts["sample_steps"]), kicks).float().cpu().numpy()
        times = torch.tensor([0.0, 1.0], device=self.device)
        with torch.no_grad():
            x = odesolve(FieldDynamics(GuidedField(self._eval_net())), (self.noise,), times,  # type: ignore[arg-type]
                         solver=self.opts["sample_solver"], steps=int(self.opts["sample_steps"]),
                         atol=self.opts["atol"], rtol=self.opts["rtol"])[0][-1]
        return x.float().cpu().numpy()
