"""Scenes: plain JSON files that reproduce a demo (density, model, view, seeds, locked controls).

A scene is validated against the schema below before anything is used: unknown keys and
bad values are refused with one sentence naming them. Paths inside a scene (a pretrained
checkpoint) are relative to the scene file and must stay inside its folder, or inside the
shipped pretrained folder.

The shipped scenes and pretrained models live in the repository's assets/ folder, installed as
the package ``app.assets``; they are found with importlib.resources, so a source checkout and
an installed wheel find them the same way. A shipped scene can be named without its folder
(``flowscope render --scene score_field``).
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import re
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from engine.errors import InputError
from engine.files import atomic_write, read_bytes
from engine.schema import MAX_DEPTH

from .labs.registry import lab_names

__all__ = ["Scene", "load_scene", "save_scene", "shipped_scenes", "ASSETS", "SCENES_DIR", "PRETRAINED_DIR",
           "HIDEABLE", "LOCKABLE"]



def _assets_dir() -> str:
    """The installed package app.assets as a path (pip installs wheels unpacked; an editable
    install maps the package to the repository's assets/ folder)."""
    try:
        return str(files("app.assets"))
    except ModuleNotFoundError:
        raise ModuleNotFoundError("flowscope's assets (the package app.assets) are not installed: "
                                  "run `bash .ci/setup` again, or `pip install .`") from None


ASSETS = _assets_dir()
SCENES_DIR = os.path.join(ASSETS, "scenes")
PRETRAINED_DIR = os.path.join(ASSETS, "pretrained")
FORMAT = 1
MAX_SCENE_BYTES = 20 << 20
HIDEABLE = ("densities", "training", "time_bar", "tabs")
LOCKABLE = ("density", "model", "view")
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[^\[\]{}]")

# view.settings: key -> (kind, low, high) for numbers, (str, allowed or None, max length) for text.
# A scene is JSON a person may edit: every value a lab receives is checked here first.
_N = (int, float)
VIEW_SETTINGS: dict[str, tuple[Any, Any, Any]] = {
    "log_scale": (bool, None, None), "contours": (bool, None, None), "same_length": (bool, None, None),
    "reference": (bool, None, None), "dots": (bool, None, None),
    "solver": (str, ("euler", "midpoint", "rk4", "dopri5", "sde"), None),
    "sampler": (str, None, 40), "kind": (str, ("cfg", "classifier"), None),
    "probe": (str, ("gaussian", "rademacher"), None),
    "source": (str, None, 40), "method": (str, None, 40), "start": (str, None, 40), "sde": (str, None, 40),
    "drift_x": (str, None, 200), "drift_y": (str, None, 200), "diffusion": (str, None, 200),
    "steps": (int, 1, 10_000), "particles": (int, 1, 1_000_000), "label": (int, 0, 1000), "k": (int, 1, 1000),
    "batch": (int, 1, 100_000), "grid": (int, 16, 1024), "every": (int, 1, 10_000),
    "guidance": (_N, -100.0, 100.0), "eta": (_N, 0.0, 10.0),
}
SHIPPED_VIEWS = ("training", "path", "trajectories", "field", "langevin", "kfp", "guidance", "trace", "adjoint")
_ANY: tuple[Any, Any, Any] = (object, None, None)

# where a view gives a key another meaning: path's "particles" is a check box, not a count
VIEW_OVERRIDES: dict[str, dict[str, tuple[Any, Any, Any]]] = {"path": {"particles": (bool, None, None)}}
TOP_KEYS = {"flowscope_scene", "title", "description", "density", "model", "view", "seed", "controls",
            "theme", "font_pt", "presentation"}


@dataclass
class Scene:
    """A validated scene. ``density`` is a SPEC string, or embedded data: {"points": [[x, y], ...],
    "labels": [...]} or {"image_png": base64 PNG} (a drawing)."""

    title: str = ""
    description: str = ""
    density: str | dict[str, Any] = "8gaussians"
    model: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    checkpoint: str | None = None  # absolute, checked path
    view: str = "training"
    t: float = 1.0
    playing: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    hidden: list[str] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)
    theme: str | None = None
    font_pt: int | None = None
    presentation: bool = False  # opens as a figure filling the screen: title, description, no panels
    path: str = ""


def _fail(path: str, problem: str) -> InputError:
    return InputError(f"{path}: {problem}")


