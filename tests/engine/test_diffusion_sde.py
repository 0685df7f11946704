"""A diffusion model as an SDE in the data's coordinates: its noising, its marginal and its tabulated score."""

import math

import numpy as np
import pytest
import torch

from engine.densities import get_density
from engine.diffusion.analytic import exact_model
from engine.diffusion.schedules import VESchedule, VPSchedule
from engine.diffusion.sde import ModelNoising, ScoreTable, noised_data, time_at_noise
from engine.sde import euler_maruyama

SHIFT, SCALE = np.array([0.5, -1.0]), 2.0


def model(process=None):  # type: ignore[no-untyped-def]
    return exact_model(get_density("twomodes"), process or VPSchedule(100), shift=SHIFT, scale=SCALE)


def test_time_at_noise_inverts_the_ve_noise_levels() -> None:
    ve = VESchedule(100, sigma_min=0.01, sigma_max=5.0)
    for level in (0.05, 0.3, 2.0):
        exact = math.log(level / 0.01) / math.log(5.0 / 0.01)  # σ(τ) = σ_min (σ_max/σ_min)^τ
        assert time_at_noise(ve, level) == pytest.approx(exact, abs=1 / 2000)
    assert time_at_noise(ve, 6.0) == 0.0  # never that noisy


def test_time_at_noise_is_the_first_grid_time_that_noisy() -> None:
    vp = VPSchedule(100)
    tau = time_at_noise(vp, 0.05)
    assert float(vp.noise(torch.tensor(tau))) >= 0.05 > float(vp.noise(torch.tensor(tau - 1 / 2000)))


def test_noised_data_has_the_forward_marginals_moments() -> None:
    m = model()
    x0 = np.array([2.0, 1.0])
    x = noised_data(m, np.tile(x0, (200_000, 1)), 0.4, seed=3)
    a, s = (float(v) for v in m.process.marginal(torch.tensor(0.4)))
    np.testing.assert_allclose(x.mean(0), a * x0 + (1 - a) * SHIFT, atol=0.01)
    np.testing.assert_allclose(x.std(0), SCALE * s, rtol=0.01)


@pytest.mark.parametrize("process", [VPSchedule(100), VESchedule(50, 0.01, 1.0)], ids=["vp", "ve"])
def test_the_model_noising_sde_reaches_the_closed_form_marginal(process) -> None:  # type: ignore[no-untyped-def]
    m = model(process)
    x0 = np.array([2.0, 1.0])
    *_, last = euler_maruyama(ModelNoising(m), np.tile(x0, (20_000, 1)), [0.5], dt=2e-3, seed=1)
    a, s = (float(v) for v in m.process.marginal(torch.tensor(0.5)))
    x = np.asarray(last.x, np.float64)
    np.testing.assert_allclose(x.mean(0), a * x0 + (1 - a) * SHIFT, atol=0.03)
    np.testing.assert_allclose(x.std(0), SCALE * s, rtol=0.03)


class _Affine:
    """A stand-in model whose score (1 + τ) A x + b is affine in x and in τ."""

    A = np.array([[-1.0, 0.5], [0.2, -2.0]])
    b = np.array([0.3, -0.1])

    def score(self, x: np.ndarray, tau: float) -> np.ndarray:
        return ((1 + tau) * x @ self.A.T + self.b).astype(np.float32)


def test_the_score_table_interpolates_an_affine_score_exactly() -> None:
    box = (-3.0, 3.0, -2.0, 2.0)
    table = ScoreTable(_Affine(), box, np.linspace(0.0, 1.0, 5), n=33)  # type: ignore[arg-type]
    x = torch.from_numpy(np.random.default_rng(0).uniform((-2.9, -1.9), (2.9, 1.9), (500, 2)))
    for tau in (0.0, 0.37, 1.0):
        exact = torch.from_numpy(_Affine().score(x.numpy(), tau)).double()
        torch.testing.assert_close(table(x, tau), exact, atol=2e-5, rtol=1e-5)


def test_the_score_table_matches_the_mixtures_exact_score() -> None:
    d = get_density("twomodes")
    m = exact_model(d, VPSchedule(100), shift=(0.0, 0.0), scale=2.0)
    table = ScoreTable(m, (-5.0, 5.0, -5.0, 5.0), np.linspace(0.05, 1.0, 24))
    x = torch.from_numpy(d.sample(500, seed=0).x)
    for tau in (0.05, 0.3337, 1.0):
        exact = torch.from_numpy(m.score(x.numpy(), tau))
        err = (table(x, tau) - exact).norm(dim=1).mean() / exact.norm(dim=1).mean()
        assert err < 0.02
    x.add_(1.0)  # moved in place, as Euler–Maruyama does: the table must not reuse old coordinates
    exact = torch.from_numpy(m.score(x.numpy(), 0.5))
    assert (table(x, 0.5) - exact).norm(dim=1).mean() / exact.norm(dim=1).mean() < 0.02
