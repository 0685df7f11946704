"""SDE objects, the registry, and Euler–Maruyama particles against closed forms."""

import math

import numpy as np
import pytest
import torch

from engine.densities import get_density
from engine.device import configure_threads
from engine.errors import InputError
from engine.sde import (
    SDES,
    CustomSDE,
    LinearSDE,
    OrnsteinUhlenbeck,
    euler_maruyama,
    make_sde,
    sde_options,
    trajectories,
)

configure_threads()  # one torch thread: two spinning threads collapse on a shared 2-core machine

X = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))


def build(name: str):  # type: ignore[no-untyped-def]
    return make_sde(name, density=get_density("8gaussians"))


@pytest.mark.parametrize("name", list(SDES))
def test_every_sde_has_drift_diffusion_and_a_consistent_split(name: str) -> None:
    sde = build(name)
    for t in (0.0, 0.3, 1.0):
        f = sde.drift(X, t)
        assert f.shape == (64, 2) and torch.isfinite(f).all()
        assert math.isfinite(sde.diffusion(t)) and sde.diffusion(t) >= 0
        split = sde.drift_split()
        if split is not None:
            scale, h = split
            torch.testing.assert_close(scale(t) * h(X), f)
    assert sde.default_t_end() > 0 and sde.equation.startswith("dx")


def test_registry_refuses_unknown_names_options_and_values() -> None:
    with pytest.raises(InputError, match="choose one of brownian, ou, vp, ve, langevin, double-well, custom"):
        make_sde("heat")
    with pytest.raises(InputError, match="its options are sigma"):
        make_sde("brownian", theta=1.0)
    with pytest.raises(InputError, match="theta must be greater than 0"):
        make_sde("ou", theta=0.0)
    with pytest.raises(InputError, match="finite number"):
        make_sde("ou", sigma=math.nan)
    with pytest.raises(InputError, match="beta_max"):
        make_sde("vp", beta_min=5.0, beta_max=1.0)
    with pytest.raises(InputError, match="sigma_max"):
        make_sde("ve", sigma_min=2.0, sigma_max=1.0)
    with pytest.raises(InputError, match="needs a density or a score"):
        make_sde("langevin")
    with pytest.raises(InputError, match="known only through samples"):
        make_sde("langevin", density=get_density("moons"))
    with pytest.raises(InputError, match="positive everywhere"):
        make_sde("langevin", density=get_density("checkerboard"))
    assert sde_options("custom") == ("drift_x", "drift_y", "diffusion")
    assert sde_options("vp") == ("beta_min", "beta_max")


def test_langevin_takes_any_score_callable() -> None:
    sde = make_sde("langevin", score=lambda x: -x)
    torch.testing.assert_close(sde.drift(X, 0.0), -0.5 * X)
    assert sde.diffusion(0.0) == 1.0


def test_custom_sde_evaluates_its_formulas() -> None:
    sde = make_sde("custom", drift_x="-y - 0.5*x", drift_y="x*t", diffusion="sqrt(1 + t)")
    f = sde.drift(X, 2.0)
    torch.testing.assert_close(f[:, 0], -X[:, 1] - 0.5 * X[:, 0])
    torch.testing.assert_close(f[:, 1], 2.0 * X[:, 0])
    assert sde.diffusion(3.0) == pytest.approx(2.0)
    assert sde.drift_split() is None  # depends on t
    assert CustomSDE("-x", "-y").drift_split() is not None
    with pytest.raises(InputError, match="t only"):
        make_sde("custom", diffusion="1 + x")
    with pytest.raises(InputError, match="unknown name"):
        make_sde("custom", drift_x="os")


