"""The guidance trade-off chart: its γ marker's label stays clear of the 97 % guide line."""

from __future__ import annotations

from widgets.tradeoff_chart import SHARE_LINE, TradeoffChart


def test_gamma_label_is_clear_of_the_guide_line(qtbot) -> None:  # type: ignore[no-untyped-def]
    chart = TradeoffChart()
    qtbot.addWidget(chart)
    chart.resize(420, 300)
    chart.show()
    qtbot.waitExposed(chart)
    chart.set_points("full", [0.0, 1.0, 3.0], {"in_class": [0.1, 0.97, 1.0]})
    chart.set_gamma(3.0)
    vb = chart.chart.plot.getPlotItem().vb
    qtbot.waitUntil(lambda: chart.chart.marker.label.isVisible() and vb.height() > 100)
    vb = chart.chart.plot.getPlotItem().vb
    label = chart.chart.marker.label
    chart.grab()  # a paint places the label on its line for the current view
    rect = vb.mapSceneToView(label.mapRectToScene(label.boundingRect())).boundingRect()
    assert label.toPlainText() == "γ = 3"
    # the label's whole height (in the chart's y units) lies below the guide line, not across it
    assert rect.bottom() < SHARE_LINE and rect.top() < SHARE_LINE
