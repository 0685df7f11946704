"""Widgets of the guidance, trace and adjoint labs follow what they are given (numpy only)."""

import numpy as np
import pytest

from widgets.contour_overlay import mass_levels
from widgets.guidance_controls import GuidanceControls
from widgets.map_view import MapView
from widgets.series_chart import SeriesChart


def test_series_chart_grows_and_hides_what_a_log_axis_cannot_show(qtbot) -> None:  # type: ignore[no-untyped-def]
    chart = SeriesChart("t", "m", "s", log_x=True, log_y=True)
    qtbot.addWidget(chart)
    chart.add_series("a", "a", "#ff0000")
    for x, y in ((1, 1.0), (2, 0.0), (4, 0.25)):
        chart.append("a", x, y)
    assert chart.points("a") == [(1, 1.0), (2, 0.0), (4, 0.25)]  # all kept
    xs, _ = chart._items["a"].getData()
    assert len(xs) == 2  # zero is not drawn on a log axis
    ticks = chart.plot.getAxis("left")._tickLevels[0]
    assert [label for _, label in ticks][:3] == ["0.1", "0.2", "0.5"]  # 1-2-5 over a short range
    chart.clear()
    assert chart.points("a") == []


def test_map_view_levels(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = MapView("d", "tr")
    qtbot.addWidget(view)
    grid = np.linspace(-1, 3, 100 * 100, dtype=np.float32).reshape(100, 100)
    view.set_map(grid, (-4.0, 4.0, -4.0, 4.0))
    lo, hi = view.levels
    assert lo == -hi and hi == pytest.approx(np.percentile(np.abs(grid), 99), rel=1e-4)  # white is zero
    view.set_map(grid, (-4.0, 4.0, -4.0, 4.0), scale=(0.0, 1.0))
    assert view.levels == (0.0, 1.0) and tuple(view.image.getLevels()) == (0.0, 1.0)


def test_mass_levels_enclose_the_asked_share() -> None:
    xs = np.linspace(-5, 5, 201)
    gx, gy = np.meshgrid(xs, xs)
    p = np.exp(-0.5 * (gx**2 + gy**2))
    for share in (0.5, 0.9):
        (level,) = mass_levels(p, (share,))
        assert p[p >= level].sum() / p.sum() == pytest.approx(share, abs=0.01)
        # for a standard normal the region is the disc of radius sqrt(-2 ln(1 - share))
        assert level == pytest.approx(np.exp(np.log(1 - share)), rel=0.05)


def test_guidance_controls_signal_user_changes_only(qtbot) -> None:  # type: ignore[no-untyped-def]
    c = GuidanceControls()
    qtbot.addWidget(c)
    c.set_classes(4)
    c.set_kinds(["cfg", "classifier"])
    with qtbot.assertNotEmitted(c.guidance_changed):
        c.set_guidance(2.5)  # silent: the lab sets it
    assert c.guidance == 2.5 and "+2.5" in c.value.text()
    with qtbot.waitSignal(c.guidance_changed) as sig:
        c.slider.setValue(-15)  # the user drags it
    assert sig.args == [-1.5]
    with qtbot.waitSignal(c.label_changed) as sig:
        c.label_box.setCurrentIndex(3)
    assert sig.args == [3] and c.label == 3
    c.set_kind("classifier")
    assert c.kind == "classifier"
