"""Cycles are freed by the GUI thread: automatic collection off, a GUI-thread timer collecting instead."""

import gc
import threading
import weakref

from app.main_thread_gc import MainThreadCollector, collect_like_the_collector


class _Node:
    pass


def _cycle() -> weakref.ref:  # type: ignore[type-arg]
    a, b = _Node(), _Node()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    return weakref.ref(a)


def test_collects_the_generation_the_collector_would_and_nothing_below_its_threshold() -> None:
    gc.collect()
    assert collect_like_the_collector((10**9, 10, 10)) is None
    ref = _cycle()
    assert ref() is not None
    assert collect_like_the_collector((0, 10**9, 10**9)) == 0
    assert ref() is None


def test_the_timer_frees_cycles_made_in_a_worker_thread_on_the_gui_thread(qtbot) -> None:  # type: ignore[no-untyped-def]
    freed_in = []

    class Watched:
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            freed_in.append(threading.current_thread() is threading.main_thread())

    def make_garbage() -> None:
        for _ in range(5000):
            Watched()  # far past generation 0's threshold: the automatic collector would run here

    collector = MainThreadCollector(interval_ms=20)
    try:
        assert not gc.isenabled()
        worker = threading.Thread(target=make_garbage)
        worker.start()
        worker.join()
        assert not freed_in, "nothing may be collected in the worker thread"
        for _ in range(60):  # the timer's next ticks
            qtbot.wait(50)
            if freed_in:
                break
        assert freed_in and all(freed_in)
    finally:
        collector.timer.stop()
