"""The KFP lab's controls: which SDE (custom formulas included), grid size, particles, run again."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from .control_row import elide_choices, wrapping_row

__all__ = ["KfpControls"]

GRIDS = [64, 128, 256]
PARTICLES = [5_000, 20_000, 50_000, 100_000]
FORMULA_HELP = ("Formulas in x, y and t: numbers, + − * / ^, parentheses, pi, and sin cos exp log sqrt tanh abs. "
                "Press Enter to run.")


class KfpControls(QtWidgets.QWidget):
    """``run_requested`` whenever a choice changes (or on Run / Enter in a formula); read the
    choices from the properties. ``points_requested(on)`` shows or hides the particles' dots."""

    run_requested = QtCore.Signal()
    points_requested = QtCore.Signal(bool)

    def __init__(self, choices: list[tuple[str, str]], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.sde_box = QtWidgets.QComboBox()
        for key, text in choices:
            self.sde_box.addItem(text, key)
        self.drift_x = QtWidgets.QLineEdit("-x + sin(2*y)")
        self.drift_y = QtWidgets.QLineEdit("-y")
        self.diffusion = QtWidgets.QLineEdit("0.8")
        for edit, what in ((self.drift_x, "f_x(x, y, t)"), (self.drift_y, "f_y(x, y, t)"), (self.diffusion, "g(t)")):
            edit.setPlaceholderText(what)
            edit.setToolTip(FORMULA_HELP)
        self.grid_box = QtWidgets.QComboBox()
        for n in GRIDS:
            self.grid_box.addItem(f"{n} × {n}", n)
        self.grid_box.setCurrentIndex(GRIDS.index(128))
        self.particles_box = QtWidgets.QComboBox()
        for n in PARTICLES:
            self.particles_box.addItem(f"{n:,}".replace(",", " "), n)
        self.particles_box.setCurrentIndex(PARTICLES.index(20_000))
        self.points_check = QtWidgets.QCheckBox("dots")
        self.points_check.setChecked(True)
        self.points_check.setToolTip("Show some of the particles on the grid solution")
        self.run_button = QtWidgets.QPushButton("Run again")
        self.run_button.setToolTip("Solve again with new random particles")
        self._formulas = QtWidgets.QWidget()
        self._layout()
        self._connect()
        self._on_sde_changed()

    def _layout(self) -> None:
        """A band above the pictures: the choices in one row, the custom SDE's formulas in a second
        row shown only for it, so the panels keep the height."""
        formulas = QtWidgets.QHBoxLayout(self._formulas)
        formulas.setContentsMargins(0, 0, 0, 0)
        for text, edit in (("f<sub>x</sub> =", self.drift_x), ("f<sub>y</sub> =", self.drift_y),
                           ("g =", self.diffusion)):
            formulas.addWidget(QtWidgets.QLabel(text))
            formulas.addWidget(edit, 2 if edit is not self.diffusion else 1)
        # a long SDE name is elided in the box rather than widening the row past the window
        elide_choices(self.sde_box, 14)
        row = wrapping_row([("SDE", self.sde_box), ("grid", self.grid_box), ("particles", self.particles_box),
                            self.points_check, self.run_button])
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(row)
        lay.addWidget(self._formulas)

    def _connect(self) -> None:
        self.sde_box.currentIndexChanged.connect(self._on_sde_changed)
        self.sde_box.currentIndexChanged.connect(self.run_requested)
        for box in (self.grid_box, self.particles_box):
            box.currentIndexChanged.connect(self.run_requested)
        for edit in (self.drift_x, self.drift_y, self.diffusion):
            edit.returnPressed.connect(self.run_requested)
        self.run_button.clicked.connect(self.run_requested)
        self.points_check.toggled.connect(self.points_requested)

    # -- values ------------------------------------------------------------------------
    @property
    def sde(self) -> str:
        return str(self.sde_box.currentData())

    @property
    def formulas(self) -> dict[str, str]:
        return {"drift_x": self.drift_x.text(), "drift_y": self.drift_y.text(), "diffusion": self.diffusion.text()}

    @property
    def grid(self) -> int:
        return int(self.grid_box.currentData())

    @property
    def particles(self) -> int:
        return int(self.particles_box.currentData())

    def values(self) -> dict[str, object]:
        return {"sde": self.sde, "grid": self.grid, "particles": self.particles, **self.formulas,
                "dots": self.points_check.isChecked()}

    def apply(self, sde: str | None = None, grid: int | None = None, particles: int | None = None,
              drift_x: str | None = None, drift_y: str | None = None, diffusion: str | None = None,
              dots: bool | None = None) -> None:
        """Set several values at once without emitting run_requested (a scene was opened)."""
        for box, key in ((self.sde_box, sde), (self.grid_box, grid), (self.particles_box, particles)):
            if key is not None and box.findData(key) >= 0:
                box.blockSignals(True)
                box.setCurrentIndex(box.findData(key))
                box.blockSignals(False)
        for edit, text in ((self.drift_x, drift_x), (self.drift_y, drift_y), (self.diffusion, diffusion)):
            if text is not None:
                edit.setText(str(text))
        if dots is not None:
            self.points_check.setChecked(bool(dots))
        self._on_sde_changed()

    def select(self, key: str) -> None:
        """Choose an SDE (emits run_requested like a person's choice)."""
        self.sde_box.setCurrentIndex(self.sde_box.findData(key))

    def set_enabled_choice(self, key: str, enabled: bool, why: str = "") -> None:
        """Grey out a choice that cannot run now (the learned reverse process without a diffusion model)."""
        item = self.sde_box.model().item(self.sde_box.findData(key))  # type: ignore[attr-defined]
        item.setEnabled(enabled)
        item.setToolTip("" if enabled else why)

    def _on_sde_changed(self) -> None:
        self._formulas.setVisible(self.sde == "custom")
