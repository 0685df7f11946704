"""Thinning a fast stream of snapshots to what the window can draw, without losing curve points.

A trainer may yield hundreds of steps a second; the window redraws a few dozen times a
second. Snapshots between two sends are dropped, but the (step, loss, metric) of each
dropped training snapshot rides along on the next one sent (``TrainSnapshot.between``),
so the loss curve still has every step. Imports no Qt: the training process uses it too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from engine.api import TrainSnapshot

__all__ = ["Thinner", "kept_snapshot"]


def kept_snapshot(s: TrainSnapshot) -> bool:
    """A snapshot never thinned away: it carries model samples, a density grid or a note."""
    return s.samples is not None or s.density is not None or s.note is not None


class Thinner:
    """``offer(snap, now)`` returns what to send now (or None); ``flush()`` the held-back one."""

    def __init__(self, min_interval: float, keep: Callable[[Any], bool] | None = None) -> None:
        self.min_interval = min_interval
        self._keep = keep or (lambda s: False)
        self._last = float("-inf")
        self._pending: Any = None
        self._points: list[tuple[int, float, float | None]] = []

    def offer(self, snap: Any, now: float) -> Any:
        self._record_pending()
        if self._keep(snap) or now - self._last >= self.min_interval:
            self._last = now
            return self._with_points(snap)
        self._pending = snap
        return None

    def _record_pending(self) -> None:
        p, self._pending = self._pending, None
        if isinstance(p, TrainSnapshot):
            self._points.append((p.step, p.loss, p.metric))

    def flush(self) -> Any:
        snap, self._pending = self._pending, None
        return None if snap is None else self._with_points(snap)

    def _with_points(self, snap: Any) -> Any:
        if not self._points:
            return snap
        points, self._points = tuple(self._points), []
        if not isinstance(snap, TrainSnapshot):
            return snap
        return dataclasses.replace(snap, between=points + snap.between)
