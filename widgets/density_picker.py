"""A list of densities with small thumbnails, plus buttons for the user's own data."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from .palette import colormap

__all__ = ["DensityPicker", "thumbnail_icon"]

KEY_SETTLE_MS = 300  # the highlight must rest this long before the density under it opens


def thumbnail_icon(grid: np.ndarray, size: int = 56, cmap: str = "inferno") -> QtGui.QIcon:
    """An icon from a density grid (rows = y, so it is flipped to put y up)."""
    g = np.asarray(grid, np.float64)
    g = g / g.max() if g.max() > 0 else g
    rgba = colormap(cmap).map(np.sqrt(g[::-1]), mode="byte")
    rgba = np.ascontiguousarray(rgba, np.uint8)
    h, w = g.shape
    img = QtGui.QImage(rgba.data, w, h, 4 * w, QtGui.QImage.Format.Format_RGBA8888).copy()
    return QtGui.QIcon(QtGui.QPixmap.fromImage(img).scaled(size, size, QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                                                          QtCore.Qt.TransformationMode.SmoothTransformation))


class DensityPicker(QtWidgets.QWidget):
    """Pick a built-in density (with thumbnail) or open a data file or a picture.

    Signals: ``density_requested(spec)`` when the user picks; ``open_file_requested`` and
    ``open_image_requested`` when a button is pressed (the window owns the file dialog).
    """

    density_requested = QtCore.Signal(str)
    open_file_requested = QtCore.Signal()
    open_image_requested = QtCore.Signal()

    def __init__(self, entries: list[tuple[str, str]], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QtWidgets.QListWidget()
        self.list.setIconSize(QtCore.QSize(56, 56))
        self.list.setUniformItemSizes(True)
        self.list.setSpacing(2)
        for name, description in entries:
            item = QtWidgets.QListWidgetItem(name)
            item.setToolTip(description)
            item.setData(QtCore.Qt.ItemDataRole.UserRole, name)
            self.list.addItem(item)
        self.list.itemActivated.connect(self._on_item_chosen)
        self.list.itemClicked.connect(self._on_item_chosen)
        # moving through the list with the arrow keys picks the density the highlight rests on
        # (after a pause, so that running past a few names does not open each of them)
        self._settle = QtCore.QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(KEY_SETTLE_MS)
        self._settle.timeout.connect(self._on_highlight_settled)
        self.list.currentItemChanged.connect(lambda *_: self._settle.start())
        self.open_file = QtWidgets.QPushButton("Open data file…")
        self.open_file.setToolTip("Points from .npy, .npz (x, labels) or .csv (x, y[, label])")
        self.open_image = QtWidgets.QPushButton("Open image…")
        self.open_image.setToolTip("A picture whose dark pixels carry the probability mass")
        self.open_file.clicked.connect(self.open_file_requested)
        self.open_image.clicked.connect(self.open_image_requested)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.open_file)
        lay.addWidget(self.open_image)

    def set_thumbnail(self, name: str, grid: np.ndarray) -> None:
        item = self._item(name)
        if item is not None:
            item.setIcon(thumbnail_icon(grid))

    def set_current(self, name: str) -> None:
        """Select ``name`` without emitting (a user spec not in the list clears the selection)."""
        self.list.blockSignals(True)
        item = self._item(name)
        self.list.setCurrentItem(item) if item is not None else self.list.clearSelection()
        self.list.blockSignals(False)

    def names(self) -> list[str]:
        return [self.list.item(i).data(QtCore.Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def _item(self, name: str) -> QtWidgets.QListWidgetItem | None:
        for i in range(self.list.count()):
            if self.list.item(i).data(QtCore.Qt.ItemDataRole.UserRole) == name:
                return self.list.item(i)
        return None

    def _on_highlight_settled(self) -> None:
        item = self.list.currentItem()
        # only a selected item: focus alone can make the first row current without selecting it
        if item is not None and item.isSelected():
            self.density_requested.emit(item.data(QtCore.Qt.ItemDataRole.UserRole))

    def _on_item_chosen(self, item: QtWidgets.QListWidgetItem) -> None:
        self.density_requested.emit(item.data(QtCore.Qt.ItemDataRole.UserRole))
