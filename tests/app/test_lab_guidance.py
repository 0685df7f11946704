"""The guidance lab follows its model and controls: panels, slider re-sampling, class map, tilted target."""

import numpy as np
import pytest
import torch

from app.labs.context import LabContext
from app.labs.guidance.compute import PARTICLES, SAMPLER, STEPS
from app.labs.guidance.view import GuidanceLab
from engine.api import make_trainer
from engine.checkpoint import TrainedModel, density_record
from engine.cnf import CNF, VectorField
from engine.densities import get_density

TINY = {"conditional": True, "width": 32, "depth": 2, "emb_dim": 16, "batch": 256, "timesteps": 50}



@pytest.fixture(scope="module")
def trained() -> TrainedModel:
    density = get_density("8gaussians")
    trainer = make_trainer("ddpm", density, TINY, torch.device("cpu"), 0)
    for _ in trainer.run(steps=100):
        pass
    return TrainedModel(trainer.best_model(), density_record(density), {})


def make_lab(qtbot, trained):  # type: ignore[no-untyped-def]
    ctx = LabContext()
    ctx.set_density(get_density("8gaussians"), "8gaussians")
    ctx.set_model(trained)
    lab = GuidanceLab(ctx)
    qtbot.addWidget(lab)
    lab.resize(1200, 500)
    return lab


@pytest.fixture
def lab(qtbot, trained):  # type: ignore[no-untyped-def]
    lab = make_lab(qtbot, trained)
    yield lab
    lab.shutdown()


def settled(lab: GuidanceLab, gamma: float) -> bool:
    """All three panels sampled, the guided one at γ, and no job left."""
    s = lab.samples
    return len(s) == 3 and s["guided"].request.guidance == gamma and lab.queue.settled


def not_blank(widget) -> bool:  # type: ignore[no-untyped-def]
    img = widget.grab().toImage()
    colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
    return len(colours) > 20


