"""The class palette: colours a class can be told by, on either theme and over the grey targets."""

import numpy as np
from PySide6 import QtGui

from widgets.palette import CLASS_COLORS


def _lab(hex_colour: str) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour."""
    c = QtGui.QColor(hex_colour)
    rgb = np.array([c.redF(), c.greenF(), c.blueF()])
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ lin / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_the_first_eight_classes_differ_from_each_other() -> None:
    labs = [_lab(c) for c in CLASS_COLORS[:8]]
    gaps = [np.linalg.norm(a - b) for i, a in enumerate(labs) for b in labs[i + 1:]]
    assert min(gaps) >= 20.0  # ΔE*76: 2.3 is a just-noticeable difference; 20 reads across a room


def test_no_class_is_grey_or_white_so_none_hides_in_the_targets_or_the_light_theme() -> None:
    # the guidance targets are a grey heatmap under white contours; a class of chroma < 15 is lost there
    chroma = {c: float(np.hypot(*_lab(c)[1:])) for c in CLASS_COLORS}
    assert min(chroma.values()) >= 15.0, chroma
