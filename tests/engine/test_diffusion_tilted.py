"""The naive tilted target p(x) p(y | x)^γ / Z: p at γ = 0, the class's own component at γ = 1 (closed forms)."""

import math

import numpy as np
import pytest

from engine.densities import get_density, grid_points
from engine.diffusion.analytic import exact_model
from engine.diffusion.schedules import VPSchedule
from engine.diffusion.tilted import LOG_FLOOR, estimated_tilted, exact_tilted

BOX = (-5.0, 5.0, -4.0, 4.0)
N = 96


def normalised(p: np.ndarray) -> np.ndarray:
    cell = (BOX[1] - BOX[0]) * (BOX[3] - BOX[2]) / p.size
    return p / (p.sum() * cell)


def gaussian(mean: np.ndarray, std: float) -> np.ndarray:
    _, _, pts = grid_points(BOX, N)
    d2 = ((pts - mean) ** 2).sum(1)
    return (np.exp(-0.5 * d2 / std**2) / (2 * math.pi * std**2)).reshape(N, N)


def test_gamma_zero_is_p_and_gamma_one_is_the_class_component() -> None:
    d = get_density("8gaussians")
    target = exact_tilted(d, BOX, N)
    assert target is not None and target.exact
    mixture = sum(w * gaussian(m, s) for m, s, w in zip(d.means, d.stds, d.weights))
    np.testing.assert_allclose(target.density(5, 0.0), normalised(mixture), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(target.density(5, 1.0), normalised(gaussian(d.means[5], d.stds[5])),
                               rtol=1e-3, atol=1e-6)


def test_strong_guidance_concentrates_and_impossible_classes_stay_finite() -> None:
    d = get_density("checkerboard")
    target = exact_tilted(d, BOX, N)
    assert target is not None and target.log_py.min() == LOG_FLOOR
    for gamma in (-3.0, 0.0, 1.0, 8.0):
        assert np.isfinite(target.density(2, gamma)).all()
    assert (target.density(2, 8.0) > 0).mean() < (target.density(2, 0.0) > 0).mean() / 4
    assert exact_tilted(get_density("moons"), BOX, N) is None  # known only by samples


def test_the_estimate_uses_the_classifier_and_the_given_p() -> None:
    d = get_density("8gaussians")
    model = exact_model(d, VPSchedule(100))
    px = d.density_grid(N, BOX).astype(np.float64)
    target = estimated_tilted(model, px, BOX, "histogram of the data")
    assert target is not None and not target.exact and "histogram of the data" in target.source
    _, _, pts = grid_points(BOX, N)
    probs = model.class_probs(pts, float(model.process.t_min))
    np.testing.assert_allclose(np.exp(target.log_py[3]).ravel(), probs[:, 3], rtol=1e-5, atol=1e-12)
    assert target.density(3, 0.0) == pytest.approx(normalised(px), rel=1e-4, abs=1e-7)
