"""The few-step lab: Euler samples of one noise batch, couplings drawn as pairs, reflow from the window."""

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication

from engine.checkpoint import TrainedModel
from engine.flowmatch import FlowMatchingModel
from tests.app.labkit import context, train_tiny


@pytest.fixture(scope="module")
def fm() -> TrainedModel:
    return train_tiny("fm", 60, sample_every=0.0, width=16, depth=2, batch=128)


@pytest.fixture
def fewstep(open_lab):  # type: ignore[no-untyped-def]
    return lambda tm: open_lab("fewstep", context(tm))


def row_drawn(lab, name: str = "model") -> bool:  # type: ignore[no-untyped-def]
    """Whether a row's full frame is drawn: the Euler panels come first, the row with its reference and S after
    them (the worker's thread can end before its last frames have reached the window, so ``busy`` says little)."""
    return name in lab.frames and lab.frames[name].straightness is not None


def test_panels_are_the_models_euler_samples_of_one_noise_batch(fewstep, qtbot, fm) -> None:  # type: ignore[no-untyped-def]
    lab = fewstep(fm)
    lab.configure(particles=300)
    lab.activate()
    qtbot.waitUntil(lambda: row_drawn(lab), timeout=60000)
    frame = lab.frames["model"]
    for (title, x), k in zip(frame.panels, (1, 2, 4, 8)):
        np.testing.assert_allclose(x, fm.model.sample(300, seed=1, sampler="euler", steps=k), atol=1e-6)
        assert title.startswith(str(k))
    assert frame.straightness == pytest.approx(fm.model.straightness(300, seed=1), rel=1e-6)
    assert "straightness S" in lab.header.status.text()
    assert lab.reflow_button.isEnabled()
    assert lab.model_panels[0].points.count == 300


def test_coupling_panels_draw_the_ot_pairing_with_the_smaller_cost(fewstep, qtbot) -> None:  # type: ignore[no-untyped-def]
    lab = fewstep(None)
    lab.activate()
    assert "needs a flow" in lab.header.status.text() and not lab.reflow_button.isEnabled()
    # no empty frames for a flow that is not there: the couplings alone, the status says why
    assert not any(lab.grid.is_shown(p) for p in lab.model_panels + lab.reflow_panels)
    assert all(lab.grid.is_shown(p) for p in lab.coupling_panels)
    ind, ot = (p.title.text() for p in lab.coupling_panels)
    cost = [float(s.rsplit("cost ", 1)[1]) for s in (ind, ot)]
    assert cost[1] < cost[0]
    xs, _ = lab.lines[1].getData()
    assert len(xs) == 2 * 64


def test_reflow_in_the_lab_adds_the_reflowed_row(fewstep, qtbot, fm) -> None:  # type: ignore[no-untyped-def]
    lab = fewstep(fm)
    lab.configure(particles=200, reflow_seconds=1.0)
    lab.activate()
    qtbot.waitUntil(lambda: row_drawn(lab), timeout=60000)
    lab.reflow_button.click()
    assert not lab.reflow_button.isEnabled()
    qtbot.waitUntil(lambda: row_drawn(lab, "reflow"), timeout=120000)
    assert isinstance(lab.reflowed.model, FlowMatchingModel) and lab.reflowed.model.generation == 1
    assert all(lab.grid.is_shown(p) for p in lab.reflow_panels)
    assert f"reflow-1: straightness S = {lab.frames['reflow'].straightness:.3g}" in lab.header.status.text()
    assert lab.reflow_panels[0].title.text().startswith("reflow-1: 1 step")


def test_a_scene_compares_with_a_shipped_model_by_file_name_only(fewstep) -> None:  # type: ignore[no-untyped-def]
    lab = fewstep(None)
    lab.configure(compare="../../etc/x.pt")
    assert "not the file name of a shipped model" in lab.header.status.text() and lab.compare is None
    lab.configure(compare="fm_moons_reflow1.pt")
    assert lab.compare == "fm_moons_reflow1.pt" and lab.reflowed.model.generation == 1
    assert lab.settings()["compare"] == "fm_moons_reflow1.pt"