def _check_keys(path: str, where: str, d: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise _fail(path, f"unknown key '{unknown[0]}' in {where}; allowed: {', '.join(sorted(allowed))}")


def _typed(path: str, where: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise _fail(path, f"{where} must be a number, not true/false")
    if not isinstance(value, kind):
        name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _fail(path, f"{where} must be {name}, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(path, f"{where} must be a finite number")
    return value


def _inside(child: str, parent: str) -> bool:
    child, parent = os.path.realpath(child), os.path.realpath(parent)
    return os.path.commonpath([child, parent]) == parent


def _checkpoint_path(path: str, ref: str) -> str:
    """A checkpoint named in a scene: relative to it, and inside its folder or the shipped assets."""
    if os.path.isabs(ref):
        raise _fail(path, f"checkpoint '{ref}' must be a path relative to the scene file")
    full = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), ref))
    if not (_inside(full, os.path.dirname(os.path.abspath(path))) or _inside(full, PRETRAINED_DIR)):
        raise _fail(path, f"checkpoint '{ref}' points outside the scene's folder")
    if not os.path.isfile(full):
        raise _fail(path, f"checkpoint '{ref}' does not exist")
    return full


def _density(path: str, value: Any) -> str | dict[str, Any]:
    if isinstance(value, str):
        if value.startswith(("file:", "image:")):
            raise _fail(path, "a scene embeds its data ({\"points\": ...} or {\"image_png\": ...}) instead of "
                        "naming a file")
        return value
    d = _typed(path, "density", value, dict)
    _check_keys(path, "density", d, {"points", "labels", "image_png"})
    if "image_png" in d:
        _typed(path, "density.image_png", d["image_png"], str)
    elif "points" in d:
        pts = _typed(path, "density.points", d["points"], list)
        if not all(isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                             for v in p) for p in pts):
            raise _fail(path, "density.points must be a list of [x, y] number pairs")
    else:
        raise _fail(path, "density must be a name, {\"points\": ...} or {\"image_png\": ...}")
    return d


def parse_scene(path: str, raw: dict[str, Any]) -> Scene:
    """Validate a decoded scene (see the module docstring)."""
    _typed(path, "the scene", raw, dict)
    _check_keys(path, "the scene", raw, TOP_KEYS)
    if raw.get("flowscope_scene") != FORMAT:
        raise _fail(path, f"not a flowscope scene (expected \"flowscope_scene\": {FORMAT})")
    s = Scene(path=os.path.abspath(path))
    s.title = str(_typed(path, "title", raw.get("title", ""), str))
    s.description = str(_typed(path, "description", raw.get("description", ""), str))
    s.density = _density(path, raw.get("density", "8gaussians"))
    s.seed = int(_typed(path, "seed", raw.get("seed", 0), int))
    model = _typed(path, "model", raw.get("model", {}), dict)
    _check_keys(path, "model", model, {"kind", "options", "checkpoint"})
    if model:
        s.model = _typed(path, "model.kind", model.get("kind", "cnf"), str)
        if s.model not in ("cnf", "fm", "ddpm", "ncsn"):
            raise _fail(path, f"model.kind '{s.model}' is not one of cnf, fm, ddpm, ncsn")
        s.options = dict(_typed(path, "model.options", model.get("options", {}), dict))
        if "checkpoint" in model:
            s.checkpoint = _checkpoint_path(path, _typed(path, "model.checkpoint", model["checkpoint"], str))
    view = _typed(path, "view", raw.get("view", {}), dict)
    _check_keys(path, "view", view, {"name", "t", "playing", "settings"})
    s.view = _typed(path, "view.name", view.get("name", "training"), str)
    views = ["training", *lab_names()]
    if s.view not in views:
        raise _fail(path, f"view.name '{s.view}' is not one of {', '.join(views)}")
    s.t = float(_typed(path, "view.t", view.get("t", 1.0), (int, float)))
    if not 0.0 <= s.t <= 1.0:
        raise _fail(path, "view.t must be between 0 and 1")
    s.playing = bool(_typed(path, "view.playing", view.get("playing", False), bool))
    s.settings = _view_settings(path, s.view, _typed(path, "view.settings", view.get("settings", {}), dict))
    controls = _typed(path, "controls", raw.get("controls", {}), dict)
    _check_keys(path, "controls", controls, {"hidden", "locked"})
    s.hidden = _names(path, "controls.hidden", controls.get("hidden", []), HIDEABLE)
    s.locked = _names(path, "controls.locked", controls.get("locked", []), LOCKABLE)
    if "theme" in raw:
        s.theme = _typed(path, "theme", raw["theme"], str)
        if s.theme not in ("dark", "light"):
            raise _fail(path, "theme must be dark or light")
    s.presentation = bool(_typed(path, "presentation", raw.get("presentation", False), bool))
    if "font_pt" in raw:
        s.font_pt = int(_typed(path, "font_pt", raw["font_pt"], int))
        if not 6 <= s.font_pt <= 40:
            raise _fail(path, "font_pt must be between 6 and 40")
    return s


