"""How much memory a request may take: estimated before any work starts, refused in one sentence.

The figure is what the machine can still give (``MemAvailable`` of /proc/meminfo, or free
pages from ``os.sysconf`` elsewhere), further bounded by the process's own address-space
limit when one is set.
"""

from __future__ import annotations

import os
import resource

from .errors import InputError

__all__ = ["available_memory", "check_memory", "USABLE_SHARE"]

USABLE_SHARE = 0.7  # of the available memory one request may plan to use: the rest is the program and others


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _sysconf_available() -> int | None:
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def available_memory() -> int:
    """Bytes this process may still allocate (at least 256 MB is assumed when nothing can be read)."""
    avail = _meminfo_available() or _sysconf_available() or (256 << 20)
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ValueError, OSError):
        soft = resource.RLIM_INFINITY
    if soft != resource.RLIM_INFINITY and soft > 0:
        avail = min(avail, max(soft - _own_size(), 0))
    return int(avail)


def _own_size() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[0]) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, IndexError):
        return 0


def check_memory(needed: float, what: str) -> None:
    """InputError when ``needed`` bytes exceed the share of memory one request may use.

    ``what`` says what needs it, e.g. "--grid 1024 with --frames 2000 (2 arrays of 1024 x 1024 per frame)".
    """
    limit = USABLE_SHARE * available_memory()
    if needed > limit:
        raise InputError(f"{what} needs about {needed / 2**30:,.1f} GB of memory; this machine has about "
                         f"{limit / 2**30:,.1f} GB to spare: ask for less")
