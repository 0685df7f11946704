r"""Maximum-likelihood training of a CNF, as a generator of :class:`~engine.api.TrainSnapshot`.

Each step draws a batch x from the density, solves the augmented ODE from t=1 back to
t=0 and minimises

.. math:: -\frac1n\sum_i \log p_1(x_i) + λ_K \int_0^1 \|f_θ\|^2 dt + λ_J \int_0^1 \|\partial f_θ/\partial z\|_F^2 dt,

with gradients by backpropagation through the solver or by the adjoint method. The
held-out NLL is measured every few seconds on a fixed batch with the accurate solver of
:class:`~engine.cnf.model.CNF`, and the best model seen is kept; a NaN loss, a NaN
gradient or a runaway solver stops the run with :class:`~engine.errors.TrainingError`,
after which :meth:`CNFTrainer.best_model` still returns the last good model.

References:
    | FFJORD (Grathwohl et al., 2019) https://arxiv.org/abs/1810.01367
    | How to train your neural ODE (Finlay et al., 2020) https://arxiv.org/abs/2002.02798
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..api import HELDOUT_NLL, TrainSnapshot
from ..densities import Density
from ..errors import TrainingError
from ..guard import DivergenceGuard, check_learning_rate
from ..metrics import angular_asymmetry, log_density_spread
from .divergence import TraceEstimator
from .dynamics import CNFDynamics, FieldDynamics
from .model import CNF, standard_normal_log_prob
from .nets import VectorField
from .optim import EMA, fused_adam, lr_factor
from .options import TrainConfig
from .solvers import ODE_SOLVERS, Counted, SolverDiverged, odesolve, stage_times

__all__ = ["CNFTrainer", "build_field", "data_frame"]

_MAX_SOLVER_STEPS = 64
_FRAME_POINTS = 16_384  # points that measure the data's mean and spread for the network's frame
# points that tell whether the data look the same at every angle about the origin, and how far from it
# they may be: the moments' sampling noise stays under ~0.05 with 20,000 points, while every built-in
# density with an angular structure reads 0.65 or more (engine.metrics.angular_asymmetry)
_SYMMETRY_POINTS = 20_000
RADIAL_SYMMETRY_TOL = 0.15
# data whose log-density varies less than this over them (engine.metrics.log_density_spread; a Gaussian's
# 1, a uniform law's 0) have flat parts with sharp edges or thin curves, which Fourier features draw
# sooner. The built-in densities fall at 0.16-0.72 (checkerboard, the spirals, moons, swissroll, the rings)
# or at 0.95-1.47 (the Gaussian mixtures, pinwheel, banana, funnel, a Gaussian)
FLAT_TOL = 0.8
# ... and whose field then has its Jacobian penalty (option `frobenius`) this many times over: the features
# make it stiffer, and after 60 s swissroll's held-out NLL was 0.001-0.007 nats above the plain field's
# (its training solver refined to 9-14 steps against 4-6) with the penalty as it was, 0.001-0.003 below
# with it doubled (bench_cnf_minute.py)
FLAT_FROBENIUS = 2.0
# A held-out NLL this far above the best one is a run that has come apart (a learning rate far
# too high, say), even when every number is still finite: stop and keep the best model.
_DIVERGED_NATS = 2.0
# the same for the median training-batch NLL, checked every step (the batch is noisier)
_DIVERGED_BATCH_NATS = 25.0


def build_field(cfg: TrainConfig, seed: int, frame: tuple[list[float], float] | None = None) -> VectorField:
    """A freshly initialised vector field, seeded without touching the global RNG.

    ``frame`` (shift, scale) standardises the data for the network (see :func:`data_frame`).
    """
    shift, scale = frame if frame is not None else (None, 1.0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return VectorField(2, cfg.width, cfg.depth, cfg.activation, cfg.end_time, cfg.fourier, cfg.fourier_scale,
                           cfg.time_features, shift, scale, cfg.radial, cfg.radial_scale)


def _chosen_features(density: Density, cfg: TrainConfig, seed: int) -> tuple[int, int]:
    """How many radial and Fourier features a run with ``cfg`` on ``density`` feeds its field.

    Radial: ``cfg.radial`` when given, else ``cfg.radial_symmetric`` where the data look the same at
    every angle about the origin (:func:`engine.metrics.angular_asymmetry` under RADIAL_SYMMETRY_TOL).
    Fourier: ``cfg.fourier`` when given, else ``cfg.fourier_flat`` where the data are flatter than a
    Gaussian (:func:`engine.metrics.log_density_spread` under FLAT_TOL) and take no radial features.
    """
    radial, fourier = cfg.radial, cfg.fourier
    if radial or fourier or not (cfg.radial_symmetric or cfg.fourier_flat):
        return radial, fourier
    x = density.sample(_SYMMETRY_POINTS, seed=seed + 2750159).x
    if cfg.radial_symmetric and angular_asymmetry(x) < RADIAL_SYMMETRY_TOL:
        return cfg.radial_symmetric, 0
    if cfg.fourier_flat and log_density_spread(x) < FLAT_TOL:
        return 0, cfg.fourier_flat
    return 0, 0


def data_frame(x: np.ndarray) -> tuple[list[float], float]:
    """The data's mean (2,) and its spread (one scale for both axes, so the map stays a similarity)."""
    x = np.asarray(x, np.float64)
    return [float(v) for v in x.mean(0)], float(x.std()) or 1.0


