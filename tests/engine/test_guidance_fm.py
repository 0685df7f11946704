"""Classifier-free guidance of flow-matching models: the guidance interval on the velocity, the states the
guidance lab shows, and the trade-off curve."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.api import make_trainer
from engine.densities import get_density
from engine.device import configure_threads
from engine.errors import InputError
from engine.flowmatch import FlowField, GuidedField
from engine.flowmatch.model import FlowMatchingModel
from engine.guidance_sweep import SWEEP_FM, in_class_share, reference, score_sample, sweep, sweep_steps

configure_threads()

GAUSS8 = get_density("8gaussians")


@pytest.fixture(scope="module")
def model() -> FlowMatchingModel:
    options = {"conditional": True, "width": 32, "depth": 2, "batch": 256}
    trainer = make_trainer("fm", GAUSS8, options, torch.device("cpu"), 0)
    for _ in trainer.run(steps=300):
        pass
    return trainer.best_model()


def test_guidance_interval_on_the_velocity_is_in_diffusion_time() -> None:
    torch.manual_seed(0)
    net = FlowField(width=16, depth=2, activation="tanh", num_classes=3).double()
    z = torch.randn(5, 2, dtype=torch.float64)
    field = GuidedField(net, 2, 4.0, (0.2, 0.5))  # τ = 1 − t: guided for t in [0.5, 0.8]
    for t, inside in ((0.1, False), (0.6, True), (0.9, False)):
        cond, uncond = net(t, z, 2), net(t, z)
        expected = 4.0 * cond - 3.0 * uncond if inside else cond
        torch.testing.assert_close(field(t, z), expected)
    times = torch.tensor([0.1, 0.6, 0.6, 0.9, 0.9], dtype=torch.float64)  # per-point times
    g = torch.tensor([1.0, 4.0, 4.0, 1.0, 1.0], dtype=torch.float64)[:, None]
    expected = g * net(times, z, torch.full((5,), 2)) + (1 - g) * net(times, z)
    torch.testing.assert_close(field(times, z), expected)


def test_states_end_where_the_sample_ends_and_the_interval_changes_them(model: FlowMatchingModel) -> None:
    states = list(model.states(300, seed=3, solver="rk4", steps=4, label=1, guidance=3.0))
    assert [t for t, _ in states] == [0.0, 0.25, 0.5, 0.75, 1.0]
    x = model.sample(300, seed=3, solver="rk4", steps=4, label=1, guidance=3.0)
    np.testing.assert_allclose(states[-1][1].float().numpy(), x, atol=1e-5)
    limited = model.sample(300, seed=3, solver="rk4", steps=4, label=1, guidance=3.0, guidance_interval=(0.0, 1.0))
    np.testing.assert_allclose(limited, x, atol=1e-6)  # the whole range is no interval
    cond = model.sample(300, seed=3, solver="rk4", steps=4, label=1, guidance=1.0)
    off = model.sample(300, seed=3, solver="rk4", steps=4, label=1, guidance=3.0, guidance_interval=(0.97, 0.99))
    np.testing.assert_allclose(off, cond, atol=1e-6)  # no stage of a step falls in it: the conditional field
    with pytest.raises(InputError, match="fixed-step"):
        next(model.states(10, solver="dopri5"))
    with pytest.raises(InputError, match="classifier-free guidance only"):
        list(sweep(model, GAUSS8, 1, (1.0,), kind="classifier", n=100))


def test_trade_off_curve_of_a_flow_matching_model(model: FlowMatchingModel) -> None:
    points = list(sweep(model, GAUSS8, 1, (0.0, 1.0, 3.0), n=1000))
    share = {p.gamma: p.in_class for p in points}
    assert share[0.0] < 0.4 < share[1.0] <= share[3.0] + 0.02  # about 1/8 unguided; the class once guided
    # the curve scores exactly the states the guidance lab shows: the same solver, steps and noise, and the
    # predicted end point held in the density's box
    *_, (_, last) = model.states(1000, seed=0, solver=SWEEP_FM[0], steps=SWEEP_FM[1], label=1, guidance=3.0,
                                 box=GAUSS8.box)
    assert in_class_share(last.float().numpy(), GAUSS8, 1) == share[3.0]
    fidelity = {p.gamma: p.fidelity for p in points}
    assert score_sample(last.float().numpy(), GAUSS8, reference(GAUSS8, 1, 1000), 3.0).fidelity == fidelity[3.0]
    ref = reference(GAUSS8, 1, 1000)
    out = list(sweep_steps(model, GAUSS8, ref, (3.0,), n=1000, interval=(0.3, 0.7)))
    assert out.count(None) == SWEEP_FM[1] + 1 and out[-1] is not None  # a pause after each state
