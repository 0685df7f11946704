"""Training progress on a terminal: a bar on a TTY, periodic plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from engine.api import TrainSnapshot

__all__ = ["ProgressPrinter"]


class ProgressPrinter:
    """Prints a snapshot at most every ``interval`` seconds (a bar redraws 5x more often)."""

    def __init__(self, stream: TextIO | None = None, interval: float = 5.0, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval / 5 if self.tty else interval
        self.quiet = quiet
        self._last = 0.0

    @staticmethod
    def describe(s: TrainSnapshot) -> str:
        parts = [f"step {s.step}" + (f"/{s.total_steps}" if s.total_steps else ""), f"loss {s.loss:.4f}"]
        if s.metric is not None and s.metric_name:
            parts.append(f"{s.metric_name} {s.metric:.4f}")
        if s.nfe is not None:
            parts.append(f"NFE {s.nfe:.0f}")
        parts.append(f"{s.steps_per_s:.0f} steps/s")
        parts.append(f"{s.elapsed:.0f}s")
        return "  ".join(parts)

    def update(self, s: TrainSnapshot, force: bool = False) -> None:
        now = time.monotonic()
        if self.quiet or (not force and now - self._last < self.interval):
            return
        self._last = now
        text = self.describe(s)
        frac = s.fraction_done
        if self.tty:
            bar = ""
            if frac is not None:
                done = int(30 * frac)
                bar = "[" + "#" * done + "-" * (30 - done) + f"] {100 * frac:3.0f}% "
            self.stream.write("\r\x1b[K" + bar + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
