"""The main window: density picker, central density view, menus, status bar, remembered state."""

from __future__ import annotations

import os

from PySide6 import QtCore, QtGui, QtWidgets

from engine.densities import builtin_density
from engine.device import describe_devices
from engine.errors import InputError
from widgets.curves_view import CurvesView
from widgets.density_picker import DensityPicker
from widgets.density_view import DensityView
from widgets.train_panel import TrainPanel

from .density_controller import DensityState, builtin_entries, load_density_state, thumbnail_grid
from .lab_tabs import LabTabs
from .labs.context import LabContext
from .model_preview import preview_frames
from .option_specs import MODELS, option_specs
from .settings import Settings
from .train_process import close_standby, prewarm
from .training_controller import TrainingController
from .worker import GeneratorWorker

__all__ = ["MainWindow"]

MODEL_FILTER = "flowscope models (*.pt);;All files (*)"
DATA_FILTER = "Point data (*.npy *.npz *.csv *.txt *.tsv);;All files (*)"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"
SHORTCUTS = [
    ("Ctrl+Enter", "train / pause / resume"), ("Esc", "stop training"), ("Ctrl+S", "save the model"),
    ("Ctrl+O", "open a model"), ("Ctrl+Shift+O", "open a data file"), ("Ctrl+I", "open an image"),
    ("R", "draw new particles"),
    ("L", "log colour scale"), ("P", "show or hide particles"), ("F1", "this list"), ("Ctrl+Q", "quit"),
]


