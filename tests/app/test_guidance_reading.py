"""The guidance lab's one-line reading of its trade-off curve."""

from __future__ import annotations

from app.labs.guidance.curve import reading
from engine.guidance_sweep import SweepPoint


def _point(gamma: float, in_class: float) -> SweepPoint:
    return SweepPoint(gamma=gamma, in_class=in_class, fidelity=0.1, precision=0.9, recall=0.8, coverage=0.75,
                      tilted=None, seconds=0.1)


def test_the_reading_names_the_smallest_gamma_and_never_wraps_inside_it() -> None:
    text = reading([_point(0.0, 0.4), _point(1.5, 0.98), _point(3.0, 0.99)], None, None)
    assert "γ\u00a0=\u00a01.5" in text and "coverage\u00a00.75" in text
    # a wrapped line may break between the phrases, never between γ, "=" and its value
    assert "γ =" not in text and "= 1.5" not in text
