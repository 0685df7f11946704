"""CNF training: it learns, it reports, it stops cleanly on divergence and keeps the last good model."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from engine.api import make_trainer
from engine.cnf import OPTIONS, CNFTrainer
from engine.cnf.dynamics import FieldDynamics
from engine.cnf.optim import EMA, lr_factor
from engine.cnf.solvers import odesolve
from engine.densities import get_density
from engine.device import configure_threads
from engine.errors import InputError, TrainingError

configure_threads()

FAST = {"batch": 128, "heldout": 256, "samples": 100, "width": 32}


def test_training_lowers_the_heldout_nll_and_reports_snapshots() -> None:
    trainer = CNFTrainer(get_density("8gaussians"), {**FAST, "eval_every": 0.0}, "cpu", seed=0)
    snaps = list(trainer.run(steps=40))
    assert [s.step for s in snaps] == list(range(1, 41))
    first, last = snaps[0], snaps[-1]
    assert first.heldout_nll is not None and last.heldout_nll is not None
    assert last.heldout_nll < first.heldout_nll - 0.3
    assert last.metric_name == "held-out NLL" and last.metric == last.heldout_nll
    assert last.total_steps == 40 and last.fraction_done == 1.0
    assert all(b.elapsed > a.elapsed for a, b in zip(snaps, snaps[1:]))
    assert all(s.nfe == 4 * OPTIONS["cnf"]["solver_steps"] for s in snaps)  # RK4, direct backprop
    assert first.samples is not None and first.samples.shape == (100, 2) and first.samples.dtype == np.float32
    assert last.samples is not None  # the final state is always shown
    peak = max(s.lr for s in snaps)
    assert first.lr < peak and last.lr < 0.01 * peak  # a warm-up, then the cosine decays to ~0
    best = trainer.best_model()
    assert best.log_prob(np.zeros((1, 2), np.float32)).shape == (1,)
    assert last.best_step == max(range(1, 41), key=lambda k: -snaps[k - 1].heldout_nll)  # type: ignore[operator]


class _Clock:
    """Stands in for the time module: every reading advances it by 1/16 s (exact in binary)."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 1 / 16
        return self.now


def test_seconds_budget_stops_on_time_and_counts_only_compute(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from engine.cnf import train

    clock = _Clock()
    monkeypatch.setattr(train, "time", clock)
    trainer = CNFTrainer(get_density("gaussian"), FAST, "cpu", seed=0)
    snaps = []
    for s in trainer.run(seconds=1.0):
        snaps.append(s)
        clock.now += 100.0  # the caller's time between snapshots (drawing, a pause) does not count
    per_step = snaps[1].elapsed - snaps[0].elapsed
    assert per_step > 0 and all(b.elapsed - a.elapsed == per_step for a, b in zip(snaps, snaps[1:]))
    assert 1.0 <= snaps[-1].elapsed <= 1.0 + 2 * per_step  # stops within a step of the budget
    assert snaps[-1].budget_seconds == 1.0 and snaps[-1].fraction_done == 1.0
    assert snaps[-1].heldout_nll is not None  # a final measurement


def test_learning_rate_set_from_outside_applies_before_the_next_step() -> None:
    trainer = CNFTrainer(get_density("gaussian"), {**FAST, "schedule": "constant", "warmup": 0.0}, "cpu", seed=0)
    run = trainer.run(steps=5)
    assert next(run).lr == pytest.approx(OPTIONS["cnf"]["lr"])
    trainer.set_learning_rate(1e-4)
    assert next(run).lr == pytest.approx(1e-4)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)


