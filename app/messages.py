"""Turning exceptions into one readable sentence (used by threads and child processes; no Qt)."""

from __future__ import annotations

__all__ = ["readable_error"]


def readable_error(e: BaseException) -> str:
    """One sentence for a person, not a traceback."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    low = text.lower()
    if "out of memory" in low:
        return "The device ran out of memory; try a smaller batch or network, or train on the CPU."
    if type(e).__name__ in ("TrainingError", "InputError"):
        return text
    return f"{type(e).__name__}: {text}"
