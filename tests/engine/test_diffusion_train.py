"""Training: the learned ε against the exact noisy score, the snapshot stream, failures and checkpoints."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
import torch

from engine.api import default_options as api_default_options
from engine.api import make_trainer
from engine.checkpoint import density_record, load_trained, save_checkpoint
from engine.densities import get_density
from engine.device import configure_threads
from engine.diffusion import CONDITIONAL_DEFAULTS, OPTIONS, load_model
from engine.diffusion.analytic import exact_model
from engine.diffusion.train import LEVELS_PER_BATCH
from engine.errors import InputError, TrainingError

configure_threads()  # one torch thread: two spin-wait on a busy 2-core machine

CPU = torch.device("cpu")
TWO_MODES = get_density("twomodes")


def _train(kind: str, density_name: str, steps: int, **options: object):  # type: ignore[no-untyped-def]
    trainer = make_trainer(kind, get_density(density_name), dict(options), CPU, 0)
    snaps = list(trainer.run(steps=steps))
    return trainer, snaps


def test_briefly_trained_eps_is_close_to_the_exact_noisy_score() -> None:
    trainer, _ = _train("ddpm", "twomodes", 600, batch=256, timesteps=200)
    model = trainer.best_model()
    truth = exact_model(TWO_MODES, model.process, model.shift, model.scale)
    x0 = TWO_MODES.sample(2000, seed=9).x
    gen = torch.Generator().manual_seed(0)
    for tau in (0.05, 0.2, 0.5):
        z = model.process.add_noise_at(model.to_z(x0), torch.randn(2000, 2, generator=gen), tau)
        pts = model.from_z(z)
        learned, exact = model.eps(pts, tau), truth.eps(pts, tau)
        rel = np.mean((learned - exact) ** 2) / np.mean(exact**2)
        assert rel < 0.05, f"tau={tau}: relative error {rel:.3f}"
    # and an untrained network is far from it, so the check can fail
    fresh = make_trainer("ddpm", TWO_MODES, {"timesteps": 200}, CPU, 1).best_model()
    pts = model.from_z(model.process.add_noise_at(model.to_z(x0), torch.randn(2000, 2, generator=gen), 0.2))
    assert np.mean((fresh.eps(pts, 0.2) - truth.eps(pts, 0.2)) ** 2) / np.mean(truth.eps(pts, 0.2) ** 2) > 0.2


def test_snapshots_every_step_with_samples_and_a_final_likelihood() -> None:
    trainer = make_trainer("ddpm", TWO_MODES, {"batch": 64, "timesteps": 100}, CPU, 0)
    run = trainer.run(steps=40)
    first = next(run)
    trainer.set_learning_rate(1e-4)
    rest = list(run)
    snaps = [first, *rest]
    assert [s.step for s in snaps[:-1]] == list(range(1, 41)) and snaps[-1].step == 40
    assert snaps[0].samples is not None and snaps[0].samples.shape == (2000, 2)
    assert snaps[0].samples.dtype == np.float32 and snaps[0].metric_name == "histogram TV"
    assert rest[0].lr < first.lr * 0.5  # the new base rate took effect at the next step
    assert all(b.elapsed >= a.elapsed for a, b in zip(snaps, snaps[1:]))
    assert snaps[-1].heldout_nll is not None and math.isfinite(snaps[-1].heldout_nll)
    assert snaps[-1].total_steps == 40 and snaps[-1].fraction_done == 1.0


def test_nan_stops_training_and_keeps_the_last_good_model() -> None:
    trainer = make_trainer("ddpm", TWO_MODES, {"batch": 64, "timesteps": 100}, CPU, 0)
    run = trainer.run(steps=100)
    for _ in range(10):
        next(run)
    with torch.no_grad():
        trainer.net.out.weight.fill_(math.nan)
    with pytest.raises(TrainingError, match="nan"):
        deque(run, maxlen=0)
    x = trainer.best_model().sample(50, seed=0, sampler="ddim", steps=10)
    assert np.isfinite(x).all()


def test_conditional_checkpoint_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    density = get_density("8gaussians")
    trainer, _ = _train("ddpm", "8gaussians", 20, batch=64, timesteps=50, conditional=True)
    model = trainer.best_model()
    path = str(tmp_path / "m.pt")
    save_checkpoint(path, {**model.to_checkpoint(), "density": density_record(density), "metrics": {}})
    loaded = load_trained(path)
    opts = {"seed": 4, "sampler": "ddim", "steps": 20, "label": 3, "guidance": 2.5, "guidance_kind": "classifier"}
    assert np.array_equal(loaded.model.sample(64, **opts), model.sample(64, **opts))
    pts = density.sample(32, seed=1).x
    assert np.allclose(loaded.model.log_prob(pts, solver="rk4", steps=10), model.log_prob(pts, solver="rk4", steps=10))
    assert loaded.model.num_classes == 8 and loaded.model.classifier is not None


def test_trained_net_gives_exact_gamma_zero_and_one() -> None:
    trainer, _ = _train("ddpm", "8gaussians", 10, batch=64, timesteps=50, conditional=True)
    model = trainer.best_model()
    opts = {"seed": 2, "sampler": "ancestral", "steps": 25}
    assert np.array_equal(model.sample(100, label=1, guidance=0.0, **opts), model.sample(100, **opts))
    assert np.array_equal(model.sample(100, label=1, guidance=1.0, **opts), model.sample(100, label=1, **opts))


def test_ncsn_trains_with_an_automatic_sigma_max_and_samples_by_langevin() -> None:
    trainer, snaps = _train("ncsn", "twomodes", 20, batch=64, timesteps=20)
    model = trainer.best_model()
    assert model.process.sigma_max > 1.0  # the largest spread of the normalised data
    x = model.sample(100, seed=0, steps_per_level=2)
    assert x.shape == (100, 2) and np.isfinite(x).all()
    ckpt = model.to_checkpoint()
    assert load_model(ckpt, CPU).process.sigma_max == model.process.sigma_max


@pytest.mark.parametrize(
    ("kind", "density", "options", "message"),
    [
        ("ncsn", "twomodes", {"schedule": "cosine"}, "geometric"),
        ("ddpm", "swissroll", {"conditional": True}, "labelled"),
        ("ddpm", "twomodes", {"batch": 0}, "batch"),
        ("ddpm", "twomodes", {"timesteps": 2.5}, "timesteps"),
        ("ddpm", "twomodes", {"schedule": "sigmoid"}, "schedule"),
        ("ddpm", "twomodes", {"sigma_min": 0.1}, "does not apply"),
        ("ddpm", "twomodes", {"classifier_batch": 0}, "classifier_batch"),
        ("ddpm", "twomodes", {"t_sampling": "sometimes"}, "uniform, mixed, logsnr, logsnr-mixed"),
    ],
)
def test_bad_options_are_input_errors(kind: str, density: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        make_trainer(kind, get_density(density), options, CPU, 0)


def test_a_conditional_model_takes_its_own_defaults_unless_given() -> None:
    plain = make_trainer("ddpm", TWO_MODES, {}, CPU, 0)
    cond = make_trainer("ddpm", TWO_MODES, {"conditional": True}, CPU, 0)
    assert CONDITIONAL_DEFAULTS["ddpm"]  # otherwise this test checks nothing
    for key, value in CONDITIONAL_DEFAULTS["ddpm"].items():
        assert cond.opts[key] == value and plain.opts[key] == OPTIONS["ddpm"][key] != value, key
    assert cond.config["net"]["depth"] == CONDITIONAL_DEFAULTS["ddpm"]["depth"]
    assert cond.config["net"]["fourier"] == CONDITIONAL_DEFAULTS["ddpm"]["fourier"]
    given = make_trainer("ddpm", TWO_MODES, {"conditional": True, "batch": 64, "depth": 2}, CPU, 0)
    assert given.opts["batch"] == 64 and given.config["net"]["depth"] == 2
    assert given.opts["lr"] == CONDITIONAL_DEFAULTS["ddpm"]["lr"]
    assert api_default_options("ddpm", True)["batch"] == CONDITIONAL_DEFAULTS["ddpm"]["batch"]
    assert api_default_options("ddpm")["batch"] == OPTIONS["ddpm"]["batch"]


def test_paired_training_shows_each_noisy_point_with_its_label_and_with_null() -> None:
    trainer = make_trainer("ddpm", TWO_MODES, {"conditional": True, "batch": 64}, CPU, 0)
    assert trainer.opts["paired"] is True
    seen = []
    forward = trainer.net.forward

    def spy(x, tau, y=None):  # type: ignore[no-untyped-def]
        seen.append((x.detach().clone(), tau.detach().clone(), None if y is None else y.clone()))
        return forward(x, tau, y)

    trainer.net.forward = spy  # type: ignore[method-assign]
    trainer._train_step(0.0)
    ((x, tau, y),) = seen
    assert x.shape == (64, 2) and y is not None
    torch.testing.assert_close(x[:32], x[32:])
    torch.testing.assert_close(tau[:32], tau[32:])
    assert set(y[:32].tolist()) <= {0, 1} and (y[32:] == trainer.net.null_label).all()
    unpaired = make_trainer("ddpm", TWO_MODES, {"conditional": True, "batch": 4096, "paired": False}, CPU, 0)
    unpaired.net.forward = spy  # type: ignore[method-assign]
    seen.clear()
    unpaired._train_step(0.0)
    ((x, _, y),) = seen
    share_null = float((y == unpaired.net.null_label).double().mean())  # type: ignore[union-attr]
    assert len(x) == 4096 and abs(share_null - unpaired.opts["label_dropout"]) < 0.03


@pytest.mark.parametrize(("kind", "sampler", "count", "options"),
                         [("ddpm", "ancestral", 100, {"spacing": "logsnr"}), ("ncsn", "sde", 50, {})])
def test_the_samples_shown_while_training_come_from_a_stochastic_sampler(kind: str, sampler: str, count: int,
                                                                          options: dict[str, str]) -> None:
    """The monitor's samples are the current EMA model's, drawn by the preview sampler with a fixed seed."""
    trainer = make_trainer(kind, get_density("8gaussians"), {"batch": 64}, CPU, 0)
    run = trainer.run(steps=5)
    snap = next(run)  # the first step is monitored
    assert snap.samples is not None and snap.metric is not None
    name, steps, opts = trainer.preview_sampler()
    assert (name, steps, opts) == (sampler, count, options)
    model = trainer.current_model()
    assert model.net is trainer.ema  # the average as it is now, shared (the kept best model is a copy)
    again = model.sample(len(snap.samples), seed=3, sampler=name, steps=steps, **opts)
    assert np.allclose(again, snap.samples, atol=1e-5)
    other = model.sample(len(snap.samples), seed=4, sampler=name, steps=steps, **opts)
    assert not np.allclose(other, snap.samples, atol=1e-3)  # the seed matters: the sampler draws noise
    run.close()


def test_the_tv_curve_carries_an_exact_sample_s_tv_as_its_reference() -> None:
    """What the histogram TV of a perfect sampler reads at the monitor's sample sizes: a TV of
    0.3 means something only beside it."""
    from engine.diffusion.train import MONITOR_SAMPLES
    from engine.metrics import histogram_tv

    d = get_density("8gaussians")
    trainer = make_trainer("ddpm", d, {"batch": 64, "timesteps": 100}, CPU, 0)
    snaps = list(trainer.run(steps=3))
    refs = {s.metric_reference for s in snaps if s.metric is not None}
    assert len(refs) == 1 and all(s.metric_reference is None for s in snaps if s.metric is None)
    ref = refs.pop()
    assert ref is not None
    # the same figure computed here: two exact samples of the sizes compared, nothing of the model
    again = histogram_tv(d.sample(MONITOR_SAMPLES, seed=5).x, d.sample(20_000, seed=7).x, d.box)
    assert ref == pytest.approx(again, rel=1e-9)
    # and it is what exact samples read: within the spread of other pairs of exact samples
    others = np.array([histogram_tv(d.sample(MONITOR_SAMPLES, seed=100 + k).x, d.sample(20_000, seed=200 + k).x,
                                    d.box) for k in range(6)])
    assert abs(ref - others.mean()) < 4 * others.std() + 1e-3
    assert 0.05 < ref < 0.5  # histogram noise of 2,000 points in 64 x 64 cells: far from 0, far below 1
    assert all(s.metric > ref for s in snaps if s.metric is not None)  # three steps of training are not exact


def test_logsnr_levels_are_drawn_evenly_in_log_snr_up_to_the_data_s_spread() -> None:
    """With t_sampling "logsnr" the mass of levels in any stretch of log-SNR is proportional to its length,
    over the levels whose s/a is below the spread; the noisier ones get only the uniform floor."""
    from engine.diffusion.schedules import VPSchedule
    from engine.diffusion.train import LOGSNR_FLOOR, level_probabilities

    vp = VPSchedule(1000, "linear")
    spread = 4.0
    p = level_probabilities(vp, "logsnr", spread).double()
    assert float(p.sum()) == pytest.approx(1.0, abs=1e-5)
    a, s = vp.marginal(vp.times)
    lam = 2 * (a.log() - s.log())
    inside = lam >= -2 * math.log(spread)
    floor = LOGSNR_FLOOR / len(p)
    assert torch.allclose(p[~inside], torch.full_like(p[~inside], floor), rtol=1e-4)

    def mass(lo: float, hi: float) -> float:
        return float(p[(lam >= lo) & (lam < hi)].sum() - floor * ((lam >= lo) & (lam < hi)).sum())

    low = -2 * math.log(spread)
    thirds = [mass(low + k * (8.0 - low) / 3, low + (k + 1) * (8.0 - low) / 3) for k in range(3)]
    assert max(thirds) < 1.1 * min(thirds)  # even in log-SNR, where uniform levels put ~6x more in the noisiest
    uniform = [float(((lam >= low + k * (8.0 - low) / 3) & (lam < low + (k + 1) * (8.0 - low) / 3)).sum())
               for k in range(3)]
    assert uniform[0] > 3 * uniform[2]
    trainer = make_trainer("ddpm", get_density("8gaussians"), {"batch": 64}, CPU, 0)
    assert trainer.opts["t_sampling"] == "logsnr-mixed"  # the DDPM default: the one early, the other later
    early = level_probabilities(vp, "early", spread).double()
    assert torch.allclose(early, 0.5 * (p + level_probabilities(vp, "likelihood", spread).double()), atol=1e-7)
    for fraction, mode in ((0.0, "early"), (0.5, "mixed")):
        levels = torch.cat([trainer._draw_levels(4096, fraction) for _ in range(8)])
        drawn = torch.bincount(levels - 1, minlength=1000).double() / len(levels)
        expected = trainer._level_probs[mode].double()
        ks = float((drawn.cumsum(0) - expected.cumsum(0)).abs().max())
        assert ks < 0.012  # the draws follow the probabilities (Kolmogorov-Smirnov, 32k draws: ~0.008 at p = 0.01)
    other = level_probabilities(vp, "mixed", spread).double().cumsum(0)
    assert float((other - p.cumsum(0)).abs().max()) > 0.1  # and the two differ by far more than that


def test_a_batch_draws_at_most_64_levels_each_for_consecutive_points_unless_the_model_has_labels() -> None:
    trainer = make_trainer("ddpm", get_density("8gaussians"), {"batch": 512}, CPU, 0)
    levels = trainer._levels(512, 0.5)
    assert levels.shape == (512,) and len(torch.unique(levels)) <= LEVELS_PER_BATCH
    groups = levels.view(LEVELS_PER_BATCH, -1)
    assert bool((groups == groups[:, :1]).all())  # each drawn level serves 8 consecutive points
    assert len(torch.unique(groups[:, 0])) > 48  # and they are drawn independently: few repeats among 64
    odd = trainer._levels(100, 0.5)  # a batch that 64 does not divide
    assert odd.shape == (100,) and len(torch.unique(odd)) <= LEVELS_PER_BATCH
    labelled = make_trainer("ddpm", get_density("8gaussians"), {"batch": 512, "conditional": True}, CPU, 0)
    assert len(torch.unique(labelled._levels(512, 0.5))) > 200  # every point its own level


def test_the_early_learning_rate_multiplier_falls_to_one_by_a_tenth_of_the_budget() -> None:
    from engine.diffusion.train import EARLY_LR_UNTIL

    trainer = make_trainer("ddpm", get_density("8gaussians"), {"batch": 64, "early_lr": 3.0}, CPU, 0)
    plain = make_trainer("ddpm", get_density("8gaussians"), {"batch": 64, "early_lr": 1.0}, CPU, 0)
    trainer.step = plain.step = 500  # past the warm-up
    assert trainer._lr_at(0.0) == pytest.approx(3.0 * plain._lr_at(0.0))
    assert trainer._lr_at(EARLY_LR_UNTIL / 2) == pytest.approx(2.0 * plain._lr_at(EARLY_LR_UNTIL / 2))
    for f in (EARLY_LR_UNTIL, 0.5, 1.0):
        assert trainer._lr_at(f) == pytest.approx(plain._lr_at(f))
    with pytest.raises(InputError, match="early_lr"):
        make_trainer("ddpm", get_density("8gaussians"), {"early_lr": 0.5}, CPU, 0)
