"""Training progress on a terminal: a bar on a TTY, periodic plain lines otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from engine.api import TrainSnapshot
from engine.errors import TrainingError

__all__ = ["ProgressPrinter", "RunOutcome", "run_with_progress"]


class ProgressPrinter:
    """Prints a snapshot at most every ``interval`` seconds (a bar redraws 5x more often)."""

    def __init__(self, stream: TextIO | None = None, interval: float = 5.0, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval / 5 if self.tty else interval
        self.quiet = quiet
        self._last = 0.0
        self._said: str | None = None

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
        if s.note and not self.quiet and s.note != self._said:  # once, also when its snapshot is the last
            self._said = s.note
            self.stream.write(("\r\x1b[K" if self.tty else "") + s.note + "\n")
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


@dataclass
class RunOutcome:
    """How a training run ended: its last snapshot, the failure that stopped it, an interrupt."""

    last: TrainSnapshot | None = None
    failure: TrainingError | None = None
    interrupted: bool = False

    def figures(self) -> dict[str, object]:
        """Steps, seconds and held-out NLL of the last snapshot (zeros and None before the first)."""
        from engine.checkpoint import finite_or_none

        s = self.last
        return {"steps": 0 if s is None else s.step,
                "seconds": 0.0 if s is None else round(s.elapsed, 2),
                "heldout_nll": None if s is None else finite_or_none(s.heldout_nll)}


def run_with_progress(snapshots: Iterable[TrainSnapshot], quiet: bool = False,
                      catch_interrupt: bool = False) -> RunOutcome:
    """Drain a trainer's snapshots, printing progress; a TrainingError (and, with
    ``catch_interrupt``, Ctrl+C) ends the run and is reported in the outcome. The last snapshot
    is always printed."""
    progress = ProgressPrinter(quiet=quiet)
    out = RunOutcome()
    try:
        for out.last in snapshots:
            progress.update(out.last)
    except TrainingError as e:
        out.failure = e
    except KeyboardInterrupt:
        if not catch_interrupt:
            raise
        out.interrupted = True
    finally:
        if out.last is not None:
            progress.update(out.last, force=True)
        progress.close()
    return out
