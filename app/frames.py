"""Frames of a view: a widget grabbed as an RGB array, and frames written as a PNG, GIF or MP4."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from PySide6 import QtWidgets

__all__ = ["grab_rgb", "same_size", "write_frames"]


def grab_rgb(widget: QtWidgets.QWidget) -> np.ndarray:
    """The widget as an (h, w, 3) uint8 array."""
    from PySide6 import QtGui  # here, so the command line starts without Qt

    img = widget.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    buf = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h).reshape(h, img.bytesPerLine())
    return buf[:, : 3 * w].reshape(h, w, 3).copy()


def same_size(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Crop every frame to the size all share, rounded down to even numbers (video encoders need that;
    a widget can change size by a pixel between grabs)."""
    h = min(f.shape[0] for f in frames) // 2 * 2
    w = min(f.shape[1] for f in frames) // 2 * 2
    return [np.ascontiguousarray(f[:h, :w]) for f in frames]


def write_frames(path: str, ext: str, frames: list[np.ndarray], fps: float) -> None:
    """The last frame as a PNG, or all of them as a GIF or an MP4 (``ext`` with its dot)."""
    import imageio.v2 as imageio

    from engine.files import atomic_write

    images: list[ArrayLike] = list(same_size(frames))
    with atomic_write(path) as tmp:  # the encoders write a temporary: a failure never clobbers an older file
        if ext == ".png":
            imageio.imwrite(tmp, images[-1])
        elif ext == ".gif":
            imageio.mimsave(tmp, images, duration=1000.0 / fps, loop=0)
        else:
            imageio.mimsave(tmp, images, fps=fps, codec="libx264", quality=8, macro_block_size=2)
