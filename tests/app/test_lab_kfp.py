"""KFP lab: the grid solution, the particle histogram, their difference and TV follow the solve and the time bar."""

import numpy as np
import pytest

from app.labs.context import LabContext
from app.labs.kfp.compute import block_sum, nice_ceiling
from app.labs.kfp.view import KfpLab
from engine.checkpoint import TrainedModel, density_record
from engine.densities import get_density
from engine.device import configure_threads
from engine.diffusion.analytic import exact_model
from engine.diffusion.schedules import VPSchedule

configure_threads()  # one torch thread: two spinning threads collapse on a shared 2-core machine


def context(name: str = "8gaussians", trained: TrainedModel | None = None) -> LabContext:
    ctx = LabContext()
    ctx.set_density(get_density(name), name)
    ctx.set_model(trained)
    return ctx


@pytest.fixture
def make_lab(qtbot):  # type: ignore[no-untyped-def]
    made: list[KfpLab] = []

    def make(ctx: LabContext, sde: str = "ou") -> KfpLab:
        lab = KfpLab(ctx)
        qtbot.addWidget(lab)
        lab.resize(1200, 800)
        c = lab.controls
        for box in (c.sde_box, c.grid_box, c.particles_box):
            box.blockSignals(True)
        c.select(sde)
        c.grid_box.setCurrentIndex(c.grid_box.findData(64))
        c.particles_box.setCurrentIndex(c.particles_box.findData(5000))
        for box in (c.sde_box, c.grid_box, c.particles_box):
            box.blockSignals(False)
        c._on_sde_changed()
        made.append(lab)
        return lab

    yield make
    for lab in made:
        lab.shutdown()
        assert not lab.busy


