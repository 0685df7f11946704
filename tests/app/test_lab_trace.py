"""The trace lab: exact divergence map, Hutchinson's estimate and its variance, the live cost chart."""

import numpy as np
import pytest
import torch

from app.labs.cnf_field import random_field
from app.labs.context import LabContext
from app.labs.trace.view import TraceLab
from engine.checkpoint import TrainedModel, density_record
from engine.cnf import CNF
from engine.cnf.divergence import autograd_trace
from engine.densities import get_density, grid_points


@pytest.fixture
def lab(qtbot):  # type: ignore[no-untyped-def]
    ctx = LabContext()
    ctx.set_density(get_density("8gaussians"), "8gaussians")
    lab = TraceLab(ctx)
    lab.cost_dims = (2, 8, 32)
    qtbot.addWidget(lab)
    lab.resize(1000, 700)
    yield lab
    lab.shutdown()


def not_blank(widget) -> bool:  # type: ignore[no-untyped-def]
    img = widget.grab().toImage()
    colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
    return len(colours) > 20


def autograd_divergence(field, box, t: float, n: int = 48) -> np.ndarray:  # type: ignore[no-untyped-def]
    x = torch.from_numpy(grid_points(box, n)[2]).requires_grad_(True)
    return autograd_trace(field(t, x), x).detach().numpy().reshape(n, n)


@pytest.mark.parametrize("trained", [False, True])
def test_exact_map_is_the_divergence_by_autograd(lab, trained: bool) -> None:  # type: ignore[no-untyped-def]
    field = random_field(seed=3, width=16, depth=2)
    if trained:
        lab.ctx.set_model(TrainedModel(CNF(field), density_record(lab.ctx.density), {}))
    lab.ctx.set_time(0.3)
    lab.refresh_now()
    expected = autograd_divergence(field if trained else random_field(), lab.ctx.box, 0.3)
    np.testing.assert_allclose(lab.maps.exact, expected, rtol=1e-4, atol=1e-5)
    assert lab.maps.t == pytest.approx(0.3)
    lo, hi = lab.exact_view.levels
    assert lo == -hi and hi == pytest.approx(np.percentile(np.abs(expected), 99), rel=1e-3)
    assert lab.estimate_view.levels == (lo, hi)  # one colour scale for both maps
    assert ("trained CNF" in lab.exact_view.title.text()) == trained


def test_estimate_follows_the_probes_and_its_variance_falls_as_1_over_k(lab) -> None:  # type: ignore[no-untyped-def]
    lab.activate()  # a lab follows its controls while it is shown
    one = lab.maps.estimate.copy()
    lab.controls.set_k(16)
    sixteen = lab.maps
    assert sixteen.k == 16
    err = lambda m: np.sqrt(np.mean((m.estimate - m.exact) ** 2))  # noqa: E731
    assert err(sixteen) < 0.5 * np.sqrt(np.mean((one - sixteen.exact) ** 2))
    lab.controls.set_probe("rademacher")
    assert lab.maps.probe == "rademacher"
    for probe in ("gaussian", "rademacher"):
        var = lab.variance[probe]
        assert np.all(np.diff(var) < 0) and var[-1] < var[0] / 30  # K from 1 to 64
        assert len(lab.variance_chart.points(probe)) == len(var)
    assert lab.variance["rademacher"][0] < lab.variance["gaussian"][0]  # in 2D only the off-diagonal is noisy


def test_cost_is_measured_in_the_background_and_charted(lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    lab.activate()
    assert lab.busy
    qtbot.waitUntil(lambda: len(lab.costs) == 3, timeout=20_000)
    assert [p.m for p in lab.costs] == [2, 8, 32]
    assert len(lab.cost_chart.points("exact")) == len(lab.cost_chart.points("hutchinson")) == 3
    assert all(p.exact_s > 0 and p.hutchinson_s > 0 for p in lab.costs)
    assert "m = 32" in lab.header.status.text()


def test_time_bar_redraws_the_maps_and_then_the_chart(lab, qtbot) -> None:  # type: ignore[no-untyped-def]
    lab.activate()
    before = lab.variance["gaussian"].copy()
    lab.ctx.set_time(0.2)
    assert lab.maps.t == pytest.approx(0.2)
    assert "t = 0.20" in lab.exact_view.title.text()
    qtbot.waitUntil(lambda: not np.array_equal(lab.variance["gaussian"], before), timeout=5_000)


def test_scene_settings_round_trip(lab) -> None:  # type: ignore[no-untyped-def]
    lab.configure(probe="rademacher", k=8)
    assert lab.settings() == {"probe": "rademacher", "k": 8}
    assert lab.maps is None  # a hidden lab computes nothing; it draws with these once shown
    lab.refresh_now()
    assert lab.maps.probe == "rademacher" and lab.maps.k == 8


def test_render_frames_grows_the_cost_chart(lab) -> None:  # type: ignore[no-untyped-def]
    lab.show()
    counts = []
    for _ in lab.render_frames(3):
        counts.append(len(lab.cost_chart.points("exact")))
    assert counts == [1, 2, 3]
    assert not_blank(lab)


def _covered(chart) -> list[tuple[float, float]]:  # type: ignore[no-untyped-def]
    """The chart's drawn points (and a guide's named points) that its legend or a label covers."""
    import pyqtgraph as pg

    vb = chart.plot.getPlotItem().vb
    # a label's box touches the point it names at a corner: the box less a pixel each side
    boxes = [chart.legend.sceneBoundingRect()] + [item.sceneBoundingRect().adjusted(2, 2, -2, -2)
                                                  for item, _ in chart._labels.values()]
    hits = []
    for key in chart._items:
        for x, y in chart.points(key):
            p = vb.mapViewToScene(pg.Point(np.log10(x), np.log10(y)))
            if any(b.contains(p) for b in boxes):
                hits.append((float(x), float(y)))
    return hits


@pytest.mark.parametrize("size", [(700, 640), (950, 600)])
def test_the_charts_legends_cover_no_data(qtbot, lab, size) -> None:  # type: ignore[no-untyped-def]
    """At 1024 x 768 the variance legend (four rows) covered the Rademacher points at K = 2, 4 and the
    cost legend the exact cost's first points. Costs shaped as measured here: the exact one from 3e-4 s
    growing to 1 s at m = 1024, Hutchinson's from 2e-4 s to 6e-4 s."""
    from app.labs.trace.compute import COST_DIMS, CostPoint

    lab.resize(*size)
    lab.show()
    lab.refresh_now()
    for m in COST_DIMS:
        lab._on_cost_measured(CostPoint(m, 3e-4 * (m / 2) ** 1.3, 2e-4 * (1 + m / 512)))
    for _ in range(3):
        qtbot.wait(1)
    assert lab.variance_chart.points("rademacher") and len(lab.cost_chart.points("m2")) > 2
    assert _covered(lab.variance_chart) == []
    assert _covered(lab.cost_chart) == []