@pytest.mark.parametrize("name", ["brownian", "ou", "vp", "ve"])
def test_linear_sdes_closed_forms(name: str) -> None:
    sde = build(name)
    assert isinstance(sde, LinearSDE)
    assert sde.mean_scale(0.0) == pytest.approx(1.0) and sde.noise_std(0.0) == pytest.approx(0.0, abs=1e-12)
    # the variance of x_t from a point obeys dv/dt = 2 a v + g², with f = a(t) x for these SDEs
    t, h = 0.4, 1e-5
    v = lambda s: sde.noise_std(s) ** 2  # noqa: E731
    m = lambda s: sde.mean_scale(s)  # noqa: E731
    a = (math.log(m(t + h)) - math.log(m(t - h))) / (2 * h)
    dv = (v(t + h) - v(t - h)) / (2 * h)
    assert dv == pytest.approx(2 * a * v(t) + sde.diffusion(t) ** 2, rel=1e-5)
    torch.testing.assert_close(sde.drift(X, t), a * X, rtol=1e-4, atol=1e-6)


def test_vp_preserves_unit_variance() -> None:
    sde = make_sde("vp")
    for t in (0.1, 0.5, 1.0):
        assert sde.mean_scale(t) ** 2 + sde.noise_std(t) ** 2 == pytest.approx(1.0)
    assert sde.mean_scale(1.0) < 0.01  # the data are forgotten by t = 1


def ou_moments(sde: OrnsteinUhlenbeck, m0: np.ndarray, c0: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    e = math.exp(-sde.theta * t)
    return e * m0, e * e * c0 + sde.sigma**2 / (2 * sde.theta) * (1 - e * e) * np.eye(2)


def assert_moments_close(m: np.ndarray, c: np.ndarray, m_ref: np.ndarray, c_ref: np.ndarray, tol: float) -> None:
    """Within ``tol`` relative: the mean against the larger of its norm and the spread."""
    scale = max(np.linalg.norm(m_ref), math.sqrt(np.trace(c_ref)))
    assert np.linalg.norm(m - m_ref) <= tol * scale, (m, m_ref)
    assert np.linalg.norm(c - c_ref) <= tol * np.linalg.norm(c_ref), (c, c_ref)


@pytest.mark.parametrize("density", ["banana", "twomodes"])
def test_euler_maruyama_ou_matches_the_closed_form_moments(density: str) -> None:
    sde = make_sde("ou", theta=1.5, sigma=0.8)
    x0 = get_density(density).sample(40_000, seed=1).x.astype(np.float64)
    m0, c0 = x0.mean(0), np.cov(x0.T)
    for frame in euler_maruyama(sde, x0, [0.25, 1.0], dt=0.005, seed=2):
        m_ref, c_ref = ou_moments(sde, m0, c0, frame.t)
        assert_moments_close(frame.x.mean(0), np.cov(frame.x.T), m_ref, c_ref, 0.02)


def test_frames_land_on_the_requested_times_and_are_seeded() -> None:
    sde = make_sde("brownian")
    x0 = np.zeros((500, 2), np.float32)
    frames = list(euler_maruyama(sde, x0, [0.0, 0.1, 0.35], dt=0.02, seed=5))
    assert [f.t for f in frames] == [0.0, 0.1, 0.35]
    assert [f.step for f in frames] == [0, 5, 18]
    assert np.all(frames[0].x == 0) and frames[-1].x.dtype == np.float32
    again = trajectories(sde, x0, [0.0, 0.1, 0.35], dt=0.02, seed=5)
    assert again.shape == (3, 500, 2) and np.array_equal(again[-1], frames[-1].x)
    other = trajectories(sde, x0, [0.35], dt=0.02, seed=6)
    assert not np.array_equal(other[-1], frames[-1].x)
    assert np.var(frames[-1].x) == pytest.approx(0.35, rel=0.1)


def test_bad_times_and_exploding_drifts_are_input_errors() -> None:
    x0 = np.ones((10, 2), np.float32)
    with pytest.raises(InputError, match="ascending"):
        list(euler_maruyama(make_sde("ou"), x0, [0.5, 0.2]))
    with pytest.raises(InputError, match="shape"):
        list(euler_maruyama(make_sde("ou"), np.ones((10, 3)), [0.5]))
    with pytest.raises(InputError, match="infinit"):
        list(euler_maruyama(make_sde("custom", drift_x="x^3"), x0 * 3, [1.0], dt=0.05))
