"""Freed memory goes back to the system (glibc keeps it in its heaps otherwise)."""

import subprocess
import sys

import pytest

SCRIPT = r"""
import gc
from app.memory import release_memory, tune_allocator

def rss():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmRSS:")) / 1024

assert tune_allocator()
blocks = [bytearray(4000) for _ in range(50_000)]  # 200 MB of small blocks: heap, not mmap
keep = blocks[-1]
high = rss()
del blocks
gc.collect()
freed = rss()
release_memory()
print(high, freed, rss())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
def test_release_memory_returns_freed_heap_memory_to_the_system() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True)
    high, freed, trimmed = map(float, out.stdout.split())
    assert high - trimmed > 150, (high, freed, trimmed)
    assert freed - trimmed > 100, "the heap kept the freed blocks until trimmed"