class MainWindow(QtWidgets.QMainWindow):
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
        train_dock = QtWidgets.QDockWidget("Training", self)
        train_dock.setObjectName("training_dock")
        train_dock.setWidget(self.panel)
        train_dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, train_dock)
        self.panel.set_model(model or str(self.settings.get("model", "cnf")))
        self.picker = DensityPicker(builtin_entries())
        dock = QtWidgets.QDockWidget("Density", self)
        dock.setObjectName("density_dock")
        dock.setWidget(self.picker)
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.status_label = QtWidgets.QLabel()
        self.statusBar().addWidget(self.status_label, 1)
        self._build_menus()
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

    # -- menus -------------------------------------------------------------------
    def _action(self, menu: QtWidgets.QMenu, text: str, slot: object, shortcut: str | None = None,
                checkable: bool = False) -> QtGui.QAction:
        act = QtGui.QAction(text, self)
        if shortcut:
            act.setShortcut(QtGui.QKeySequence(shortcut))
        act.setCheckable(checkable)
        (act.toggled if checkable else act.triggered).connect(slot)  # type: ignore[attr-defined]
        menu.addAction(act)
        return act

    def _build_menus(self) -> None:
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self._action(f, "&Open model…", self.open_model, "Ctrl+O")
        self._action(f, "&Save model…", self.save_model, "Ctrl+S")
        f.addSeparator()
        self._action(f, "Open &data file…", self.open_data_file, "Ctrl+Shift+O")
        self._action(f, "Open &image…", self.open_image, "Ctrl+I")
        f.addSeparator()
        self._action(f, "&Quit", self.close, "Ctrl+Q")
        t = bar.addMenu("&Train")
        toggle = self._action(t, "&Train / pause / resume", self.training.toggle, "Ctrl+Return")
        toggle.setShortcuts([QtGui.QKeySequence("Ctrl+Return"), QtGui.QKeySequence("Ctrl+Enter")])
        self._action(t, "&Stop", self.training.stop, "Esc")
        self._action(t, "&Reset", self.training.reset)
        v = bar.addMenu("&View")
        self._action(v, "&New particles", self.resample, "R")
        self.log_action = self._action(v, "&Log colour scale", self.view.set_log_scale, "L", checkable=True)
        self.points_action = self._action(v, "Show &particles", self.view.set_points_visible, "P", checkable=True)
        self.points_action.setChecked(True)
        h = bar.addMenu("&Help")
        self._action(h, "&Keyboard shortcuts", self.show_shortcuts, "F1")
        self._action(h, "&About flowscope", self.show_about)

    # -- density -----------------------------------------------------------------
    def set_density(self, spec: str, quiet: bool = False) -> bool:
        """Show ``spec``; on bad input show one clear message and keep the current density."""
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
        try:
            state = load_density_state(spec, seed=self._seed)
        except InputError as e:
            QtWidgets.QApplication.restoreOverrideCursor()
            if quiet:
                self.statusBar().showMessage(f"Could not reopen the last density: {e}", 10_000)
            else:
                QtWidgets.QMessageBox.warning(self, "Cannot use this density", str(e))
            if self.state is not None:
                self.picker.set_current(self.state.spec)
            return False
        QtWidgets.QApplication.restoreOverrideCursor()
        if self.training.running:
            QtWidgets.QApplication.restoreOverrideCursor()
            QtWidgets.QMessageBox.information(self, "Training is running",
                                              "Stop training before changing the density.")
            if self.state is not None:
                self.picker.set_current(self.state.spec)
            return False
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

    # -- models ------------------------------------------------------------------
    def save_model(self) -> None:
        if self.training.trained is None:
            QtWidgets.QMessageBox.information(self, "Nothing to save", "Train or open a model first.")
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save model", self._last_dir(), MODEL_FILTER)
        if path:
            path = path if path.endswith(".pt") else path + ".pt"
            try:
                self.training.save(path)
            except InputError as e:
                QtWidgets.QMessageBox.warning(self, "Cannot save", str(e))

    def open_model(self, path: str | None = None) -> bool:
        if not path:
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open model", self._last_dir(), MODEL_FILTER)
        if not path:
            return False
        try:
            tm = self.training.load(path)
            spec = str(tm.density.get("spec", ""))
            if self.state is None or spec != self.state.spec:
                self.set_density(spec, quiet=True)
            self.training.adopt(tm)
        except InputError as e:
            QtWidgets.QMessageBox.warning(self, "Cannot open this model", str(e))
            return False
        return True

    def _on_model_ready(self, tm: object) -> None:
        """Draw a finished model's samples and density without blocking the window."""
        self._stop_preview()
        self.ctx.training = False
        self.ctx.set_model(tm)  # type: ignore[arg-type]
        box = self.state.density.box if self.state else (-4.0, 4.0, -4.0, 4.0)
        self._preview = GeneratorWorker(lambda: preview_frames(tm, box), min_interval=0.0)  # type: ignore[arg-type]
        self._preview.yielded.connect(self._on_preview)
        self._preview.failed.connect(lambda m: self.statusBar().showMessage(f"Could not draw the model: {m}", 8000))
        self._preview.start()

    def _stop_preview(self) -> None:
        if self._preview is not None:
            if not self._preview.shutdown(10_000):
                self._orphans.append(self._preview)  # never destroy a running QThread
            self._preview = None

    def _on_preview(self, p: object) -> None:
        if self._preview is None or self.training.running:
            return  # a late frame of a preview that was stopped
        self.model_view.set_points(p.samples)  # type: ignore[attr-defined]
        if p.grid is not None and self.state is not None:  # type: ignore[attr-defined]
            self.model_view.set_density(p.grid, self.state.density.box)  # type: ignore[attr-defined]
        self.model_view.set_title(f"{self.training.trained.kind if self.training.trained else 'model'} samples")

    def _on_live_model(self, tm: object) -> None:
        self.ctx.training = self.training.running
        self.ctx.set_model(tm)  # type: ignore[arg-type]

    def _on_training_error(self, text: str) -> None:
        QtWidgets.QMessageBox.warning(self, "Training", text)

    # -- help --------------------------------------------------------------------
    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in SHORTCUTS)
        QtWidgets.QMessageBox.information(self, "Keyboard shortcuts", f"<table>{rows}</table>")

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
        if not self.set_density(spec, quiet=density is None) and spec != "8gaussians":
            self.set_density("8gaussians")

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.training.shutdown()
        self.lab_tabs.shutdown()
        close_standby()
        self._stop_preview()
        self.settings.set("model", self.panel.model())
        self.settings.set("geometry", self.saveGeometry())
        self.settings.set("window_state", self.saveState())
        self.settings.set("log_scale", self.log_action.isChecked())
        self.settings.sync()
        super().closeEvent(event)