def test_warm_up_ends_at_its_step_cap_or_its_share_whichever_comes_first() -> None:
    peak, opts = OPTIONS["cnf"]["lr"], {**FAST, "schedule": "constant", "warmup": 0.5, "sample_every": 0.0}

    def rates(cap: int) -> list[float]:
        trainer = CNFTrainer(get_density("gaussian"), {**opts, "warmup_steps": cap}, "cpu", 0)
        return [s.lr for s in trainer.run(steps=20)]

    capped = rates(4)
    assert capped[:6] == pytest.approx([peak * k / 4 for k in (1, 2, 3, 4)] + [peak, peak])
    shared = rates(0)
    assert shared[:11] == pytest.approx([peak * max(k / 10, 1e-3) for k in range(10)] + [peak])
    long_cap = rates(100)
    assert long_cap[1:] == pytest.approx(shared[1:])  # the share ends first (the cap only lifts step 1)
    assert long_cap[0] == pytest.approx(peak / 100)
    trainer = CNFTrainer(get_density("gaussian"), {**opts, "warmup_steps": 4}, "cpu", 0)
    list(trainer.run(steps=8))
    resumed = [s.lr for s in trainer.run(steps=8)]  # a second run warms up again from its own first step
    assert resumed[:4] == pytest.approx([peak * k / 4 for k in (1, 2, 3, 4)])
    with pytest.raises(InputError, match="warmup_steps"):
        CNFTrainer(get_density("gaussian"), {"warmup_steps": -1}, "cpu", 0)


