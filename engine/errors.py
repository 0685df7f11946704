"""Errors that the program reports to a person as one clear sentence."""

from __future__ import annotations

__all__ = ["InputError", "TrainingError", "WorkLimitError"]


class InputError(ValueError):
    """Bad user input (a file, a spec, an option): the command line exits 2 on it."""


class TrainingError(RuntimeError):
    """Training had to stop (NaN loss, exploding solver); the last good model is kept."""


class WorkLimitError(RuntimeError):
    """A computation reached its limit of work (an ODE solve's function evaluations) and was stopped."""
