"""Flow matching against theory: Gaussian closed forms, OT couplings, reflow maps, CFG, log p."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torchdiffeq import odeint

from engine.api import FAMILIES, default_options, family, make_trainer
from engine.checkpoint import load_trained, save_checkpoint
from engine.cnf.model import standard_normal_log_prob
from engine.densities import get_density
from engine.densities.analytic import GaussianMixture
from engine.device import configure_threads
from engine.errors import InputError
from engine.flowmatch import (
    FlowField,
    FlowMatchingModel,
    GuidedField,
    Pairs,
    couple,
    interpolate,
    iter_reflow_pairs,
    ot_permutation,
    reflow_pairs,
    sample_times,
    validate_config,
)
from engine.flowmatch.coupling import pairing_cost
from engine.flowmatch.paths import VP_T_MAX, coefficients
from engine.flowmatch.reflow import make_reflow_trainer

configure_threads()

M, S = np.array([1.5, -0.5]), 0.6  # the Gaussian data N(M, S² I) of the closed-form tests


def marginal_velocity(path: str, x: torch.Tensor, t: float, sigma_min: float = 0.0) -> torch.Tensor:
    r"""E[u_t | x_t = x] for x_0 ~ N(0, I) independent of x_1 ~ N(M, S² I).

    x_t = a x_1 + s x_0 and u = a' x_1 + s' x_0 are jointly Gaussian, so the conditional mean is
    affine: E[u | x_t] = a' M + Cov(u, x_t) / Var(x_t) · (x − a M), with Cov = a a' S² + s s' and
    Var = a² S² + s² (per coordinate). For the linear path (a = t, s = 1 − t) this is
    M + (t S² − (1 − t)) / ((1 − t)² + t² S²) · (x − t M).
    """
    a, s, da, ds = (float(c) for c in coefficients(path, torch.tensor(t, dtype=torch.float64), sigma_min))
    m = torch.as_tensor(M, dtype=x.dtype)
    return da * m + (a * da * S**2 + s * ds) / (a * a * S**2 + s * s) * (x - a * m)


# the plain concat-squash field, and the one with Fourier features of x and of t
FEATURES = [{}, {"fourier": 6, "fourier_scale": 2.0, "time_features": 3},
            {"fourier": 6, "fourier_scale": 2.0, "time_features": 3, "radial": 3}]


def lively_net(num_classes: int = 0, seed: int = 0, **features: float) -> FlowField:
    """A float64 field whose flow moves points noticeably."""
    torch.manual_seed(seed)
    net = FlowField(width=16, depth=2, activation="tanh", num_classes=num_classes, **features).double()  # type: ignore[arg-type]
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, 1.0 / math.sqrt(max(p.shape[-1], 1)))
    return net


# -- paths -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path,sigma_min", [("linear", 0.0), ("linear", 0.1), ("vp", 0.0)])
def test_conditional_velocity_is_the_time_derivative_of_the_path(path: str, sigma_min: float) -> None:
    gen = torch.Generator().manual_seed(0)
    x0, x1 = torch.randn(50, 2, generator=gen, dtype=torch.float64), torch.randn(50, 2, generator=gen,
                                                                                 dtype=torch.float64)
    t = torch.rand(50, generator=gen, dtype=torch.float64) * 0.9 + 0.05
    h = 1e-6
    _, u = interpolate(path, x0, x1, t, sigma_min)
    plus, _ = interpolate(path, x0, x1, t + h, sigma_min)
    minus, _ = interpolate(path, x0, x1, t - h, sigma_min)
    torch.testing.assert_close(u, (plus - minus) / (2 * h), rtol=1e-6, atol=1e-6)


def test_linear_path_ends_are_noise_and_data() -> None:
    x0, x1 = torch.randn(5, 2), torch.randn(5, 2)
    start, u = interpolate("linear", x0, x1, torch.zeros(5), 0.1)
    end, _ = interpolate("linear", x0, x1, torch.ones(5), 0.1)
    torch.testing.assert_close(start, x0)
    torch.testing.assert_close(end, x1 + 0.1 * x0)  # σ_min of noise left at the data end
    torch.testing.assert_close(u, x1 - 0.9 * x0)


@pytest.mark.parametrize("path", ["linear", "vp"])
@pytest.mark.parametrize("t", [0.2, 0.5, 0.8])
def test_marginal_velocity_of_gaussian_data_is_the_regression_of_u_on_x_t(path: str, t: float) -> None:
    # the least-squares regression of u on (1, x_t) over many pairs is E[u | x_t] for Gaussians
    gen = torch.Generator().manual_seed(1)
    n = 400_000
    x0 = torch.randn(n, 2, generator=gen, dtype=torch.float64)
    x1 = torch.as_tensor(M) + S * torch.randn(n, 2, generator=gen, dtype=torch.float64)
    x_t, u = interpolate(path, x0, x1, torch.full((n,), t, dtype=torch.float64))
    design = torch.cat([torch.ones(n, 1, dtype=torch.float64), x_t], 1)
    coef = torch.linalg.lstsq(design, u).solution
    probe = torch.tensor([[0.0, 0.0], [1.0, -1.0], [-0.5, 2.0]], dtype=torch.float64)
    fitted = torch.cat([torch.ones(3, 1, dtype=torch.float64), probe], 1) @ coef
    torch.testing.assert_close(fitted, marginal_velocity(path, probe, t), atol=0.02, rtol=0.0)


@pytest.mark.parametrize("path", ["linear", "vp"])
def test_the_closed_form_marginal_velocity_carries_the_t0_marginal_to_the_data(path: str) -> None:
    a0, s0 = (float(c) for c in coefficients(path, torch.tensor(0.0, dtype=torch.float64))[:2])
    t1 = 1.0 if path == "linear" else VP_T_MAX
    a1, s1 = (float(c) for c in coefficients(path, torch.tensor(t1, dtype=torch.float64))[:2])
    gen = torch.Generator().manual_seed(2)
    z = torch.randn(20000, 2, generator=gen, dtype=torch.float64)
    start = a0 * torch.as_tensor(M) + math.sqrt(a0**2 * S**2 + s0**2) * z
    times = torch.tensor([0.0, t1], dtype=torch.float64)
    end = odeint(lambda t, x: marginal_velocity(path, x, float(t)), start, times, rtol=1e-8, atol=1e-8)[-1]
    # an affine flow maps each quantile of the start to the same quantile of the end
    expect = a1 * torch.as_tensor(M) + math.sqrt(a1**2 * S**2 + s1**2) * z
    torch.testing.assert_close(end, expect, atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_a_trained_field_learns_the_marginal_velocity_of_gaussian_data() -> None:
    density = GaussianMixture("shifted", "N(M, S² I)", means=[M.tolist()], stds=S, labelled=False)
    trainer = make_trainer("fm", density, {"width": 32, "depth": 2, "lr": 1e-2, "batch": 256,
                                           "sample_every": 0.0, "eval_every": 1e9}, torch.device("cpu"), 0)
    for _ in trainer.run(steps=800):
        pass
    model = trainer.best_model()
    gen = torch.Generator().manual_seed(3)
    for t in (0.25, 0.5, 0.75):
        a, s = t, 1 - t
        x = a * torch.as_tensor(M, dtype=torch.float32) + math.sqrt(a * a * S * S + s * s) * torch.randn(
            2000, 2, generator=gen)
        err = (model.velocity(x, t) - marginal_velocity("linear", x, t)).norm(dim=1)
        assert float(err.mean()) < 0.08, (t, float(err.mean()))


def test_logit_normal_times_have_the_logit_normal_quantiles() -> None:
    t = sample_times(200_000, "logit_normal", torch.Generator().manual_seed(4), mean=0.5, std=0.8)
    # t = sigmoid(m + s Z): its q-quantile is sigmoid(m + s Φ⁻¹(q))
    for q, zq in ((0.1, -1.2815516), (0.5, 0.0), (0.9, 1.2815516)):
        expect = 1 / (1 + math.exp(-(0.5 + 0.8 * zq)))
        assert abs(float(torch.quantile(t[:100_000], q)) - expect) < 5e-3
    assert float(sample_times(1000, "uniform", torch.Generator(), "vp").max()) <= VP_T_MAX


def test_ramp_times_have_density_2t() -> None:
    t = sample_times(100_000, "ramp", torch.Generator().manual_seed(5))
    # P(t ≤ x) = x², so the q-quantile is √q, and the mean is 2/3
    for q in (0.1, 0.25, 0.5, 0.9):
        assert abs(float(torch.quantile(t, q)) - math.sqrt(q)) < 5e-3
    assert abs(float(t.mean()) - 2 / 3) < 3e-3
    assert float(sample_times(1000, "ramp", torch.Generator(), "vp").max()) <= VP_T_MAX


def test_early_ramp_times_move_from_the_ramp_to_uniform_over_the_budget() -> None:
    g = torch.Generator().manual_seed(6)
    # the mean of a mix with share w of ramp times (mean 2/3) and uniform ones (1/2) is 1/2 + w/6
    for fraction, share in ((0.0, 1.0), (0.1, 1.0), (0.15, 0.5), (0.2, 0.0), (0.9, 0.0)):
        t = sample_times(100_000, "early_ramp", g, fraction=fraction)
        assert abs(float(t.mean()) - (0.5 + share / 6)) < 3e-3, fraction
        assert float(t.min()) >= 0.0 and float(t.max()) <= 1.0


# -- couplings -------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_ot_coupling_has_the_minimum_total_cost_over_all_permutations(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x0, x1 = rng.standard_normal((6, 2)), rng.standard_normal((6, 2)) * 2 + 1
    perm = ot_permutation(x0, x1)
    assert sorted(perm.tolist()) == list(range(6))
    brute = min(pairing_cost(x0, x1[list(p)]) for p in itertools.permutations(range(6)))
    assert pairing_cost(x0, x1[perm]) == pytest.approx(brute, rel=1e-12)
    assert pairing_cost(x0, x1[perm]) <= pairing_cost(x0, x1)


def test_couplings_keep_the_labels_with_their_points() -> None:
    x0, x1 = torch.randn(32, 2), torch.randn(32, 2)
    y = torch.arange(32)
    a, b, yb = couple("ot", x0, x1, y)
    torch.testing.assert_close(a, x0)
    torch.testing.assert_close(b, x1[yb])  # each data point kept its own label
    assert sorted(yb.tolist()) == list(range(32))
    blocks = couple("ot", x0, x1, y, block=8)[2]
    for i in range(0, 32, 8):  # each block's data points stay in their block, optimally assigned
        assert sorted(blocks[i:i + 8].tolist()) == list(range(i, i + 8))
        assert pairing_cost(x0[i:i + 8], x1[blocks[i:i + 8]]) == pytest.approx(
            pairing_cost(x0[i:i + 8], x1[i:i + 8][ot_permutation(x0[i:i + 8], x1[i:i + 8])]))
    same = couple("independent", x0, x1, y)
    assert same[1] is x1 and same[2] is y
    with pytest.raises(InputError, match="unknown coupling 'best'.*independent, ot"):
        couple("best", x0, x1)


# -- classifier-free guidance ------------------------------------------------------------------------
@pytest.mark.parametrize("features", FEATURES)
def test_guidance_identities_on_the_velocity_and_its_jacobian(features: dict[str, float]) -> None:
    net = lively_net(num_classes=3, **features)
    z, t = torch.randn(7, 2, dtype=torch.float64), 0.4
    uncond, cond = net(t, z), net(t, z, 2)
    torch.testing.assert_close(GuidedField(net, 2, 0.0)(t, z), uncond)
    torch.testing.assert_close(GuidedField(net, 2, 1.0)(t, z), cond)
    torch.testing.assert_close(GuidedField(net, 2, None)(t, z), cond)
    torch.testing.assert_close(GuidedField(net, 2, 2.5)(t, z), 2.5 * cond - 1.5 * uncond)
    assert not torch.allclose(cond, uncond)  # the label matters, so the identities are not vacuous
    guided = GuidedField(net, 1, 1.7)
    f, jv = guided.jvp(t, z, torch.eye(2, dtype=torch.float64)[:, None, :])
    jac = torch.autograd.functional.jacobian(lambda zz: guided(t, zz).sum(0), z)
    torch.testing.assert_close(f, guided(t, z))
    torch.testing.assert_close(jv, jac.permute(2, 1, 0))


@pytest.mark.parametrize("path,sigma_min", [("linear", 0.0), ("linear", 0.1), ("vp", 0.0)])
def test_a_held_guided_field_keeps_its_predicted_end_point_in_the_box(path: str, sigma_min: float) -> None:
    net = lively_net(num_classes=3)
    box = (-0.3, 0.3, -0.2, 0.25)
    hold = (box, lambda t: coefficients(path, t, sigma_min))
    free, held = GuidedField(net, 1, 4.0), GuidedField(net, 1, 4.0, hold=hold)
    z, t = 3.0 * torch.randn(200, 2, dtype=torch.float64), 0.4
    a, s, da, ds = (float(c) for c in coefficients(path, torch.tensor(t, dtype=torch.float64), sigma_min))

    def end_point(v: torch.Tensor) -> torch.Tensor:  # x̂_1 of the path x_t = a x_1 + s x_0 with velocity v
        return (s * v - ds * z) / (da * s - ds * a)

    x1_free, x1_held = end_point(free(t, z)), end_point(held(t, z))
    lo, hi = torch.tensor([box[0], box[2]], dtype=torch.float64), torch.tensor([box[1], box[3]], dtype=torch.float64)
    torch.testing.assert_close(x1_held, x1_free.clamp(lo, hi))
    inside = ((x1_free >= lo) & (x1_free <= hi)).all(1)
    assert not torch.allclose(x1_free, x1_held)  # some were held, so the test can fail
    torch.testing.assert_close(held(t, z)[inside], free(t, z)[inside])


@pytest.mark.parametrize("features", FEATURES)
def test_per_point_times_and_labels_agree_with_the_folded_scalar_path(features: dict[str, float]) -> None:
    net = lively_net(num_classes=2, **features)
    z = torch.randn(6, 2, dtype=torch.float64)
    rows = net(torch.full((6,), 0.3, dtype=torch.float64), z, torch.tensor([1, 1, 1, 1, 1, 1]))
    torch.testing.assert_close(rows, net(0.3, z, 1))
    mixed = net(0.3, z, torch.tensor([0, 1, 2, 0, 1, 2]))
    torch.testing.assert_close(mixed[2], net(0.3, z[2:3], 2)[0])  # 2 is ∅


def test_guided_sampling_with_gamma_zero_is_unconditional_sampling() -> None:
    model = FlowMatchingModel(lively_net(num_classes=2).float())
    a = model.sample(50, seed=3, label=1, guidance=0.0, sampler="rk4", steps=8)
    b = model.sample(50, seed=3, sampler="rk4", steps=8)
    np.testing.assert_allclose(a, b, atol=1e-6)
    c = model.sample(50, seed=3, label=1, guidance=1.0, sampler="rk4", steps=8)
    d = model.sample(50, seed=3, label=1, sampler="rk4", steps=8)
    np.testing.assert_allclose(c, d, atol=1e-6)
    assert np.abs(a - c).max() > 1e-3
    with pytest.raises(InputError, match="out of range"):
        model.sample(5, label=2)
    with pytest.raises(InputError, match="give --label"):
        model.sample(5, guidance=2.0)


# -- log-likelihood ------------------------------------------------------------------------------------
@pytest.mark.parametrize("features", FEATURES)
def test_log_prob_is_the_change_of_variables_of_the_flow_map(features: dict[str, float]) -> None:
    model = FlowMatchingModel(lively_net(**features)).double()
    model.atol = model.rtol = 1e-9
    z0 = torch.randn(4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5))

    def flow_map(z: torch.Tensor) -> torch.Tensor:
        times = torch.tensor([0.0, 1.0], dtype=torch.float64)
        return odeint(lambda t, x: model.net(t, x), z[None], times, rtol=1e-10, atol=1e-10)[-1][0]

    x1, expected = [], []
    for z in z0:
        jac = torch.autograd.functional.jacobian(flow_map, z)
        x1.append(flow_map(z))
        expected.append(float(standard_normal_log_prob(z[None])) - float(torch.linalg.slogdet(jac)[1]))
    got = model.log_prob_at(torch.stack(x1))
    np.testing.assert_allclose(got.numpy(), np.array(expected), atol=1e-6)
    assert np.ptp(expected) > 0.1  # the flow is not volume-preserving: the test can fail


def test_the_jacobian_includes_the_fourier_features_and_hutchinson_is_unbiased_for_it() -> None:
    net = lively_net(num_classes=2, **FEATURES[1]).requires_grad_(False)
    assert net.layers[0].linear.in_features == 2 + 2 * 6
    with torch.no_grad():  # the first layer sees x only through sin(Bx), cos(Bx): all of ∂f/∂x comes through them
        net.layers[0].linear.weight[:, :2] = 0.0
    z, t = torch.randn(5, 2, dtype=torch.float64), 0.7
    for y in (None, 1):
        _, jv = net.jvp(t, z, torch.eye(2, dtype=torch.float64)[:, None, :], y)
        jac = torch.autograd.functional.jacobian(lambda zz: net(t, zz, y).sum(0), z)  # noqa: B023
        torch.testing.assert_close(jv, jac.permute(2, 1, 0))
        assert float(jv.abs().max()) > 0.1  # not vacuous
    exact = torch.einsum("iji->j", jv)  # tr ∂f/∂z per point
    probes = torch.randn(20000, 1, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    _, jp = net.jvp(t, z, probes, 1)
    draws = (jp * probes).sum(-1)  # εᵀ J ε, whose mean is tr J
    error = draws.mean(0) - exact
    assert bool((error.abs() < 5 * draws.std(0) / math.sqrt(len(probes))).all())


# -- straightness and reflow -------------------------------------------------------------------------
def test_a_constant_field_is_straight_and_one_euler_step_is_exact() -> None:
    net = FlowField(width=8, depth=1)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.layers[-1].linear.bias.copy_(torch.tensor([0.7, -0.2]))
        net.layers[-1].gate.bias.fill_(50.0)  # gate = 1
    model = FlowMatchingModel(net)
    assert model.straightness(200, steps=8) == pytest.approx(0.0, abs=1e-10)
    one = model.sample(100, seed=1, sampler="euler", steps=1)
    exact = model.sample(100, seed=1)
    np.testing.assert_allclose(one, exact, atol=1e-5)


def test_a_curved_field_has_positive_straightness() -> None:
    model = FlowMatchingModel(lively_net().float())
    assert model.straightness(500, steps=16) > 1e-3


def test_reflow_pairs_are_the_teachers_own_ode_map() -> None:
    teacher = FlowMatchingModel(lively_net().float())
    pairs = reflow_pairs(teacher, 64, seed=7)
    times = torch.tensor([0.0, 1.0])
    independent = odeint(lambda t, x: teacher.net(t, x), pairs.x0, times, rtol=1e-7, atol=1e-7, method="dopri5")[-1]
    torch.testing.assert_close(pairs.x1, independent.detach(), atol=2e-4, rtol=0)
    trainer = make_reflow_trainer(teacher, 200, {"steps": 3, "sample_every": 0.0}, seed=7)
    assert trainer.pairs is not None
    again = odeint(lambda t, x: teacher.net(t, x), trainer.pairs.x0, times, rtol=1e-7, atol=1e-7)[-1]
    torch.testing.assert_close(trainer.pairs.x1, again.detach(), atol=2e-4, rtol=0)
    for _ in trainer.run(steps=3):
        pass
    child = trainer.best_model()
    assert child.generation == 1
    assert make_reflow_trainer(child, 50, {"steps": 1}, seed=1).best_model().generation == 2


def test_reflow_pairs_drawn_by_chunks_report_progress_and_are_the_same_map() -> None:
    teacher = FlowMatchingModel(lively_net().float())
    steps = list(iter_reflow_pairs(teacher, 50, seed=7, chunk=20))
    assert [done for done, _ in steps] == [20, 40, 50]
    assert all(p is None for _, p in steps[:-1])
    chunked, whole = steps[-1][1], reflow_pairs(teacher, 50, seed=7)
    assert chunked is not None
    torch.testing.assert_close(chunked.x0, whole.x0, atol=0, rtol=0)  # the same noise, whatever the chunks
    torch.testing.assert_close(chunked.x1, whole.x1, atol=2e-4, rtol=0)  # the same map, to the solver's tolerance
    trainer = make_reflow_trainer(teacher, 50, {"steps": 1, "heldout": 10}, seed=7, pairs=chunked)
    torch.testing.assert_close(trainer.pairs.x1, chunked.x1[:40])  # the pairs given are the ones trained on
    with pytest.raises(InputError, match="labels exactly when"):
        make_reflow_trainer(teacher, 50, {"steps": 1}, pairs=Pairs(chunked.x0, chunked.x1, torch.zeros(50).long()))


def test_the_kept_model_and_the_picture_are_an_average_of_the_weights_by_default() -> None:
    """The default keeps an EMA of the weights (decay 0.995, growing as (1 + k)/(10 + k)): the samples shown, the
    current model and the kept model are the average's, which lags the raw weights; a reflow's average starts
    at its teacher's weights."""
    opts = {"width": 16, "depth": 2, "batch": 64, "heldout": 100, "sample_every": 1e-9, "eval_every": 1e6}
    trainer = make_trainer("fm", get_density("moons"), opts, torch.device("cpu"), 0)
    assert default_options("fm")["ema"] == 0.995 and trainer.ema is not None
    snaps = list(trainer.run(steps=6))
    shadow, raw = trainer.ema.shadow, trainer.net
    assert any(not torch.equal(a, b) for a, b in zip(shadow.parameters(), raw.parameters()))
    assert trainer.current_model().net is shadow
    kept = trainer.best_model().net.state_dict()
    assert all(torch.equal(kept[k], v) for k, v in shadow.state_dict().items())  # measured once, at the end
    assert snaps[-1].samples is not None and np.allclose(snaps[-1].samples, trainer._samples(), atol=1e-6)
    teacher = trainer.best_model()
    child = make_reflow_trainer(teacher, 60, {"heldout": 10, "sample_every": 0.0}, seed=1)
    assert child.ema is not None
    assert all(torch.equal(a, b) for a, b in zip(child.ema.shadow.parameters(), teacher.net.parameters()))


