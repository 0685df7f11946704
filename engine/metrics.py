"""Sample-quality figures shared by trainers, benchmarks and ``flowscope eval``."""

from __future__ import annotations

import numpy as np

from .densities import Box

__all__ = ["histogram_tv", "class_shares"]


def histogram_tv(a: np.ndarray, b: np.ndarray, box: Box, bins: int = 64) -> float:
    """Total variation 0.5 * sum |P_a - P_b| between the histograms of two point sets.

    Points outside ``box`` count in one extra "outside" cell, so mass that leaves is not ignored.
    """
    x0, x1, y0, y1 = box

    def hist(p: np.ndarray) -> np.ndarray:
        h, _, _ = np.histogram2d(p[:, 1], p[:, 0], bins=bins, range=[[y0, y1], [x0, x1]])
        out = np.append(h.ravel(), len(p) - h.sum())
        return out / max(len(p), 1)

    return float(0.5 * np.abs(hist(np.asarray(a)) - hist(np.asarray(b))).sum())


def class_shares(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Fraction of points per class (labels of -1, unknown, are counted in no class)."""
    labels = np.asarray(labels)
    return np.array([(labels == k).mean() if len(labels) else 0.0 for k in range(num_classes)])