def test_a_model_that_is_no_flow_empties_the_panels_and_their_figures(fewstep, qtbot, fm) -> None:  # type: ignore[no-untyped-def]
    lab = fewstep(fm)
    lab.configure(particles=200)
    lab.activate()
    qtbot.waitUntil(lambda: lab.tv_labels[id(lab.model_panels[0])].text.startswith("TV "), timeout=60000)
    # e.g. a DDPM opened instead: no flow to sample with few steps (frames of the last flow still on their way,
    # the reference row's, must not draw over the emptied panels)
    worker = lab._worker
    lab.ctx.set_model(None)
    qtbot.waitUntil(lambda: "needs a flow" in lab.header.status.text(), timeout=10000)
    qtbot.waitUntil(lambda: not worker.thread.isRunning(), timeout=60000)
    QCoreApplication.processEvents()  # whatever it sent before it ended arrives now
    assert [p.title.text() for p in lab.model_panels] == ["1 Euler step", "2 Euler steps", "4 Euler steps",
                                                          "8 Euler steps", "reference (dopri5)"]
    assert all(p.points.count == 0 for p in lab.model_panels)
    assert all(lab.tv_labels[id(p)].text == "" for p in lab.model_panels)
    assert not any(lab.grid.is_shown(p) for p in lab.model_panels)
    (x0, x1), (y0, y1) = lab.model_panels[0].plot.getPlotItem().vb.viewRange()
    box = lab.ctx.box
    assert x0 <= box[0] and x1 >= box[1] and y0 <= box[2] and y1 >= box[3]  # still over the density's box


def test_the_density_stays_in_sight_under_a_crowd_of_particles(fewstep, qtbot) -> None:  # type: ignore[no-untyped-def]
    """1,500 particles drawn from the density over its heatmap: where the heatmap is bright, the picture's
    brightness still follows the heatmap's (large opaque dots had hidden it: correlation ~0.14)."""
    from app.frames import grab_rgb

    lab = fewstep(None)
    lab.activate()
    panel = lab.model_panels[0]  # a sampling panel, put in sight by hand (without a flow it is out of the grid)
    lab.grid.set_shown(panel, True)
    lab.grid.relayout()
    qtbot.waitUntil(panel.isVisible)
    qtbot.waitUntil(lambda: panel.plot.width() > 150)
    xs = np.linspace(-4.0, 4.0, 96)
    grid = np.exp(-0.5 * (xs[None, :] ** 2 + xs[:, None] ** 2)).astype(np.float32)
    panel.set_density(grid, (-4.0, 4.0, -4.0, 4.0))
    panel.fit()
    panel.set_points(None)
    under = grab_rgb(panel.plot).astype(np.float64)
    panel.set_points(np.random.default_rng(0).normal(size=(1500, 2)))
    over = grab_rgb(panel.plot).astype(np.float64)
    bright = under.sum(-1) > 150  # the heatmap's support, where the particles are
    assert bright.sum() > 1000
    assert np.corrcoef(under[bright].mean(-1), over[bright].mean(-1))[0, 1] > 0.6


def test_the_euler_panels_come_first_then_the_references_then_the_pairs(fewstep, qtbot, fm,
                                                                         monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.labs.fewstep.compute import CouplingFrame, FewStepFrame

    lab = fewstep(fm)
    lab.configure(particles=300)
    drawn = []
    draw = lab._draw
    monkeypatch.setattr(lab, "_draw", lambda f: (drawn.append(f), draw(f)))
    lab.activate()
    assert lab.coupling_panels[0].title.text() == "independent pairs"  # not drawn before the panels
    qtbot.waitUntil(lambda: any(isinstance(f, CouplingFrame) for f in drawn), timeout=60000)  # the last frame
    first, full, pairs = drawn
    assert isinstance(first, FewStepFrame) and isinstance(full, FewStepFrame) and isinstance(pairs, CouplingFrame)
    assert [t for t, _ in first.panels] == [t for t, _ in full.panels][:4] and len(full.panels) == 5
    for (_, a), (_, b) in zip(first.panels, full.panels):
        np.testing.assert_array_equal(a, b)  # the refinement adds the reference; the Euler panels stay
    assert first.straightness is None and full.straightness is not None
    assert len(first.tv) == 4 and len(full.tv) == 5
    assert lab.frames["model"] is full and "cost" in lab.coupling_panels[1].title.text()
    assert lab.model_panels[4].points.count == 300


def test_a_recorded_straightness_is_shown_rather_than_measured_again(fm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.labs.fewstep.compute import few_step_frame

    measured = few_step_frame("model", fm, None, 200).straightness  # no record: measured
    assert measured == pytest.approx(fm.model.straightness(200, seed=1), rel=1e-6)
    recorded = TrainedModel(fm.model, dict(fm.density), {**fm.metrics, "straightness": 0.123})
    monkeypatch.setattr(FlowMatchingModel, "straightness", lambda *a, **k: pytest.fail("measured again"))
    assert few_step_frame("model", recorded, None, 200).straightness == 0.123
