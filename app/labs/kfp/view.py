"""KFP lab: a density under an SDE two ways — the Fokker–Planck equation on a grid and a cloud of
Euler–Maruyama particles — side by side, with their difference, total variation and mass.

The solve runs in the background and hands over frames at 101 times from 0 to T; a timer redraws
the frame the time bar points at (at most ~40 times a second), or the newest one while it is
still being computed. Time mapping: the SDE's own time s = t·T, so t = 0 is the start p₀.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from PySide6 import QtWidgets

from engine.api import FLOW_KINDS
from engine.errors import InputError
from engine.sde import KfpFrame
from widgets.density_view import DensityView
from widgets.kfp_controls import KfpControls
from widgets.square_grid import SquareGrid
from widgets.tv_plot import TvPlot

from ..base import Lab
from ..context import LabContext
from .compute import CHOICES, Problem, Progress, Setup, images, make_problem, solve, status_text

__all__ = ["KfpLab"]

FRAMES = 101
REDRAW_MS = 25
DOTS = 300  # particles drawn on the grid solution: enough to see them move, few enough to see p
DIVERGING = "CET-D4"  # blue – black – red: zero is the dark background
KFP = "∂p/∂t = −∇·(f p) + ½ g² Δp"
EXPLANATION = (
    "For dx = f(x, t) dt + g(t) dw, the density of x obeys the Kolmogorov–Fokker–Planck equation. "
    "<b>Left</b>: that equation solved on a grid (finite volumes: mass only moves between neighbouring "
    "cells, so it is conserved). <b>Middle</b>: the histogram of particles moved by Euler–Maruyama steps "
    "x += f dt + g √dt ε, all started from samples of p₀. <b>Right</b>: grid minus particles on 32 × 32 "
    "blocks; the total variation ½ Σ |difference| is plotted below against the same figure for an exact "
    "sample of as many points from the grid density: when the two curves agree, the two computations "
    "agree up to sampling noise. Time: s = t·T, the SDE's own time over its duration T. The learned "
    "reverse process runs the model's reverse-time SDE from its prior, with its score tabulated on a "
    "lattice (particles and grid use the same table).")


class KfpLab(Lab):
    equation = KFP
    explanation = EXPLANATION
    tick_ms = REDRAW_MS

    def __init__(self, ctx: LabContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.pde_view = DensityView()
        # short titles: a title wider than the plot pushes its colour bar out of a narrow view
        self.pde_view.set_title("grid, ● particles")
        self.hist_view = DensityView()
        self.hist_view.set_title("particle histogram")
        self.diff_view = DensityView()
        self.diff_view.set_title("grid − particles")
        self.diff_view.set_colormap(DIVERGING)
        self.tv_plot = TvPlot()
        self.controls = KfpControls(CHOICES)
        self.problem: Problem | None = None
        self.setup: Setup | None = None
        self.frames: list[KfpFrame] = []
        self.shown = -1
        self.runs = 0  # the seed of the next run: "Run again" draws new particles
        self.particles = 0  # particles in the current run
        self._seen: tuple[object, object] = (None, None)
        self._dirty = False
        self._status_due: KfpFrame | None = None
        self._scales: dict[int, tuple[object, ...]] = {}  # view -> (box, levels, label) it shows
        self._layout()
        self.controls.run_requested.connect(self.start)
        self.controls.points_requested.connect(self.pde_view.set_points_visible)

    def _layout(self) -> None:
        # the controls in a band on top; the three maps (a square plot and its colour bar) and the TV
        # chart in four cells of one shape, in a row or two by two, as large as the space allows
        maps = SquareGrid(aspect=1.25, wide_last=True)  # in a wide, low window the chart goes under the maps
        for w in (self.pde_view, self.hist_view, self.diff_view, self.tv_plot):
            maps.add(w)
        lay = QtWidgets.QVBoxLayout(self.body)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.controls)
        lay.addWidget(maps, 1)

    # -- lifecycle -----------------------------------------------------------------------------
    def refresh(self) -> None:
        density, model = self.ctx.density, self.ctx.trained
        diffusion = model is not None and model.kind in ("ddpm", "ncsn")
        self.controls.set_enabled_choice("reverse", diffusion, "needs a trained DDPM or NCSN model")
        flow = model is not None and model.kind in FLOW_KINDS
        self.controls.set_enabled_choice("flow", flow, "needs a trained CNF or flow-matching model")
        learned = self.controls.sde in ("reverse", "flow")
        changed = density is not self._seen[0] or (model is not self._seen[1] and learned and not self.ctx.training)
        self._seen = (density, model)
        if changed or not self.complete:
            self.start()

    # -- scenes ------------------------------------------------------------------------------
    def settings(self) -> dict[str, object]:
        return self.controls.values()

    def configure(self, **values: object) -> None:
        known = {k: v for k, v in values.items() if k in self.controls.values() and v is not None}
        self.controls.apply(**known)  # type: ignore[arg-type]
        if known and self.active:
            self.start()

    def on_time(self, t: float) -> None:
        self._dirty = True

    @property
    def complete(self) -> bool:
        return self.setup is not None and len(self.frames) == len(self.setup.times)

    # -- the run -------------------------------------------------------------------------------
    def _problem(self) -> Problem | None:
        if self.ctx.density is None:
            self.header.set_status("no density")
            return None
        try:
            return make_problem(self.controls.sde, self.ctx.density, self.ctx.trained, self.controls.formulas)
        except InputError as e:
            self.header.set_status(f"⚠ {e}")
            return None

    def _begin(self, problem: Problem | None) -> bool:
        self.stop_background()
        self.frames, self.setup, self.shown, self.problem = [], None, -1, problem
        self.particles = self.controls.particles
        self.tv_plot.set_series(np.zeros(0), np.zeros(0), np.zeros(0))
        if problem is None:
            return False
        self.header.set_equation(f"{KFP} &nbsp;&nbsp; for &nbsp; {problem.equation}")
        self.header.set_status(f"solving {dict(CHOICES)[problem.key]} …")
        return True

    def start(self) -> None:
        """Solve the chosen SDE in the background (a new seed each time: 'Run again')."""
        problem = self._problem()
        if self._begin(problem) and self.active:
            assert problem is not None
            grid, particles, seed = self.controls.grid, self.particles, self.runs
            self.runs += 1
            self.run_in_background(lambda: solve(problem, grid, particles, FRAMES, seed), self._on_item)

    def render_frames(self, count: int) -> Iterator[int]:
        problem = self._problem()
        if not self._begin(problem):
            return
        assert problem is not None
        with self.recording():
            for item in solve(problem, self.controls.grid, self.particles, max(count, 2), 0):
                self._take(item)
                if isinstance(item, KfpFrame) and len(self.frames) <= count:
                    self._draw(len(self.frames) - 1, force_status=True)
                    yield len(self.frames) - 1

    def _on_item(self, item: Progress | Setup | KfpFrame) -> None:
        self._take(item)
        self._dirty = True

    def _take(self, item: Progress | Setup | KfpFrame) -> None:
        if isinstance(item, Progress):
            self.header.set_status(f"{item.text} …")
            return
        if isinstance(item, Setup):
            self.setup = item
            return
        self.frames.append(item)
        t = np.asarray([f.t for f in self.frames]) / max(self.problem.t_end, 1e-12)  # type: ignore[union-attr]
        self.tv_plot.set_series(t, np.asarray([f.tv for f in self.frames]),
                                np.asarray([f.tv_floor for f in self.frames]))

    # -- drawing -------------------------------------------------------------------------------
    def wanted(self) -> int:
        """The frame for the time bar's t (the newest computed one if that is not there yet)."""
        if not self.frames or self.setup is None:
            return -1
        k = round(self.ctx.t * (len(self.setup.times) - 1))
        return min(k, len(self.frames) - 1)

    def on_tick(self) -> None:
        """Redraw the frame the time bar points at, if it changed (or is still being computed)."""
        k = self.wanted()
        if self._dirty and k >= 0 and (k != self.shown or not self.complete):
            self._draw(k)
        self._dirty = False
        self._update_status()

    def _draw(self, k: int, force_status: bool = False) -> None:
        assert self.setup is not None and self.problem is not None
        f, grid = self.frames[k], self.setup.grid
        im = images(f, grid, self.particles)
        self._show_map(self.pde_view, im.pde, grid.box, (0.0, im.top), "p(x)")  # one scale for both
        self._show_map(self.hist_view, im.hist, grid.box, (0.0, im.top), "p(x)")
        # short: the label runs along the colour bar, which is as tall as the plot
        self._show_map(self.diff_view, im.diff, grid.box, (-im.limit, im.limit), "% mass / block")
        self.pde_view.set_points(f.particles[:DOTS])
        self.tv_plot.set_cursor(f.t / max(self.problem.t_end, 1e-12))
        self.shown = k
        self.count_frame()
        self._status_due = f
        if force_status:
            self._update_status(force=True)

    def _update_status(self, force: bool = False) -> None:
        """The status line of the frame drawn last, at most every STATUS_EVERY_S unless forced."""
        due = self._status_due
        if self.problem is None or self.setup is None:  # a redraw due after the problem was reset
            self._status_due = None
            return
        if due is not None and self.throttled_status(lambda: self._status(due), force):
            self._status_due = None

    def _show_map(self, view: DensityView, values: np.ndarray, box: tuple[float, float, float, float],
                  levels: tuple[float, float], label: str) -> None:
        """Like ``view.set_map``, but only the image changes when the scale and box stay: redrawing a
        colour bar's axis and label costs more than the image itself."""
        key = (box, levels, label)
        if self._scales.get(id(view)) == key:
            view.image.setImage(np.ascontiguousarray(values, np.float32), autoLevels=False, levels=levels)
        else:
            view.set_map(values, box, levels, label)
            self._scales[id(view)] = key

    def _status(self, f: KfpFrame) -> str:
        assert self.problem is not None and self.setup is not None
        return status_text(f, self.problem.t_end, len(self.frames), len(self.setup.times), self.frames_per_second())
