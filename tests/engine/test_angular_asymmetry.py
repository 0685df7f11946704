"""How far data are from looking the same at every angle about the origin (engine.metrics.angular_asymmetry),
and the CNF's radial features for data that do."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.cnf import CNFTrainer
from engine.cnf.train import RADIAL_SYMMETRY_TOL
from engine.densities import get_density
from engine.metrics import angular_asymmetry

ROTATION_INVARIANT = ("rings", "circles", "gaussian")


def _invariant(n: int, seed: int) -> np.ndarray:
    """Any radial law with a uniform angle: a rotation-invariant sample."""
    rng = np.random.default_rng(seed)
    r = rng.gamma(3.0, 0.7, n)
    theta = rng.uniform(-np.pi, np.pi, n)
    return np.stack([r * np.cos(theta), r * np.sin(theta)], 1)


def test_a_rotation_invariant_sample_has_moments_of_pure_sampling_noise() -> None:
    """For a uniform angle, n |mean(e^{ikθ})|² has expectation 1 for every k ≥ 1 (a sum of n unit
    vectors at independent uniform angles): over 8 rings and 12 orders the largest moment of
    20,000 points is ~0.05, far under the tolerance, with every seed."""
    worst = [angular_asymmetry(_invariant(20_000, seed)) for seed in range(20)]
    assert max(worst) < 0.08 < RADIAL_SYMMETRY_TOL
    # the moment's scale: a ring of m points has E|m_k|² = 1/m, so the largest of 96 is a few times
    # √(1/m), not 0 (a moment that is always 0 would be a broken statistic) and not ~1
    assert 1.0 < np.mean(worst) / np.sqrt(8 / 20_000) < 4.0


def test_k_fold_structure_and_an_offset_read_as_far_from_invariant() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    sigma = 0.05
    for k in (1, 2, 3, 5, 8, 12):
        # k blobs on a circle, each of angular spread σ: the moments vanish but at multiples jk of k,
        # where they are exp(-(jk)²σ²/2) (a normal's characteristic function), the largest at k itself
        theta = 2 * np.pi * rng.integers(0, k, n) / k + rng.normal(0, sigma, n)
        x = np.stack([2 * np.cos(theta), 2 * np.sin(theta)], 1)
        assert angular_asymmetry(x) == pytest.approx(np.exp(-((k * sigma) ** 2) / 2), abs=0.03), k
    shifted = _invariant(n, 1) + np.array([1.0, 0.0])  # rings about another centre than the origin
    assert angular_asymmetry(shifted) > 0.3
    assert angular_asymmetry(np.zeros((5, 2))) == 1.0  # no angle at all: nothing to call symmetric


@pytest.mark.parametrize("name", ["8gaussians", "25gaussians", "moons", "circles", "rings", "checkerboard",
                                  "pinwheel", "2spirals", "swissroll", "banana", "funnel", "twomodes", "gaussian"])
def test_the_built_in_densities_fall_clearly_on_either_side(name: str) -> None:
    a = angular_asymmetry(get_density(name).sample(20_000, seed=3).x)
    if name in ROTATION_INVARIANT:
        assert a < RADIAL_SYMMETRY_TOL / 2
    else:
        assert a > 4 * RADIAL_SYMMETRY_TOL


def test_the_cnf_takes_radial_features_for_rotation_invariant_data_only() -> None:
    small = {"batch": 32, "heldout": 64, "width": 8, "sample_every": 0.0}
    rings = CNFTrainer(get_density("rings"), small, "cpu", seed=0)
    assert rings.cfg.radial == rings.field.radial == 8 and rings.field.radial_freqs.shape == (8,)
    # spread over |N(0, 3²)| at their quantiles: the largest about 3 · 2.0
    assert 4.0 < float(rings.field.radial_freqs.detach().max()) < 8.0
    assert rings.best_model().to_checkpoint()["config"]["radial"] == 8  # the kept model is built alike
    assert CNFTrainer(get_density("8gaussians"), small, "cpu", seed=0).field.radial == 0
    assert CNFTrainer(get_density("rings"), {**small, "radial_symmetric": 0}, "cpu", seed=0).field.radial == 0
    assert CNFTrainer(get_density("moons"), {**small, "radial": 3}, "cpu", seed=0).field.radial == 3  # asked for
    list(rings.run(steps=3))
    x = torch.as_tensor(get_density("rings").sample(50, seed=1).x, dtype=torch.float32)
    assert torch.isfinite(rings.best_model().log_prob_at(x)).all()