def test_background_solve_fills_the_views_and_follows_the_time_bar(make_lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(context())
    lab.activate()
    qtbot.waitUntil(lambda: lab.complete, timeout=60000)
    assert len(lab.frames) == 101 and lab.frames[-1].t == pytest.approx(2.0)  # OU: T = 2/θ
    lab.ctx.set_time(0.3)
    qtbot.waitUntil(lambda: lab.shown == 30, timeout=5000)
    f = lab.frames[30]
    assert np.array_equal(lab.pde_view.image.image, f.pde)
    assert lab.pde_view.points.count == min(len(f.particles), 300)
    t, tv = lab.tv_plot.series()
    np.testing.assert_allclose(tv, [g.tv for g in lab.frames])
    assert t[30] == pytest.approx(0.3) and lab.tv_plot.time_line.value() == pytest.approx(0.3)
    qtbot.waitUntil(lambda: "s = t·T = 0.6" in lab.header.status.text(), timeout=5000)
    assert all(g.tv < g.tv_floor + 0.03 for g in lab.frames)  # grid and particles agree up to noise


def test_views_show_density_histogram_and_difference_of_one_frame(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(context())
    assert list(lab.render_frames(3)) == [0, 1, 2]
    f, grid = lab.frames[-1], lab.setup.grid
    hist = lab.hist_view.image.image
    assert hist.shape == (64, 64) and hist.sum() * grid.cell_area == pytest.approx(f.hist.sum() / 5000, rel=1e-5)
    lo, hi = lab.pde_view.image.getLevels()
    assert (lo, hi) == tuple(lab.hist_view.image.getLevels()) and hi == nice_ceiling(float(f.pde.max()))
    mass = block_sum(f.pde, 32) * grid.cell_area
    diff = 100 * (mass / mass.sum() - block_sum(f.hist, 32) / 5000)
    np.testing.assert_allclose(lab.diff_view.image.image, diff, atol=1e-4)
    assert "mass 1 ±" in lab.header.status.text() and "TV" in lab.header.status.text()


def test_the_langevin_sde_keeps_p_in_place(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(context("twomodes"), sde="langevin")
    list(lab.render_frames(4))
    first, last = lab.frames[0], lab.frames[-1]
    assert np.abs(last.pde - first.pde).sum() * lab.setup.grid.cell_area < 0.05
    assert all(f.mass_error < 1e-5 and f.tv < f.tv_floor + 0.03 for f in lab.frames)


def test_a_bad_formula_is_reported_and_the_lab_stays_usable(make_lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(context(), sde="custom")
    lab.activate()
    lab.controls.drift_x.setText("x +* 2")
    lab.controls.drift_x.returnPressed.emit()
    assert lab.problem is None and lab.header.status.text().startswith("⚠") and not lab.busy
    lab.controls.drift_x.setText("log(x)")  # parses, but is not finite left of the y axis
    lab.controls.drift_x.returnPressed.emit()
    qtbot.waitUntil(lambda: "infinity" in lab.header.status.text() and not lab.busy, timeout=30000)
    assert lab.header.status.text().startswith("⚠")
    lab.controls.drift_x.setText("-y")
    assert list(lab.render_frames(3)) == [0, 1, 2] and "⚠" not in lab.header.status.text()
    assert "-y" in lab.header.equation.text()


def test_the_learned_reverse_process_needs_a_diffusion_model(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(context("twomodes"), sde="reverse")
    lab.refresh()
    item = lab.controls.sde_box.model().item(lab.controls.sde_box.findData("reverse"))
    assert not item.isEnabled() and "diffusion model" in lab.header.status.text()
    d = get_density("twomodes")
    model = TrainedModel(exact_model(d, VPSchedule(100), shift=(1.2, 1.2), scale=1.7), density_record(d), {})
    lab.ctx.set_model(model)
    lab.refresh()
    assert item.isEnabled()
    assert list(lab.render_frames(2)) == [0, 1]
    last = lab.frames[-1]
    assert last.tv < last.tv_floor + 0.05 and "τ = 1 − s" in lab.header.equation.text()


def test_render_frames_draws_something(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(context(), sde="double-well")
    assert list(lab.render_frames(3)) == [0, 1, 2]
    img = lab.grab().toImage()
    colours = {img.pixelColor(x, y).name() for x in range(0, img.width(), 29) for y in range(0, img.height(), 29)}
    assert len(colours) > 8


def test_settings_round_trip_for_scenes(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(context())
    lab.configure(sde="custom", drift_x="-x", drift_y="-2*y", diffusion="0.5", grid=64, dots=False)
    assert lab.settings() == {"sde": "custom", "grid": 64, "particles": 5000, "drift_x": "-x", "drift_y": "-2*y",
                              "diffusion": "0.5", "dots": False}
    assert lab.controls._formulas.isVisibleTo(lab) and not lab.pde_view.points.isVisible()


def test_the_learned_flow_is_the_continuity_equation_of_a_flow_models_velocity(make_lab) -> None:  # type: ignore[no-untyped-def]
    import torch

    from engine.cnf.model import seeded_generator
    from engine.flowmatch import FlowField, FlowMatchingModel

    lab = make_lab(context("8gaussians"), sde="flow")
    lab.refresh()
    item = lab.controls.sde_box.model().item(lab.controls.sde_box.findData("flow"))
    assert not item.isEnabled() and "flow-matching model" in lab.header.status.text()
    torch.manual_seed(0)
    net = FlowField(width=16, depth=2)
    with torch.no_grad():  # a field that visibly moves the noise
        for p in net.parameters():
            p.normal_(0.0, 1.0 / max(p.shape[-1], 1) ** 0.5)
    d = get_density("8gaussians")
    lab.ctx.set_model(TrainedModel(FlowMatchingModel(net), density_record(d), {}))
    lab.refresh()
    assert item.isEnabled()
    assert list(lab.render_frames(2)) == [0, 1]
    last = lab.frames[-1]
    # g = 0: grid and particles carry N(0, I) by the same velocity; they agree to the sampling noise
    assert last.tv < last.tv_floor + 0.05 and "∇·(p v" in lab.header.equation.text()
    moved = FlowMatchingModel(net).flow(torch.randn(500, 2, generator=seeded_generator(0)))
    assert float(moved.mean(0).norm()) > 0.1  # the field does move the mass: the check can fail
