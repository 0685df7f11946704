"""The main window: density picker, central density view, menus, status bar, remembered state."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from engine.errors import InputError
from widgets.curves_view import CurvesView
from widgets.density_picker import DensityPicker
from widgets.density_view import DensityView
from widgets.draw_canvas import DrawDialog
from widgets.train_panel import TrainPanel

from .memory import release_memory
from .menus import DENSITY_ITEMS, build_menus, show_shortcuts
from .settings import Settings
from .train_process import close_standby, prewarm
from .window_layout import FirstFrame, fit_docks

# The window's parts that load torch and the engine are imported where they are first used, when
# the window is built (build()): run_gui paints the window first and builds it after, so the
# first paint waits for Qt and pyqtgraph only (~0.7 s of CPU instead of ~2.7 s)
if TYPE_CHECKING:
    from engine.densities import Density

    from .density_controller import DensityState
    from .worker import GeneratorWorker

__all__ = ["MainWindow"]

DATA_FILTER = "Point data (*.npy *.npz *.csv *.txt *.tsv);;All files (*)"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"


TRIM_EVERY_MS = 20_000
THUMBNAILS_AFTER_MS = 1500


class MainWindow(QtWidgets.QMainWindow):
    """flowscope's window: it builds the views and docks and hands each part its collaborators.

    The parts: ``training`` (TrainingController), ``models`` (ModelFiles), ``exporter`` (Exporter),
    ``presentation`` (Presentation), ``scenes`` (SceneController) and ``menu_actions`` (by slot name).
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
        self.state: DensityState | None = None
        self.built = False
        self._seed = 0
        self._drawings = 0
        self._asked = (density, model)
        self._status_workers: list[GeneratorWorker] = []
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

    def _build_views(self) -> None:
        """The density and model views over the training curves, as the first tab of the labs."""
        from .lab_tabs import LabTabs
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
        column = QtWidgets.QVBoxLayout(page)
        column.setContentsMargins(4, 4, 4, 4)
        column.addLayout(views, 3)
        column.addWidget(self.curves, 2)
        self.ctx = LabContext(self)
        self.lab_tabs = LabTabs(self.ctx, page)
        self.lab_tabs.install_shortcuts(self)
        self.setCentralWidget(self.lab_tabs)

    def _build_training(self, model: str) -> None:
        """The training form in the right dock, and the controller that runs it."""
        from engine.device import describe_devices

        from .lab_tabs import scrolled
        from .option_specs import MODELS, option_specs
        from .training_controller import TrainingController

        devices = [("auto", f"Auto ({describe_devices()[-1][1]})")] + describe_devices()
        self.panel = TrainPanel(MODELS, {k: option_specs(k) for k, _, _ in MODELS}, devices)
        self.training = TrainingController(self.panel, self.curves, self.model_view, self)
        self.training.error.connect(self._on_training_error)
        self.training.message.connect(lambda m: self.statusBar().showMessage(m, 5000))
        self.training_dock = self._dock("Training", "training_dock", scrolled(self.panel),
                                        QtCore.Qt.DockWidgetArea.RightDockWidgetArea)
        self.panel.set_model(model)

    def _build_picker(self) -> None:
        """The density list in the left dock."""
        from .density_controller import builtin_entries

        self.picker = DensityPicker(builtin_entries())
        self.density_dock = self._dock("Density", "density_dock", self.picker,
                                       QtCore.Qt.DockWidgetArea.LeftDockWidgetArea)
        self.picker.density_requested.connect(self._on_density_requested)
        self.picker.open_file_requested.connect(self.open_data_file)
        self.picker.open_image_requested.connect(self.open_image)

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
        from .export import Exporter
        from .model_files import ModelFiles
        from .presentation import Presentation
        from .scene_controller import SceneController

        tab_bar = self.lab_tabs.tabs.tabBar()
        self.presentation = Presentation(
            self, self.settings, self.lab_tabs,
            hideable={"densities": self.density_dock, "training": self.training_dock,
                      "time_bar": self.lab_tabs.time_area, "tabs": tab_bar},
            lockable={"density": [self.picker], "model": [self.panel], "view": [tab_bar]})
        self.exporter = Exporter(self, self.lab_tabs, self.ctx, self.statusBar(), self._last_dir)
        self.models = ModelFiles(self, self.training, self.ctx, self.model_view, self.statusBar(), self._last_dir,
                                 lambda spec: self.set_density(spec, quiet=True))
        self.panel.train_requested.connect(self.models.stop_preview)
        self.ctx.adopt_requested.connect(self.models.adopt)
        self.scenes = SceneController(self, self.training, self.panel, self.lab_tabs, self.ctx, self.presentation,
                                      self._show_scene_density, self._last_dir)
        self.menu_actions = build_menus(self, self._menu_slots())
        self.presentation.lock_with("density", *(self.menu_actions[name] for name in DENSITY_ITEMS))
        self.menu_actions["show_particles"].setChecked(True)

    def _menu_slots(self) -> dict[str, Callable[..., object]]:
        """What each menu item does (menus.MENUS names them)."""
        look = self.presentation
        return {
            "open_model": self.models.open_model, "save_model": self.models.save_model,
            "open_data_file": self.open_data_file, "open_image": self.open_image, "draw_density": self.draw_density,
            "open_scene": self.scenes.open, "save_scene": self.scenes.save_as,
            "export_image": self.exporter.export_image, "export_animation": self.exporter.export_animation,
            "export_data": self.exporter.export_data, "quit": self.close,
            "train_toggle": self.training.toggle, "train_stop": self.training.stop,
            "train_reset": self.training.reset,
            "resample": self.resample, "log_scale": self.view.set_log_scale,
            "show_particles": self.view.set_points_visible, "full_screen": look.toggle_full_screen,
            "presentation": look.toggle_presentation,
            "dark_theme": lambda: look.apply_look("dark"), "light_theme": lambda: look.apply_look("light"),
            "larger_text": lambda: look.change_font(+1), "smaller_text": lambda: look.change_font(-1),
            "show_all_controls": look.set_controls, "shortcuts": lambda: show_shortcuts(self),
            "about": self.show_about,
        }

    def _start_timers(self) -> None:
        self._thumbs = list(self.picker.names())
        # owned by the window, so it stops when the window goes away
        self._thumb_timer = QtCore.QTimer(self)
        self._thumb_timer.timeout.connect(self._make_next_thumbnail)
        # after the first frames of what the window opened on (~0.5 s of CPU for the 13 of them)
        QtCore.QTimer.singleShot(THUMBNAILS_AFTER_MS, self._thumb_timer, lambda: self._thumb_timer.start(0))
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

    # -- density -----------------------------------------------------------------
    def set_density(self, spec: str, quiet: bool = False) -> bool:
        """Show ``spec``; on bad input show one clear message and keep the current density."""
        if self._refuse_while_training():
            return False
        from .density_controller import load_density_state

        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
        try:
            state = load_density_state(spec, seed=self._seed)
        except InputError as e:
            if quiet:
                self.statusBar().showMessage(f"Could not reopen the last density: {e}", 10_000)
            else:
                QtWidgets.QMessageBox.warning(self, "Cannot use this density", str(e))
            if self.state is not None:
                self.picker.set_current(self.state.spec)
            return False
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
        return self._show_state(state)

    def show_density(self, density: Density, spec: str) -> bool:
        """Show a density made here (a drawing, a scene's embedded data)."""
        from .density_controller import density_state

        if self._refuse_while_training():
            return False
        return self._show_state(density_state(density, spec, self._seed))

    def _show_scene_density(self, density: Density, spec: str) -> bool:
        """A scene's density, shown; a plain start still reopens the density the user picked."""
        picked = self.settings.get("density", None)
        shown = self.show_density(density, spec)
        if picked is not None:
            self.settings.set("density", picked)
        return shown

    def _refuse_while_training(self) -> bool:
        if not self.training.running:
            return False
        QtWidgets.QMessageBox.information(self, "Training is running", "Stop training before changing the density.")
        if self.state is not None:
            self.picker.set_current(self.state.spec)
        return True

    def _show_state(self, state: DensityState) -> bool:
        spec = state.spec
        self.state = state
        self.models.stop_preview()
        self.training.set_density(state.density, spec)
        self.ctx.set_model(None)
        self.ctx.set_density(state.density, spec)
        self.view.set_density(state.grid, state.density.box)
        self.view.set_points(state.points, state.labels)
        self.view.set_title(state.density.name if ":" not in state.spec else os.path.basename(state.spec))
        self.view.fit()
        self.picker.set_current(spec)
        self.status_label.setText(state.status_text(entropy=False))
        self._complete_status(state)
        if not spec.startswith("scene:"):
            self.settings.set("density", spec)
        self.density_changed.emit(spec)
        return True

    def _complete_status(self, state: DensityState) -> None:
        """The status line with the density's entropy, computed off the GUI thread (~0.3 s, which a
        scene's first frames need not wait for) and shown unless another density came meanwhile."""
        from .worker import GeneratorWorker

        if not state.density.analytic:
            return

        def text() -> Iterator[str]:
            yield state.status_text()

        def arrived(line: object) -> None:
            if self.state is state:
                self.status_label.setText(str(line))

        def ended() -> None:
            worker.shutdown()  # its thread has ended: this returns at once and lets it go
            self._status_workers.remove(worker)

        # an earlier one still computing is left to finish (waiting for it would hold the window)
        worker = GeneratorWorker(text)
        worker.yielded.connect(arrived)
        worker.finished.connect(ended)
        worker.failed.connect(lambda _text: ended())  # the line simply keeps no entropy
        self._status_workers.append(worker)
        worker.start()

    def resample(self) -> None:
        if self.state is not None:
            self._seed += 1
            s = self.state.density.sample(len(self.state.points), seed=self._seed)
            self.view.set_points(s.x, s.labels)

    def open_data_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open data file", self._last_dir(), DATA_FILTER)
        if path:
            self.settings.set("last_dir", os.path.dirname(path))
            self.set_density(f"file:{path}")

    def open_image(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open image", self._last_dir(), IMAGE_FILTER)
        if path:
            self.settings.set("last_dir", os.path.dirname(path))
            self.set_density(f"image:{path}")

    def _last_dir(self) -> str:
        return str(self.settings.get("last_dir", os.path.expanduser("~")))

    def _on_density_requested(self, spec: str) -> None:
        if self.state is None or spec != self.state.spec:
            self.set_density(spec)

    def _make_next_thumbnail(self) -> None:
        """One thumbnail per event-loop turn, so the window is usable while they appear."""
        if not self._thumbs:
            self._thumb_timer.stop()
            return
        from engine.densities import builtin_density

        from .density_controller import thumbnail_grid

        name = self._thumbs.pop(0)
        self.picker.set_thumbnail(name, thumbnail_grid(builtin_density(name)))

    def open_scene(self, path: str | None = None) -> bool:
        return self.scenes.open(path)

    def draw_density(self, mass: np.ndarray | None = None) -> bool:
        """Paint a density (or use ``mass``, an (H, W) array); any model can then train on it."""
        if mass is None:
            dialog = DrawDialog(self)
            if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
                return False
            mass = dialog.canvas.array()
        from engine.densities.data import darkness_density

        self._drawings += 1
        try:
            d = darkness_density(mass, f"drawn:{self._drawings}", "your drawing")
        except InputError as e:
            QtWidgets.QMessageBox.warning(self, "Cannot use this drawing", str(e))
            return False
        return self.show_density(d, d.name)

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
            screen = QtGui.QGuiApplication.primaryScreen()
            avail = screen.availableGeometry() if screen else QtCore.QRect(0, 0, 1600, 1000)
            self.resize(min(1600, int(avail.width() * 0.95)), min(1000, int(avail.height() * 0.95)))

    def _restore(self, density: str | None, show_density: bool = True) -> None:
        st = self.settings.get("window_state", None)
        if st is not None:
            self.restoreState(st)
        self.menu_actions["log_scale"].setChecked(bool(self.settings.get("log_scale", False)))
        spec = density or str(self.settings.get("density", "8gaussians"))
        if not show_density:
            pass
        elif density is None and spec.startswith(("file:", "image:")):
            self.set_density("8gaussians")
            self._reopen_in_background(spec)
        elif not self.set_density(spec, quiet=density is None) and spec != "8gaussians":
            self.set_density("8gaussians")
        if self.settings.notes:
            self.statusBar().showMessage("Saved settings: " + "; ".join(self.settings.notes), 15_000)

    def _reopen_in_background(self, spec: str) -> None:
        """The remembered file, read off the GUI thread (a big or unreadable file never holds the window
        up); shown when it arrives unless the user has moved on."""
        from .density_controller import DensityState, load_density_state
        from .worker import GeneratorWorker

        def load() -> Iterator[DensityState]:
            yield load_density_state(spec, seed=self._seed)

        def arrived(state: object) -> None:
            if isinstance(state, DensityState) and self.state is not None and self.state.spec == "8gaussians" \
                    and not self.training.running:
                self._show_state(state)

        worker = GeneratorWorker(load)
        worker.yielded.connect(arrived)
        worker.failed.connect(lambda text: self.statusBar().showMessage(f"Could not reopen the last density: {text}",
                                                                        10_000))
        self._reopen_worker = worker
        worker.start()

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
        if getattr(self, "_reopen_worker", None) is not None:
            self._reopen_worker.shutdown()
        for worker in list(self._status_workers):
            worker.shutdown()
        close_standby()
        self.models.stop_preview()
        self.settings.set("model", self.panel.model())
        self.settings.set("geometry", self.saveGeometry())
        self.settings.set("window_state", self.saveState())
        self.settings.set("log_scale", self.menu_actions["log_scale"].isChecked())
        self.settings.sync()
        super().closeEvent(event)