# -- the family and its checkpoints -----------------------------------------------------------------------
def test_fm_is_a_registered_family_with_defaults() -> None:
    assert FAMILIES["fm"] == "engine.flowmatch"
    opts = default_options("fm")
    assert opts["path"] == "linear" and opts["coupling"] == "independent"
    assert default_options("fm", conditional=True)["conditional"] is True
    with pytest.raises(InputError, match="option 'coupling': unknown value 'sinkhorn'"):
        make_trainer("fm", get_density("moons"), {"coupling": "sinkhorn"}, torch.device("cpu"), 0)
    with pytest.raises(InputError, match="does not apply to fm"):
        make_trainer("fm", get_density("moons"), {"trace": "exact"}, torch.device("cpu"), 0)


@pytest.mark.parametrize("key,value", [("width", 0), ("depth", "3"), ("path", "curvy"), ("coupling", None),
                                       ("sigma_min", 2.0), ("num_classes", -1), ("generation", True)])
def test_validate_config_names_the_bad_key(key: str, value: object) -> None:
    config = FlowMatchingModel(FlowField(width=8, depth=1)).config()
    validate_config(config)
    with pytest.raises(InputError, match=f"'{key}'"):
        validate_config({**config, key: value})


@pytest.mark.parametrize("options", [{}, {"conditional": True, "coupling": "ot", "path": "vp",
                                          "time_sampling": "logit_normal"}])
