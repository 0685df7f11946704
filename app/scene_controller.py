"""Opening and saving scenes in the window: density, model, view, time, locked controls."""

from __future__ import annotations

import os
from typing import Any

from PySide6 import QtWidgets

from engine.checkpoint import load_trained, save_checkpoint
from engine.errors import InputError

from .scene_data import embed_density, scene_density
from .scenes import Scene, load_scene, save_scene, scene_to_dict

__all__ = ["SceneController"]


class SceneController:
    """Applies a scene to a window and captures the window as a scene."""

    def __init__(self, window: Any) -> None:
        self.w = window
        self.scene: Scene | None = None

    def open(self, path: str) -> bool:
        try:
            self.apply(load_scene(path))
        except InputError as e:
            QtWidgets.QMessageBox.warning(self.w, "Cannot open this scene", str(e))
            return False
        return True

    def apply(self, scene: Scene) -> None:
        """Show a validated scene (raises InputError when its density or model cannot be used)."""
        w = self.w
        density, spec = scene_density(scene)
        trained = load_trained(scene.checkpoint) if scene.checkpoint else None
        if w.training.running:
            w.training.stop()
            w.training.shutdown()
        w.apply_look(scene.theme, scene.font_pt)
        picked = w.settings.get("density", None)
        w.show_density(density, spec)
        if picked is not None:  # a plain start reopens what the user picked, not the last scene's density
            w.settings.set("density", picked)
        if trained is not None:
            w.training.adopt(trained)  # also sets the form like the model, so Train retrains it
        if scene.model:
            w.panel.set_model(scene.model)
            form = w.panel.forms[scene.model]
            if trained is None or "conditional" in scene.options:  # the scene's own options win
                w.training.set_conditional(bool(scene.options.get("conditional", False)))
            for key, value in scene.options.items():
                if key in form.editors:
                    form.set_value(key, value)
        w.panel.seed.setValue(scene.seed)
        w.lab_tabs.show_view(scene.view)
        lab = w.lab_tabs.current_lab()
        if lab is not None and scene.settings:
            lab.configure(**scene.settings)
        w.ctx.set_time(scene.t)
        w.lab_tabs.time_bar.play(scene.playing)
        w.set_controls(hidden=scene.hidden, locked=scene.locked)
        w.setWindowTitle(f"flowscope — {scene.title}" if scene.title else "flowscope")
        self.scene = scene
        w.set_presentation(scene.presentation)

    def save(self, path: str) -> None:
        """Write the window as a scene; a trained model goes beside it as NAME.pt."""
        w = self.w
        if w.state is None:
            raise InputError("there is no density to save")
        s = Scene(title=os.path.splitext(os.path.basename(path))[0], density=embed_density(w.state.density,
                                                                                          w.state.spec))
        s.model, s.options, s.seed = w.panel.model(), w.panel.options(), w.panel.seed.value()
        s.view, s.t, s.playing = w.lab_tabs.current_name(), w.ctx.t, w.lab_tabs.time_bar.playing
        lab = w.lab_tabs.current_lab()
        s.settings = lab.settings() if lab is not None else {}
        if self.scene is not None:
            s.hidden, s.locked, s.description = self.scene.hidden, self.scene.locked, self.scene.description
        ref = None
        if w.training.trained is not None:
            ckpt = os.path.splitext(path)[0] + ".pt"
            save_checkpoint(ckpt, w.training.trained.to_checkpoint())
            ref = os.path.basename(ckpt)
        save_scene(path, scene_to_dict(s, ref))
