"""Errors that the program reports to a person as one clear sentence."""

from __future__ import annotations

import math

__all__ = ["InputError", "TrainingError", "WorkLimitError", "check_class_request", "check_interval"]


class InputError(ValueError):
    """Bad user input (a file, a spec, an option): the command line exits 2 on it."""


class TrainingError(RuntimeError):
    """Training had to stop (NaN loss, exploding solver); the last good model is kept."""


class WorkLimitError(RuntimeError):
    """A computation reached its limit of work (an ODE solve's function evaluations) and was stopped."""


def check_class_request(label: int | None, guidance: float | None, num_classes: int) -> None:
    """InputError, in one sentence, for a class or guidance scale a model with ``num_classes``
    classes (0: unconditional) cannot follow; nothing when ``label`` is None and no guidance asked."""
    if label is None:
        if guidance is not None:
            raise InputError("guidance needs a class to guide towards: give --label too")
        return
    if num_classes == 0:
        raise InputError("this model is unconditional (trained without --conditional), so it cannot sample "
                         "a class; retrain with --conditional")
    if not 0 <= int(label) < num_classes:
        raise InputError(f"label {label} is out of range: this model knows classes 0..{num_classes - 1}")
    if guidance is not None and not math.isfinite(float(guidance)):
        raise InputError(f"the guidance scale must be a finite number, not {guidance}")


def check_interval(interval: tuple[float, float] | None) -> tuple[float, float] | None:
    """The interval as two floats 0 ≤ lo ≤ hi ≤ 1 (or None); an InputError names the rule otherwise."""
    if interval is None:
        return None
    try:
        lo, hi = (float(v) for v in interval)
    except (TypeError, ValueError):
        raise InputError(f"a guidance interval is two times LO,HI, not {interval!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 <= lo <= hi <= 1.0):
        raise InputError(f"a guidance interval needs 0 <= LO <= HI <= 1 (diffusion times), not {lo:g},{hi:g}")
    return lo, hi
