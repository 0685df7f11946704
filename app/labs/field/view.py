"""Vector field: the CNF's velocity f_θ(x, t) or the diffusion model's score s_θ(x, t) as arrows."""

from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from engine.api import FLOW_KINDS
from widgets.arrows_item import ArrowField
from widgets.density_view import DensityView
from widgets.plot_style import restyle

from ..base import Lab
from ..context import LabContext
from .compute import field_at

__all__ = ["FieldLab"]

VELOCITY = "dz/dt = f<sub>θ</sub>(z, t) &nbsp;&nbsp; <small>(arrows: velocity; colour: divergence tr ∂f/∂z)</small>"
SCORE = ("s<sub>θ</sub>(x<sub>τ</sub>, τ) = −ε<sub>θ</sub>(x<sub>τ</sub>, τ) / √(1 − ᾱ<sub>τ</sub>) ≈ "
         "∇<sub>x</sub> log p<sub>τ</sub>(x), &nbsp; τ = 1 − t")
EXPLANATION = (
    "<b>CNF</b>: the arrows are the velocity that moves every point at time t; the background is its "
    "divergence, which by the instantaneous change of variables is how fast log-density falls along a path "
    "(red: spreading out, blue: concentrating). <b>Diffusion</b>: the arrows are the learned score, "
    "pointing up the slope of log p<sub>τ</sub>; near data (t → 1) it is sharp, near noise (t → 0) it is "
    "almost −x/σ². Colour of an arrow = its length.")


class FieldLab(Lab):
    equation = VELOCITY
    explanation = EXPLANATION

    def __init__(self, ctx: LabContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.view = DensityView()
        self.view.set_colormap("CET-D1")  # diverging: the sign of the divergence matters
        self.arrows = ArrowField(self.view.plot.getPlotItem())
        self.normalize = QtWidgets.QCheckBox("same length")
        self.normalize.setToolTip("Draw every arrow the same length; colour still shows the magnitude")
        self.normalize.setChecked(True)
        self.normalize.toggled.connect(lambda _: self.refresh())
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.normalize)
        row.addStretch(1)
        lay = QtWidgets.QVBoxLayout(self.body)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.view, 1)
        self._pending = False

    def settings(self) -> dict[str, object]:
        return {"same_length": self.normalize.isChecked()}

    def configure(self, same_length: bool | None = None, **_: object) -> None:
        if same_length is not None:
            self.normalize.setChecked(bool(same_length))

    def refresh(self) -> None:
        tm = self.ctx.trained
        if tm is None or self.ctx.density is None:
            self.arrows.clear()
            self.view.set_density(None, self.ctx.box)
            self.header.set_status("No model yet: train or open a model to see its field.")
            return
        self.header.set_equation(VELOCITY if tm.kind in FLOW_KINDS else SCORE)
        if self.busy:
            self._pending = True  # draw the newest time once the current one is done
            return
        t, box = self.ctx.t, self.ctx.box
        self.run_in_background(lambda: iter([field_at(tm, box, t)]), self._draw, self._on_done)

    def refresh_now(self) -> None:
        if self.ctx.trained is not None:
            self._draw(field_at(self.ctx.trained, self.ctx.box, self.ctx.t))

    def _on_done(self, how: str) -> None:
        if self._pending:
            self._pending = False
            self._worker = None
            self.refresh()

    def _draw(self, frame: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]) -> None:
        xs, ys, vec, background = frame
        self.arrows.set_field(xs, ys, vec, normalize=self.normalize.isChecked())
        first = self.arrows.legend is None
        self.arrows.show_legend("|f| (arrow colour)" if background is not None else "|s| (arrow colour)")
        if first:
            restyle(self.view)  # the arrows' colour bar is made on first use: it takes the theme
        if background is not None:
            lim = float(np.abs(background).max()) or 1.0
            self.view.set_map(background, self.ctx.box, (-lim, lim), "div f")
        else:
            self.view.set_density(None, self.ctx.box)
        name = "velocity" if background is not None else "score"
        self.header.set_status(f"{name} at t = {self.ctx.t:.2f}; longest arrow |v| = {self.arrows.max_magnitude:.3g}")
