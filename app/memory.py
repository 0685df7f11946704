"""Giving freed memory back to the system.

Hours of training runs, background solves and redraws free a great deal of memory, but
glibc's allocator keeps freed blocks in its heaps, split among per-thread arenas, so a
long session's resident memory creeps upward although nothing is held (measured by
tests/bench/soak.py: ~120 MB of a 770 MB process was free-but-kept after three minutes).
Large blocks are therefore served by mmap (returned on free), fewer arenas are used, and the
window trims the heaps now and then. Elsewhere than glibc these calls do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["tune_allocator", "release_memory"]

_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only (musl has none)
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _libc()


def tune_allocator(mmap_threshold: int = 1 << 20, arenas: int = 4) -> bool:
    """Blocks from ``mmap_threshold`` bytes up come from mmap; at most ``arenas`` heaps. True when applied."""
    if _LIBC is None:
        return False
    ok = _LIBC.mallopt(_M_MMAP_THRESHOLD, mmap_threshold) == 1
    return bool(_LIBC.mallopt(_M_ARENA_MAX, arenas) == 1 and ok)


def release_memory() -> bool:
    """Return the heaps' free memory to the system (a few ms); True when some was released."""
    return bool(_LIBC is not None and _LIBC.malloc_trim(0) == 1)
