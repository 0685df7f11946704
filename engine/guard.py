"""Noticing a training run that has come apart while every number is still finite.

A learning rate far too high sends the loss to 1e19 without a single NaN; without a check
the run would spend its whole budget there and the user would only see a flat, useless
model. :class:`DivergenceGuard` watches the median of the recent training losses and stops
the run once it stands ``margin`` above the lowest median seen (in the loss's own units:
nats for a CNF, squared noise error for diffusion).
"""

from __future__ import annotations

import math
from collections import deque

from .errors import InputError, TrainingError

__all__ = ["DivergenceGuard", "MAX_LR", "check_learning_rate"]

# Adam moves every weight by about the learning rate per step: above 1 the steps outgrow the
# weights of these small networks and no run can learn (it diverges or saturates)
MAX_LR = 1.0


def check_learning_rate(lr: object) -> float:
    """The learning rate as a float, or an InputError naming the allowed range (0, 1]."""
    try:
        value = float(lr)  # type: ignore[arg-type]  # whatever was given: a non-number is refused below
    except (TypeError, ValueError):
        raise InputError(f"option 'lr' must be a number, not {lr!r}") from None
    if not (0.0 < value <= MAX_LR):
        raise InputError(f"option 'lr' must be in (0, {MAX_LR:g}], not {lr}: above {MAX_LR:g} Adam's steps "
                         "outgrow the network's weights and training cannot work")
    return value


class DivergenceGuard:
    """``check(loss, lr)`` raises :class:`TrainingError` when the run has diverged.

    Example:
        >>> g = DivergenceGuard(margin=10.0, window=5)
        >>> for loss in [3.0, 2.5, 2.0, 1.9, 1.8, 1.7]:
        ...     g.check(loss, lr=1e-3)
    """

    def __init__(self, margin: float, window: int = 25, min_points: int = 5) -> None:
        self.margin, self.min_points = float(margin), int(min_points)
        self.recent: deque[float] = deque(maxlen=int(window))
        self.best = math.inf

    def check(self, loss: float, lr: float) -> None:
        if not math.isfinite(loss):
            raise TrainingError(f"the loss became {loss} at learning rate {lr:g}")
        self.recent.append(float(loss))
        if len(self.recent) < self.min_points:
            self.best = min(self.best, float(loss))  # the first losses are the baseline
            return
        now = sorted(self.recent)[len(self.recent) // 2]
        if now > self.best + self.margin:
            raise TrainingError(f"the loss rose from {self.best:.4g} to {now:.4g} (a learning rate of {lr:g} is "
                                f"probably too high)")
        self.best = min(self.best, now)