def _view_settings(path: str, view: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The view's settings after checking each against :data:`VIEW_SETTINGS` (a bad one names its key).

    The shipped views take only the keys of the table; a lab registered beyond them may take
    others, each a plain value: true/false, a finite number of magnitude up to 1e6, or a short text.
    """
    table = {**VIEW_SETTINGS, **VIEW_OVERRIDES.get(view, {})}
    if view in SHIPPED_VIEWS:
        _check_keys(path, "view.settings", settings, set(table))
    for key, value in settings.items():
        kind, low, high = table.get(key, _ANY)
        if kind is _ANY[0]:
            _plain(path, f"view.settings.{key}", value)
            continue
        where = f"view.settings.{key}"
        if kind is bool:
            _typed(path, where, value, bool)
        elif kind is str:
            _typed(path, where, value, str)
            if isinstance(low, tuple) and value not in low:
                raise _fail(path, f"{where} must be one of {', '.join(low)}, not {value[:40]!r}")
            if isinstance(high, int) and len(value) > high:
                raise _fail(path, f"{where} is longer than {high} characters")
        else:
            number = _typed(path, where, value, kind)
            if kind is int and isinstance(value, bool):
                raise _fail(path, f"{where} must be a whole number")
            if not low <= number <= high:
                raise _fail(path, f"{where} must be between {low:g} and {high:g}, not {number}")
    return dict(settings)


def _plain(path: str, where: str, value: Any) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        if not (math.isfinite(value) and abs(value) <= 1e6):
            raise _fail(path, f"{where} must be a finite number of magnitude at most 1e6, not {value}")
        return
    if isinstance(value, str):
        if len(value) > 200:
            raise _fail(path, f"{where} is longer than 200 characters")
        return
    raise _fail(path, f"{where} must be true/false, a number or a text, not {type(value).__name__}")


def _names(path: str, where: str, value: Any, allowed: tuple[str, ...]) -> list[str]:
    names = _typed(path, where, value, list)
    for n in names:
        if n not in allowed:
            raise _fail(path, f"{where}: '{n}' is not one of {', '.join(allowed)}")
    return list(names)


def shipped_scenes() -> list[str]:
    """The names of the scenes that ship with flowscope (file names without .json), sorted."""
    return sorted(n[:-5] for n in os.listdir(SCENES_DIR) if n.endswith(".json"))


def _scene_file(path: str) -> str:
    """``path`` itself if it is a file, else the shipped scene of that name (with or without .json)."""
    if os.path.isfile(path) or os.path.dirname(path):
        return path
    name = path[:-5] if path.endswith(".json") else path
    return os.path.join(SCENES_DIR, f"{name}.json") if name in shipped_scenes() else path


def load_scene(path: str) -> Scene:
    """Read and validate a scene file, or a shipped scene named without its folder."""
    path = _scene_file(path)
    if not os.path.lexists(path):
        raise _fail(path, f"no such scene file (shipped scenes: {', '.join(shipped_scenes())})")
    raw_bytes = read_bytes(path, MAX_SCENE_BYTES, "scene file")
    try:
        raw = decode_json(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise _fail(path, "not a text file") from None
    except json.JSONDecodeError as e:
        raise _fail(path, f"not valid JSON (line {e.lineno}: {e.msg})") from None
    except InputError as e:
        raise _fail(path, str(e)) from None
    return parse_scene(path, raw)


def decode_json(text: str) -> Any:
    """JSON text decoded, refusing nesting deeper than MAX_DEPTH in one sentence (before the decoder
    would recurse that deep)."""
    import numpy as np

    brackets = np.frombuffer(_BRACKETS.sub("", _STRINGS.sub("", text)).encode("ascii"), np.uint8)
    opening = (brackets == ord("[")) | (brackets == ord("{"))
    if len(brackets) and int(np.cumsum(np.where(opening, 1, -1)).max()) > MAX_DEPTH:
        raise InputError(f"nests lists or objects more than {MAX_DEPTH} levels deep")
    try:
        value = json.loads(text)
    except RecursionError:
        raise InputError(f"nests lists or objects more than {MAX_DEPTH} levels deep") from None
    return value


def scene_to_dict(s: Scene, checkpoint_ref: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"flowscope_scene": FORMAT, "title": s.title, "description": s.description,
                           "density": s.density, "seed": s.seed,
                           "view": {"name": s.view, "t": round(s.t, 4), "playing": s.playing, "settings": s.settings},
                           "controls": {"hidden": s.hidden, "locked": s.locked}}
    if s.model:
        out["model"] = {"kind": s.model, "options": s.options}
        if checkpoint_ref:
            out["model"]["checkpoint"] = checkpoint_ref
    if s.theme:
        out["theme"] = s.theme
    if s.font_pt:
        out["font_pt"] = s.font_pt
    if s.presentation:
        out["presentation"] = True
    return out


def save_scene(path: str, data: dict[str, Any]) -> None:
    parse_scene(path, json.loads(json.dumps(data)))  # never write a scene that would not load
    with atomic_write(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)


def png_to_base64(rgba_or_gray: Any) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba_or_gray).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")
