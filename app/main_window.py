"""The main window: density picker, central density view, menus, status bar, remembered state."""

from __future__ import annotations

import os
from collections.abc import Iterator

from PySide6 import QtCore, QtGui, QtWidgets

from engine.densities import Density, builtin_density
from engine.densities.data import darkness_density
from engine.device import describe_devices
from engine.errors import InputError
from widgets.curves_view import CurvesView
from widgets.density_picker import DensityPicker
from widgets.density_view import DensityView
from widgets.draw_canvas import DrawDialog
from widgets.train_panel import TrainPanel

from .density_controller import DensityState, builtin_entries, density_state, load_density_state, thumbnail_grid
from .export import ExportMixin
from .lab_tabs import LabTabs, scrolled
from .labs.context import LabContext
from .memory import release_memory
from .menus import SHORTCUTS, build_menus
from .model_files import ModelFilesMixin
from .option_specs import MODELS, option_specs
from .presentation import PresentationMixin
from .scene_controller import SceneController
from .settings import Settings
from .train_process import close_standby, prewarm
from .training_controller import TrainingController
from .worker import GeneratorWorker

__all__ = ["MainWindow"]

SCENE_FILTER = "flowscope scenes (*.json);;All files (*)"
DATA_FILTER = "Point data (*.npy *.npz *.csv *.txt *.tsv);;All files (*)"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"


TRIM_EVERY_MS = 20_000


