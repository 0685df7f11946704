"""Langevin lab: the particles, the per-mode bars and the status line follow the sampler."""

import numpy as np
import pytest

from app.labs.context import LabContext
from app.labs.langevin.view import LangevinLab
from engine.checkpoint import TrainedModel, density_record
from engine.densities import get_density
from engine.device import configure_threads
from engine.diffusion.analytic import exact_model
from engine.diffusion.schedules import VPSchedule
from engine.sde import Grid, mode_shares
from engine.sde.kfp import total_variation

configure_threads()  # one torch thread: two spinning threads collapse on a shared 2-core machine

TRUE_WEIGHTS = np.array([0.2, 0.8])


def context(name: str = "twomodes", trained: TrainedModel | None = None) -> LabContext:
    ctx = LabContext()
    ctx.set_density(get_density(name), name)
    ctx.set_model(trained)
    return ctx


@pytest.fixture
def make_lab(qtbot):  # type: ignore[no-untyped-def]
    made: list[LangevinLab] = []

    def make(ctx: LabContext, particles: int = 5000, **choices: str) -> LangevinLab:
        lab = LangevinLab(ctx)
        qtbot.addWidget(lab)
        lab.resize(1000, 700)
        c = lab.controls
        c.particles_box.setCurrentIndex(c.particles_box.findData(particles))
        for name, key in choices.items():
            box = getattr(c, f"{name}_box")
            box.setCurrentIndex(box.findData(key))
        made.append(lab)
        return lab

    yield make
    for lab in made:
        lab.shutdown()


def shown(lab: LangevinLab) -> np.ndarray:
    return lab.view.points._xy


def test_animation_runs_while_active_and_bars_follow_the_particles(make_lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(context())
    lab.activate()
    assert lab.timer.isActive()
    qtbot.waitUntil(lambda: lab.run.steps >= 30, timeout=10000)
    x = lab.run.x
    assert lab.view.points.count == 5000 and np.array_equal(shown(lab), x)
    np.testing.assert_allclose(lab.bars.shares(), mode_shares(lab.ctx.density, x), atol=1e-3)
    np.testing.assert_allclose(lab.bars.weights(), TRUE_WEIGHTS)
    assert "plain Langevin" in lab.header.status.text() and "true score" in lab.header.status.text()
    lab.deactivate()
    assert not lab.timer.isActive()
    steps = lab.run.steps
    qtbot.wait(50)
    assert lab.run.steps == steps  # hidden: nothing runs


def test_plain_langevin_gets_twomodes_wrong_and_annealed_gets_it_right(make_lab) -> None:  # type: ignore[no-untyped-def]
    plain = make_lab(context())
    plain.controls.every_slider.setValue(50)
    list(plain.render_frames(8))
    assert np.abs(plain.bars.shares() - TRUE_WEIGHTS).max() > 0.15
    annealed = make_lab(context(), method="annealed")
    annealed.controls.every_slider.setValue(50)
    list(annealed.render_frames(23))  # 10 levels of 100 steps, then plain Langevin on p
    assert not annealed.run.annealing and "done" in annealed.header.status.text()
    np.testing.assert_allclose(annealed.bars.shares(), TRUE_WEIGHTS, atol=0.05)


def test_started_from_p_the_cloud_stays_put(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(context("8gaussians"), start="p")
    lab.controls.eta_slider.setValue(30)  # η = 10^-2.5
    lab.controls.every_slider.setValue(20)
    d, grid = lab.ctx.density, Grid(lab.ctx.density.box, 64)
    p = d.density_grid(64, d.box)

    def tv() -> float:
        x = shown(lab)
        return total_variation(p, grid.counts(x), len(x), grid, bins=16)

    before = tv()
    list(lab.render_frames(11))  # a render shows 400 steps whatever the frame count
    assert lab.run.steps == 400 and lab.controls.every == 40 and tv() < before + 0.03 and tv() < 0.1
    assert "frames/s" not in lab.header.status.text()


def test_step_size_change_keeps_the_particles(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(context(), method="annealed")
    list(lab.render_frames(30))
    level, steps, x = lab.run.level, lab.run.steps, lab.run.x
    lab.controls.eta_slider.setValue(lab.controls.eta_slider.value() - 10)
    assert lab.run.level == level and lab.run.steps == steps and lab.run.x is x
    lab.advance()
    assert steps < lab.run.steps <= steps + lab.controls.every  # a frame also ends where a level ends


def test_mala_reports_acceptance_and_reset_starts_again(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(context(), method="mala")
    list(lab.render_frames(4))
    assert "acceptance" in lab.header.status.text()
    lab.controls.reset_button.click()
    assert lab.run.steps == 0


def test_learned_score_is_named_and_mala_needs_log_p(make_lab) -> None:  # type: ignore[no-untyped-def]
    d = get_density("twomodes")
    model = exact_model(d, VPSchedule(100), shift=(0.5, 0.5), scale=2.0)
    ctx = context(trained=TrainedModel(model, density_record(d, "twomodes"), {}))
    lab = make_lab(ctx, particles=1000, source="learned")
    list(lab.render_frames(3))
    assert "learned score" in lab.header.status.text() and np.isfinite(lab.run.x).all()
    lab.controls.method_box.setCurrentIndex(lab.controls.method_box.findData("mala"))
    assert lab.run is None and "MALA needs log p" in lab.header.status.text()
    lab.controls.method_box.setCurrentIndex(lab.controls.method_box.findData("annealed"))
    assert lab.run is not None and list(lab.render_frames(2)) == [0, 1]


def test_a_density_without_a_score_falls_back_or_says_why(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(context("moons"))
    lab.activate()
    assert lab.run is None and "train" in lab.header.status.text()
    assert not lab.timer.isActive()
    lab.ctx.set_density(get_density("gaussian"), "gaussian")
    assert lab.run is not None and lab.timer.isActive() and not lab.bars.isVisibleTo(lab)


def test_render_frames_draws_synchronously(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(context())
    assert list(lab.render_frames(3)) == [0, 1, 2]
    img = lab.grab().toImage()
    colours = {img.pixelColor(x, y).name() for x in range(0, img.width(), 29) for y in range(0, img.height(), 29)}
    assert len(colours) > 5


def test_settings_round_trip_for_scenes(make_lab) -> None:  # type: ignore[no-untyped-def]
    lab = make_lab(context())
    lab.configure(method="annealed", start="p", eta=0.001, every=7, particles=1000, unknown="ignored")
    assert lab.settings() == {"source": "true", "method": "annealed", "start": "p", "eta": pytest.approx(0.001),
                              "every": 7, "particles": 1000}
    assert lab.run.settings.method == "annealed" and len(lab.run.x) == 1000
    assert lab.controls.eta_label.text() == "η = 0.001"


def test_the_cached_heatmap_follows_a_new_density(make_lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The heatmap is drawn from a pixmap cache while the particles move: a new density still shows."""
    from PySide6 import QtWidgets

    ctx = context("twomodes")
    lab = make_lab(ctx, particles=1000, start="p")
    lab.show()
    lab.activate()
    lab.paused = True
    lab.sync_timer()

    def picture() -> np.ndarray:
        lab.view.points.setVisible(False)  # the heatmap alone
        img = lab.view.plot.grab().toImage()
        return np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes()).copy()

    cached = lab.view.image.cacheMode()
    assert cached == QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
    before = picture()
    ctx.set_density(get_density("banana"), "banana")
    after = picture()
    lab.view.image.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.NoCache)
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, picture())  # the same as drawn without the cache
