"""The varentropy estimate that decides whether a CNF gets Fourier features, and that choice."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.cnf.train import FLAT_FROBENIUS, FLAT_TOL, CNFTrainer
from engine.densities import get_density
from engine.metrics import log_density_spread


def test_a_gaussian_reads_one_whatever_its_covariance() -> None:
    # Var[log p(X)] of any 2D Gaussian is Var[χ²₂ / 2] = 1; the 8-neighbour estimate adds its own noise,
    # about ψ'(8) = 0.133, and a little bias
    rng = np.random.default_rng(0)
    for cov in ([[1.0, 0.0], [0.0, 1.0]], [[4.0, 1.9], [1.9, 1.0]], [[0.01, 0.0], [0.0, 9.0]]):
        x = rng.multivariate_normal([0.0, 0.0], cov, size=20_000)
        assert 0.95 < log_density_spread(x) < 1.25


def test_a_uniform_law_reads_near_zero_and_a_thin_curve_near_a_half() -> None:
    rng = np.random.default_rng(1)
    square = rng.uniform(-1, 1, size=(20_000, 2))
    assert log_density_spread(square) < 0.3  # Var = 0, plus the estimate's noise and the square's edges
    theta = rng.uniform(0, 2 * np.pi, 20_000)
    r = 2.0 + 0.05 * rng.standard_normal(20_000)  # a circle with a Gaussian profile across it: Var = 1/2
    ring = np.stack([r * np.cos(theta), r * np.sin(theta)], 1)
    assert 0.4 < log_density_spread(ring) < 0.75 < FLAT_TOL


def test_it_does_not_change_under_a_similarity() -> None:
    x = get_density("moons").sample(5_000, seed=2).x
    a = 0.7
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    moved = 3.5 * x @ rot.T + np.array([10.0, -4.0])  # log r_k shifts by log 3.5 at every point alike
    assert log_density_spread(moved) == pytest.approx(log_density_spread(x), abs=1e-6)


def test_repeated_points_count_once_and_few_points_give_a_finite_value() -> None:
    # a file's 2,000 points drawn 20,000 times with replacement, as a data density draws them: read as
    # the Gaussian they came from, not as a flat law of ties
    x = np.random.default_rng(3).normal(size=(2_000, 2))
    drawn = x[np.random.default_rng(4).integers(0, len(x), 20_000)]
    assert log_density_spread(drawn) == pytest.approx(log_density_spread(x))
    assert log_density_spread(drawn) > FLAT_TOL
    assert log_density_spread(np.zeros((3, 2))) == 1.0  # too few to say: read as a Gaussian's
    assert np.isfinite(log_density_spread(np.array([[0.0, 0.0], [np.nan, 1.0]] * 10)))


FLAT = ("checkerboard", "2spirals", "moons", "swissroll")
GAUSSIAN_LIKE = ("8gaussians", "25gaussians", "pinwheel", "banana", "funnel", "twomodes")


@pytest.mark.parametrize("name", FLAT + GAUSSIAN_LIKE)
def test_the_built_in_densities_fall_clearly_on_their_side(name: str) -> None:
    v = log_density_spread(get_density(name).sample(20_000, seed=5).x)
    if name in FLAT:
        assert v < FLAT_TOL - 0.1
    else:
        assert v > FLAT_TOL + 0.1


def test_the_cnf_takes_fourier_features_for_flat_data_only() -> None:
    small = {"batch": 32, "heldout": 64, "width": 8, "sample_every": 0.0}
    board = CNFTrainer(get_density("checkerboard"), small, "cpu", seed=0)
    assert board.cfg.fourier == board.field.fourier == 24 and board.field.freqs.shape == (24, 2)
    assert board.cfg.radial == 0 and board.cfg.frobenius == pytest.approx(0.01 * FLAT_FROBENIUS)
    config = board.best_model().to_checkpoint()["config"]  # the kept model is built alike
    assert config["fourier"] == 24 and config["fourier_scale"] == 2.5
    plain = CNFTrainer(get_density("25gaussians"), small, "cpu", seed=0)
    assert plain.field.fourier == 0 and plain.cfg.frobenius == 0.01
    assert CNFTrainer(get_density("rings"), small, "cpu", seed=0).field.fourier == 0  # radial ones instead
    assert CNFTrainer(get_density("checkerboard"), {**small, "fourier_flat": 0}, "cpu", seed=0).field.fourier == 0
    asked = CNFTrainer(get_density("8gaussians"), {**small, "fourier": 4}, "cpu", seed=0)
    assert asked.field.fourier == 4 and asked.cfg.frobenius == 0.01  # as given, penalty included
    assert CNFTrainer(get_density("moons"), {**small, "fourier": 6}, "cpu", seed=0).field.fourier == 6  # asked for
    snapshots = list(board.run(steps=3))
    assert "Fourier features" in (snapshots[0].note or "")
    x = torch.as_tensor(get_density("checkerboard").sample(50, seed=1).x, dtype=torch.float32)
    assert torch.isfinite(board.best_model().log_prob_at(x)).all()