def test_training_saves_and_loads_the_same_model(tmp_path: object, options: dict[str, object]) -> None:
    from engine.checkpoint import density_record

    density = get_density("8gaussians")
    trainer = make_trainer("fm", density, {"width": 16, "depth": 2, "batch": 64, "sample_every": 0.0,
                                           "heldout": 100, **options}, torch.device("cpu"), 0)
    snaps = list(trainer.run(steps=30))
    assert snaps[-1].step == 30 and snaps[-1].heldout_nll is not None and math.isfinite(snaps[-1].loss)
    model = trainer.best_model()
    path = f"{tmp_path}/m.pt"
    save_checkpoint(path, {**model.to_checkpoint(), "density": density_record(density), "metrics": {}})
    tm = load_trained(path)
    assert tm.kind == "fm" and isinstance(tm.model, FlowMatchingModel)
    assert tm.model.info == model.info
    np.testing.assert_array_equal(tm.model.sample(20, seed=1, sampler="euler", steps=3),
                                  model.sample(20, seed=1, sampler="euler", steps=3))
    pts = density.sample(10, seed=2).x
    np.testing.assert_allclose(tm.model.log_prob(pts), model.log_prob(pts), rtol=1e-6)
    if options:
        assert tm.model.num_classes == 8
        tm.model.sample(5, seed=0, label=3, guidance=2.0, sampler="midpoint", steps=4)


