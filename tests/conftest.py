"""Shared test set-up: headless Qt, one torch thread, seeded randomness."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FLOWSCOPE_THREADS", "1")
