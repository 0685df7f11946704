"""Trace lab: the exact divergence against Hutchinson's estimate, its variance, and why FFJORD needs it."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from PySide6 import QtCore, QtWidgets

from engine.cnf.divergence import probe_variance, theory_variance
from widgets.map_view import MapView
from widgets.series_chart import SeriesChart
from widgets.trace_controls import TraceControls

from ..base import Lab
from ..cnf_field import lab_field
from .compute import (
    COST_DIMS,
    PROBE_COUNTS,
    CostPoint,
    DivergenceMaps,
    cost_sweep,
    divergence_maps,
    jacobians,
)

__all__ = ["TraceLab"]

COLORS = {"gaussian": "#56B4E9", "rademacher": "#E69F00", "exact": "#D55E00", "hutchinson": "#009E73",
          "guide": "#999999"}


class TraceLab(Lab):
    equation = ("tr(∂f/∂z) = 𝔼<sub>v</sub>[ vᵀ (∂f/∂z) v ] ≈ (1/K) Σ<sub>k</sub> v<sub>k</sub>ᵀ (∂f/∂z) v<sub>k</sub>"
                "&nbsp;&nbsp;&nbsp; 𝔼[v] = 0, cov(v) = I")
    explanation = """
<p><b>Why estimate a trace?</b> The CNF's log-density changes by −tr(∂f/∂z) along a path. The exact
trace needs each diagonal entry ∂f<sub>i</sub>/∂z<sub>i</sub>: one backward pass per dimension, so
m passes of a network that itself costs O(m): O(m²) in all. Hutchinson's estimator needs one
vector-Jacobian product vᵀ(∂f/∂z), about the cost of one evaluation of f: O(m).</p>
<p><b>Unbiased, but noisy.</b> Since 𝔼[vvᵀ] = I, 𝔼[vᵀAv] = tr(A 𝔼[vvᵀ]) = tr(A). Averaging K probes
divides the variance by K. Gaussian probes have variance 2‖S‖²<sub>F</sub> (S the symmetric part of
∂f/∂z); Rademacher probes (±1) drop the diagonal's share, 2(‖S‖²<sub>F</sub> − Σ S<sub>ii</sub>²),
which in 2D leaves only (J<sub>12</sub> + J<sub>21</sub>)². FFJORD draws one probe per solve and keeps
it fixed, so that the integrand stays smooth in t for the ODE solver.</p>
<p><b>The charts.</b> Left: the variance of the K-probe estimate measured from 1,024 probe draws at
256 points of the map (dots), and its closed form (dashes). Right: wall time on this machine, live,
for a random MLP field ℝ<sup>m</sup> → ℝ<sup>m</sup> (m → 128 → 128 → m, tanh, 32 points per batch),
best of a few runs. Compare the slopes on the log-log axes.</p>
"""

    def __init__(self, ctx, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.controls = TraceControls()
        self.exact_view = MapView("exact", "tr ∂f/∂z")
        self.estimate_view = MapView("Hutchinson", "tr ∂f/∂z")
        # what runs along x is said in the title: an axis label line would cost the chart its 200 px
        self.variance_chart = SeriesChart("variance against probes K", "", "variance",
                                          log_x=True, log_y=True, legend="bottom-left",
                                          headroom=(1.2, 0.3))
        self.cost_chart = SeriesChart("cost against the dimension m", "", "seconds per batch",
                                      log_x=True, log_y=True, headroom=(0.0, 1.0))
        # three legend rows: dots are measured, dashes the closed form of the same colour (its formulas
        # are in the help; with a row each the legend covered the curves at 1024 x 768)
        for probe in ("gaussian", "rademacher"):
            self.variance_chart.add_series(probe, probe.capitalize(), COLORS[probe], symbol="o")
            self.variance_chart.add_series(f"{probe}-theory", None, COLORS[probe], dashed=True)
        self.variance_chart.add_series("theory", "closed form", COLORS["guide"], dashed=True)
        self.variance_chart.set_x_ticks(list(PROBE_COUNTS))
        self.cost_chart.add_series("exact", "exact, m passes", COLORS["exact"], symbol="s")
        self.cost_chart.add_series("hutchinson", "Hutchinson, 1 VJP", COLORS["hutchinson"], symbol="o")
        self.cost_chart.add_series("m2", "∝ m²", COLORS["guide"], dashed=True)
        self.cost_chart.add_series("m1", "∝ m", COLORS["guide"], dashed=True)
        # the guides named on their lines, under them halfway (where the chart is empty: the exact cost
        # runs above the m² guide, the Hutchinson cost above the m one): a legend of four rows covered
        # the exact cost's first points. Each legend stands in a decade of room left empty for it: the
        # variance curves fall from the top left (room below them), the exact cost rises to the right
        # (room over it)
        self.cost_chart.label_series("m2", "∝ m²")
        self.cost_chart.label_series("m1", "∝ m")
        self.cost_chart.set_x_ticks([m for m in COST_DIMS if m in (2, 8, 32, 128, 512, 1024)])
        # the two maps over the two charts, in equal shares of the height (not by the plots' size
        # hints, which never fit): at 1024 x 768 maps and charts both keep 200 px
        grid = QtWidgets.QVBoxLayout()
        for pair, stretch in (((self.exact_view, self.estimate_view), 1), ((self.variance_chart, self.cost_chart), 1)):
            row = QtWidgets.QHBoxLayout()
            for w in pair:
                w.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Ignored)
                row.addWidget(w, 1)
            grid.addLayout(row, stretch)
        lay = QtWidgets.QVBoxLayout(self.body)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.controls)
        lay.addLayout(grid, 1)
        self.header.status.set_lines(1)  # its statuses are one line; the plots need the height
        self.cost_dims: tuple[int, ...] = COST_DIMS
        self.maps: DivergenceMaps | None = None
        self.variance: dict[str, np.ndarray] = {}
        self.costs: list[CostPoint] = []
        self.seed = 0
        # while the time bar plays, the maps follow every frame and the chart catches up when it pauses
        self._variance_later = QtCore.QTimer(self, singleShot=True, interval=200)
        self._variance_later.timeout.connect(self._draw_variance)
        self.controls.probe_changed.connect(self._on_probes_changed)
        self.controls.probes_changed.connect(self._on_probes_changed)
        self.controls.redraw_requested.connect(self._on_redraw_requested)
        self.controls.measure_requested.connect(self.measure_cost)

    # -- Lab interface -------------------------------------------------------------------
    def refresh(self) -> None:
        self.refresh_now()
        if len(self.costs) < len(self.cost_dims) and not self.busy:  # never measured, or stopped half-way
            self.measure_cost()

    def refresh_now(self) -> None:
        self._draw_maps()
        self._draw_variance()

    def on_time(self, t: float) -> None:
        self._draw_maps()
        self._variance_later.start()

    def settings(self) -> dict[str, object]:
        return {"probe": self.controls.probe, "k": self.controls.k}

    def configure(self, probe: str | None = None, k: int | None = None, **_: object) -> None:
        if probe is not None:
            self.controls.set_probe(str(probe))
        if k is not None:
            self.controls.set_k(int(k))

    def shutdown(self) -> None:
        self._variance_later.stop()
        super().shutdown()

    def render_frames(self, count: int) -> Iterator[int]:
        """The maps, then the cost chart growing one dimension at a time (measured synchronously)."""
        self.refresh_now()
        self._clear_costs()
        sweep = cost_sweep(self.cost_dims)
        for k in range(count):
            want = round((k + 1) * len(self.cost_dims) / count)
            for point in sweep:
                self._on_cost_measured(point)
                if len(self.costs) >= want:
                    break
            yield k

    # -- actions -------------------------------------------------------------------------
    def measure_cost(self) -> None:
        """Time both estimators as m grows, in the background; the chart grows as points arrive."""
        self._clear_costs()
        dims = self.cost_dims
        self.header.set_status(f"Measuring the cost for m = {dims[0]} … {dims[-1]} …")
        self.run_in_background(lambda: cost_sweep(dims), self._on_cost_measured)

    def _on_probes_changed(self, *_: object) -> None:
        if self.active:  # a hidden lab (a scene setting it up before its tab opens) draws once shown
            self._draw_maps()
            self._draw_variance()

    def _on_redraw_requested(self) -> None:
        self.seed += 1
        if self.active:
            self._draw_maps()

    # -- drawing -------------------------------------------------------------------------
    def _draw_maps(self) -> None:
        field, source = lab_field(self.ctx)
        c, box = self.controls, self.ctx.box
        self.maps = m = divergence_maps(field, box, self.ctx.t, c.probe, c.k, self.seed)
        self.exact_view.set_map(m.exact, box, "symmetric")
        self.estimate_view.set_map(m.estimate, box)
        self.estimate_view.set_shared_levels(self.exact_view.levels)  # one colour scale for both maps
        rms = float(np.sqrt(np.mean((m.estimate - m.exact) ** 2)))
        # one-line titles (a second line costs the plots below their 200 px at 1024 x 768): the field
        # in a word, said in full in the tooltip
        self.exact_view.set_title(f"exact tr(∂f/∂z) · {'random field' if 'random' in source else 'trained CNF'}"
                                  f" · t = {m.t:.2f}")
        self.exact_view.title.setToolTip(f"The exact divergence of {source} at t = {m.t:.2f}")
        name = c.probe_box.currentText().split(" ")[0].lower()
        self.estimate_view.set_title(f"Hutchinson, K = {m.k} · rms error {rms:.2f}")
        self.estimate_view.title.setToolTip(f"Hutchinson's estimate with K = {m.k} {name} probe{'s' * (m.k > 1)}")

    def _draw_variance(self) -> None:
        field, _ = lab_field(self.ctx)
        jac = jacobians(field, self.ctx.box, self.ctx.t)
        for probe in ("gaussian", "rademacher"):
            self.variance[probe] = probe_variance(jac, probe, PROBE_COUNTS, seed=self.seed)
            self.variance_chart.set_series(probe, np.asarray(PROBE_COUNTS), self.variance[probe])
            theory = theory_variance(jac, probe, PROBE_COUNTS)
            self.variance_chart.set_series(f"{probe}-theory", np.asarray(PROBE_COUNTS), theory)
        self.variance_chart.set_marker(self.controls.k, f"K = {self.controls.k} in the map")

    def _clear_costs(self) -> None:
        self.costs = []
        self.cost_chart.clear()

    def _on_cost_measured(self, point: CostPoint) -> None:
        self.costs.append(point)
        self.cost_chart.append("exact", point.m, point.exact_s)
        self.cost_chart.append("hutchinson", point.m, point.hutchinson_s)
        last = self.costs[-1]  # guides through the largest m measured, where the asymptotics show
        ms = np.asarray([p.m for p in self.costs if p.m >= last.m / 64], np.float64)
        self.cost_chart.set_series("m2", ms, last.exact_s * (ms / last.m) ** 2)
        self.cost_chart.set_series("m1", ms, last.hutchinson_s * (ms / last.m))
        self.header.set_status(f"m = {point.m}: exact {1000 * point.exact_s:.2f} ms, "
                               f"Hutchinson {1000 * point.hutchinson_s:.2f} ms per batch of 32 "
                               f"({point.exact_s / point.hutchinson_s:.0f}× faster)")
