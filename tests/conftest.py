"""Shared test set-up: headless Qt, one torch thread, seeded randomness."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FLOWSCOPE_THREADS", "1")


import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():  # type: ignore[no-untyped-def]
    """As the application does: two spinning torch threads on a busy 2-core machine collapse."""
    from engine.device import configure_threads

    configure_threads(1)


@pytest.fixture(autouse=True)
def _gradients_stay_on():  # type: ignore[no-untyped-def]
    """A generator suspended inside torch.no_grad() switches gradients off for the whole thread:
    fail the test that leaves them off, not the unrelated one after it."""
    import torch

    yield
    on = torch.is_grad_enabled()
    torch.set_grad_enabled(True)
    assert on, "this test left torch's gradients switched off"


@pytest.fixture(scope="session", autouse=True)
def _collect_in_the_main_thread():  # type: ignore[no-untyped-def]
    """As the application does (app/main_thread_gc.py): a collection that runs in a worker thread and
    frees an earlier test's window deadlocks with a worker emitting a signal."""
    import gc

    gc.disable()
    yield
    gc.enable()


_TESTS_RUN = [0]


@pytest.fixture(autouse=True)
def _collect_after_each_test():  # type: ignore[no-untyped-def]
    """The young generations after every test (what a test made), everything every 25 tests (a full
    collection walks torch's ~200k objects: ~0.15 s)."""
    import gc

    yield
    _TESTS_RUN[0] += 1
    gc.collect(2 if _TESTS_RUN[0] % 25 == 0 else 1)
