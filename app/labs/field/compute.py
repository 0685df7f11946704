"""What the vector-field lab computes: the CNF's velocity and divergence, or the diffusion model's score, on a grid."""

from __future__ import annotations

import numpy as np

from engine.api import FLOW_KINDS
from engine.densities import grid_points

__all__ = ["GRID", "field_at"]

GRID = 24


def field_at(tm: object, box: tuple[float, float, float, float], t: float, n: int = GRID
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(xs, ys, vectors (n, n, 2), background (n, n) or None) at the labs' time t."""
    if tm.kind in FLOW_KINDS:  # type: ignore[attr-defined]
        from engine.cnf.views import vector_field

        f = next(vector_field(tm.model, box, n, times=(t,)))  # type: ignore[attr-defined]
        return f.xs, f.ys, f.velocity, f.divergence
    xs, ys, pts = grid_points(box, n)
    tau = min(max(1.0 - t, 1e-3), 1.0)  # the score at τ = 0 is not defined by the schedule
    vec = tm.model.score(pts, tau).reshape(n, n, 2)  # type: ignore[attr-defined]
    return xs, ys, vec, None