def test_gamma_zero_reproduces_the_unconditional_panel(lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    lab.activate()
    lab.set_guidance(0.0)
    qtbot.waitUntil(lambda: settled(lab, 0.0), timeout=20_000)
    guided, uncond = lab.samples["guided"].xs[-1], lab.samples["unconditional"].xs[-1]
    assert guided.shape == (PARTICLES, 2)
    np.testing.assert_array_equal(guided, uncond)
    assert not np.array_equal(lab.samples["conditional"].xs[-1], uncond)
    views = lab.panels.views
    assert views["guided"].points.boundingRect() == views["unconditional"].points.boundingRect()
    assert views["guided"].points.count == views["unconditional"].points.count > 0


def test_slider_resamples_in_the_background_and_reports_latency(lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    lab.activate()
    gamma0 = lab.controls.guidance
    qtbot.waitUntil(lambda: settled(lab, gamma0), timeout=20_000)
    before = lab.samples["guided"].xs[-1].copy()
    lab.controls.slider.setValue(60)  # as a user drags it: γ = 6
    assert lab.queue.running and lab.queue.running[0].preview  # sampled on the worker, not on the GUI thread
    qtbot.waitUntil(lambda: lab.samples["guided"].request.guidance == 6.0, timeout=10_000)
    answer = lab.samples["guided"]
    assert answer.request.preview and (answer.sampler, answer.steps) == (SAMPLER, STEPS["cfg"])
    assert lab.latency_ms is not None and 0 < lab.latency_ms < 5_000
    assert f"{lab.latency_ms:.0f} ms after the slider moved" in lab.header.status.text()
    assert f"DPM-Solver++ {STEPS['cfg']} steps" in lab.header.status.text()
    print(f"guidance slider: answered {lab.latency_ms:.0f} ms after the request")
    qtbot.waitUntil(lambda: settled(lab, 6.0), timeout=20_000)
    # what the slider showed is what stays: no second, finer sample replaces it once γ rests
    assert lab.samples["guided"] is answer
    assert not np.array_equal(answer.xs[-1], before)
    assert "γ = 6" in lab.panels.views["guided"].title.text()


def test_while_the_model_trains_every_panel_is_a_preview(lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    lab.activate()
    qtbot.waitUntil(lambda: settled(lab, lab.controls.guidance), timeout=20_000)
    lab.ctx.training = True
    lab.ctx.set_model(lab.ctx.trained)  # a snapshot of the run so far, as the trainer sends every few seconds
    qtbot.waitUntil(lambda: all(s.request.preview for s in lab.samples.values()) and lab.queue.settled,
                    timeout=20_000)
    qtbot.wait(100)
    assert lab.queue.settled and all(s.request.preview for s in lab.samples.values())  # no full re-sampling


def test_class_map_is_a_distribution_and_follows_time_and_class(lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    lab.activate()
    lab.ctx.set_time(0.3)
    cm = lab.class_map
    assert cm is not None and cm.tau == pytest.approx(0.7)
    np.testing.assert_allclose(cm.probs.sum(0), 1.0, atol=1e-5)
    assert lab.panels.class_view.levels == (0.0, 1.0)
    qtbot.waitUntil(lambda: "unconditional" in lab.samples, timeout=20_000)
    lab.controls.label_box.setCurrentIndex(3)
    assert "y = 3" in lab.panels.class_view.title.text()
    assert "in class 3" in lab.panels.shares["unconditional"].text
    qtbot.waitUntil(lambda: lab.samples.get("conditional") is not None
                    and lab.samples["conditional"].request.label == 3 and lab.queue.settled, timeout=20_000)


def test_tilted_target_is_exact_and_normalised_for_a_mixture(lab) -> None:  # type: ignore[no-untyped-def]
    lab.activate()
    target = lab.target
    assert target is not None and target.exact and "exact" in lab.note.toolTip() and "p(x)" in lab.note.text()
    x0, x1, y0, y1 = lab.ctx.box
    for gamma in (-2.0, 0.0, 1.0, 10.0):
        p = target.density(2, gamma)
        assert np.isfinite(p).all()
        assert p.sum() * (x1 - x0) * (y1 - y0) / p.size == pytest.approx(1.0, rel=1e-4)
    # γ = 0 is p(x) itself, whatever the class; γ = 10 keeps class 2's mode only
    np.testing.assert_allclose(target.density(2, 0.0), target.density(5, 0.0))
    xs = np.linspace(x0, x1, 129)[:-1] + (x1 - x0) / 256
    gx, gy = np.meshgrid(xs, xs)
    near = np.hypot(gx - lab.ctx.density.means[2][0], gy - lab.ctx.density.means[2][1]) < 1.5
    share = lambda p: p[near].sum() / p.sum()  # noqa: E731
    assert share(target.density(2, 0.0)) == pytest.approx(1 / 8, abs=0.02)
    assert share(target.density(2, 10.0)) > 0.99


def test_scene_settings_round_trip(lab) -> None:  # type: ignore[no-untyped-def]
    lab.configure(label=4, guidance=2.5, kind="classifier", unknown_key=1)
    assert lab.settings() == {"label": 4, "guidance": 2.5, "kind": "classifier"}
    assert lab.sweep == (0.0, 2.5) and not lab.busy  # nothing computed while the lab is not shown
    assert "∇ log p(y | x<sub>t</sub>)" in lab.header.equation.text()
    lab.configure(interval=[0.25, 0.75])
    assert lab.settings()["interval"] == [0.25, 0.75] and lab.controls.guidance_interval == (0.25, 0.75)


def test_render_frames_sweeps_gamma(lab) -> None:  # type: ignore[no-untyped-def]
    lab.show()
    assert list(lab.render_frames(3)) == [0, 1, 2]
    assert lab.controls.guidance == 10.0 and lab.samples["guided"].request.guidance == 10.0
    assert not_blank(lab)


def test_without_a_conditional_model_the_lab_says_what_to_do(qtbot) -> None:  # type: ignore[no-untyped-def]
    ctx = LabContext()
    ctx.set_density(get_density("8gaussians"), "8gaussians")
    lab = GuidanceLab(ctx)
    qtbot.addWidget(lab)
    lab.activate()
    assert lab.panels.pages.currentIndex() == 0
    assert "class-conditional diffusion or flow-matching model" in lab.message.text()
    ctx.set_model(TrainedModel(CNF(VectorField(width=8, depth=1)), density_record(ctx.density), {}))
    assert "CNF" in lab.message.text()
    lab.set_guidance(4.0)  # the controls do nothing without a model, and nothing breaks
    assert list(lab.render_frames(2)) == [0, 1]
    assert lab.samples == {}
    lab.shutdown()


def curve_done(lab: GuidanceLab, which: int = 0) -> bool:
    keys = lab._curve_keys()
    return len(keys) > which and lab.curves.wanted([keys[which]]) is None


def test_trade_off_curve_fills_in_the_background_and_matches_the_full_sample(lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    from engine.guidance_sweep import DEFAULT_GAMMAS

    lab.activate()
    lab.set_guidance(3.0)
    qtbot.waitUntil(lambda: curve_done(lab), timeout=120_000)
    chart = lab.chart
    shares = dict(chart.points("full", "in_class"))
    assert sorted(shares) == list(DEFAULT_GAMMAS)
    assert all(0.0 <= v <= 1.0 for v in shares.values())
    assert shares[-2.0] < shares[3.0]  # guidance away from the class, then towards it
    # the curve's share at γ = 3 is the share of the full sample at γ = 3: same sampler, same noise
    qtbot.waitUntil(lambda: settled(lab, 3.0), timeout=20_000)
    full = lab.samples["guided"].xs[-1]
    density = get_density("8gaussians")
    assert np.mean(density.classify(full) == lab.controls.label) == pytest.approx(shares[3.0], abs=1e-9)
    assert chart.chart.marker.value() == pytest.approx(3.0)
    assert "in class" in chart.reading.text() or "no γ" in chart.reading.text()
    assert dict(chart.points("full", "tilted"))  # 8gaussians is a closed form: the tilted target is drawn


def test_a_guidance_interval_draws_a_second_curve_and_guides_the_panel(lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    lab.activate()
    qtbot.waitUntil(lambda: settled(lab, lab.controls.guidance), timeout=20_000)
    with qtbot.waitSignal(lab.controls.interval_changed, timeout=5_000) as blocker:
        lab.controls.interval.setValue((0.2, 0.6))
    assert blocker.args == [(0.2, 0.6)]
    qtbot.waitUntil(lambda: curve_done(lab, 1), timeout=240_000)
    assert len(lab.chart.points("interval", "in_class")) == 13
    assert lab.samples["guided"].request.interval == (0.2, 0.6)
    assert "τ ∈ [0.2, 0.6]" in lab.chart.reading.text()
    assert lab.settings()["interval"] == [0.2, 0.6]


def test_arrow_and_page_keys_on_the_focused_slider_move_gamma_by_a_tenth_and_one(lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6 import QtCore

    lab.activate()
    slider = lab.controls.slider
    lab.controls.set_guidance(3.0)
    slider.setFocus()
    with qtbot.waitSignal(lab.controls.guidance_changed, timeout=2_000) as up:
        qtbot.keyClick(slider, QtCore.Qt.Key.Key_Right)
    assert up.args[0] == pytest.approx(3.1)
    with qtbot.waitSignal(lab.controls.guidance_changed, timeout=2_000) as page:
        qtbot.keyClick(slider, QtCore.Qt.Key.Key_PageUp)
    assert page.args[0] == pytest.approx(4.1)
    qtbot.keyClick(slider, QtCore.Qt.Key.Key_PageDown)
    qtbot.keyClick(slider, QtCore.Qt.Key.Key_Left)
    assert lab.controls.guidance == pytest.approx(3.0)


def test_a_gamma_sampled_in_full_before_is_shown_exactly_at_once(lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    lab.activate()
    lab.set_guidance(2.0)
    qtbot.waitUntil(lambda: settled(lab, 2.0), timeout=20_000)
    first = lab.samples["guided"]
    lab.set_guidance(5.0)
    qtbot.waitUntil(lambda: settled(lab, 5.0), timeout=20_000)
    qtbot.waitUntil(lambda: not lab.queue.running, timeout=20_000)
    lab.controls.slider.setValue(20)  # back to γ = 2, as a user drags
    shown = lab.samples["guided"]
    assert not lab.queue.running and shown.request.guidance == 2.0  # nothing sampled: the sample met before
    np.testing.assert_array_equal(shown.xs, first.xs)
    # the background fills the slider's other ticks in full once the curve is done
    qtbot.waitUntil(lambda: len(lab.exact) > 4, timeout=240_000)
    assert all(ps.steps == STEPS["cfg"] for ps in lab.exact.values())
