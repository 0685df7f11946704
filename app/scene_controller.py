"""Opening and saving scenes in the window: density, model, view, time, locked controls."""

from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6 import QtWidgets

from engine.checkpoint import load_trained, save_checkpoint
from engine.densities import Density, get_density
from engine.densities.data import _check_points, image_from_bytes, points_density
from engine.errors import InputError

from .scenes import Scene, load_scene, png_to_base64, save_scene, scene_to_dict

if TYPE_CHECKING:
    from .main_window import MainWindow

__all__ = ["SceneController", "scene_density"]

EMBED_POINTS = 20_000


def scene_density(scene: Scene) -> tuple[Density, str]:
    """The scene's density and the spec the window shows for it."""
    if isinstance(scene.density, str):
        return get_density(scene.density), scene.density
    label = f"scene:{scene.title or os.path.basename(scene.path)}"
    d = scene.density
    if "image_png" in d:
        try:
            raw = base64.b64decode(d["image_png"], validate=True)
        except ValueError:
            raise InputError(f"{scene.path}: density.image_png is not valid base64") from None
        return image_from_bytes(raw, scene.path, label), label
    x, labels = _check_points(scene.path, np.asarray(d["points"], np.float64),
                              None if d.get("labels") is None else np.asarray(d["labels"]))
    return points_density(x, labels, label, f"{len(x):,} points from the scene"), label


def embed_density(density: Density, spec: str) -> str | dict[str, Any]:
    """A density as a scene stores it: built-in names stay names, user data is embedded."""
    if not (spec.startswith(("file:", "image:", "scene:", "drawn:"))):
        return spec
    weights = getattr(density, "weights", None)
    if weights is not None:  # a picture or a drawing: store its darkness as an 8-bit PNG
        dark = np.asarray(weights) / max(float(np.max(weights)), 1e-300)
        return {"image_png": png_to_base64((255 * (1.0 - dark)).round().astype(np.uint8))}
    s = density.sample(EMBED_POINTS, seed=0)
    pts = density.data_map.to_user(s.x).round(5).tolist()
    out: dict[str, Any] = {"points": pts}
    if s.labels is not None:
        out["labels"] = s.labels.tolist()
    return out


class SceneController:
    """Applies a scene to a window and captures the window as a scene."""

    def __init__(self, window: MainWindow) -> None:
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
        w.show_density(density, spec)
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
