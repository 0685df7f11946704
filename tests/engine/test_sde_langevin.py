"""Langevin samplers: plain Langevin gets the 1/5–4/5 mixture wrong; annealed and MALA do not."""

import numpy as np
import pytest

from engine.densities import get_density
from engine.device import configure_threads
from engine.errors import InputError
from engine.sde import (
    annealed_langevin,
    annealing_levels,
    geometric_sigmas,
    langevin,
    mala,
    mixture_noise,
    mode_shares,
    noised_mixture,
    run_levels,
)

configure_threads()  # one torch thread: two spinning threads collapse on a shared 2-core machine

TWOMODES = get_density("twomodes")
TRUE_WEIGHTS = np.array([0.2, 0.8])


def uniform_start(n: int = 2000, seed: int = 0) -> np.ndarray:
    """NCSN's start: particles spread uniformly over the view box, half in each basin."""
    return np.random.default_rng(seed).uniform(-4, 4, (n, 2)).astype(np.float32)


def test_mode_shares_of_exact_samples_are_the_weights() -> None:
    x = TWOMODES.sample(20_000, seed=3).x
    np.testing.assert_allclose(mode_shares(TWOMODES, x), TRUE_WEIGHTS, atol=0.01)
    with pytest.raises(InputError, match="no modes"):
        mode_shares(get_density("gaussian"), x)


def test_plain_langevin_gets_the_mode_weights_wrong() -> None:
    *_, last = langevin(TWOMODES.score, uniform_start(), eta=0.05, steps=300, seed=0, every=100)
    shares = mode_shares(TWOMODES, last.x)
    assert np.abs(shares - TRUE_WEIGHTS).max() > 0.15  # about one half each: where the particles fell


def test_annealed_langevin_gets_the_mode_weights_right() -> None:
    score_at, _ = mixture_noise(TWOMODES)
    sigmas = geometric_sigmas(8.0, 0.1, 20)
    frames = list(annealed_langevin(score_at, uniform_start(), sigmas, eps=0.005, steps_per_level=100, seed=0,
                                    every=100))
    assert [f.level for f in frames[1:]] == list(range(20))
    assert frames[1].eta == pytest.approx(0.005 * (8.0 / 0.1) ** 2) and frames[-1].sigma == pytest.approx(0.1)
    np.testing.assert_allclose(mode_shares(TWOMODES, frames[-1].x), TRUE_WEIGHTS, atol=0.04)


def test_annealed_mala_gets_the_mode_weights_right() -> None:
    score_at, log_prob_at = mixture_noise(TWOMODES)
    frames = list(annealed_langevin(score_at, uniform_start(1500, 1), geometric_sigmas(8.0, 0.1, 10), eps=0.005,
                                    steps_per_level=100, seed=1, every=100, log_prob_at=log_prob_at))
    np.testing.assert_allclose(mode_shares(TWOMODES, frames[-1].x), TRUE_WEIGHTS, atol=0.04)
    assert all(0.5 < f.acceptance <= 1.0 for f in frames[1:])


def test_mala_removes_the_step_size_bias_of_plain_langevin() -> None:
    # for N(0, I), plain Langevin with step η is stationary at variance 1 / (1 − η/4), not 1
    g = get_density("gaussian")
    x0 = g.sample(6000, seed=1).x
    eta = 0.8
    *_, plain = langevin(g.score, x0, eta, 200, seed=0, every=200)
    *_, adjusted = mala(g.log_prob, g.score, x0, eta, 200, seed=0, every=200)
    assert plain.x.var(0).mean() == pytest.approx(1 / (1 - eta / 4), rel=0.04)
    assert adjusted.x.var(0).mean() == pytest.approx(1.0, rel=0.04)
    assert 0.5 < adjusted.acceptance < 1.0 and plain.acceptance is None


def test_frames_are_seeded_and_spaced() -> None:
    g = get_density("gaussian")
    x0 = g.sample(100, seed=0).x
    a = list(langevin(g.score, x0, 0.1, 10, seed=4, every=4))
    b = list(langevin(g.score, x0, 0.1, 10, seed=4, every=4))
    assert [f.step for f in a] == [0, 4, 8, 10]
    assert np.array_equal(a[-1].x, b[-1].x) and a[-1].x.shape == (100, 2) and a[-1].x.dtype == np.float32
    with pytest.raises(InputError):
        list(langevin(g.score, x0, -0.1, 10))
    with pytest.raises(InputError):
        list(langevin(g.score, x0, 0.1, 10, every=0))


def test_noise_levels_and_noised_mixtures() -> None:
    s = geometric_sigmas(10.0, 0.01, 4)
    np.testing.assert_allclose(s, [10.0, 1.0, 0.1, 0.01])
    noisy = noised_mixture(TWOMODES, 0.3)
    np.testing.assert_allclose(noisy.stds, np.sqrt(0.25 + 0.09))
    np.testing.assert_allclose(noisy.weights, TRUE_WEIGHTS)
    with pytest.raises(InputError):
        geometric_sigmas(0.1, 1.0, 3)


def test_annealing_levels_scale_eta_with_sigma_squared_and_cap_it() -> None:
    sigmas = geometric_sigmas(4.0, 0.1, 5)
    levels = annealing_levels(lambda s: (lambda x: -x / s**2), sigmas, 0.005, 7)
    for lv, s in zip(levels, sigmas):
        assert (lv.sigma, lv.steps) == (s, 7)
        assert lv.eta == pytest.approx(min(0.005 * (s / 0.1) ** 2, s * s))
    assert levels[0].eta == pytest.approx(8.0)  # 0.005 · (4/0.1)², below the cap σ² = 16
    big = annealing_levels(lambda s: (lambda x: -x / s**2), sigmas, 0.5, 7)
    assert big[0].eta == pytest.approx(16.0) and big[-1].eta == pytest.approx(0.01)


def test_a_capped_step_keeps_langevin_stable_with_the_closed_form_variance() -> None:
    """Unadjusted Langevin on N(0, v I) is x ← (1 − η/2v) x + √η ε: stationary variance v / (1 − η/4v)."""
    v = 0.25
    (level,) = annealing_levels(lambda s: (lambda x: -x / v), [0.5], eta=10.0, steps=400)  # η capped at σ² = v
    assert level.eta == pytest.approx(v)
    *_, last = run_levels([level], np.zeros((20_000, 2), np.float32), seed=0, every=400)
    assert np.var(last.x) == pytest.approx(v / (1 - level.eta / (4 * v)), rel=0.03)

