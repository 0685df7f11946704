"""Opening and saving scenes in the window: density, model, view, time, locked controls."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from PySide6 import QtWidgets

from engine.checkpoint import TrainedModel, load_trained, save_checkpoint
from engine.densities import Density
from engine.errors import InputError
from widgets.train_panel import TrainPanel

from .lab_tabs import LabTabs
from .labs.context import LabContext
from .presentation import Presentation
from .scene_data import embed_density, scene_density
from .scenes import SCENES_DIR, Scene, load_scene, save_scene, scene_to_dict
from .training_controller import TrainingController

__all__ = ["SceneController", "SCENE_FILTER"]

SCENE_FILTER = "flowscope scenes (*.json);;All files (*)"


class SceneController:
    """Applies a scene to the window's parts and captures them as a scene.

    Args:
        window: the window a scene titles, and its dialogs' parent.
        training: the training run a scene stops, and the model it adopts or saves.
        panel: the training form a scene fills (model, options, seed).
        lab_tabs: the view a scene opens, and its time bar.
        ctx: the shared context (the density shown, the time a scene sets).
        presentation: the look a scene sets, and the controls it hides or locks.
        show_density: shows a scene's density under its spec.
        last_dir: the folder the save dialog opens in.
    """

    def __init__(self, window: QtWidgets.QMainWindow, training: TrainingController, panel: TrainPanel,
                 lab_tabs: LabTabs, ctx: LabContext, presentation: Presentation,
                 show_density: Callable[[Density, str], bool], last_dir: Callable[[], str]) -> None:
        self.window, self.training, self.panel, self.lab_tabs = window, training, panel, lab_tabs
        self.ctx, self.presentation, self.show_density, self.last_dir = ctx, presentation, show_density, last_dir
        self.scene: Scene | None = None

    def open(self, path: str | None = None) -> bool:
        """Open a scene file (asking for one when ``path`` is None); a bad one is one dialog."""
        if not path:
            folder = SCENES_DIR if os.path.isdir(SCENES_DIR) else self.last_dir()
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self.window, "Open scene", folder, SCENE_FILTER)
        if not path:
            return False
        try:
            self.apply(load_scene(path))
        except InputError as e:
            QtWidgets.QMessageBox.warning(self.window, "Cannot open this scene", str(e))
            return False
        return True

    def apply(self, scene: Scene) -> None:
        """Show a validated scene (raises InputError when its density or model cannot be used)."""
        density, spec = scene_density(scene)
        trained = load_trained(scene.checkpoint) if scene.checkpoint else None
        if self.training.running:
            self.training.stop()
            self.training.shutdown()
        self.presentation.apply_look(scene.theme, scene.font_pt)
        self.show_density(density, spec)
        if trained is not None:
            self.training.adopt(trained)  # also sets the form like the model, so Train retrains it
        if scene.model:
            self._set_model(scene.model, scene.options, trained)
        self.panel.seed.setValue(scene.seed)
        self._show_view(scene)
        self.presentation.set_controls(hidden=scene.hidden, locked=scene.locked)
        self.window.setWindowTitle(f"flowscope — {scene.title}" if scene.title else "flowscope")
        self.scene = scene
        self.presentation.set_scene(scene)
        self.presentation.set_presentation(scene.presentation)

    def _set_model(self, model: str, options: dict[str, Any], trained: TrainedModel | None) -> None:
        """The scene's model and its options in the training form."""
        self.panel.set_model(model)
        form = self.panel.forms[model]
        if trained is None or "conditional" in options:  # the scene's own options win
            self.training.set_conditional(bool(options.get("conditional", False)))
        for key, value in options.items():
            if key in form.editors:
                form.set_value(key, value)

    def _show_view(self, scene: Scene) -> None:
        """The scene's tab, with its settings, at its time, playing or not.

        The lab is set up before its tab opens: opened first, it would compute its first frame with
        its previous settings at the previous time, and again for each of the scene's."""
        if scene.view in self.lab_tabs.names:
            lab = self.lab_tabs.lab(scene.view)  # built, not yet active
            if scene.settings:
                lab.configure(**scene.settings)
        self.ctx.set_time(scene.t)
        self.lab_tabs.show_view(scene.view)
        self.lab_tabs.time_bar.play(scene.playing)

    def save_as(self) -> None:
        """Ask for a file name and save the window there as a scene."""
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, "Save scene", self.last_dir(), SCENE_FILTER)
        if not path:
            return
        path = path if path.endswith(".json") else path + ".json"
        try:
            self.save(path)
            self.window.statusBar().showMessage(f"Saved the scene to {path}", 5000)
        except InputError as e:
            QtWidgets.QMessageBox.warning(self.window, "Cannot save the scene", str(e))

    def save(self, path: str) -> None:
        """Write the window as a scene; a trained model goes beside it as NAME.pt."""
        if self.ctx.density is None:
            raise InputError("there is no density to save")
        s = Scene(title=os.path.splitext(os.path.basename(path))[0],
                  density=embed_density(self.ctx.density, self.ctx.spec))
        s.model, s.options, s.seed = self.panel.model(), self.panel.options(), self.panel.seed.value()
        s.view, s.t, s.playing = self.lab_tabs.current_name(), self.ctx.t, self.lab_tabs.time_bar.playing
        lab = self.lab_tabs.current_lab()
        s.settings = lab.settings() if lab is not None else {}
        if self.scene is not None:
            s.hidden, s.locked, s.description = self.scene.hidden, self.scene.locked, self.scene.description
        ref = None
        if self.training.trained is not None:
            ckpt = os.path.splitext(path)[0] + ".pt"
            save_checkpoint(ckpt, self.training.trained.to_checkpoint())
            ref = os.path.basename(ckpt)
        save_scene(path, scene_to_dict(s, ref))