@dataclass(frozen=True)
class _Budget:
    """A run's budget in steps and/or seconds, counted from where the run began."""

    steps: int | None
    seconds: float | None
    first_step: int
    start: float

    def fraction(self, step: int, elapsed: float) -> float:
        """Share of the budget used (the larger of the two when both are set)."""
        by_steps = (step - self.first_step) / self.steps if self.steps else 0.0
        by_time = (elapsed - self.start) / self.seconds if self.seconds else 0.0
        return max(by_steps, by_time)

    def finished(self, step: int, elapsed: float) -> bool:
        return (self.steps is not None and step - self.first_step >= self.steps) or (
            self.seconds is not None and elapsed - self.start >= self.seconds)


def _adam(field: VectorField, cfg: TrainConfig) -> torch.optim.Adam:
    return fused_adam(field.parameters(), lr=cfg.lr, betas=(0.9, cfg.beta2), weight_decay=cfg.weight_decay)


class StepChecks:
    """What every ODE-model trainer does on a failed step: the finite check and the one-sentence
    error naming the step and the kept model. Subclasses have ``step``, ``best_step`` and ``device``."""

    step: int
    best_step: int
    device: torch.device

    def _check_finite(self, value: Tensor, what: str, lr: float) -> None:
        value = value.detach()
        if not bool(torch.isfinite(value)):
            raise self._failure(f"the {what} became {float(value)} at learning rate {lr:.3g}")

    def _failure(self, why: str) -> TrainingError:
        return TrainingError(f"training diverged at step {self.step + 1}: {why}; kept the model of step "
                             f"{self.best_step}")

    def _tensor(self, x: np.ndarray) -> Tensor:
        return torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(self.device)


