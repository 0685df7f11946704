"""Export from the window: the current view as PNG or SVG, its animation as GIF or MP4, its data as NPZ or CSV."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtSvg, QtWidgets

from engine.densities import DataMap
from engine.errors import InputError
from engine.files import atomic_write
from widgets.density_view import DensityView
from widgets.figure import figure_mode

from .frames import grab_rgb, write_frames
from .lab_tabs import LabTabs
from .labs.base import Lab
from .labs.context import LabContext
from .labs.registry import lab_title

__all__ = ["Exporter", "export_svg", "view_data", "write_csv", "write_npz", "ANIMATION_FRAMES"]

ANIMATION_FRAMES = 48


def export_svg(widget: QtWidgets.QWidget, path: str) -> None:
    """The widget drawn into an SVG (vector axes and text; heatmaps as embedded pictures)."""
    gen = QtSvg.QSvgGenerator()
    gen.setFileName(path)
    gen.setSize(widget.size())
    gen.setViewBox(QtCore.QRect(QtCore.QPoint(0, 0), widget.size()))
    gen.setTitle("flowscope")
    painter = QtGui.QPainter(gen)
    widget.render(painter, QtCore.QPoint(0, 0))
    painter.end()


def view_data(widget: QtWidgets.QWidget) -> dict[str, np.ndarray]:
    """Particles and grids shown by the density views inside ``widget`` (model coordinates)."""
    out: dict[str, np.ndarray] = {}
    for k, view in enumerate(widget.findChildren(DensityView)):
        tag = "" if k == 0 else f"_{k}"
        if view.points.count:
            out[f"particles{tag}"] = view.points._xy.astype(np.float32)
        img = view.image.image
        if img is not None and view.image.isVisible():
            out[f"grid{tag}"] = np.asarray(img, np.float32)
            out[f"extent{tag}"] = np.asarray(view._box, np.float64)
    return out


class Exporter:
    """Exports what the current tab shows, asking for a file name when none is given.

    Args:
        parent: the window its dialogs belong to.
        lab_tabs: the tabs whose current view is exported, and their time bar.
        ctx: the shared context (the density's data map for CSV and NPZ, the time an animation restores).
        status: where a finished export is announced.
        last_dir: the folder a file dialog opens in.
    """

    def __init__(self, parent: QtWidgets.QWidget, lab_tabs: LabTabs, ctx: LabContext, status: QtWidgets.QStatusBar,
                 last_dir: Callable[[], str]) -> None:
        self.parent, self.lab_tabs, self.ctx, self.status, self.last_dir = parent, lab_tabs, ctx, status, last_dir
        self.exporting = False  # an animation's frames are being drawn
        self.closing = False  # the window is closing: an animation export in progress stops and writes nothing

    def shutdown(self) -> None:
        """Stop an animation export between two frames; it writes nothing."""
        self.closing = True

    def _current_widget(self) -> QtWidgets.QWidget:
        lab = self.lab_tabs.current_lab()
        return lab if lab is not None else self.lab_tabs.tabs.currentWidget()

    @contextmanager
    def _as_figure(self, widget: QtWidgets.QWidget) -> Iterator[None]:
        """The view as a figure while it is exported: its title, equation and time; no controls."""
        name = self.lab_tabs.current_name()
        with figure_mode(widget, "Training" if name == "training" else lab_title(name)):
            self._show_time(widget)
            QtWidgets.QApplication.processEvents()  # lay the figure out before it is drawn
            yield
        QtWidgets.QApplication.processEvents()

    def _show_time(self, widget: QtWidgets.QWidget) -> None:
        lab = self.lab_tabs.current_lab()
        if lab is widget:
            lab.header.show_time(lab.ctx.t if lab.uses_time else None)

    def _ask(self, title: str, filters: str) -> str:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.parent, title, self.last_dir(), filters)
        return path

    def _warn(self, title: str, text: str) -> bool:
        QtWidgets.QMessageBox.warning(self.parent, title, text)
        return False

    def _done(self, text: str) -> bool:
        self.status.showMessage(text, 5000)
        return True

    def export_image(self, path: str | None = None) -> bool:
        """The current view as a PNG picture or an SVG drawing."""
        path = path or self._ask("Export view", "PNG picture (*.png);;SVG drawing (*.svg)")
        if not path:
            return False
        widget = self._current_widget()
        ext = os.path.splitext(path)[1].lower()
        try:
            if ext not in (".svg", ".png"):
                raise InputError(f"{path}: choose a .png or .svg file name")
            with self._as_figure(widget), atomic_write(path) as tmp:
                if ext == ".svg":
                    export_svg(widget, tmp)
                elif not widget.grab().save(tmp):
                    raise InputError(f"{path}: cannot write the picture")
        except InputError as e:
            return self._warn("Export", str(e))
        return self._done(f"Exported {path}")

    def export_animation(self, path: str | None = None, frames: int = ANIMATION_FRAMES) -> bool:
        """The current lab swept over its time bar, as a GIF or an MP4."""
        lab = self.lab_tabs.current_lab()
        if lab is None:
            QtWidgets.QMessageBox.information(self.parent, "Export animation", "Open one of the views (a tab) first.")
            return False
        path = path or self._ask("Export animation", "Animated GIF (*.gif);;MP4 video (*.mp4)")
        if not path:
            return False
        ext = os.path.splitext(path)[1].lower()
        if ext not in (".gif", ".mp4"):
            return self._warn("Export animation", f"{path}: choose a .gif or .mp4 file name")
        return self._record(lab, path, ext, frames)

    def _record(self, lab: Lab, path: str, ext: str, count: int) -> bool:
        """Draw the frames with a progress dialog, then encode them; the time bar is restored after."""
        playing, t0 = self.lab_tabs.time_bar.playing, self.ctx.t
        self.lab_tabs.time_bar.play(False)
        progress = QtWidgets.QProgressDialog("Drawing frames…", "Cancel", 0, count, self.parent)
        progress.setWindowTitle("Export animation")
        progress.setMinimumDuration(300)
        self.exporting = True
        try:
            images = self._draw(lab, count, progress)
            if images is None:
                return False
            progress.setLabelText("Encoding…")
            write_frames(path, ext, images, fps=15.0)
        except InputError as e:
            return self._warn("Export animation", str(e))
        finally:
            self.exporting = False
            progress.close()
            progress.deleteLater()  # a child of the window: it would live as long as the window
            if not self.closing:
                self.ctx.set_time(t0)
                self.lab_tabs.time_bar.play(playing)
        return self._done(f"Exported {len(images)} frames to {path}")

    def _draw(self, lab: Lab, count: int, progress: QtWidgets.QProgressDialog) -> list[np.ndarray] | None:
        """The lab's frames; None when cancelled or when the window closes between frames."""
        images = []
        with self._as_figure(lab):
            for k in lab.render_frames(count):
                self._show_time(lab)
                QtWidgets.QApplication.processEvents()
                if progress.wasCanceled() or self.closing:
                    return None
                images.append(grab_rgb(lab))
                progress.setValue(k + 1)
        return images

    def export_data(self, path: str | None = None) -> bool:
        """The particles and grids the current view shows, as NPZ (all of them) or CSV (the particles)."""
        data = view_data(self._current_widget())
        if not data:
            QtWidgets.QMessageBox.information(self.parent, "Export data", "This view shows no particles or grids.")
            return False
        path = path or self._ask("Export particles and grids", "NumPy archive (*.npz);;Particles as CSV (*.csv)")
        if not path:
            return False
        dmap = self.ctx.density.data_map if self.ctx.density is not None else None
        try:
            if path.lower().endswith(".csv"):
                write_csv(path, data, dmap)
            else:
                write_npz(path, data, dmap)
        except (InputError, OSError) as e:
            return self._warn("Export data", str(e))
        return self._done(f"Exported {', '.join(sorted(data))} to {path}")


def write_csv(path: str, data: dict[str, np.ndarray], dmap: DataMap | None) -> None:
    """The first view's particles as x,y rows, in the data's own units when it has them."""
    pts = data.get("particles")
    if pts is None:
        raise InputError("this view shows no particles to write as CSV")
    pts = dmap.to_user(pts) if dmap is not None else pts
    with atomic_write(path) as tmp:
        np.savetxt(tmp, pts, delimiter=",", header="x,y", comments="", fmt="%.7g")


def write_npz(path: str, data: dict[str, np.ndarray], dmap: DataMap | None) -> None:
    """Every array in ``data``, plus the particles in the data's own units and the map between them."""
    arrays: dict[str, Any] = dict(data)  # typed loosely: savez's own keywords would otherwise claim them
    if dmap is not None:
        arrays.update({k.replace("particles", "particles_user"): dmap.to_user(v)
                       for k, v in data.items() if k.startswith("particles")})
        arrays["data_map_shift"] = np.asarray(dmap.shift)
        arrays["data_map_scale"] = np.asarray(dmap.scale)
    with atomic_write(path if path.lower().endswith(".npz") else path + ".npz") as tmp:
        np.savez(tmp, **arrays)