def test_a_damaged_fm_checkpoint_is_refused_with_the_key(tmp_path: object) -> None:
    from engine.checkpoint import density_record

    model = FlowMatchingModel(FlowField(width=8, depth=1))
    ckpt = model.to_checkpoint()
    ckpt["config"]["path"] = "warp"
    path = f"{tmp_path}/bad.pt"
    save_checkpoint(path, {**ckpt, "density": density_record(get_density("moons")), "metrics": {}})
    with pytest.raises(InputError, match="config 'path'"):
        load_trained(path)
    assert family("fm").validate_config is validate_config


def test_unknown_samplers_are_refused() -> None:
    model = FlowMatchingModel(FlowField(width=8, depth=1))
    with pytest.raises(InputError, match="euler, midpoint, rk4, dopri5"):
        model.sample(5, sampler="ancestral")
    with pytest.raises(InputError, match="classifier-free guidance only"):
        model.sample(5, guidance_kind="classifier")


# -- the stochastic sampler ------------------------------------------------------------------------
class _ExactField(torch.nn.Module):
    """The closed-form marginal velocity of the Gaussian data as a field (t, x) -> v."""

    def __init__(self, path: str, sigma_min: float) -> None:
        super().__init__()
        self.path, self.sigma_min = path, sigma_min
        self.anchor = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))  # fixes the device and dtype

    def forward(self, t: float, x: torch.Tensor) -> torch.Tensor:
        return marginal_velocity(self.path, x, float(t), self.sigma_min)


