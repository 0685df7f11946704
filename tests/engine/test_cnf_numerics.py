"""CNF numerics against theory: Jacobians, trace estimators, change of variables, adjoint."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from torchdiffeq import odeint

from engine.cnf.divergence import TraceEstimator, autograd_hutchinson, autograd_trace, sample_probes
from engine.cnf.dynamics import CNFDynamics
from engine.cnf.model import CNF, standard_normal_log_prob
from engine.cnf.nets import ACTIVATIONS, VectorField
from engine.cnf.solvers import Counted, odesolve, stage_times
from engine.device import configure_threads

configure_threads()  # one thread: two spinning threads on a shared 2-core machine collapse


# the plain field; with Fourier features of z and t; with those in a frame that standardises the data;
# with radial features alone, in a frame
FEATURES: list[dict[str, Any]] = [{}, {"fourier": 6, "fourier_scale": 2.0, "time_features": 3},
                                  {"fourier": 6, "fourier_scale": 2.0, "time_features": 3, "shift": (0.7, -1.2),
                                   "scale": 2.5}, {"radial": 4, "shift": (0.3, -0.4), "scale": 1.5}]


def lively_field(activation: str = "tanh", seed: int = 0, weights: float = 1.0, end_time: float = 1.0,
                 **features: Any) -> VectorField:
    """A float64 field whose flow moves points noticeably (a fresh init is almost still)."""
    torch.manual_seed(seed)
    f = VectorField(width=16, depth=2, activation=activation, end_time=end_time, **features).double()
    with torch.no_grad():
        for p in f.parameters():
            p.normal_(0.0, weights / math.sqrt(max(p.shape[-1], 1)))
    return f


@pytest.mark.parametrize("features", FEATURES)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_jvp_gives_the_autograd_jacobian(activation: str, features: dict[str, Any]) -> None:
    f = lively_field(activation, end_time=0.7, **features)
    z = torch.randn(9, 2, dtype=torch.double)
    t = torch.tensor(0.3, dtype=torch.double)
    out, jv = f.jvp(t, z, torch.eye(2, dtype=torch.double)[:, None, :])
    jac = torch.autograd.functional.jacobian(lambda zz: f(t, zz).sum(0), z)  # [out k, point, in i]
    torch.testing.assert_close(out, f(t, z))
    torch.testing.assert_close(jv, jac.permute(2, 1, 0))


def test_closed_form_trace_and_its_gradient_match_autograd() -> None:
    f = lively_field("silu")
    z = torch.randn(11, 2, dtype=torch.double, requires_grad=True)
    t = torch.tensor(0.6, dtype=torch.double)
    est = TraceEstimator()
    v = est.tangents(11, 2, "cpu", torch.double)
    _, jv = f.jvp(t, z, v)
    closed = est.trace(v, jv)
    auto = autograd_trace(f(t, z), z, create_graph=True)
    torch.testing.assert_close(closed, auto)
    params = [p for p in f.parameters()]
    g1 = torch.autograd.grad(closed.sum(), params, allow_unused=True)
    g2 = torch.autograd.grad(auto.sum(), params, allow_unused=True)
    for a, b in zip(g1, g2):
        if a is None or b is None:
            assert a is None and b is None
        else:
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("probe", ["gaussian", "rademacher"])
def test_hutchinson_is_unbiased_for_trace_and_frobenius(probe: str) -> None:
    f = lively_field(weights=2.0)
    z = torch.randn(5, 2, dtype=torch.double)
    t = torch.tensor(0.4, dtype=torch.double)
    exact = TraceEstimator()
    basis = exact.tangents(5, 2, "cpu", torch.double)
    _, jb = f.jvp(t, z, basis)
    true_tr, true_fro = exact.trace(basis, jb), exact.frobenius(jb)
    hutch = TraceEstimator(exact=False, probe=probe, k=1)
    gen = torch.Generator().manual_seed(1)
    m = 20000
    v = sample_probes(probe, m, 5, 2, generator=gen, dtype=torch.double)  # m single-probe estimates
    _, jv = f.jvp(t, z, v)
    tr_draws = (v * jv).sum(-1)  # (m, n)
    fro_draws = (jv * jv).sum(-1)
    for draws, truth in ((tr_draws, true_tr), (fro_draws, true_fro)):
        se = draws.std(0) / math.sqrt(m)
        assert torch.all((draws.mean(0) - truth).abs() < 5 * se + 1e-12)
    assert hutch.trace(v, jv).shape == (5,)
    torch.testing.assert_close(hutch.trace(v, jv), tr_draws.mean(0))
    # and the estimator really is random: one probe is not the trace
    assert (tr_draws[0] - true_tr).abs().max() > 1e-3


@pytest.mark.parametrize("probe", ["gaussian", "rademacher"])
def test_autograd_hutchinson_matches_forward_mode(probe: str) -> None:
    f = lively_field()
    z = torch.randn(6, 2, dtype=torch.double, requires_grad=True)
    t = torch.tensor(0.2, dtype=torch.double)
    v = sample_probes(probe, 3, 6, 2, generator=torch.Generator().manual_seed(0), dtype=torch.double)
    _, jv = f.jvp(t, z, v)
    forward_mode = TraceEstimator(exact=False, probe=probe, k=3).trace(v, jv)
    torch.testing.assert_close(forward_mode, autograd_hutchinson(f(t, z), z, v))


def test_rademacher_probes_are_signs_and_unknown_probe_is_refused() -> None:
    v = sample_probes("rademacher", 4, 100, 2, generator=torch.Generator().manual_seed(0))
    assert set(v.unique().tolist()) == {-1.0, 1.0}
    with pytest.raises(ValueError, match="rademacher"):
        sample_probes("uniform", 1, 1, 2)


def flow_map(f: VectorField, x: torch.Tensor) -> torch.Tensor:
    """x (at t=1) -> z(0), by a tight dopri5 solve in float64."""
    (z,) = odesolve(lambda t, y: (f(t, y[0]),), (x,), torch.tensor([1.0, 0.0], dtype=torch.double),
                    atol=1e-10, rtol=1e-10)
    return z[-1]


@pytest.mark.parametrize("features", FEATURES)
def test_log_density_change_is_the_log_determinant_of_the_flow_map(features: dict[str, Any]) -> None:
    f = lively_field(weights=3.0, seed=3, **features)
    x = torch.randn(4, 2, dtype=torch.double)
    dyn = CNFDynamics(f)
    z, delta = odesolve(dyn, dyn.initial_state(x), torch.tensor([1.0, 0.0], dtype=torch.double),
                        atol=1e-10, rtol=1e-10)
    logdets = []
    for xi in x:
        jac = torch.autograd.functional.jacobian(lambda p: flow_map(f, p[None])[0], xi)
        logdets.append(torch.linalg.slogdet(jac).logabsdet)
    # log p1(x) = log p0(z0) + log|det dz0/dx| = log p0(z0) - Δ(0)
    torch.testing.assert_close(-delta[-1], torch.stack(logdets), rtol=1e-6, atol=1e-7)
    assert delta[-1].abs().max() > 0.1  # the flow really changes volume
    torch.testing.assert_close(z[-1], flow_map(f, x), rtol=1e-7, atol=1e-8)


def test_a_frame_changes_coordinates_exactly() -> None:
    """In a frame (shift b, scale s) the flow is x = b + s u(1) where u follows the bare network from the
    same noise, so log p(x) = log p_bare((x − b)/s) − 2 log s (the change of variables of the similarity)."""
    frame = FEATURES[2]
    framed = lively_field(seed=4, **frame)
    bare = lively_field(seed=4, **{k: v for k, v in frame.items() if k not in ("shift", "scale")})
    bare.load_state_dict(framed.state_dict())
    assert framed.framed and not bare.framed
    shift, s = torch.tensor(frame["shift"], dtype=torch.double), frame["scale"]
    m, mb = CNF(framed, 1e-10, 1e-10), CNF(bare, 1e-10, 1e-10)
    z = torch.randn(6, 2, dtype=torch.double, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(m.flow(z), shift + s * mb.flow(z), rtol=1e-7, atol=1e-7)
    x = shift + s * torch.randn(6, 2, dtype=torch.double, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(m.log_prob_at(x), mb.log_prob_at((x - shift) / s) - 2 * math.log(s),
                               rtol=1e-7, atol=1e-7)
    # at t = 0 the frame is the identity: the noise end is N(0, I) as without one
    torch.testing.assert_close(m.log_prob_at(x, 0.0), standard_normal_log_prob(x))
    assert float((m.log_prob_at(x) - mb.log_prob_at(x)).abs().max()) > 0.1  # the frame matters here


@pytest.mark.parametrize("solver,steps,tol", [("dopri5", 0, 1e-8), ("rk4", 24, 0.0)])
@pytest.mark.parametrize("trace", ["exact", "hutchinson"])
def test_adjoint_gradients_equal_backprop_gradients(solver: str, steps: int, tol: float, trace: str) -> None:
    f = lively_field(weights=1.2, seed=5)
    x = torch.randn(32, 2, dtype=torch.double)
    est = TraceEstimator(exact=trace == "exact", probe="rademacher", k=2)
    grads = []
    for adjoint in (False, True):
        dyn = Counted(CNFDynamics(f, est, kinetic=True, frobenius=True))
        dyn.func.begin(x, torch.Generator().manual_seed(7))  # the same probes for both
        out = odesolve(dyn, dyn.func.initial_state(x), torch.tensor([1.0, 0.0], dtype=torch.double),
                       solver=solver, steps=steps, atol=tol or 1e-5, rtol=tol or 1e-5, adjoint=adjoint)
        loss = -(standard_normal_log_prob(out[0][-1]) - out[1][-1]).mean() - 0.1 * out[2][-1].mean() \
            - 0.1 * out[3][-1].mean()
        forward_nfe = dyn.nfe
        grads.append(torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(f.parameters()))]))
        if adjoint:
            assert dyn.nfe > forward_nfe  # the adjoint solved a second ODE backwards
        else:
            assert dyn.nfe == forward_nfe
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-3, atol=1e-3 * grads[0].abs().max().item())


@pytest.mark.parametrize("method", ["euler", "midpoint", "rk4"])
def test_own_fixed_step_loop_matches_torchdiffeq(method: str) -> None:
    f = lively_field(seed=4)
    dyn = CNFDynamics(f, kinetic=True)
    x = torch.randn(10, 2, dtype=torch.double)
    t = torch.tensor([1.0, 0.0], dtype=torch.double)
    ours = odesolve(dyn, dyn.initial_state(x), t, solver=method, steps=5)
    # three output times send the solve through torchdiffeq (the middle one is on the grid)
    t3 = torch.tensor([1.0, 0.6, 0.0], dtype=torch.double)
    theirs = odeint(dyn, dyn.initial_state(x), t3, method=method,
                    options={"grid_constructor": lambda *_: torch.linspace(1.0, 0.0, 6, dtype=torch.double)})
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a[-1], b[-1], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(a[0], b[0])
    assert (ours[0][-1] - x).abs().max() > 0.05


@pytest.mark.parametrize("method", ["euler", "midpoint", "rk4"])
@pytest.mark.parametrize("features", FEATURES)
def test_layers_folded_at_the_stage_times_give_the_same_solve_and_gradients(method: str,
                                                                             features: dict[str, Any]) -> None:
    f = lively_field(seed=5, end_time=0.7, **features)
    dyn = CNFDynamics(f, frobenius=True)
    x = torch.randn(10, 2, dtype=torch.double)
    t = torch.tensor([1.0, 0.0], dtype=torch.double)
    seen: list[float] = []
    recorded = Counted(lambda tt, y: (seen.append(tt), dyn(tt, y))[1])  # type: ignore[func-returns-value]
    odesolve(recorded, dyn.initial_state(x), t, solver=method, steps=3)
    times = stage_times(1.0, 0.0, 3, method)
    assert times == list(dict.fromkeys(seen))  # the very floats the solver passes, each once

    def loss() -> tuple[torch.Tensor, list[torch.Tensor]]:
        z, delta, frob = (y[-1] for y in odesolve(dyn, dyn.initial_state(x), t, solver=method, steps=3))
        value = (z ** 2).sum() + delta.sum() + frob.sum()
        return value, list(torch.autograd.grad(value, list(f.parameters())))

    plain, plain_grads = loss()
    with f.fixed_times(times):
        folded, folded_grads = loss()
        assert f._folded is not None and set(f._folded) == set(times)
    assert f._folded is None  # the block's end forgets the folded layers (the weights move on)
    torch.testing.assert_close(folded, plain, rtol=1e-12, atol=1e-12)
    for a, b in zip(folded_grads, plain_grads):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    # a time outside the block's list is folded as before
    with f.fixed_times(times[:1]):
        torch.testing.assert_close(f(0.123, x), f(torch.tensor(0.123, dtype=torch.double), x))


def test_flow_inverts_and_log_prob_is_solver_independent() -> None:
    model = CNF(lively_field(weights=1.5, seed=2).float())
    x = torch.randn(200, 2)
    z = model.flow(x, 1.0, 0.0)
    back = model.flow(z, 0.0, 1.0)
    assert (back - x).abs().max() < 1e-3
    assert (z - x).abs().mean() > 0.1  # the map is not the identity
    accurate = model.log_prob_at(x)
    fine_rk4 = model.log_prob_at(x, solver="rk4", steps=200)
    assert (accurate - fine_rk4).abs().max() < 2e-3


@pytest.mark.parametrize("t", [0.0, 0.3, 0.7, 1.0])
def test_probability_path_integrates_to_one(t: float) -> None:
    from engine.cnf.views import probability_path

    model = CNF(lively_field(weights=1.5, seed=2).float())
    box = (-7.0, 7.0, -7.0, 7.0)
    (frame,) = list(probability_path(model, box, n=120, times=[t], solver="rk4", steps=12))
    cell = (14.0 / 120) ** 2
    assert frame.density.shape == (120, 120) and frame.density.dtype == np.float32
    assert abs(float(frame.density.sum()) * cell - 1.0) < 1e-2
    noise = np.exp(-0.5 * (frame.log_density * 0 + _grid_r2(box, 120))) / (2 * np.pi)
    moved = float(np.abs(frame.density - noise).sum()) * cell
    assert (moved < 1e-4) if t == 0.0 else (moved > 0.05)  # p_t really changes with t


def _grid_r2(box: tuple[float, float, float, float], n: int) -> np.ndarray:
    from engine.densities import grid_points

    _, _, pts = grid_points(box, n)
    return (pts**2).sum(1).reshape(n, n)
