"""The adjoint lab: adjoint and backprop gradients agree, and the chart grows point by point."""

import pytest
import torch

from app.labs.adjoint.compute import SavedTensorMeter, gradient
from app.labs.adjoint.view import AdjointLab
from app.labs.cnf_field import random_field
from app.labs.context import LabContext
from engine.checkpoint import TrainedModel, density_record
from engine.cnf import CNF
from engine.densities import get_density


@pytest.fixture
def lab(qtbot):  # type: ignore[no-untyped-def]
    ctx = LabContext()
    ctx.set_density(get_density("8gaussians"), "8gaussians")
    lab = AdjointLab(ctx)
    lab.step_counts = (2, 8, 16)
    lab.configure(batch=64)
    qtbot.addWidget(lab)
    lab.resize(1200, 500)
    yield lab
    lab.shutdown()


def test_gradients_agree_and_the_charts_grow_live(lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    lab.ctx.set_model(TrainedModel(CNF(random_field(seed=1, width=32, depth=2)), density_record(lab.ctx.density), {}))
    lab.activate()
    assert lab.busy  # measured on the worker thread
    qtbot.waitUntil(lambda: len(lab.points) == 3, timeout=30_000)
    first, last = lab.points[0], lab.points[-1]
    assert [p.steps for p in lab.points] == [2, 8, 16]
    assert last.rel_error < 1e-3
    assert first.rel_error > last.rel_error  # the two differ by the solver's error, which shrinks
    # backprop keeps every step for backward; the adjoint keeps a few steps' worth whatever the count
    assert last.backprop_bytes > 4 * first.backprop_bytes * 0.9
    assert last.adjoint_bytes < 1.5 * first.adjoint_bytes and last.adjoint_bytes < last.backprop_bytes / 5
    assert last.adjoint_nfe > last.backprop_nfe  # the adjoint also solves backwards
    for chart, key in ((lab.error_chart, "error"), (lab.time_chart, "adjoint"), (lab.memory_chart, "backprop")):
        assert len(chart.points(key)) == 3
    assert "16 steps" in lab.summary.text()


def test_model_change_measures_again_unless_training(lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    lab.step_counts = (4,)
    lab.activate()
    # its points come before the measurement's end has been handled, which ends busy
    qtbot.waitUntil(lambda: len(lab.points) == 1 and not lab.busy, timeout=30_000)
    lab.ctx.training = True
    lab.ctx.set_model(TrainedModel(CNF(random_field(seed=2, width=16, depth=1)), density_record(lab.ctx.density),
                                   {}))
    assert not lab.busy and "press Measure" in lab.header.status.text()
    lab.ctx.training = False
    lab.controls.run.click()  # the user asks for it
    assert lab.busy
    qtbot.waitUntil(lambda: len(lab.points) == 1 and not lab.busy, timeout=30_000)
    assert "trained CNF" in lab.header.status.text()


def test_scene_settings_round_trip(lab) -> None:  # type: ignore[no-untyped-def]
    lab.configure(solver="euler", batch=256, unknown_key=1)
    assert lab.settings() == {"solver": "euler", "batch": 256}
    assert not lab.busy  # measured only once the lab is shown


def test_saved_tensor_meter_counts_what_backprop_keeps() -> None:
    x = torch.randn(100, 3)
    w = torch.randn(3, 3, requires_grad=True)
    with SavedTensorMeter() as meter:
        h = torch.tanh(x @ w)  # saves x (matmul) and the output (tanh): 2 x 1200 bytes
        torch.autograd.grad(h.sum(), w)
    assert meter.peak == 2 * 100 * 3 * 4 and meter.current == 0
    field = random_field(width=8, depth=1)
    _, _, bp_bytes, _ = gradient(field, torch.randn(16, 2), "euler", 4, adjoint=False)
    _, _, adj_bytes, _ = gradient(field, torch.randn(16, 2), "euler", 4, adjoint=True)
    assert 0 < adj_bytes < bp_bytes


def test_render_frames_grows_the_charts(lab) -> None:  # type: ignore[no-untyped-def]
    lab.show()
    counts = [len(lab.error_chart.points("error")) for _ in lab.render_frames(3)]
    assert counts == [1, 2, 3]
    img = lab.grab().toImage()
    assert len({img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}) > 20
