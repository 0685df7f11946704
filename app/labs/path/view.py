"""Probability path: the density p_t(x) as a heatmap, particles on top, following the time bar."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from engine.api import FLOW_KINDS
from widgets.density_view import DensityView

from ..base import Lab
from ..context import LabContext
from .compute import ParticlesFrame, PathFrame, particle_frames, path_frames

__all__ = ["PathLab"]

TIMES = np.linspace(0.0, 1.0, 21)

CNF_EQUATION = ("log p<sub>t</sub>(z(t)) = log p<sub>0</sub>(z(0)) − ∫<sub>0</sub><sup>t</sup> "
                "tr(∂f<sub>θ</sub>/∂z) ds &nbsp;&nbsp; <small>(t = 0 noise N(0, I), t = 1 data)</small>")
DIFFUSION_EQUATION = ("q(x<sub>τ</sub> | x<sub>0</sub>) = 𝒩(√ᾱ<sub>τ</sub> x<sub>0</sub>, (1 − ᾱ<sub>τ</sub>) I),"
                      " &nbsp; τ = 1 − t &nbsp;&nbsp; <small>(t = 0 noise, t = 1 data)</small>")
EXPLANATION = (
    "A generative model moves probability from noise (t = 0) to data (t = 1). The heatmap is the "
    "density p<sub>t</sub>(x) at the time of the time bar; the dots are samples carried along. "
    "<br><b>CNF</b>: p<sub>t</sub> is the model's own density, from the instantaneous change of "
    "variables along the ODE dz/dt = f<sub>θ</sub>(z, t). <b>Diffusion</b>: p<sub>t</sub> is the forward "
    "noising marginal of the data, and the dots are the model's reverse sampler: if they follow the "
    "heatmap, the model learned the path.")


class PathLab(Lab):
    equation = CNF_EQUATION
    explanation = EXPLANATION
    defer_updates = True

    def __init__(self, ctx: LabContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.view = DensityView()
        self.log_scale = QtWidgets.QCheckBox("log scale")
        self.log_scale.setToolTip("Colour by log p instead of p: shows the tails")
        self.contours = QtWidgets.QCheckBox("contours")
        self.contours.setToolTip("Lines of equal density")
        self.show_points = QtWidgets.QCheckBox("particles")
        self.show_points.setChecked(True)
        self.log_scale.toggled.connect(self.view.set_log_scale)
        self.show_points.toggled.connect(self.view.set_points_visible)
        self.contours.toggled.connect(lambda _: self._draw())
        self.isos = [pg.IsocurveItem(pen=pg.mkPen("#FFFFFF", width=1.2)) for _ in range(3)]
        for iso in self.isos:
            iso.setParentItem(self.view.image)
        row = QtWidgets.QHBoxLayout()
        for w in (self.log_scale, self.contours, self.show_points):
            row.addWidget(w)
        row.addStretch(1)
        lay = QtWidgets.QVBoxLayout(self.body)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.view, 1)
        self.densities: list[PathFrame] = []
        self.particles: list[ParticlesFrame] = []

    # -- scenes --------------------------------------------------------------------
    def settings(self) -> dict[str, object]:
        return {"log_scale": self.log_scale.isChecked(), "contours": self.contours.isChecked(),
                "particles": self.show_points.isChecked()}

    def configure(self, log_scale: bool | None = None, contours: bool | None = None, particles: bool | None = None,
                  **_: object) -> None:
        for box, value in ((self.log_scale, log_scale), (self.contours, contours), (self.show_points, particles)):
            if value is not None:
                box.setChecked(bool(value))

    # -- computing -----------------------------------------------------------------
    def _jobs(self) -> Iterator[PathFrame | ParticlesFrame]:
        tm, d = self.ctx.trained, self.ctx.density
        assert tm is not None and d is not None
        yield from particle_frames(tm, 2000)
        yield from path_frames(tm, d, self.ctx.box, TIMES)

    def refresh(self) -> None:
        self.stop_background()
        self.densities, self.particles = [], []
        tm = self.ctx.trained
        self.header.set_equation(DIFFUSION_EQUATION if tm is not None and tm.kind not in FLOW_KINDS else CNF_EQUATION)
        if tm is None or self.ctx.density is None:
            self.header.set_status("No model yet: showing the data density p₁. Train or open a model to see its path.")
            self._draw()
            return
        self.header.set_status("Computing the path…")
        self.run_in_background(self._jobs, self._on_frame, self._on_done)

    def refresh_now(self) -> None:
        self.stop_background()
        if self.ctx.trained is not None and not self.densities:
            for f in self._jobs():
                self._store(f)
        self._draw()

    def _on_frame(self, f: PathFrame | ParticlesFrame) -> None:
        self._store(f)
        self._draw()

    def _store(self, f: PathFrame | ParticlesFrame) -> None:
        if isinstance(f, PathFrame):
            self.densities.append(f)
        else:
            self.particles.append(f)

    def _on_done(self, how: str) -> None:
        if how == "done":
            kind = self.ctx.kind
            self.header.set_status(f"{kind}: {len(self.densities)} density frames, {len(self.particles)} particle "
                                   "frames. Play the time bar (Space) or drag it.")

    def on_time(self, t: float) -> None:
        self._draw()

    # -- drawing -------------------------------------------------------------------
    def _draw(self) -> None:
        d, t = self.ctx.density, self.ctx.t
        if d is None:
            return
        grid = _nearest(self.densities, t)
        if self.ctx.trained is None or grid is None:
            grid_arr = d.density_grid(128) if self.ctx.trained is None else None
            self.view.set_density(grid_arr, d.box)
            pts = d.sample(2000, seed=0) if self.ctx.trained is None else None
            self.view.set_points(None if pts is None else pts.x, None if pts is None else pts.labels)
        else:
            self.view.set_density(grid.density, d.box)
        p = _nearest(self.particles, t)
        if p is not None:
            self.view.set_points(p.x)
        self.view.set_title(f"p_t at t = {t:.2f}" if self.ctx.trained is not None else "data density p_1")
        self._draw_contours(grid.density if grid is not None else None)

    def _draw_contours(self, g: np.ndarray | None) -> None:
        on = self.contours.isChecked() and g is not None
        for iso, frac in zip(self.isos, (0.2, 0.45, 0.7)):
            iso.setVisible(on)
            if on:
                assert g is not None
                iso.setData(g)
                iso.setLevel(float(g.max()) * frac)


def _nearest(frames: list, t: float):
    if not frames:
        return None
    return min(frames, key=lambda f: abs(f.t - t))
