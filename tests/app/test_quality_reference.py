"""The training quality curve has a labelled dashed line at what a perfect model would read."""

import pytest
from PySide6 import QtCore

from app.main_window import MainWindow
from app.settings import Settings
from engine.api import TrainSnapshot
from engine.densities import get_density
from engine.metrics import histogram_tv


@pytest.fixture
def window(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    settings = Settings(QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat))
    w = MainWindow(settings=settings, density="8gaussians")
    qtbot.addWidget(w)
    return w


def _snap(step: int, **kw: object) -> TrainSnapshot:
    return TrainSnapshot(step=step, elapsed=0.1 * step, loss=1.0, lr=1e-3, steps_per_s=10.0, **kw)  # type: ignore[arg-type]


def test_a_tv_curve_shows_an_exact_sample_s_tv(window) -> None:  # type: ignore[no-untyped-def]
    d = get_density("8gaussians")
    exact = histogram_tv(d.sample(2000, seed=1).x, d.sample(20_000, seed=2).x, d.box)
    line = window.curves.reference
    window.panel.set_model("ddpm")
    assert not line.isVisible()  # the trainer measures an exact sample's TV
    window.training._on_snapshot(_snap(1, metric_name="histogram TV", metric=0.6, metric_reference=exact))
    window.training._on_snapshot(_snap(2))  # a snapshot without a measure leaves the line as it is
    assert line.isVisible() and line.value() == pytest.approx(exact)
    assert line.pen.style() == QtCore.Qt.PenStyle.DashLine
    assert line.label.format == f"exact sample {exact:.3f}"
    assert window.curves.metric_plot.titleLabel.text == "histogram TV"


def test_an_nll_curve_on_an_exact_density_shows_the_true_entropy(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.training._on_snapshot(_snap(1, metric_name="histogram TV", metric=0.6, metric_reference=0.1))
    window.training._on_snapshot(_snap(2, metric_name="held-out NLL", metric=3.5))  # another model's figure
    entropy = get_density("8gaussians").entropy()
    # estimated off the GUI thread (400k points), after the window's first frames
    qtbot.waitUntil(lambda: window.curves.reference.value() == pytest.approx(entropy), timeout=20_000)
    assert window.curves.reference.value() == pytest.approx(entropy)
    assert window.curves.reference.label.format == f"true entropy {entropy:.3f}"
    assert entropy == pytest.approx(2.833, abs=0.01)


def test_no_line_where_no_reference_is_known(window) -> None:  # type: ignore[no-untyped-def]
    window.set_density("moons")  # estimated from samples: no exact entropy
    window.training._on_snapshot(_snap(1, metric_name="held-out NLL", metric=3.5))
    assert not window.curves.reference.isVisible()


def test_the_chart_names_its_figure_before_the_first_one(window, qtbot) -> None:  # type: ignore[no-untyped-def]
    """Before any run, and at Train, the quality chart is titled with what the chosen model measures, and
    an NLL chart on an exact density shows the true entropy as soon as it is known (it had read "quality",
    with no line, until the first measure)."""
    title = window.curves.metric_plot.titleLabel
    line = window.curves.reference
    entropy = get_density("8gaussians").entropy()
    qtbot.waitUntil(line.isVisible, timeout=20_000)
    for kind, name in (("cnf", "held-out NLL"), ("ddpm", "histogram TV"), ("fm", "held-out NLL"),
                       ("ncsn", "histogram TV")):
        window.panel.set_model(kind)
        assert title.text == name, kind
        assert line.isVisible() == (name == "held-out NLL"), kind
        if line.isVisible():
            assert line.value() == pytest.approx(entropy)
    # a diffusion run's exact-sample TV is not carried over to a flow's NLL chart
    window.panel.set_model("ddpm")
    window.training._on_snapshot(_snap(1, metric_name="histogram TV", metric=0.6, metric_reference=0.1))
    assert line.value() == pytest.approx(0.1)
    window.panel.set_model("cnf")
    assert title.text == "held-out NLL" and line.value() == pytest.approx(entropy)
