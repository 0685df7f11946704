"""Thinning snapshots for the window keeps every training step's curve point."""

from app.thinning import Thinner
from engine.api import TrainSnapshot


def _snap(step: int, samples: bool = False) -> TrainSnapshot:
    import numpy as np

    return TrainSnapshot(step=step, elapsed=step * 0.001, loss=float(step), lr=1e-3, steps_per_s=1000.0,
                         metric=float(-step), samples=np.zeros((1, 2), np.float32) if samples else None)


def test_every_step_reaches_the_curve_and_kept_snapshots_are_never_dropped() -> None:
    keep = lambda s: s.samples is not None  # noqa: E731
    thin = Thinner(0.03, keep)
    sent = []
    for step in range(1, 201):
        out = thin.offer(_snap(step, samples=step % 50 == 0), now=step * 0.001)  # 1 ms per step
        if out is not None:
            sent.append(out)
    last = thin.flush()
    if last is not None:
        sent.append(last)
    assert 5 < len(sent) < 30, "a fast stream is thinned"
    steps = [p[0] for s in sent for p in s.between] + [s.step for s in sent]
    assert sorted(steps) == list(range(1, 201))
    points = sorted(p for s in sent for p in (*s.between, (s.step, s.loss, s.metric)))
    assert all(loss == step and metric == -step for step, loss, metric in points)
    assert {50, 100, 150, 200} <= {s.step for s in sent}, "snapshots with samples are always sent"
    assert sent[-1].step == 200


def test_other_objects_pass_through_unchanged() -> None:
    thin = Thinner(1.0)
    assert thin.offer("a", 0.0) == "a"
    assert thin.offer("b", 0.1) is None
    assert thin.flush() == "b"
    assert thin.flush() is None
