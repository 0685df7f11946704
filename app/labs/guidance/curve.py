"""The guidance lab's trade-off curve: figures over γ, filled a few points at a time when the panels rest.

Two curves: guidance at every time ("full") and, when an interval is chosen, guidance only inside
it ("interval"). Each is computed with the full sample's sampler and noise, so the curve's share
in class at the slider's γ is the share the guided panel shows once it is sampled in full.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.densities import Density
from engine.guidance_sweep import DEFAULT_GAMMAS, Reference, SweepPoint, reference, smallest_gamma, sweep_steps

from .compute import PARTICLES

__all__ = ["CurveKey", "Curves", "reading"]

SHARE = 0.97


@dataclass(frozen=True)
class CurveKey:
    """What a curve depends on besides γ."""

    model_id: int
    label: int
    kind: str
    seed: int
    interval: tuple[float, float] | None


@dataclass
class Curves:
    """The points computed so far of each curve, and the exact class samples they are scored against."""

    full: CurveKey | None = None
    points: dict[CurveKey, list[SweepPoint]] = field(default_factory=dict)
    references: dict[tuple[str, int], Reference] = field(default_factory=dict)

    def wanted(self, keys: list[CurveKey]) -> tuple[CurveKey, list[float]] | None:
        """The first curve among ``keys`` with γ still to compute, and those γ."""
        for key in keys:
            done = {p.gamma for p in self.points.get(key, [])}
            todo = [g for g in DEFAULT_GAMMAS if g not in done]
            if todo:
                return key, todo
        return None

    def add(self, key: CurveKey, point: SweepPoint) -> None:
        pts = [p for p in self.points.setdefault(key, []) if p.gamma != point.gamma] + [point]
        self.points[key] = sorted(pts, key=lambda p: p.gamma)

    def job(self, model: Any, density: Density, key: CurveKey, gammas: list[float]) -> Iterator[SweepPoint | None]:
        """Runs on the worker: the class reference (once per density and class), then the points."""
        ref_key = (density.name, key.label)
        if ref_key not in self.references:
            self.references[ref_key] = reference(density, key.label, PARTICLES)
            yield None
        yield from sweep_steps(model, density, self.references[ref_key], gammas, kind=key.kind,
                               interval=key.interval, n=PARTICLES, seed=key.seed)

    @staticmethod
    def figures(points: list[SweepPoint]) -> tuple[list[float], dict[str, list[float | None]]]:
        gammas = [p.gamma for p in points]
        return gammas, {"in_class": [p.in_class for p in points], "coverage": [p.coverage for p in points],
                        "fidelity": [p.fidelity for p in points], "tilted": [p.tilted for p in points]}


def reading(full: list[SweepPoint], limited: list[SweepPoint] | None, interval: tuple[float, float] | None) -> str:
    """One line a person reads the curve by: the smallest γ keeping 97 % in class, and how much of the class
    its samples still cover (coverage, the recall without its blind spot for stray points)."""
    def phrase(points: list[SweepPoint]) -> str:
        best = smallest_gamma(points, SHARE)
        if best is None:
            return f"no γ computed yet keeps {SHARE:.0%} in class" if len(points) < len(DEFAULT_GAMMAS) \
                else f"no γ keeps {SHARE:.0%} in class"
        # no-break spaces: a line that wraps breaks between phrases, never inside "γ = 1"
        return f"{SHARE:.0%}\u00a0in class from γ\u00a0=\u00a0{best.gamma:g}, coverage\u00a0{best.coverage:.2f}"

    text = f"All times: {phrase(full)}" if full else "All times: computing…"
    if interval is not None:
        where = f"τ ∈ [{interval[0]:g}, {interval[1]:g}]"
        text += f"<br>Only at {where}: {phrase(limited) if limited else 'computing…'}"
    return text