def exact_model(path: str, sigma_min: float = 0.0) -> FlowMatchingModel:
    model = FlowMatchingModel(FlowField(width=8, depth=1).double(), {"path": path, "sigma_min": sigma_min})
    model.field = _ExactField(path, sigma_min)  # type: ignore[assignment]
    return model


@pytest.mark.parametrize("path,sigma_min", [("linear", 0.0), ("linear", 0.1), ("vp", 0.0)])
@pytest.mark.parametrize("t", [0.1, 0.5, 0.9])
def test_the_noise_estimate_read_off_the_velocity_is_the_posterior_mean_of_the_noise(
        path: str, sigma_min: float, t: float) -> None:
    # x_t = a x_1 + s x_0 with x_1 ~ N(M, S² I): E[x_0 | x_t = x] = s (x − a M) / (a² S² + s²)
    a, s = (float(c) for c in coefficients(path, torch.tensor(t, dtype=torch.float64), sigma_min)[:2])
    x = torch.tensor([[0.0, 0.0], [1.0, -1.0], [-0.5, 2.0]], dtype=torch.float64)
    expect = s * (x - a * torch.as_tensor(M)) / (a * a * S**2 + s * s)
    model = exact_model(path, sigma_min)
    got = model.noise_estimate(x, t, marginal_velocity(path, x, t, sigma_min))
    torch.testing.assert_close(got, expect, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("path,sigma_min", [("linear", 0.0), ("linear", 0.1), ("vp", 0.0)])
@pytest.mark.parametrize("noise", [1.0, 3.0])
def test_the_sde_sampler_with_the_exact_field_draws_the_data(path: str, sigma_min: float, noise: float) -> None:
    # the SDE has the ODE's marginals for the exact field, whatever its noise: at t = 1 the data,
    # N(M, S² I) (plus σ_min of noise on the linear path); a wrong drift (without −ε x̂_0, say) or
    # diffusion would widen or shift it
    model = exact_model(path, sigma_min)
    x = model.sample(40_000, seed=3, sampler="sde", steps=400, noise=noise)
    assert model.last_nfe == 400
    std = math.sqrt(S**2 + sigma_min**2)
    np.testing.assert_allclose(x.mean(0), M, atol=0.02)
    np.testing.assert_allclose(x.std(0), [std, std], atol=0.02)


def test_the_sde_sampler_without_noise_is_euler_on_the_ode_and_a_seed_repeats_it() -> None:
    model = FlowMatchingModel(lively_net())
    np.testing.assert_allclose(model.sample(200, seed=4, sampler="sde", steps=12, noise=0.0),
                               model.sample(200, seed=4, solver="euler", steps=12), rtol=1e-6, atol=1e-6)
    first = model.sample(200, seed=4, sampler="sde", steps=12)
    np.testing.assert_array_equal(first, model.sample(200, seed=4, sampler="sde", steps=12))
    assert not np.allclose(first, model.sample(200, seed=5, sampler="sde", steps=12))


@pytest.mark.parametrize("options,match", [({"steps": 0}, "at least one step"), ({"noise": -1.0}, r"\[0, 100\]"),
                                           ({"noise": math.nan}, r"\[0, 100\]")])
def test_the_sde_sampler_refuses_what_cannot_work(options: dict[str, float], match: str) -> None:
    model = FlowMatchingModel(FlowField(width=8, depth=1))
    with pytest.raises(InputError, match=match):
        model.sample(5, sampler="sde", **options)


def test_the_live_preview_is_the_sde_sampler_with_the_same_noise_at_every_look() -> None:
    trainer = make_trainer("fm", get_density("moons"), {"samples": 300, "width": 16}, torch.device("cpu"), 0)
    assert trainer.opts["sample_solver"] == "sde"
    for _ in trainer.run(steps=3):
        pass
    first = trainer._samples()
    np.testing.assert_array_equal(first, trainer._samples())  # fixed noise and kicks: the picture does not flicker
    model = trainer.current_model()
    kicks = torch.Generator().manual_seed(trainer._kicks_seed)
    expect = model.sde_solve(trainer.noise, int(trainer.opts["sample_steps"]), kicks).numpy()
    np.testing.assert_array_equal(first, expect)
    with pytest.raises(InputError, match="preview sampler 'ancestral'"):
        make_trainer("fm", get_density("moons"), {"sample_solver": "ancestral"}, torch.device("cpu"), 0)


def test_the_sde_started_midway_from_the_exact_marginal_ends_at_the_data() -> None:
    # the trajectories lab fans out from a clicked point at time t: from p_t itself the SDE must end at p_1
    model, t0 = exact_model("linear"), 0.4
    gen = torch.Generator().manual_seed(6)
    start = t0 * torch.as_tensor(M) + math.sqrt(t0**2 * S**2 + (1 - t0) ** 2) * torch.randn(40_000, 2, generator=gen,
                                                                                          dtype=torch.float64)
    states = list(model.sde_states(start, 240, gen, start=t0))
    assert states[0][0] == t0 and states[-1][0] == pytest.approx(1.0) and len(states) == 241
    end = states[-1][1].numpy()
    np.testing.assert_allclose(end.mean(0), M, atol=0.02)
    np.testing.assert_allclose(end.std(0), [S, S], atol=0.02)
    with pytest.raises(InputError, match="time in"):
        next(model.sde_states(start, 10, gen, start=1.5))
