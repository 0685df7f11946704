"""The guidance lab with a class-conditional flow-matching model: classifier-free guidance on the velocity."""

import numpy as np
import pytest
import torch

from app.labs.context import LabContext
from app.labs.guidance.compute import FM_SOLVER, PARTICLES
from app.labs.guidance.view import GuidanceLab
from engine.api import make_trainer
from engine.checkpoint import TrainedModel, density_record
from engine.densities import get_density

GAUSS8 = get_density("8gaussians")


@pytest.fixture(scope="module")
def trained() -> TrainedModel:
    trainer = make_trainer("fm", GAUSS8, {"conditional": True, "width": 32, "depth": 2, "batch": 256},
                           torch.device("cpu"), 0)
    for _ in trainer.run(steps=300):
        pass
    return TrainedModel(trainer.best_model(), density_record(GAUSS8), {})


@pytest.fixture
def lab(qtbot, trained):  # type: ignore[no-untyped-def]
    ctx = LabContext()
    ctx.set_density(GAUSS8, "8gaussians")
    ctx.set_model(trained)
    lab = GuidanceLab(ctx)
    qtbot.addWidget(lab)
    lab.resize(1200, 500)
    yield lab
    lab.shutdown()


def settled(lab: GuidanceLab, gamma: float) -> bool:
    s = lab.samples
    return len(s) == 3 and s["guided"].request.guidance == gamma and lab.queue.settled


def test_flow_matching_panels_curve_and_interval(lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    lab.activate()
    assert lab.model() is trained_model(lab)
    assert [lab.controls.kind_box.itemData(i) for i in range(lab.controls.kind_box.count())] == ["cfg"]
    assert "v̂ = γ v" in lab.header.equation.text()
    lab.set_guidance(0.0)
    qtbot.waitUntil(lambda: settled(lab, 0.0), timeout=20_000)
    guided, uncond = lab.samples["guided"], lab.samples["unconditional"]
    assert guided.xs.shape == (FM_SOLVER[1] + 1, PARTICLES, 2) and (guided.sampler, guided.steps) == FM_SOLVER
    np.testing.assert_array_equal(guided.xs[-1], uncond.xs[-1])  # γ = 0 is the unconditional field
    assert guided.taus[0] == 1.0 and guided.taus[-1] == 0.0  # shown in diffusion time τ = 1 − t
    # the trade-off curve scores the lab's own samples: its share at γ = 3 is the guided panel's
    lab.set_guidance(3.0)
    qtbot.waitUntil(lambda: settled(lab, 3.0), timeout=20_000)
    qtbot.waitUntil(lambda: lab.curves.wanted(lab._curve_keys()) is None, timeout=120_000)
    shares = dict(lab.chart.points("full", "in_class"))
    panel = float(np.mean(GAUSS8.classify(lab.samples["guided"].xs[-1]) == lab.controls.label))
    assert shares[3.0] == pytest.approx(panel, abs=1e-9) and shares[3.0] > shares[0.0]
    # an interval guides only there: the panel changes, and a second curve is drawn
    before = lab.samples["guided"].xs[-1].copy()
    lab.controls.interval.setValue((0.0, 0.3))
    qtbot.waitUntil(lambda: lab.samples["guided"].request.interval == (0.0, 0.3) and lab.queue.settled,
                    timeout=20_000)
    assert not np.array_equal(lab.samples["guided"].xs[-1], before)
    qtbot.waitUntil(lambda: len(lab.chart.points("interval", "in_class")) == 13, timeout=120_000)


def trained_model(lab: GuidanceLab) -> object:
    return lab.ctx.trained.model if lab.ctx.trained is not None else None


def test_flow_matching_rendering_sweeps_gamma_and_fills_the_curve(lab) -> None:  # type: ignore[no-untyped-def]
    lab.configure(label=2, guidance=4.0)  # as `flowscope render CKPT --view guidance --label 2 --guidance 4`
    assert list(lab.render_frames(2)) == [0, 1]
    guided = lab.samples["guided"]
    assert guided.request.label == 2 and guided.request.guidance == 4.0
    assert len(lab.chart.points("full", "in_class")) == 13  # the curve is drawn in the picture too
