"""DPM-Solver++(2M) against the exact probability-flow ODE of a Gaussian mixture, and the guidance interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from engine.densities import get_density
from engine.device import configure_threads
from engine.diffusion.analytic import exact_model
from engine.diffusion.dpm_solver import dpm_solver_pp, dpm_times
from engine.diffusion.schedules import NoiseProcess, VESchedule, VPSchedule
from engine.diffusion.score import ProbabilityFlow
from engine.errors import InputError

configure_threads()

GAUSS8 = get_density("8gaussians")


class SmoothVP(NoiseProcess):
    """Song et al.'s continuous VP SDE, β(τ) = 0.1 + 19.9 τ: smooth, so an adaptive solver takes few steps."""

    name = "vp"

    def __init__(self) -> None:
        self.num_levels = 1000
        self.times = torch.arange(1, 1001, dtype=torch.float64) / 1000
        self.prior_std = 1.0

    @property
    def t_max(self) -> float:
        return 0.95

    def log_alpha_bar(self, tau: torch.Tensor) -> torch.Tensor:
        tau = torch.as_tensor(tau, dtype=torch.float64)
        return -(0.1 * tau + 9.95 * tau**2)

    def signal(self, tau: torch.Tensor) -> torch.Tensor:
        return (0.5 * self.log_alpha_bar(tau)).exp()

    def noise(self, tau: torch.Tensor) -> torch.Tensor:
        return (-torch.expm1(self.log_alpha_bar(tau))).sqrt()

    def drift_coef(self, tau: torch.Tensor) -> torch.Tensor:
        return -0.5 * self.g2(tau)

    def g2(self, tau: torch.Tensor) -> torch.Tensor:
        return 0.1 + 19.9 * torch.as_tensor(tau, dtype=torch.float64)


def _exact_map(model, x: torch.Tensor) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Dormand–Prince 5(4) (dopri5) at tight tolerances from τ_max to τ_min, then Tweedie's step."""
    process = model.process
    flow = ProbabilityFlow(model.eps_fn(), process)

    def velocity(t: float, y: np.ndarray) -> np.ndarray:
        return flow.velocity(torch.from_numpy(y.reshape(-1, 2)), t).numpy().ravel()

    sol = solve_ivp(velocity, (process.t_max, process.t_min), x.numpy().ravel(), method="RK45",
                    rtol=1e-10, atol=1e-10)
    assert sol.success
    end = torch.from_numpy(sol.y[:, -1].reshape(-1, 2))
    return flow.denoise(end, process.t_min).numpy()


@pytest.mark.parametrize("process", [SmoothVP(), VESchedule(100, 0.01, 5.0)], ids=["vp", "ve"])
def test_dpm_solver_pp_converges_to_the_exact_probability_flow_with_order_two(process: NoiseProcess) -> None:
    model = exact_model(GAUSS8, process, scale=2.0)
    x, _ = model.initial_noise(48, seed=1)
    x = x.double()
    exact = _exact_map(model, x)
    errors = []
    for steps in (12, 24, 48):
        *_, (_, _, last, _) = dpm_solver_pp(model.eps_fn(), process, x.clone(), steps)
        errors.append(float(np.sqrt(((last.numpy() - exact) ** 2).sum(1)).mean()))
    assert errors[-1] < 5e-3, errors  # the components sit 1.4 apart, 0.18 wide
    orders = [math.log2(a / b) for a, b in zip(errors[:-1], errors[1:])]
    assert min(orders) > 1.7, (errors, orders)


def test_dpm_times_are_even_in_half_log_snr_and_span_the_process() -> None:
    process = VPSchedule(1000)
    taus = dpm_times(process, 9)
    a, s = process.marginal(taus)
    lam = (a / s).log().numpy()
    assert taus[0] == process.t_max and taus[-1] == process.t_min
    assert np.allclose(np.diff(lam), np.diff(lam).mean(), rtol=1e-3)
    assert torch.allclose(dpm_times(process, 5, "time"), torch.linspace(process.t_max, process.t_min, 5,
                                                                         dtype=torch.float64))
    with pytest.raises(InputError, match="logsnr"):
        dpm_times(process, 5, "cosine")


