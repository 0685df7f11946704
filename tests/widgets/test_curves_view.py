"""The live training curves: every step kept, a running mean drawn over it, a light grid."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from widgets.curves_view import SMOOTH_POINTS, CurvesView, running_mean


def test_running_mean_is_exact_on_constants_and_lines() -> None:
    x = np.arange(1000, dtype=float)
    xs, m = running_mean(x, np.full(1000, 2.5))
    assert len(xs) <= SMOOTH_POINTS and np.allclose(m, 2.5)
    xs, m = running_mean(x, 3.0 * x + 1.0, fraction=0.05)
    inside = (xs >= 25) & (xs <= 974)  # a centred window is exact on a line away from the ends
    assert np.allclose(m[inside], 3.0 * xs[inside] + 1.0)
    assert xs[0] == 0 and xs[-1] == 999


def test_running_mean_smooths_noise_and_handles_tiny_inputs() -> None:
    rng = np.random.default_rng(0)
    x = np.arange(5000, dtype=float)
    y = rng.normal(size=5000)
    _, m = running_mean(x, y)
    assert m.std() < 0.25 * y.std()  # a window of 100 points: the noise shrinks by ~10
    assert running_mean(x[:0], y[:0])[1].size == 0
    xs, m = running_mean(x[:1], y[:1])
    assert xs.tolist() == [0.0] and m.tolist() == [y[0]]


def test_curves_keep_every_point_and_draw_the_mean(qtbot) -> None:
    view = CurvesView()
    qtbot.addWidget(view)
    for step in range(3000):
        view.add_point(step, 5.0 - step / 1000, 3.0 if step < 1500 else 2.9)
    view.redraw()
    assert view.point_count() == (3000, 2)
    x, y = view.loss_smooth.getData()
    assert len(x) <= SMOOTH_POINTS and np.allclose(y, 5.0 - x / 1000, atol=0.03)
    # the raw line and the metric stay thin: a wide pen on a noisy line is what makes Qt slow
    assert view.loss_curve.opts["pen"].widthF() <= 1 and view.metric_curve.opts["pen"].widthF() <= 1
    assert any(isinstance(item, pg.GridItem) for item in view.loss_plot.items)
    view.clear()
    assert view.point_count() == (0, 0)
    cleared = view.loss_smooth.getData()[0]
    assert cleared is None or len(cleared) == 0


def test_empty_charts_say_why_until_the_first_point_and_after_a_clear(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = CurvesView()
    qtbot.addWidget(view)
    assert [n.isVisible() for n in view.empty_notes] == [True, True]
    assert all("Train" in n.textItem.toPlainText() for n in view.empty_notes)
    view.add_point(1, 0.5, 0.3)
    view.redraw()
    assert not any(n.isVisible() for n in view.empty_notes)
    view.clear()
    assert all(n.isVisible() for n in view.empty_notes)


def test_the_empty_charts_note_fits_its_chart_with_larger_text(qtbot) -> None:  # type: ignore[no-untyped-def]
    """At 1024 x 768 with larger text (Ctrl+= twice) the note ran past both sides of its chart."""
    from widgets.plot_style import PlotStyle, current_style, restyle, set_style

    before = current_style()
    view = CurvesView()
    qtbot.addWidget(view)
    view.resize(680, 300)  # the training page's charts at 1024 x 768
    view.show()
    try:
        for pt in (11.0, 13.0, 14.0):
            set_style(PlotStyle(bg=before.bg, fg=before.fg, font_pt=pt))
            restyle(view)
            qtbot.wait(1)
            for note, plot in zip(view.empty_notes, (view.loss_plot, view.metric_plot)):
                assert plot.getViewBox().sceneBoundingRect().contains(note.sceneBoundingRect()), pt
    finally:
        set_style(before)


def test_a_single_metric_point_is_shown_on_a_step_axis_from_zero(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = CurvesView()
    qtbot.addWidget(view)
    view.show()
    for step in range(1, 1352):
        view.add_point(step, 4.5, 2.74 if step == 1351 else None)
    view.redraw()
    view.metric_plot.vb.autoRange()
    (x0, x1), _ = view.metric_plot.vb.viewRange()
    assert x0 <= 0.0 and x1 >= 1351.0  # not a span of a step around 1,351
    view.set_reference(2.7, "entropy")  # with a reference line the room under it keeps step 0 in view
    view.redraw()
    view.metric_plot.vb.autoRange()
    assert view.metric_plot.vb.viewRange()[0][0] <= 0.0


def test_the_metric_shares_the_loss_step_axis(qtbot) -> None:  # type: ignore[no-untyped-def]
    """A metric measured every few seconds had one point on an axis of 0-1 steps beside a loss at
    step 300: both plots show the same steps."""
    view = CurvesView()
    qtbot.addWidget(view)
    view.resize(900, 400)
    view.show()
    for step in range(1, 301):
        view.add_point(step, 4.5 - step / 300, 3.9 if step < 150 else 3.5)
    view.redraw()
    qtbot.waitUntil(lambda: view.loss_plot.vb.viewRange()[0][1] >= 300.0)
    assert view.metric_plot.vb.viewRange()[0] == pytest.approx(view.loss_plot.vb.viewRange()[0])


def test_a_run_without_its_first_metric_says_when_it_comes(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Flow matching measures its held-out NLL every 5 s of training: until then the metric chart
    said nothing beside a loss curve. It says when the first figure comes, centred on the steps shown."""
    view = CurvesView()
    qtbot.addWidget(view)
    view.resize(900, 400)
    view.show()
    view.set_pending("the first figure comes\nafter 5 s of training")
    for step in range(1, 201):
        view.add_point(step, 4.0)
    view.redraw()
    loss_note, metric_note = view.empty_notes
    assert not loss_note.isVisible() and metric_note.isVisible()
    assert "after 5 s" in metric_note.textItem.toPlainText()
    qtbot.waitUntil(lambda: view.metric_plot.vb.viewRange()[0][1] >= 200.0)
    assert view.metric_plot.vb.sceneBoundingRect().contains(metric_note.sceneBoundingRect())
    view.add_point(201, 3.9, 2.5)
    view.redraw()
    assert not metric_note.isVisible()
    view.clear()  # a new run starts with the general note again
    view.redraw()
    assert all("Train" in n.textItem.toPlainText() and n.isVisible() for n in view.empty_notes)
    view.set_pending("")  # a family that measures at once: no note beside the loss
    view.add_point(1, 4.0)
    view.redraw()
    assert not metric_note.isVisible()


def test_the_two_charts_share_the_width_equally(qtbot) -> None:  # type: ignore[no-untyped-def]
    """On one step axis, the loss's longer title had left its chart 410 px beside the metric's 520."""
    view = CurvesView()
    qtbot.addWidget(view)
    view.resize(950, 300)
    view.show()
    for name in ("quality", "held-out NLL of the kept model, nats"):  # a title longer than the loss's too
        view.set_metric_name(name)
        qtbot.waitUntil(lambda: abs(view.loss_plot.geometry().width() - view.metric_plot.geometry().width()) < 2)
