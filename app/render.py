"""Rendering a lab offscreen: the same widgets as the window, frame by frame."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["render_view"]


def render_view(checkpoint: str | None, view: str, size: tuple[int, int], count: int, *, density: str | None = None,
                options: dict[str, Any] | None = None, scene: Any = None,
                progress: Callable[[int, int], None] | None = None, theme: str = "dark",
                font_scale: float = 1.0) -> list[np.ndarray]:
    """Frames (h, w, 3) uint8 of lab ``view`` for the model in ``checkpoint``, drawn as a figure:
    plots, title, equation, colour bars, legends and the time, in ``theme`` with text ``font_scale``
    times the window's default size; no controls."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.application import create_application
    from app.frames import grab_rgb
    from app.labs.context import LabContext
    from app.labs.registry import available_labs, lab_title, make_lab
    from app.theme import DEFAULT_FONT_PT, apply_theme
    from engine.checkpoint import load_trained
    from engine.densities import get_density
    from engine.device import configure_threads
    from engine.errors import InputError
    from widgets.figure import figure_mode
    from widgets.plot_style import restyle

    present = available_labs()
    if view not in present:
        raise InputError(f"--view {view}: not available; choose one of {', '.join(present)}")
    configure_threads()
    app = create_application()
    apply_theme(app, theme, DEFAULT_FONT_PT * font_scale)  # this render's look, not the window's settings
    ckpt = checkpoint or (scene.checkpoint if scene is not None else None)
    tm = load_trained(ckpt) if ckpt else None
    ctx = LabContext()
    if scene is not None and not density:
        from app.scene_data import scene_density

        d, spec = scene_density(scene)
    else:
        spec = density or (str(tm.density.get("spec")) if tm is not None else "8gaussians")
        d = get_density(spec)
    ctx.set_density(d, spec)
    ctx.set_model(tm)
    lab = make_lab(view, ctx)
    lab.configure(**{k: v for k, v in (options or {}).items() if v is not None})
    restyle(lab)
    lab.resize(*size)
    lab.show()
    app.processEvents()
    frames = []
    try:
        with figure_mode(lab, lab_title(view)):
            for k in lab.render_frames(count):
                lab.header.show_time(ctx.t if lab.uses_time else None)
                app.processEvents()
                frames.append(grab_rgb(lab))
                if progress:
                    progress(k, count)
    finally:
        lab.shutdown()
        lab.close()
    return frames
