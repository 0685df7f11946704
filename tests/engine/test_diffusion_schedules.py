"""Noise schedules and the forward process against closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from engine.device import configure_threads
from engine.diffusion.schedules import VESchedule, VPSchedule, cosine_betas, linear_betas, make_process
from engine.errors import InputError

configure_threads()  # one torch thread: two spin-wait on a busy 2-core machine


def test_linear_betas_are_ddpms_at_1000_and_end_in_noise_for_any_T() -> None:
    b = linear_betas(1000)
    assert float(b[0]) == pytest.approx(1e-4) and float(b[-1]) == pytest.approx(0.02)
    for T in (50, 200, 1000):
        assert float(VPSchedule(T, "linear").alpha_bars[-1]) < 1e-3


def test_cosine_schedule_follows_its_closed_form() -> None:
    T, s = 100, 0.008
    abar = VPSchedule(T, "cosine").alpha_bars
    f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    for t in (1, 10, 50, 90):
        assert float(abar[t - 1]) == pytest.approx(f(t) / f(0), rel=1e-9)
    assert float(cosine_betas(T).max()) <= 0.999


def test_posterior_variance_is_below_beta_and_zero_at_the_first_level() -> None:
    vp = VPSchedule(100)
    assert float(vp.betas_tilde[0]) == 0.0
    assert bool((vp.betas_tilde[1:] < vp.betas[1:]).all())


def _mixture_sample(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[-1.5, 0.5], [1.0, -1.0]])
    k = (torch.rand(n, generator=g) < 0.3).long()
    return centres[k] + 0.2 * torch.randn(n, 2, generator=g)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_chain_of_one_step_kernels_matches_closed_form_marginals(schedule: str) -> None:
    # run q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I) step by step and compare, at
    # several t, with x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps drawn in one go
    T, n = 200, 20_000
    vp = VPSchedule(T, schedule)
    x0 = _mixture_sample(n, 0).double()
    g = torch.Generator().manual_seed(1)
    x = x0.clone()
    for t in range(1, T + 1):
        b = float(vp.betas[t - 1])
        x = math.sqrt(1 - b) * x + math.sqrt(b) * torch.randn(n, 2, generator=g, dtype=torch.float64)
        if t in (1, 20, 80, 200):
            direct = vp.add_noise(x0, torch.randn(n, 2, generator=g, dtype=torch.float64), t)
            a, s = math.sqrt(float(vp.alpha_bars[t - 1])), math.sqrt(1 - float(vp.alpha_bars[t - 1]))
            for sample in (x, direct):
                assert torch.allclose(sample.mean(0), a * x0.mean(0), atol=0.03)
                assert torch.allclose(sample.var(0), a**2 * x0.var(0) + s**2, rtol=0.03)
            # the chain keeps x_t correlated with x_0 exactly as the closed form says
            cov = ((x - x.mean(0)) * (x0 - x0.mean(0))).mean(0)
            assert torch.allclose(cov, a * x0.var(0), rtol=0.05, atol=0.01)


def test_continuous_view_matches_the_chain_at_every_level() -> None:
    vp = VPSchedule(100, "linear")
    a, s = vp.marginal(vp.times)
    assert torch.allclose(a**2, vp.alpha_bars, rtol=1e-12)
    assert torch.allclose(s**2, 1 - vp.alpha_bars, rtol=1e-9)


@pytest.mark.parametrize("process", [VPSchedule(100, "linear"), VPSchedule(50, "cosine"), VESchedule(20, 0.02, 4.0)])
def test_sde_coefficients_give_the_marginals(process: VPSchedule | VESchedule) -> None:
    # for dx = f x dt + g dw: d log a/dt = f and d(s^2)/dt = 2 f s^2 + g^2
    tau = torch.tensor([0.135, 0.415, 0.775], dtype=torch.float64)  # inside steps: β(τ) jumps at levels
    h = 1e-6
    a_plus, s_plus = process.marginal(tau + h)
    a_minus, s_minus = process.marginal(tau - h)
    dlog_a = (a_plus.log() - a_minus.log()) / (2 * h)
    ds2 = (s_plus**2 - s_minus**2) / (2 * h)
    f, g2 = process.drift_coef(tau), process.g2(tau)
    _, s = process.marginal(tau)
    assert torch.allclose(dlog_a, f, rtol=1e-5, atol=1e-7)
    assert torch.allclose(ds2, 2 * f * s**2 + g2, rtol=1e-5)


def test_ve_levels_are_geometric_and_add_plain_noise() -> None:
    ve = VESchedule(10, 0.01, 5.0)
    sig = ve.sigmas
    assert float(sig[0]) == pytest.approx(0.01) and float(sig[-1]) == pytest.approx(5.0)
    ratios = sig[1:] / sig[:-1]
    assert torch.allclose(ratios, ratios[0].expand_as(ratios))
    x0, noise = torch.ones(3, 2), torch.ones(3, 2)
    assert torch.allclose(ve.add_noise(x0, noise, 10), x0 + 5.0 * noise)


def test_processes_rebuild_from_config_and_refuse_bad_values() -> None:
    for p in (VPSchedule(30, "cosine"), VESchedule(7, 0.1, 3.0)):
        q = make_process(p.to_config())
        assert torch.equal(q.marginal(q.times)[1], p.marginal(p.times)[1])
    with pytest.raises(InputError, match="schedule"):
        VPSchedule(10, "quadratic")
    with pytest.raises(InputError, match="timesteps"):
        VPSchedule(1)
    with pytest.raises(InputError, match="sigma_min"):
        VESchedule(10, 1.0, 0.5)
