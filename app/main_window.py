"""The main window: density picker, central density view, menus, status bar, remembered state."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from widgets.curves_view import CurvesView
from widgets.density_picker import DensityPicker
from widgets.density_view import DensityView
from widgets.train_panel import TrainPanel

from .memory import release_memory
from .menus import DENSITY_ITEMS, build_menus, show_shortcuts
from .settings import Settings
from .train_process import close_standby, prewarm
from .window_layout import FirstFrame, available_geometry, first_geometry, fit_docks

# The window's parts that load torch and the engine are imported where they are first used, when
# the window is built (build()): run_gui paints the window first and builds it after, so the
# first paint waits for Qt and pyqtgraph only (~0.7 s of CPU instead of ~2.7 s)
if TYPE_CHECKING:
    from engine.densities import Density

    from .density_controller import DensityState

__all__ = ["MainWindow"]

TRIM_EVERY_MS = 20_000
PICTURE_MIN_PX = 150  # the least height of each training picture's plot, inside its title and axes
PICTURE_TEXT_LINES = 4  # its title, the ticks and the axis label, in lines of text


class MainWindow(QtWidgets.QMainWindow):
    """flowscope's window: it builds the views and docks and hands each part its collaborators.

    The parts: ``densities`` (DensityController), ``training`` (TrainingController), ``models``
    (ModelFiles), ``exporter`` (Exporter), ``presentation`` (Presentation), ``scenes``
    (SceneController) and ``menu_actions`` (by slot name).
    ``density_changed(spec)`` is emitted after a density is shown.

    With ``build=False`` the window is only its frame at its remembered size, with a line saying
    that it is loading (``first_painted`` is emitted when that has been painted); ``build()`` then
    imports torch and the engine and makes everything else.
    """

    density_changed = QtCore.Signal(str)
    first_painted = QtCore.Signal()

    def __init__(self, settings: Settings | None = None, density: str | None = None,
                 model: str | None = None, *, build: bool = True) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.built = False
        self._asked = (density, model)
        self.setWindowTitle("flowscope")
        self._restore_geometry()
        if build:
            self.build()
        else:
            first = FirstFrame()
            first.painted.connect(self.first_painted)
            self.setCentralWidget(first)

    def build(self, show_density: bool = True) -> None:
        """Make the views, docks, menus and parts, and show the density (once; later calls do nothing).

        ``show_density=False`` leaves the density to the caller (a scene about to show its own)."""
        if self.built:
            return
        density, model = self._asked
        self._build_views()
        self._build_training(model or str(self.settings.get("model", "cnf")))
        self._build_picker()
        self.status_label = QtWidgets.QLabel()
        self.statusBar().addWidget(self.status_label, 1)
        self._build_parts()
        self.built = True
        self._restore(density if show_density else None, show_density)
        self._start_timers()
        if self.isVisible():  # built after it was shown: no resize will come to fit the docks
            self._fit_docks(self.width())
            # ... and once more when the restored layout has settled: the state of a window left maximised,
            # restored into one whose geometry was still pending, kept the right dock at 645 of 1,022 px
            QtCore.QTimer.singleShot(0, self, lambda: self._fit_docks(self.width()))

    def _build_views(self) -> None:
        """The density and model views over the training curves, as the first tab of the labs."""
        from .lab_tabs import LabTabs, scrolled
        from .labs.context import LabContext

        self.view = DensityView(title="")
        self.model_view = DensityView(title="model: not trained yet")
        self.curves = CurvesView()
        # the two pictures side by side over the curves, in fixed shares of the height: a splitter
        # shared it out by the plots' size hints and left the curves ~35 px at 1024 x 768
        page = QtWidgets.QWidget()
        views = QtWidgets.QHBoxLayout()
        for w, stretch in ((self.view, 1), (self.model_view, 1)):
            w.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Ignored)
            views.addWidget(w, stretch)
        self.curves.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Ignored)
        # nor are the pictures squashed under the curves' least height in a small window (a
        # remembered 676 x 480 left them 20 px high): below both the page scrolls
        lines = self.fontMetrics().lineSpacing()
        for w in (self.view, self.model_view):
            w.setMinimumHeight(PICTURE_MIN_PX + PICTURE_TEXT_LINES * lines)
        column = QtWidgets.QVBoxLayout(page)
        column.setContentsMargins(4, 4, 4, 4)
        column.addLayout(views, 3)
        column.addWidget(self.curves, 2)
        self.ctx = LabContext(self)
        self.lab_tabs = LabTabs(self.ctx, scrolled(page))
        self.lab_tabs.install_shortcuts(self)
        self.setCentralWidget(self.lab_tabs)

    def _build_training(self, model: str) -> None:
        """The training form in the right dock, and the controller that runs it."""
        from engine.device import describe_devices

        from .option_specs import MODELS, option_specs
        from .training_controller import TrainingController

        devices = [("auto", f"Auto ({describe_devices()[-1][1]})")] + describe_devices()
        self.panel = TrainPanel(MODELS, {k: option_specs(k) for k, _, _ in MODELS}, devices)
        self.training = TrainingController(self.panel, self.curves, self.model_view, self)
        self.training.error.connect(self._on_training_error)
        self.training.message.connect(lambda m: self.statusBar().showMessage(m, 5000))
        self.training_dock = self._dock("Training", "training_dock", self.panel,
                                        QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.panel.set_model(model)

    def _build_picker(self) -> None:
        """The density list in the left dock."""
        from .density_controller import builtin_entries

        self.picker = DensityPicker(builtin_entries())
        self.density_dock = self._dock("Density", "density_dock", self.picker,
                                       QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)

    def _dock(self, title: str, name: str, widget: QtWidgets.QWidget,
              area: QtCore.Qt.DockWidgetArea) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(area, dock)
        return dock

    def _build_parts(self) -> None:
        """The window's parts, each given what it works with, then the menus that call them."""
        from .density_controller import DensityController
        from .export import Exporter
        from .model_files import ModelFiles
        from .presentation import Presentation
        from .scene_controller import SceneController

        tab_bar = self.lab_tabs.bar
        # the views' tabs in a row of the window's whole width (over the side panels): at 1024 px they
        # fit there without scroll arrows
        tabs_row = self.addToolBar("Views")
        tabs_row.setObjectName("views_bar")
        tabs_row.setMovable(False)
        tabs_row.setFloatable(False)
        tabs_row.toggleViewAction().setEnabled(False)
        tabs_row.setStyleSheet("QToolBar { border: 0px; padding: 0px; spacing: 0px; }")  # the bar's height only
        tabs_row.addWidget(tab_bar)
        self.presentation = Presentation(
            self, self.settings, self.lab_tabs,
            hideable={"densities": self.density_dock, "training": self.training_dock,
                      "time_bar": self.lab_tabs.time_area, "tabs": tabs_row},
            lockable={"density": [self.picker], "model": [self.panel], "view": [tab_bar]})
        self.models = ModelFiles(self, self.training, self.ctx, self.model_view, self.statusBar(),
                                 lambda: self.densities.last_dir(), lambda spec: self.set_density(spec, quiet=True))
        self.densities = DensityController(self, self.settings, self.picker, self.view, self.status_label,
                                           self.training, self.ctx, self.models.stop_preview)
        self.densities.density_changed.connect(self.density_changed)
        last_dir = self.densities.last_dir
        self.exporter = Exporter(self, self.lab_tabs, self.ctx, self.statusBar(), last_dir)
        self.panel.train_requested.connect(self.models.stop_preview)
        self.ctx.adopt_requested.connect(self.models.adopt)
        self.scenes = SceneController(self, self.training, self.panel, self.lab_tabs, self.ctx, self.presentation,
                                      self.densities.show_scene_density, last_dir)
        self.menu_actions = build_menus(self, self._menu_slots())
        self.presentation.lock_with("density", *(self.menu_actions[name] for name in DENSITY_ITEMS))
        self.menu_actions["show_particles"].setChecked(True)

    def _menu_slots(self) -> dict[str, Callable[..., object]]:
        """What each menu item does (menus.MENUS names them)."""
        look, densities = self.presentation, self.densities
        return {
            "open_model": self.models.open_model, "save_model": self.models.save_model,
            "open_data_file": densities.open_data_file, "open_image": densities.open_image,
            "draw_density": densities.draw_density,
            "open_scene": self.scenes.open, "save_scene": self.scenes.save_as,
            "export_image": self.exporter.export_image, "export_animation": self.exporter.export_animation,
            "export_data": self.exporter.export_data, "quit": self.close,
            "train_toggle": self.training.toggle, "train_stop": self.training.stop,
            "train_reset": self.training.reset,
            "resample": densities.resample, "log_scale": self.view.set_log_scale,
            "show_particles": self.view.set_points_visible, "full_screen": look.toggle_full_screen,
            "presentation": look.toggle_presentation,
            "dark_theme": lambda: look.apply_look("dark"), "light_theme": lambda: look.apply_look("light"),
            "larger_text": lambda: look.change_font(+1), "smaller_text": lambda: look.change_font(-1),
            "show_all_controls": look.set_controls, "shortcuts": lambda: show_shortcuts(self),
            "about": self.show_about,
        }

    def _start_timers(self) -> None:
        self.densities.start_thumbnails()
        # a training process imports torch in ~2 s: start one now so Train starts at once
        QtCore.QTimer.singleShot(1500, prewarm)
        # hand freed memory back to the system now and then (see app/memory.py)
        self._trim_timer = QtCore.QTimer(self)
        self._trim_timer.timeout.connect(release_memory)
        self._trim_timer.start(TRIM_EVERY_MS)

    # -- the parts' actions, as menus, scenes and scripts call them ------------------
    def open_model(self, path: str | None = None) -> bool:
        return self.models.open_model(path)

    def save_model(self) -> None:
        self.models.save_model()

    def export_image(self, path: str | None = None) -> bool:
        return self.exporter.export_image(path)

    def export_animation(self, path: str | None = None, frames: int | None = None) -> bool:
        """An animation of the current view (the exporter's frame count unless ``frames`` is given)."""
        if frames is None:
            return self.exporter.export_animation(path)
        return self.exporter.export_animation(path, frames)

    def export_data(self, path: str | None = None) -> bool:
        return self.exporter.export_data(path)

    def apply_look(self, theme: str | None = None, font_pt: int | None = None) -> None:
        self.presentation.apply_look(theme, font_pt)

    def change_font(self, delta: int) -> None:
        self.presentation.change_font(delta)

    def set_controls(self, hidden: Sequence[str] = (), locked: Sequence[str] = ()) -> None:
        self.presentation.set_controls(hidden, locked)

    # -- density ---------------------------------------------------------------------
    @property
    def state(self) -> DensityState | None:
        """The density shown (None before the first)."""
        return self.densities.state if self.built else None

    def set_density(self, spec: str, quiet: bool = False) -> bool:
        """Show ``spec``; on bad input show one clear message and keep the current density."""
        return self.densities.set_density(spec, quiet)

    def show_density(self, density: Density, spec: str) -> bool:
        return self.densities.show_density(density, spec)

    def draw_density(self, mass: np.ndarray | None = None) -> bool:
        """Paint a density (or use ``mass``, an (H, W) array); any model can then train on it."""
        return self.densities.draw_density(mass)

    def open_scene(self, path: str | None = None) -> bool:
        return self.scenes.open(path)

    def _on_training_error(self, text: str) -> None:
        QtWidgets.QMessageBox.warning(self, "Training", text)

    # -- help --------------------------------------------------------------------
    def show_about(self) -> None:
        from engine import __version__

        QtWidgets.QMessageBox.about(self, "About flowscope", f"<b>flowscope {__version__}</b><br>"
                                    "Watch normalizing flows, diffusion models and SDEs move probability.")

    # -- persistence -------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geo = self.settings.get("geometry", None)
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            rect, fill = first_geometry(available_geometry())
            # the whole rect too, for a projector with no window manager to maximise the window
            self.setGeometry(rect)
            if fill:
                self.setWindowState(self.windowState() | QtCore.Qt.WindowState.WindowMaximized)

    def _restore(self, density: str | None, show_density: bool = True) -> None:
        st = self.settings.get("window_state", None)
        if st is not None:
            self.restoreState(st)
        self.menu_actions["log_scale"].setChecked(bool(self.settings.get("log_scale", False)))
        if show_density:
            self.densities.restore(density)
        if self.settings.notes:
            self.statusBar().showMessage("Saved settings: " + "; ".join(self.settings.notes), 15_000)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if self.built and event.size().width() != event.oldSize().width():
            self._fit_docks(event.size().width())

    def _fit_docks(self, width: int) -> None:
        fit_docks(self, self.density_dock, self.training_dock, width)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if not self.built:  # closed while loading: nothing runs yet, and nothing new to remember
            super().closeEvent(event)
            return
        self.exporter.shutdown()  # an animation export drawing its frames stops and writes nothing
        self.training.shutdown()
        self.lab_tabs.shutdown()
        self.densities.shutdown()
        close_standby()
        self.models.stop_preview()
        self.settings.set("model", self.panel.model())
        self.settings.set("geometry", self.saveGeometry())
        self.settings.set("window_state", self.saveState())
        self.settings.set("log_scale", self.menu_actions["log_scale"].isChecked())
        self.settings.sync()
        super().closeEvent(event)
