"""Export from the window: the current view as PNG or SVG, its animation as GIF or MP4, its data as NPZ or CSV."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtSvg, QtWidgets

from engine.errors import InputError
from engine.files import atomic_write
from widgets.density_view import DensityView
from widgets.figure import figure_mode

from .frames import grab_rgb, write_frames
from .labs.registry import lab_title

__all__ = ["ExportMixin", "export_svg", "view_data"]

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


class ExportMixin:
    """For MainWindow: expects ``lab_tabs``, ``state``, ``settings`` and ``_last_dir``."""

    lab_tabs: Any
    state: Any
    closing = False  # set by the window's closeEvent: an export in progress then stops
    exporting = False

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
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, title, self._last_dir(), filters)  # type: ignore[attr-defined]
        return path

    def export_image(self, path: str | None = None) -> bool:
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
            QtWidgets.QMessageBox.warning(self, "Export", str(e))  # type: ignore[call-overload]
            return False
        self.statusBar().showMessage(f"Exported {path}", 5000)  # type: ignore[attr-defined]
        return True

    def export_animation(self, path: str | None = None, frames: int = ANIMATION_FRAMES) -> bool:
        lab = self.lab_tabs.current_lab()
        if lab is None:
            QtWidgets.QMessageBox.information(self, "Export animation", "Open one of the views (a tab) first.")  # type: ignore[call-overload]
            return False
        path = path or self._ask("Export animation", "Animated GIF (*.gif);;MP4 video (*.mp4)")
        if not path:
            return False
        ext = os.path.splitext(path)[1].lower()
        if ext not in (".gif", ".mp4"):
            QtWidgets.QMessageBox.warning(self, "Export animation", f"{path}: choose a .gif or .mp4 file name")  # type: ignore[call-overload]
            return False
        return self._record(lab, path, ext, frames)

    def _record(self, lab: Any, path: str, ext: str, count: int) -> bool:
        """Draw the frames with a progress dialog; the event loop runs between frames."""
        progress = QtWidgets.QProgressDialog("Drawing frames…", "Cancel", 0, count, self)  # type: ignore[call-overload]
        progress.setWindowTitle("Export animation")
        progress.setMinimumDuration(300)
        playing = self.lab_tabs.time_bar.playing
        self.lab_tabs.time_bar.play(False)
        t0 = lab.ctx.t
        images = []
        self.exporting = True
        try:
            with self._as_figure(lab):
                for k in lab.render_frames(count):
                    self._show_time(lab)
                    QtWidgets.QApplication.processEvents()
                    if progress.wasCanceled() or self.closing:  # the window may be closed between frames
                        return False
                    images.append(grab_rgb(lab))
                    progress.setValue(k + 1)
            progress.setLabelText("Encoding…")
            write_frames(path, ext, images, fps=15.0)
        except InputError as e:
            QtWidgets.QMessageBox.warning(self, "Export animation", str(e))  # type: ignore[call-overload]
            return False
        finally:
            self.exporting = False
            progress.close()
            progress.deleteLater()  # a child of the window: it would live as long as the window
            if not self.closing:
                lab.ctx.set_time(t0)
                self.lab_tabs.time_bar.play(playing)
        self.statusBar().showMessage(f"Exported {len(images)} frames to {path}", 5000)  # type: ignore[attr-defined]
        return True

    def export_data(self, path: str | None = None) -> bool:
        data = view_data(self._current_widget())
        if not data:
            QtWidgets.QMessageBox.information(self, "Export data", "This view shows no particles or grids.")  # type: ignore[call-overload]
            return False
        path = path or self._ask("Export particles and grids", "NumPy archive (*.npz);;Particles as CSV (*.csv)")
        if not path:
            return False
        dmap = self.state.density.data_map if self.state is not None else None
        try:
            if path.lower().endswith(".csv"):
                pts = data.get("particles")
                if pts is None:
                    raise InputError("this view shows no particles to write as CSV")
                pts = dmap.to_user(pts) if dmap is not None else pts
                with atomic_write(path) as tmp:
                    np.savetxt(tmp, pts, delimiter=",", header="x,y", comments="", fmt="%.7g")
            else:
                if dmap is not None:
                    data.update({k.replace("particles", "particles_user"): dmap.to_user(v)
                                 for k, v in list(data.items()) if k.startswith("particles")})
                    data["data_map_shift"] = np.asarray(dmap.shift)
                    data["data_map_scale"] = np.asarray(dmap.scale)
                with atomic_write(path if path.lower().endswith(".npz") else path + ".npz") as tmp:
                    np.savez(tmp, **data)  # type: ignore[arg-type]
        except (InputError, OSError) as e:
            QtWidgets.QMessageBox.warning(self, "Export data", str(e))  # type: ignore[call-overload]
            return False
        self.statusBar().showMessage(f"Exported {', '.join(sorted(data))} to {path}", 5000)  # type: ignore[attr-defined]
        return True