class MainWindow(ModelFilesMixin, PresentationMixin, ExportMixin, QtWidgets.QMainWindow):
    """flowscope's window. ``density_changed(spec)`` is emitted after a density is shown."""

    density_changed = QtCore.Signal(str)

    def __init__(self, settings: Settings | None = None, density: str | None = None,
                 model: str | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.state: DensityState | None = None
        self._seed = 0
        self._preview: GeneratorWorker | None = None
        self._orphans: list[GeneratorWorker] = []
        self._drawings = 0
        self.setWindowTitle("flowscope")
        self.view = DensityView(title="")
        self.model_view = DensityView(title="model: not trained yet")
        self.curves = CurvesView()
        views = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        views.addWidget(self.view)
        views.addWidget(self.model_view)
        page = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        page.addWidget(views)
        page.addWidget(self.curves)
        page.setStretchFactor(0, 4)
        page.setStretchFactor(1, 1)
        self.ctx = LabContext(self)
        self.lab_tabs = LabTabs(self.ctx, page)
        self.lab_tabs.install_shortcuts(self)
        self.setCentralWidget(self.lab_tabs)
        devices = [("auto", f"Auto ({describe_devices()[-1][1]})")] + describe_devices()
        self.panel = TrainPanel(MODELS, {k: option_specs(k) for k, _, _ in MODELS}, devices)
        self.training = TrainingController(self.panel, self.curves, self.model_view, self)
        self.training.error.connect(self._on_training_error)
        self.training.message.connect(lambda m: self.statusBar().showMessage(m, 5000))
        self.training.model_ready.connect(self._on_model_ready)
        self.training.live_model.connect(self._on_live_model)
        self.panel.train_requested.connect(self._stop_preview)
        self.training_dock = train_dock = QtWidgets.QDockWidget("Training", self)
        train_dock.setObjectName("training_dock")
        train_dock.setWidget(scrolled(self.panel))  # the panel scrolls on a 720-pixel-high screen
        train_dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, train_dock)
        self.panel.set_model(model or str(self.settings.get("model", "cnf")))
        self.picker = DensityPicker(builtin_entries())
        self.density_dock = dock = QtWidgets.QDockWidget("Density", self)
        dock.setObjectName("density_dock")
        dock.setWidget(self.picker)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.status_label = QtWidgets.QLabel()
        self.statusBar().addWidget(self.status_label, 1)
        build_menus(self)
        self.scenes = SceneController(self)
        self.picker.density_requested.connect(self._on_density_requested)
        self.picker.open_file_requested.connect(self.open_data_file)
        self.picker.open_image_requested.connect(self.open_image)
        self._restore(density)
        self._thumbs = list(self.picker.names())
        # owned by the window, so it stops when the window goes away
        self._thumb_timer = QtCore.QTimer(self)
        self._thumb_timer.timeout.connect(self._make_next_thumbnail)
        self._thumb_timer.start(0)
        # a training process imports torch in ~2 s: start one now so Train starts at once
        QtCore.QTimer.singleShot(1500, prewarm)
        # hand freed memory back to the system now and then (see app/memory.py)
        self._trim_timer = QtCore.QTimer(self)
        self._trim_timer.timeout.connect(release_memory)
        self._trim_timer.start(TRIM_EVERY_MS)

    # -- menus -------------------------------------------------------------------
    # -- density -----------------------------------------------------------------
    def set_density(self, spec: str, quiet: bool = False) -> bool:
        """Show ``spec``; on bad input show one clear message and keep the current density."""
        if self._refuse_while_training():
            return False
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
        if self._refuse_while_training():
            return False
        return self._show_state(density_state(density, spec, self._seed))

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
        self._stop_preview()
        self.training.set_density(state.density, spec)
        self.ctx.set_model(None)
        self.ctx.set_density(state.density, spec)
        self.view.set_density(state.grid, state.density.box)
        self.view.set_points(state.points, state.labels)
        self.view.set_title(state.density.name if ":" not in state.spec else os.path.basename(state.spec))
        self.view.fit()
        self.picker.set_current(spec)
        self.status_label.setText(state.status_text())
        if not spec.startswith("scene:"):
            self.settings.set("density", spec)
        self.density_changed.emit(spec)
        return True

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
        name = self._thumbs.pop(0)
        self.picker.set_thumbnail(name, thumbnail_grid(builtin_density(name)))

    SHORTCUTS = SHORTCUTS

    def open_scene(self, path: str | None = None) -> bool:
        if not path:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open scene", self._scene_dir(), SCENE_FILTER)
        return bool(path) and self.scenes.open(path)

    def save_scene(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save scene", self._last_dir(), SCENE_FILTER)
        if path:
            path = path if path.endswith(".json") else path + ".json"
            try:
                self.scenes.save(path)
                self.statusBar().showMessage(f"Saved the scene to {path}", 5000)
            except InputError as e:
                QtWidgets.QMessageBox.warning(self, "Cannot save the scene", str(e))

    def draw_density(self, mass: object = None) -> bool:
        """Paint a density (or use ``mass``, an (H, W) array); any model can then train on it."""
        if mass is None:
            dialog = DrawDialog(self)
            if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
                return False
            mass = dialog.canvas.array()
        self._drawings += 1
        try:
            d = darkness_density(mass, f"drawn:{self._drawings}", "your drawing")  # type: ignore[arg-type]
        except InputError as e:
            QtWidgets.QMessageBox.warning(self, "Cannot use this drawing", str(e))
            return False
        return self.show_density(d, d.name)

    def _scene_dir(self) -> str:
        from .scenes import SCENES_DIR

        return SCENES_DIR if os.path.isdir(SCENES_DIR) else self._last_dir()

    def _on_training_error(self, text: str) -> None:
        QtWidgets.QMessageBox.warning(self, "Training", text)

    # -- help --------------------------------------------------------------------
    def show_about(self) -> None:
        from engine import __version__

        QtWidgets.QMessageBox.about(self, "About flowscope", f"<b>flowscope {__version__}</b><br>"
                                    "Watch normalizing flows, diffusion models and SDEs move probability.")

    # -- persistence -------------------------------------------------------------
    def _restore(self, density: str | None) -> None:
        geo = self.settings.get("geometry", None)
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            screen = QtGui.QGuiApplication.primaryScreen()
            avail = screen.availableGeometry() if screen else QtCore.QRect(0, 0, 1600, 1000)
            self.resize(min(1600, int(avail.width() * 0.95)), min(1000, int(avail.height() * 0.95)))
        st = self.settings.get("window_state", None)
        if st is not None:
            self.restoreState(st)
        self.log_action.setChecked(bool(self.settings.get("log_scale", False)))
        spec = density or str(self.settings.get("density", "8gaussians"))
        if density is None and spec.startswith(("file:", "image:")):
            self.set_density("8gaussians")
            self._reopen_in_background(spec)
        elif not self.set_density(spec, quiet=density is None) and spec != "8gaussians":
            self.set_density("8gaussians")
        if self.settings.notes:
            self.statusBar().showMessage("Saved settings: " + "; ".join(self.settings.notes), 15_000)

    def _reopen_in_background(self, spec: str) -> None:
        """The remembered file, read off the GUI thread (a big or unreadable file never holds the window
        up); shown when it arrives unless the user has moved on."""
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

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.closing = True  # an animation export drawing its frames stops and writes nothing
        self.training.shutdown()
        self.lab_tabs.shutdown()
        if getattr(self, "_reopen_worker", None) is not None:
            self._reopen_worker.shutdown()
        close_standby()
        self._stop_preview()
        self.settings.set("model", self.panel.model())
        self.settings.set("geometry", self.saveGeometry())
        self.settings.set("window_state", self.saveState())
        self.settings.set("log_scale", self.log_action.isChecked())
        self.settings.sync()
        super().closeEvent(event)