def test_dpm_sampler_reproduces_the_mixture_and_keeps_guided_samples_in_the_box() -> None:
    data = GAUSS8.sample(50_000, seed=0).x
    model = exact_model(GAUSS8, VPSchedule(1000), data.mean(0), float(data.std()))
    x = model.sample(4000, seed=2, sampler="dpm++", steps=20)
    # each component holds 1/8 of the sample, and its spread is the component's
    labels = GAUSS8.classify(x)
    counts = np.bincount(labels[labels >= 0], minlength=8) / len(x)
    assert np.allclose(counts, 1 / 8, atol=0.02)
    own = x[labels == 3] - GAUSS8.means[3]
    assert own.std() == pytest.approx(GAUSS8.stds[3], rel=0.08)
    x0, x1, y0, y1 = GAUSS8.box
    strong = model.sample(2000, seed=2, sampler="dpm++", steps=12, label=3, guidance=10.0)
    assert (strong[:, 0] >= x0 - 1e-4).all() and (strong[:, 0] <= x1 + 1e-4).all()
    assert (strong[:, 1] >= y0 - 1e-4).all() and (strong[:, 1] <= y1 + 1e-4).all()
    assert (GAUSS8.classify(strong) == 3).mean() > 0.99


@pytest.mark.parametrize("guidance_kind", ["cfg", "classifier"])
def test_guidance_interval_is_gamma_inside_and_the_conditional_model_outside(guidance_kind: str) -> None:
    model = exact_model(GAUSS8, VPSchedule(200), scale=2.0)
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    limited = model.eps_fn(5, 4.0, guidance_kind, interval=(0.3, 0.6))
    full = model.eps_fn(5, 4.0, guidance_kind)
    conditional = model.eps_fn(5, 1.0, guidance_kind)
    for tau in (0.1, 0.29, 0.61, 0.9):
        t = torch.tensor(tau, dtype=torch.float64)
        assert torch.allclose(limited(x, t), conditional(x, t))
        assert not torch.allclose(limited(x, t), full(x, t))
    for tau in (0.3, 0.45, 0.6):
        t = torch.tensor(tau, dtype=torch.float64)
        assert torch.allclose(limited(x, t), full(x, t))
    # the whole range is plain guidance, sample for sample
    opts = {"sampler": "dpm++", "steps": 10, "label": 5, "guidance": 4.0, "guidance_kind": guidance_kind}
    assert np.array_equal(model.sample(100, seed=1, guidance_interval=(0.0, 1.0), **opts),
                          model.sample(100, seed=1, **opts))


def test_impossible_guidance_intervals_are_input_errors() -> None:
    model = exact_model(GAUSS8, VPSchedule(200), scale=2.0)
    for bad in ((0.6, 0.3), (-0.1, 0.5), (0.2, 1.5), (float("nan"), 0.5), ("a", "b")):
        with pytest.raises(InputError, match="interval"):
            model.sample(10, sampler="dpm++", steps=5, label=1, guidance=3.0, guidance_interval=bad)
    with pytest.raises(InputError, match="guidance scale"):
        model.sample(10, sampler="dpm++", steps=5, label=1, guidance_interval=(0.2, 0.5))


def test_held_second_order_line_stays_in_the_box() -> None:
    # x_i / a_i = e^{-h} x_{i-1} / a_{i-1} + (1 - e^{-h}) D_i gives back each step's line D_i. An x̂_0 swinging
    # from one side of the box to the other (as a large γ makes it) extrapolates the plain line out of the box.
    process = VPSchedule(1000)
    calls = [0]

    def swinging(x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        calls[0] += 1
        a, s = (float(v) for v in process.marginal(torch.as_tensor(tau, dtype=torch.float64)))
        x0 = torch.full_like(x, 1.0 if calls[0] % 2 else -1.0)  # already held in the box
        return (x - a * x0) / s

    def lines(bounds: tuple[torch.Tensor, torch.Tensor] | None) -> list[float]:
        calls[0] = 0
        taus = dpm_times(process, 12)
        a, s = process.marginal(taus)
        lam = (a / s).log()
        prev, out = torch.zeros(3, 2), []
        for step, _tau, xi, _x0 in dpm_solver_pp(swinging, process, prev.clone(), 12, bounds=bounds):
            if step < 12:
                decay = math.exp(-float(lam[step] - lam[step - 1]))
                d = (xi / float(a[step]) - decay * prev / float(a[step - 1])) / (1 - decay)
                out.append(float(d.abs().max()))
                prev = xi
        return out

    assert max(lines(None)) > 1.5  # the line through +1 and -1, half a step on
    held = lines((torch.tensor([-1.0, -1.0]), torch.tensor([1.0, 1.0])))
    assert max(held) == pytest.approx(1.0, abs=1e-4)