def _weights(model: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_nan_loss_stops_with_training_error_and_keeps_last_good_model() -> None:
    density = get_density("8gaussians")
    trainer = CNFTrainer(density, {**FAST, "eval_every": 0.0}, "cpu", seed=1)
    list(trainer.run(steps=10))
    good_step, good = trainer.best_step, _weights(trainer.best_model())
    x = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    good_lp = trainer.best_model().log_prob(x)

    def poisoned(n: int, seed: object = None) -> object:
        return dataclasses.replace(density.__class__.sample(density, n, seed), x=np.full((n, 2), np.nan, np.float32))

    density.sample = poisoned  # type: ignore[method-assign]
    with pytest.raises(TrainingError, match=f"loss became nan.*kept the model of step {good_step}"):
        list(trainer.run(steps=5))
    kept = trainer.best_model()
    assert all(torch.equal(a, b) for a, b in zip(_weights(kept), good))
    np.testing.assert_array_equal(kept.log_prob(x), good_lp)


def test_huge_learning_rate_diverges_cleanly() -> None:
    # a fixed solver (no refinement when training exploits it): the run comes apart within a second
    opts = {**FAST, "eval_every": 0.0, "schedule": "constant", "solver": "rk4", "solver_steps": 4, "solver_gap": 0}
    trainer = CNFTrainer(get_density("8gaussians"), opts, "cpu", 2)
    list(trainer.run(steps=5))
    good = _weights(trainer.best_model())
    with pytest.raises(InputError, match="must be in"):
        trainer.set_learning_rate(1e3)
    trainer.set_learning_rate(1.0)
    with pytest.raises(TrainingError, match="diverged"):
        list(trainer.run(steps=200))
    kept = trainer.best_model()
    assert trainer.best_step <= 5 or math.isfinite(trainer.best_nll)
    assert np.all(np.isfinite(kept.log_prob(np.zeros((4, 2), np.float32))))
    if trainer.best_step <= 5:
        assert all(torch.equal(a, b) for a, b in zip(_weights(kept), good))


def test_exploding_nfe_stops_an_adaptive_run() -> None:
    opts = {**FAST, "solver": "dopri5", "max_nfe": 8, "eval_every": 1e9}
    trainer = CNFTrainer(get_density("8gaussians"), opts, "cpu", seed=0)
    with pytest.raises(TrainingError, match="more than 8 function evaluations"):
        list(trainer.run(steps=3))
    assert trainer.best_model() is not None  # the initial weights


def test_adjoint_hutchinson_run_counts_both_directions() -> None:
    opts = {**FAST, "adjoint": True, "trace": "hutchinson", "probe": "rademacher", "probes": 2,
            "kinetic": 0.01, "frobenius": 0.01, "ema": 0.9, "clip": 1.0, "warmup": 0.2}
    trainer = CNFTrainer(get_density("banana"), opts, "cpu", seed=0)
    snaps = list(trainer.run(steps=4))
    forward = 4 * OPTIONS["cnf"]["solver_steps"]
    assert all(s.nfe is not None and s.nfe > forward for s in snaps)  # the adjoint solve evaluates too
    assert trainer.nfe_forward == forward and trainer.nfe_backward == snaps[-1].nfe - forward
    assert math.isfinite(snaps[-1].loss)
    assert snaps[0].lr < snaps[1].lr  # warm-up
    # the kept model is the EMA's
    ema = trainer.ema
    assert ema is not None
    assert all(torch.equal(a, b) for a, b in zip(_weights(trainer.best_model().field), _weights(ema.shadow)))


def test_bad_options_are_refused_by_name() -> None:
    density = get_density("gaussian")
    with pytest.raises(InputError, match="unknown ODE solver 'rk5'.*dopri5"):
        make_trainer("cnf", density, {"solver": "rk5"}, torch.device("cpu"), 0)
    with pytest.raises(InputError, match="option 'timesteps' does not apply to cnf"):
        make_trainer("cnf", density, {"timesteps": 5}, torch.device("cpu"), 0)
    with pytest.raises(InputError, match="'trace'.*exact, hutchinson"):
        make_trainer("cnf", density, {"trace": "approx"}, torch.device("cpu"), 0)
    with pytest.raises(InputError, match="'batch' must be a positive"):
        make_trainer("cnf", density, {"batch": 0}, torch.device("cpu"), 0)
    with pytest.raises(InputError, match="'lr' must be a float"):
        make_trainer("cnf", density, {"lr": "fast"}, torch.device("cpu"), 0)
    for required in ("lr", "batch", "width", "depth", "solver", "solver_steps", "trace", "probe", "adjoint"):
        assert required in OPTIONS["cnf"]


def test_lr_schedule_and_ema() -> None:
    assert lr_factor(0.0) == 1.0 and lr_factor(1.0) == pytest.approx(0.0)
    assert lr_factor(0.5, floor=0.1) == pytest.approx(0.55)
    assert lr_factor(0.05, warmup=0.1) == pytest.approx(0.5)
    assert lr_factor(0.7, "constant") == 1.0
    with pytest.raises(ValueError, match="cosine"):
        lr_factor(0.1, "step")
    module = torch.nn.Linear(1, 1)
    ema = EMA(module, 0.5)
    with torch.no_grad():
        module.weight.fill_(1.0)
        start = ema.shadow.weight.clone()
    ema.update(module)  # early decay min(0.5, 2/11)
    torch.testing.assert_close(ema.shadow.weight, start + (1.0 - start) * (1 - 2 / 11))


def test_training_solver_is_refined_when_it_disagrees_with_the_accurate_one() -> None:
    # the plain field starts almost still, where one step is exact: the gap opens as it trains
    opts = {**FAST, "solver_steps": 1, "eval_every": 0.0, "solver_gap": 1e-6, "fourier": 0}
    trainer = CNFTrainer(get_density("8gaussians"), opts, "cpu", seed=0)
    nfe = [s.nfe for s in trainer.run(steps=8)]
    assert trainer.discretization_gap is not None and trainer.discretization_gap != 0.0
    assert nfe[0] == 4.0 and nfe[-1] > 4.0  # RK4 with 1 step, then more
    assert all(b in (a, 4 * math.ceil(1.5 * a / 4)) for a, b in zip(nfe, nfe[1:]))  # 1.5x the steps
    steady = CNFTrainer(get_density("8gaussians"), {**opts, "solver_gap": 0.0}, "cpu", seed=0)
    assert [s.nfe for s in steady.run(steps=8)] == [4.0] * 8
    assert steady.discretization_gap is None


def test_the_picture_while_training_is_drawn_from_an_average_of_the_weights_by_default() -> None:
    """The default CNF keeps an EMA (decay 0.99, growing from 0.1): its samples and its current model are
    the average's, which lags the raw weights after a few steps at the default rate."""
    trainer = CNFTrainer(get_density("moons"), {**FAST, "sample_every": 1e-9}, "cpu", seed=0)
    assert trainer.cfg.ema == 0.99 and trainer.ema is not None
    snaps = list(trainer.run(steps=6))
    shadow, raw = trainer.ema.shadow, trainer.field
    assert any(not torch.equal(a, b) for a, b in zip(_weights(shadow), _weights(raw)))
    assert trainer.current_model().field is shadow
    again = trainer._samples()
    with torch.no_grad():
        raw_x = odesolve(FieldDynamics(raw), (trainer.noise,), torch.tensor([0.0, 1.0]), solver=trainer.cfg.solver,
                         steps=trainer.solver_steps)[0][-1]
    assert snaps[-1].samples is not None and np.allclose(snaps[-1].samples, again, atol=1e-6)
    assert not np.allclose(again, raw_x.numpy(), atol=1e-4)
