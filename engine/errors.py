"""Errors that the program reports to a person as one clear sentence."""

from __future__ import annotations

__all__ = ["InputError", "TrainingError"]


class InputError(ValueError):
    """Bad user input (a file, a spec, an option): the command line exits 2 on it."""


class TrainingError(RuntimeError):
    """Training had to stop (NaN loss, exploding solver); the last good model is kept."""
