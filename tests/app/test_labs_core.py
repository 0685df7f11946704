"""The probability-path, trajectories and vector-field labs on small real models."""

import numpy as np
import pytest

from engine.checkpoint import TrainedModel
from tests.app.labkit import context, train_tiny


@pytest.fixture(scope="module")
def cnf() -> TrainedModel:
    return train_tiny("cnf", 15, width=16, batch=128)


@pytest.fixture(scope="module")
def ddpm() -> TrainedModel:
    return train_tiny("ddpm", 60, width=32, batch=128, timesteps=50)


@pytest.fixture(scope="module")
def fm() -> TrainedModel:
    return train_tiny("fm", 30, width=16, batch=128)


@pytest.fixture
def lab(open_lab):  # type: ignore[no-untyped-def]
    return lambda name, ctx: open_lab(name, ctx, (900, 600))


def test_a_lab_is_busy_until_its_background_work_has_been_handled(lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    p = lab("path", context(None))
    handled: list[str] = []
    w = p.run_in_background(lambda: iter([1, 2]), lambda f: None, handled.append)
    assert p.busy
    assert w.thread.wait(60_000)  # the worker's thread has ended; its end is still queued for this thread
    assert p.busy and not handled
    qtbot.waitUntil(lambda: not p.busy, timeout=60_000)
    assert handled == ["done"]  # not busy only once on_done has run
    w2 = p.run_in_background(lambda: iter(()), lambda f: None)
    p.stop_background()
    assert not p.busy and w2.thread.wait(60_000)


def test_path_without_model_shows_the_data_and_says_so(lab) -> None:  # type: ignore[no-untyped-def]
    p = lab("path", context(None))
    p.activate()
    assert "No model" in p.header.status.text()
    assert p.view.image.image is not None and p.view.points.count == 2000


def test_cnf_path_frames_are_densities_and_follow_the_time_bar(lab, qtbot, cnf) -> None:  # type: ignore[no-untyped-def]
    ctx = context(cnf, t=0.0)
    p = lab("path", ctx)
    p.activate()
    qtbot.waitUntil(lambda: len(p.densities) == 21 and not p.busy, timeout=60000)
    for f in (p.densities[0], p.densities[-1]):
        assert f.density.sum() * (8 / 72) ** 2 == pytest.approx(1.0, abs=0.05)
    # t = 0 is the base N(0, I): its peak is 1/(2 pi)
    assert p.densities[0].density.max() == pytest.approx(1 / (2 * np.pi), rel=0.05)
    ctx.set_time(0.5)
    shown = p.view.image.image
    expected = min(p.densities, key=lambda f: abs(f.t - 0.5)).density
    np.testing.assert_allclose(shown, expected, rtol=1e-6)
    assert p.view.points.count == 2000


def test_diffusion_path_is_the_forward_marginal(lab, qtbot, ddpm) -> None:  # type: ignore[no-untyped-def]
    p = lab("path", context(ddpm, t=0.0))
    p.activate()
    qtbot.waitUntil(lambda: len(p.densities) == 21 and not p.busy, timeout=60000)
    assert "τ = 1 − t" in p.header.equation.text()
    noise = p.densities[0].density  # t = 0: pure noise, a wide round Gaussian
    data = p.densities[-1].density  # t = 1: the data, eight peaks
    assert noise.max() < data.max() / 3


def test_field_lab_draws_the_cnf_velocity_and_divergence(lab, qtbot, cnf) -> None:  # type: ignore[no-untyped-def]
    from engine.cnf.views import vector_field

    f = lab("field", context(cnf, t=0.5))
    f.activate()
    qtbot.waitUntil(lambda: f.arrows.max_magnitude > 0 and not f.busy, timeout=30000)
    ref = next(vector_field(cnf.model, f.ctx.box, 24, times=(0.5,)))
    np.testing.assert_allclose(f.view.image.image, ref.divergence, rtol=1e-5, atol=1e-6)
    assert f.arrows.max_magnitude == pytest.approx(float(np.linalg.norm(ref.velocity, axis=2).max()), rel=1e-5)


def test_field_lab_draws_a_diffusion_score(lab, qtbot, ddpm) -> None:  # type: ignore[no-untyped-def]
    f = lab("field", context(ddpm, t=0.2))
    f.activate()
    qtbot.waitUntil(lambda: f.arrows.max_magnitude > 0 and not f.busy, timeout=30000)
    assert "score" in f.header.status.text()


def test_trajectories_follow_the_solver_and_a_click_traces_one_path(lab, qtbot, cnf) -> None:  # type: ignore[no-untyped-def]
    tr = lab("trajectories", context(cnf, t=0.5))
    tr.count.setValue(50)
    tr.activate()
    qtbot.waitUntil(lambda: len(tr.paths["main"]) == 5 and len(tr.paths["reference"]) == 65, timeout=60000)
    tr.steps.setValue(8)
    qtbot.waitUntil(lambda: len(tr.paths["main"]) == 9, timeout=60000)
    # Euler with 8 steps misses RK4's end points by a visible but bounded amount
    qtbot.waitUntil(lambda: len(tr.paths["reference"]) == 65, timeout=60000)
    err = np.abs(tr.paths["main"][-1].x - tr.paths["reference"][-1].x).max()
    assert 0 < err < 3
    tr.view.point_clicked.emit(1.0, 1.0)
    qtbot.waitUntil(lambda: _count(tr.probe.along) == 41, timeout=60000)
    path_x, path_y = tr.probe.path.getData()
    k = int(round(0.5 * 40))
    assert (path_x[k], path_y[k]) == pytest.approx((1.0, 1.0), abs=0.05)  # the path passes the clicked point at t
    along = tr.probe.along.getData()[1]
    fixed = tr.probe.fixed.getData()[1]
    assert along[k] == pytest.approx(fixed[k], abs=0.05)  # same place, same time, same density


def test_diffusion_click_starts_a_fan_of_sde_paths(lab, qtbot, ddpm) -> None:  # type: ignore[no-untyped-def]
    tr = lab("trajectories", context(ddpm, t=0.0))
    tr.count.setValue(50)
    tr.activate()
    qtbot.waitUntil(lambda: len(tr.paths["main"]) > 2 and not tr.busy, timeout=60000)
    tr.view.point_clicked.emit(0.5, -0.5)
    qtbot.waitUntil(lambda: _count(tr.probe.fan) > 0 and _count(tr.probe.path) > 2, timeout=60000)
    fx, fy = tr.probe.fan.getData()
    ends = np.stack([fx, fy], 1).reshape(24, -1, 2)[:, -2]  # last point of each of the 24 paths
    assert ends.std(0).max() > 0.05  # one start, many ends: the Wiener process fans them out


def test_flow_matching_paths_by_its_sde_end_as_its_own_stochastic_sample(lab, qtbot, fm, cnf) -> None:  # type: ignore[no-untyped-def]
    tr = lab("trajectories", context(fm, t=1.0))
    tr.count.setValue(50)
    tr.activate()
    qtbot.waitUntil(lambda: len(tr.paths["main"]) == 5 and not tr.busy, timeout=60000)
    tr.solver.setCurrentText("sde")
    assert tr.steps.value() == 50  # an SDE needs more steps than Euler's 4
    qtbot.waitUntil(lambda: len(tr.paths["main"]) == 51 and len(tr.paths["reference"]) == 65 and not tr.busy,
                    timeout=60000)
    np.testing.assert_allclose(tr.paths["main"][-1].x, fm.model.sample(50, seed=1, sampler="sde", steps=50),
                               atol=1e-5)
    # the kicks move the particles off the ODE's paths (the faint RK4 reference)
    assert np.abs(tr.paths["main"][25].x - tr.paths["reference"][32].x).max() > 0.05
    assert "Euler–Maruyama" in tr.header.status.text()
    assert tr.settings()["solver"] == "sde"
    # a click fans out along the SDE from the point (and follows its ODE path, with log p_t)
    tr.ctx.set_time(0.5)
    tr.view.point_clicked.emit(1.0, 0.5)
    qtbot.waitUntil(lambda: _count(tr.probe.fan) > 0 and _count(tr.probe.along) == 41, timeout=60000)
    fx, fy = tr.probe.fan.getData()
    fan = np.stack([fx, fy], 1).reshape(24, -1, 2)  # 24 paths, each ending in a NaN break
    assert np.allclose(fan[:, 0], [1.0, 0.5])  # one start
    assert fan[:, -2].std(0).max() > 0.02  # many ends: the kicks fan them out
    other = lab("trajectories", context(cnf, t=1.0))
    other.configure(solver="sde")
    other.activate()
    assert other.solver.currentText() == "euler"  # a CNF has no SDE: the item is disabled and Euler taken
    assert not other.solver.model().item(other.solver.findText("sde")).isEnabled()


def test_a_rendered_figure_has_every_frame_the_flows_chart_and_no_controls(lab, cnf, fm) -> None:  # type: ignore[no-untyped-def]
    from widgets.figure import figure_mode

    plain = lab("trajectories", context(cnf))  # the default settings: configure changes nothing, no refresh runs
    with figure_mode(plain, "Trajectories"):
        assert list(plain.render_frames(2)) == [0, 1]
        assert plain.no_chart.isHidden() and not plain.probe.chart.isHidden()  # a flow: the chart, not the sentence
        assert plain.solver.isHidden() and plain.steps.isHidden()  # a figure has no controls
        # the chart's legend stands under it, where no curve can run behind it
        box = plain.probe.chart.getPlotItem().vb.sceneBoundingRect()
        legend = plain.probe.legend.sceneBoundingRect()
        assert legend.height() > 0 and not legend.intersects(box) and legend.top() >= box.bottom()
    tr = lab("trajectories", context(fm))
    tr.configure(solver="sde", steps=20, particles=40)  # starts a background solve, which the render cuts short
    with figure_mode(tr, "Trajectories"):
        assert list(tr.render_frames(3)) == [0, 1, 2]
        assert tr.solver.isHidden()
    assert len(tr.paths["main"]) == 21 and len(tr.paths["reference"]) == 65


def _count(curve) -> int:  # type: ignore[no-untyped-def]
    x = curve.getData()[0]
    return 0 if x is None else len(x)


@pytest.mark.parametrize("name", ["path", "field", "trajectories"])
def test_render_frames_draw_synchronously(lab, name, cnf) -> None:  # type: ignore[no-untyped-def]
    lb = lab(name, context(cnf))
    got = list(lb.render_frames(3))
    assert got == [0, 1, 2]
    img = lb.grab().toImage()
    colours = {img.pixelColor(x, y).name() for x in range(0, img.width(), 37) for y in range(0, img.height(), 37)}
    assert len(colours) > 5
