"""Samplers, the score view and exact likelihoods, run with the exact noisy score of a Gaussian mixture."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.densities import get_density
from engine.device import configure_threads
from engine.diffusion.analytic import MixtureEps, exact_model, mixture_in
from engine.diffusion.ddpm import AncestralScheduler, DDIMScheduler, l_simple, logsnr_levels, pick_levels
from engine.diffusion.ncsn import dsm_loss
from engine.diffusion.schedules import VESchedule, VPSchedule
from engine.diffusion.score import eps_to_score, score_to_eps
from engine.errors import InputError
from engine.metrics import histogram_tv

configure_threads()  # one torch thread: two spin-wait on a busy 2-core machine

TWO_MODES = get_density("twomodes")  # weights 0.2 / 0.8: the classic test that Langevin gets the weights right
_DATA = TWO_MODES.sample(100_000, seed=0).x
SHIFT, SCALE = _DATA.mean(0), float(_DATA.std())  # normalised coordinates, as a trained model has them


def _model(process: VPSchedule | VESchedule, kind: str = "ddpm"):  # type: ignore[no-untyped-def]
    return exact_model(TWO_MODES, process, SHIFT, SCALE, kind)


SAMPLER_RUNS = [
    ("ddpm", "ancestral", 200, {}),
    ("ddpm", "ancestral", 200, {"variance": "beta"}),
    ("ddpm", "ancestral", 50, {"spacing": "logsnr"}),
    ("ddpm", "ddim", 30, {"spacing": "logsnr"}),
    ("ddpm", "ddim", 50, {}),
    ("ddpm", "sde", 400, {}),
    ("ddpm", "ode", 40, {}),
    ("ddpm", "langevin", 100, {"steps_per_level": 5, "step_size": 0.5}),
    ("ncsn", "langevin", 100, {"steps_per_level": 5, "step_size": 0.5}),
    ("ncsn", "ancestral", 40, {}),
    ("ncsn", "ode", 40, {}),
]


@pytest.mark.parametrize(("kind", "sampler", "steps", "opts"), SAMPLER_RUNS)
def test_samplers_with_the_exact_score_reproduce_the_mixture(kind: str, sampler: str, steps: int,
                                                             opts: dict[str, object]) -> None:
    process = VPSchedule(1000, "linear") if kind == "ddpm" else VESchedule(100, 0.01, 4.0)
    n = 4000
    x = _model(process, kind).sample(n, seed=0, sampler=sampler, steps=steps, **opts)
    truth = TWO_MODES.sample(n, seed=1).x
    exact_tv = histogram_tv(TWO_MODES.sample(n, seed=2).x, truth, TWO_MODES.box, bins=32)
    assert histogram_tv(x, truth, TWO_MODES.box, bins=32) < 1.3 * exact_tv
    share = (TWO_MODES.classify(x) == 1).mean()
    assert share == pytest.approx(0.8, abs=0.03)  # mode weights right, not just mode places


def test_ancestral_step_is_the_lecture_formula() -> None:
    vp = VPSchedule(100)
    eps = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
    x_t = torch.randn(6, 2, generator=torch.Generator().manual_seed(1))
    for variance, var_table in (("beta", vp.betas), ("beta_tilde", vp.betas_tilde)):
        sch = AncestralScheduler(vp, variance)
        for t in (100, 37, 2):
            tau = sch.timesteps[100 - t]
            out = sch.step(eps, tau, x_t, torch.Generator().manual_seed(5))
            z = torch.randn(6, 2, generator=torch.Generator().manual_seed(5))
            a, ab = float(vp.alphas[t - 1]), float(vp.alpha_bars[t - 1])
            mean = (x_t - (1 - a) / math.sqrt(1 - ab) * eps) / math.sqrt(a)
            assert torch.allclose(out.prev_sample, mean + math.sqrt(float(var_table[t - 1])) * z, atol=1e-5)
            assert torch.allclose(out.pred_original_sample, (x_t - math.sqrt(1 - ab) * eps) / math.sqrt(ab), atol=1e-5)
        last = sch.step(eps, sch.timesteps[-1], x_t)  # the last step adds no noise: it is x̂_0
        assert torch.equal(last.prev_sample, last.pred_original_sample)


def test_ddim_with_exact_eps_of_a_point_mass_lands_on_it() -> None:
    # data = a single point: eps is exact and DDIM's deterministic steps must end exactly there
    vp = VPSchedule(1000)
    target = torch.tensor([[0.7, -0.3]], dtype=torch.float64)
    eps_fn = MixtureEps(target, torch.tensor([1e-6]), torch.zeros(1), vp)
    sch = DDIMScheduler(vp)
    sch.set_timesteps(10)
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for t in sch.timesteps:
        x = sch.step(eps_fn(x, t), t, x).prev_sample
    assert torch.allclose(x, target.expand_as(x), atol=1e-4)


def test_scheduler_add_noise_is_the_closed_form() -> None:
    vp = VPSchedule(50)
    sch = AncestralScheduler(vp)
    x0, noise = torch.ones(4, 2), torch.full((4, 2), 2.0)
    t = sch.timesteps[10]
    a, s = (float(v) for v in vp.marginal(t))
    assert torch.allclose(sch.add_noise(x0, noise, t), a * x0 + s * noise)


def test_score_and_eps_conversions_agree() -> None:
    vp = VPSchedule(1000)
    model = _model(vp)
    pts = TWO_MODES.sample(300, seed=3).x
    for tau in (0.01, 0.3, 0.9):
        s = float(vp.noise(torch.tensor(tau, dtype=torch.float64)))
        eps = torch.from_numpy(model.eps(pts, tau))
        score = torch.from_numpy(model.score(pts, tau))
        # the model's score is in model units: −ε/(s · scale)
        assert torch.allclose(score, eps_to_score(eps, s) / SCALE, rtol=1e-5)
        assert torch.allclose(score_to_eps(eps_to_score(eps, s), s), eps, rtol=1e-6)
    # at the least noisy level the score is the data's own (up to a 1 % blur)
    tau0 = vp.t_min
    true = TWO_MODES.score(torch.from_numpy(pts).double()).numpy()
    assert np.allclose(model.score(pts, tau0), true, rtol=0.05, atol=0.05)


def test_dsm_in_score_form_equals_l_simple() -> None:
    ve = VESchedule(30, 0.05, 3.0)
    net = MixtureEps(torch.zeros(1, 2), torch.ones(1) * 0.5, torch.zeros(1), ve)
    x0 = torch.randn(256, 2, generator=torch.Generator().manual_seed(0))
    fn = lambda x, tau: net(x, tau[0]) + 0.1 * x  # noqa: E731 - a deliberately imperfect ε with one shared τ
    a = dsm_loss(fn, ve, x0, torch.Generator().manual_seed(7))
    b = l_simple(fn, ve, x0, torch.Generator().manual_seed(7))
    assert float(a) == pytest.approx(float(b), rel=1e-5)


@pytest.mark.parametrize("kind", ["ddpm", "ncsn"])
def test_probability_flow_log_likelihood_is_exact(kind: str) -> None:
    process = VPSchedule(1000) if kind == "ddpm" else VESchedule(100, 0.005, 6.0)
    model = _model(process, kind)
    pts = TWO_MODES.sample(200, seed=4).x
    lp = model.log_prob(pts)
    true = TWO_MODES.log_prob(torch.from_numpy(pts).double()).numpy()
    assert np.abs(lp - true).mean() < 0.02  # the ODE starts at a tiny noise level: a slight blur
    assert abs(lp.mean() - true.mean()) < 0.02


def _half_log_snr(process: VPSchedule | VESchedule, levels: torch.Tensor) -> np.ndarray:
    a, s = process.marginal(process.level_time(levels))
    return (a.log() - s.log()).numpy()


@pytest.mark.parametrize("process",
                         [VPSchedule(1000, "linear"), VPSchedule(1000, "cosine"), VESchedule(100, 0.01, 4.0)],
                         ids=["linear", "cosine", "ve"])
@pytest.mark.parametrize("n", [3, 10, 50])
def test_logsnr_spacing_picks_distinct_levels_even_in_half_log_snr(process: VPSchedule | VESchedule, n: int) -> None:
    """n distinct levels from L down to 1; after the first (L, where the prior is) they step evenly in
    λ = log(a/s) from t_max to level 1, where the even spread over the levels does not."""
    levels = logsnr_levels(process, n)
    assert len(levels) == n and int(levels[0]) == process.num_levels and int(levels[-1]) == 1
    assert bool((levels[:-1] > levels[1:]).all())
    start = 1 if process.t_max < 1.0 else 0  # a VP process's t_max sits below level L
    gaps = np.diff(_half_log_snr(process, levels)[start:])
    if n <= 10:  # the levels are fine enough for every step to sit on the grid
        assert gaps.max() < 1.25 * gaps.mean() and gaps.min() > 0.75 * gaps.mean()
    else:  # near level 1 the levels are coarser than the grid and are pushed apart
        assert np.median(gaps) == pytest.approx(gaps.mean(), rel=0.25)
    if isinstance(process, VPSchedule) and process.schedule == "linear" and n >= 10:
        even = np.diff(_half_log_snr(process, pick_levels(process.num_levels, n))[start:])
        assert even.max() > 3 * gaps.max()  # the linear schedule's levels spread evenly


def test_impossible_sampler_requests_are_input_errors() -> None:
    model = _model(VPSchedule(100))
    with pytest.raises(InputError, match="unknown sampler"):
        model.sample(10, sampler="euler")
    with pytest.raises(InputError, match="at most"):
        model.sample(10, sampler="ancestral", steps=101)
    with pytest.raises(InputError, match="at least one step"):
        model.sample(10, sampler="ddim", steps=0)
    with pytest.raises(InputError, match="unknown spacing 'log'; choose one of level, logsnr"):
        model.sample(10, sampler="ancestral", steps=10, spacing="log")
    with pytest.raises(InputError, match="positive"):
        model.sample(0)


def test_mixture_in_normalised_coordinates() -> None:
    means, stds, log_w = mixture_in(TWO_MODES, np.array([1.0, 1.0]), 2.0)
    assert torch.allclose(means, torch.tensor([[-1.5, -1.5], [0.5, 0.5]], dtype=torch.float64))
    assert torch.allclose(stds, torch.tensor([0.25, 0.25], dtype=torch.float64))
    assert torch.allclose(log_w.exp(), torch.tensor([0.2, 0.8], dtype=torch.float64))


def test_clipping_the_predicted_clean_point_keeps_samples_in_the_box() -> None:
    from pathlib import Path

    from engine.checkpoint import load_trained

    ckpt = Path(__file__).resolve().parents[2] / "assets" / "pretrained" / "ddpm_8gaussians_conditional.pt"
    model = load_trained(str(ckpt)).model
    x0, x1, y0, y1 = model.config["box"]

    def outside(x: np.ndarray) -> int:
        return int((~((x[:, 0] >= x0) & (x[:, 0] <= x1) & (x[:, 1] >= y0) & (x[:, 1] <= y1))).sum())

    free = model.sample(20_000, seed=3, sampler="ddim", steps=100, clip_sample=False)
    held = model.sample(20_000, seed=3, sampler="ddim", steps=100)
    assert outside(free) > 5 and np.abs(free).max() > 20, "the network's extrapolation throws far outliers"
    assert outside(held) == 0
    # the distribution is otherwise the same (early steps' x̂_0 are clipped too, moving points a little)
    d = get_density("8gaussians")
    truth = d.sample(20_000, seed=101).x
    assert abs(histogram_tv(held, truth, d.box) - histogram_tv(free, truth, d.box)) < 0.01
