"""Checked command-line values, shared by every subcommand.

Numbers: each numeric option takes one of the argparse ``type`` functions below, so a value
out of its documented range is refused while the arguments are parsed (exit 2, one line,
before any work): integers within their range (never beyond 64 bits), finite floats within
theirs. Outputs: :func:`check_out` refuses an ``--out`` with the wrong extension, one that is
(by :func:`os.path.samefile`, links included) one of the command's inputs, or one whose
folder cannot be written.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Iterable

from engine.errors import InputError
from engine.files import check_writable, same_file

__all__ = [
    "int_in", "float_in", "seed", "SEED_MAX", "spec_path", "check_out", "input_paths", "RANGES",
]

SEED_MAX = 2**32 - 1  # numpy's legacy seeding and every torch generator take this range

# documented ranges (the help texts print them): name -> (low, high)
RANGES: dict[str, tuple[float, float]] = {
    "seed": (0, SEED_MAX),
    "threads": (1, 256),
    "train_steps": (1, 10_000_000),
    "train_seconds": (0, 7 * 24 * 3600),
    "samples": (1, 10_000_000),
    "sampler_steps": (1, 100_000),
    "eval_n": (1, 1_000_000),
    "label": (0, 1000),
    "guidance": (-100, 100),
    "frames": (1, 2000),
    "fps": (0, 120),
}


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high] (underscores allowed, no fractions, no exponents)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a whole number from {low:,} to {high:,}, not {_short(text)!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,}, not {_short(text)}")
        return value

    parse.__name__ = "integer"
    return parse


def float_in(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in [low, high] (``low_open``/``high_open`` exclude an end)."""
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    allowed = f"{left}{low:g}, {high:g}{right}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number in {allowed}, not {text!r}") from None
        ok = math.isfinite(value) and (low < value if low_open else low <= value) and (
            value < high if high_open else value <= high)
        if not ok:
            raise argparse.ArgumentTypeError(f"must be a finite number in {allowed}, not {_short(text)}")
        return value

    parse.__name__ = "number"
    return parse


def _short(text: str) -> str:
    return text if len(text) <= 30 else text[:27] + "..."


seed = int_in(*RANGES["seed"])  # type: ignore[arg-type]


def spec_path(spec: str | None) -> str | None:
    """The file a density SPEC reads (``file:PATH`` or ``image:PATH``), or None for a built-in name."""
    if not spec:
        return None
    spec = spec.strip()
    for prefix in ("file:", "image:"):
        if spec.startswith(prefix):
            return spec[len(prefix):]
    return None


def input_paths(*paths: str | None, specs: Iterable[str | None] = ()) -> list[str]:
    """The existing files among ``paths`` and the files named by density ``specs``."""
    out = [p for p in paths if p]
    out += [p for p in (spec_path(s) for s in specs) if p]
    return out


def check_out(path: str, extensions: tuple[str, ...], inputs: Iterable[str] = (), what: str = "output") -> str:
    """The lower-case extension of ``path`` after refusing a wrong extension, an input as output, or a folder
    that cannot be written (InputError, one sentence)."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in extensions:
        raise InputError(f"{path}: the {what} must end in {' or '.join(extensions)}")
    for other in inputs:
        if other and os.path.exists(path) and same_file(path, other):
            raise InputError(f"{path}: refusing to write the {what} over an input of this command ({other})")
    check_writable(path)
    return ext