class CNFTrainer(StepChecks):
    """Trains a CNF on a density; :meth:`run` yields a snapshot after every step.

    Arguments:
        density: the data, sampled afresh each step (model coordinates).
        options: see ``OPTIONS["cnf"]``; missing ones take their defaults.
        device: where to compute.
        seed: seeds the weights, the batches, the probes and the held-out batch.
    """

    def __init__(self, density: Density, options: dict[str, Any], device: torch.device | str, seed: int) -> None:
        self.cfg = cfg = TrainConfig.from_options(options)
        self.density, self.device = density, torch.device(device)
        radial, fourier = _chosen_features(density, cfg, seed)
        self._note: str | None = None  # said on the first snapshot (one line of a 1024-pixel status bar)
        if radial != cfg.radial:  # rotation-invariant data: waves in the radius
            self._note = (f"Rotation-invariant data: the CNF also gets {radial} radial features, waves in the "
                          "distance from the centre")
        elif fourier != cfg.fourier:  # flat parts, sharp edges, thin curves: waves in the plane
            self._note = (f"Sharp edges or thin curves: the CNF also gets {fourier} Fourier features and twice the "
                          "Jacobian penalty")
        frobenius = cfg.frobenius * (FLAT_FROBENIUS if fourier != cfg.fourier else 1.0)
        self.cfg = cfg = replace(cfg, radial=radial, fourier=fourier, frobenius=frobenius)
        # the frame is measured on its own sample: the batches' and the held-out draws stay as they were
        self.frame = data_frame(density.sample(_FRAME_POINTS, seed=seed + 15485863).x) if cfg.normalise else None
        self.field = build_field(cfg, seed, self.frame).to(self.device)
        estimator = TraceEstimator(cfg.trace == "exact", cfg.probe, cfg.probes)
        self.dynamics = Counted(CNFDynamics(self.field, estimator, cfg.kinetic > 0, cfg.frobenius > 0), cfg.max_nfe)
        self.optimizer = _adam(self.field, cfg)
        self.ema = EMA(self.field, cfg.ema) if cfg.ema > 0 else None
        self.rng = np.random.default_rng(seed)
        self.probe_rng = torch.Generator(self.device).manual_seed(seed)
        self.heldout = self._tensor(density.sample(cfg.heldout, seed=seed + 7919).x)
        noise = torch.randn(cfg.samples, 2, generator=torch.Generator().manual_seed(seed + 104729))
        self.noise = noise.to(self.device)  # the same noise every time: samples move smoothly
        self.peak_lr = cfg.lr
        self._pending_lr: float | None = None
        self.step = 0
        self._first_step = 0  # the step the current run began at (its warm-up counts from there)
        self.elapsed = 0.0
        self.best_nll = math.inf
        self.best_step = 0
        self._best_state = {k: v.detach().clone() for k, v in self.field.state_dict().items()}
        self.last_heldout: float | None = None
        self.solver_steps = cfg.solver_steps  # grows when training exploits the discretization
        self.discretization_gap: float | None = None  # accurate minus training-solver held-out NLL
        self.nfe_forward = self.nfe_backward = 0  # function evaluations of the last step, each way
        self.guard = DivergenceGuard(margin=_DIVERGED_BATCH_NATS)

    # -- the Trainer contract ----------------------------------------------------------
    def set_learning_rate(self, lr: float) -> None:
        """New peak learning rate (the schedule still scales it), applied before the next step.

        Safe to call from another thread: it only stores the value.
        """
        self._pending_lr = check_learning_rate(lr)

    def best_model(self) -> CNF:
        """The model with the lowest held-out NLL so far (the last good one after a failure)."""
        field = build_field(self.cfg, 0, self.frame).to(self.device)
        field.load_state_dict(self._best_state)
        return CNF(field, self.cfg.atol, self.cfg.rtol).eval()

    def current_model(self) -> CNF:
        """The model as it is now (its EMA weights when an EMA is kept), sharing the weights.

        Its solves stop at ``max_nfe`` evaluations: a diverging model would otherwise keep an
        adaptive solver busy almost forever.
        """
        model = CNF(self._eval_field(), self.cfg.atol, self.cfg.rtol)
        model.max_nfe = self.cfg.max_nfe
        return model

    def run(self, steps: int | None = None, seconds: float | None = None) -> Iterator[TrainSnapshot]:
        """Train for ``steps`` steps or ``seconds`` of compute (the default step count without
        either), yielding a snapshot after each step. Time spent by the caller between
        snapshots (a pause, drawing) does not count."""
        if steps is None and seconds is None:
            steps = self.cfg.steps
        budget = _Budget(steps, seconds, self.step, self.elapsed)
        self._first_step = self.step
        if self.step == 0:
            self._measure_heldout()  # the untrained flow is the baseline a diverging run is measured against
        recent: deque[float] = deque(maxlen=20)
        next_eval, next_samples = self.elapsed + self.cfg.eval_every, self.elapsed
        while True:
            resumed = time.perf_counter()
            lr = self._apply_lr(budget.fraction(self.step, self.elapsed))
            loss, nfe = self._train_step(lr)
            self.step += 1
            now = self.elapsed + time.perf_counter() - resumed
            finished = budget.finished(self.step, now)
            if finished or now >= next_eval:
                self._measure_heldout()
                next_eval = now + self.cfg.eval_every
            samples = None
            if self.cfg.sample_every > 0 and (finished or now >= next_samples):
                samples = self._samples()
                next_samples = now + self.cfg.sample_every
            self.elapsed += time.perf_counter() - resumed
            recent.append(self.elapsed)
            yield self._snapshot(budget, loss, lr, nfe, recent, samples)
            if finished:
                return

    def _snapshot(self, budget: _Budget, loss: float, lr: float, nfe: int, recent: deque[float],
                  samples: np.ndarray | None) -> TrainSnapshot:
        rate = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 else 0.0
        note, self._note = self._note, None
        return TrainSnapshot(
            step=self.step, elapsed=self.elapsed, loss=loss, lr=lr, steps_per_s=rate,
            total_steps=None if budget.steps is None else budget.first_step + budget.steps,
            budget_seconds=budget.seconds, heldout_nll=self.last_heldout, metric_name=HELDOUT_NLL,
            metric=self.last_heldout, nfe=float(nfe), best_step=self.best_step, samples=samples, note=note)

    # -- one step ----------------------------------------------------------------------------
    def _apply_lr(self, fraction: float) -> float:
        if self._pending_lr is not None:
            self.peak_lr, self._pending_lr = self._pending_lr, None
        factor = lr_factor(fraction, self.cfg.schedule, self.cfg.warmup, self.cfg.lr_floor)
        if self.cfg.warmup_steps and fraction < self.cfg.warmup:  # the warm-up ends at its step cap
            factor = max(factor, min(1.0, (self.step + 1 - self._first_step) / self.cfg.warmup_steps))
        lr = self.peak_lr * factor
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def _train_step(self, lr: float) -> tuple[float, int]:
        """One optimiser step; returns the batch NLL (nats) and the NFE of both directions."""
        x = self._tensor(self.density.sample(self.cfg.batch, seed=self.rng).x)
        self.dynamics.nfe = 0
        try:
            nll, penalty = self._objective(x)
            self.nfe_forward = self.dynamics.nfe
            self._check_finite(nll, "loss", lr)
            self.optimizer.zero_grad(set_to_none=True)
            (nll + penalty).backward()
            self.nfe_backward = self.dynamics.nfe - self.nfe_forward  # the adjoint's solve; 0 by backprop
        except SolverDiverged as e:
            raise self._failure(f"{e} (the dynamics became too stiff)") from None
        norm = torch.nn.utils.clip_grad_norm_(self.field.parameters(), self.cfg.clip or math.inf)
        self._check_finite(norm, "gradient", lr)
        try:
            self.guard.check(float(nll.detach()), self.peak_lr)
        except TrainingError as e:
            raise self._failure(str(e)) from None
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update(self.field)
        return float(nll.detach()), self.dynamics.nfe

    def _objective(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean NLL of the batch x (n, 2) under the training solver, and the weighted penalties."""
        cfg, dyn = self.cfg, self.dynamics.func
        assert isinstance(dyn, CNFDynamics)
        dyn.begin(x, self.probe_rng)
        times = torch.tensor([1.0, 0.0], device=self.device)
        spec = ODE_SOLVERS[cfg.solver]
        # a fixed-step solve by backpropagation evaluates the field at known times: fold its layers once
        folded = (self.field.fixed_times(stage_times(1.0, 0.0, self.solver_steps, spec.method))
                  if not (spec.adaptive or cfg.adjoint) else nullcontext())
        with folded:
            out = odesolve(self.dynamics, dyn.initial_state(x), times, solver=cfg.solver, steps=self.solver_steps,
                           atol=cfg.atol, rtol=cfg.rtol, adjoint=cfg.adjoint)
        nll = -(standard_normal_log_prob(out[0][-1]) - out[1][-1]).mean()
        # the penalties were integrated from t=1 down to 0, hence the minus signs
        weights = [w for w in (cfg.kinetic, cfg.frobenius) if w > 0]
        penalty = sum((-w * y[-1].mean() for w, y in zip(weights, out[2:])), torch.zeros((), device=self.device))
        return nll, penalty

    # -- monitoring -----------------------------------------------------------------------------
    def _eval_field(self) -> VectorField:
        return self.ema.shadow if self.ema is not None else self.field  # type: ignore[return-value]

    def _measure_heldout(self) -> None:
        """Held-out NLL with the accurate solver; keeps the best weights."""
        model = self.current_model()
        try:
            nll = float(-model.log_prob_at(self.heldout).mean())
        except SolverDiverged as e:
            raise self._failure(f"held-out evaluation: {e}") from None
        if not math.isfinite(nll):
            raise self._failure("the held-out NLL is not finite")
        if nll > self.best_nll + _DIVERGED_NATS:
            raise self._failure(f"the held-out NLL rose to {nll:.4g} nats, from {self.best_nll:.4g} at best (a "
                                f"learning rate of {self.peak_lr:g} is probably too high)")
        self._check_discretization(model, nll)
        self.last_heldout = nll
        if nll < self.best_nll:
            self.best_nll, self.best_step = nll, self.step
            self._best_state = {k: v.detach().clone() for k, v in self._eval_field().state_dict().items()}

    def _check_discretization(self, model: CNF, nll: float) -> None:
        """Refine the training solver when its NLL and the accurate one part ways.

        With a few fixed steps the training objective is only an approximation of the
        likelihood, and the optimiser can exploit its error: the discrete flow's NLL keeps
        falling while the true one rises. Measured on the held-out batch, a gap beyond
        ``solver_gap`` nats makes training take 1.5 times the steps from then on.
        """
        if ODE_SOLVERS[self.cfg.solver].adaptive or self.cfg.solver_gap <= 0:
            return
        try:
            coarse = model.log_prob_at(self.heldout, solver=self.cfg.solver, steps=self.solver_steps)
        except SolverDiverged:
            return
        self.discretization_gap = gap = nll + float(coarse.mean())
        tolerance = max(self.cfg.solver_gap, 1e-5 * abs(nll))  # never below float32 resolution
        if abs(gap) > tolerance and self.solver_steps < _MAX_SOLVER_STEPS:
            self.solver_steps = min(math.ceil(1.5 * self.solver_steps), _MAX_SOLVER_STEPS)

    def _samples(self) -> np.ndarray:
        """Model samples (float32 (m, 2)) from fixed noise, with the training solver."""
        times = torch.tensor([0.0, 1.0], device=self.device)
        with torch.no_grad():
            x = odesolve(FieldDynamics(self._eval_field()), (self.noise,), times, solver=self.cfg.solver,
                         steps=self.solver_steps, atol=self.cfg.atol, rtol=self.cfg.rtol)[0][-1]
        return x.float().cpu().numpy()
