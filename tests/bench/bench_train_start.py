"""Benchmark: how soon after Train the first picture arrives from the training process; prints JSON.

The window trains in a child process started ahead of time (app/train_process.py), which imports
torch and the engine and then waits for its job. This starts such a child per model kind as the
window does (``app.train_child.child_main``, spawned), waits until it has gone idle, then sends
it the job the window would send (the kind's default options, a 60-s budget) and times:

* ``first_snapshot_s``: the job sent -> the first snapshot back;
* ``first_picture_s``: the job sent -> the first snapshot that carries model samples (the
  picture the training view draws).

``--cold`` times a child that waits without warming up (torch and the engine imported, nothing
more), as the training process did before ``engine.api.warm_up``; ``--both`` times both.

Usage::

    python tests/bench/bench_train_start.py --both
    python tests/bench/bench_train_start.py --models cnf --density rings --repeats 3
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

IDLE_S = 0.5  # a child whose CPU time has not moved for this long is waiting for its job
READY_LIMIT_S = 120.0


def _cold_child(ctrl: Connection, data: Connection) -> None:
    """The training process as it was before it warmed up: torch and the engine, then the job."""
    import engine.api  # noqa: F401 - the import is the point
    from app.train_child import _run_job
    from engine.device import configure_threads

    configure_threads()
    try:
        job = ctrl.recv()
    except (EOFError, OSError):
        return
    if job != "quit":
        _run_job(job, ctrl, data)
    data.close()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_idle(proc: Any) -> float:
    """Seconds until the child's CPU time stops moving (it waits on its pipe)."""
    t0 = time.perf_counter()
    last, still_since = -1.0, time.perf_counter()
    while time.perf_counter() - t0 < READY_LIMIT_S:
        if not proc.is_alive():
            raise SystemExit("the training process ended before its job")
        cpu = _cpu_seconds(proc.pid)
        now = time.perf_counter()
        if cpu != last:
            last, still_since = cpu, now
        elif now - still_since >= IDLE_S:
            return still_since - t0
        time.sleep(0.05)
    raise SystemExit(f"the training process was still busy after {READY_LIMIT_S:.0f} s")


def time_start(kind: str, density_name: str, warm: bool) -> dict[str, Any]:
    """One child: its warm-up time, then the job's first snapshot and first picture."""
    from app.train_child import child_main
    from engine import api
    from engine.densities import get_density

    ctx = mp.get_context("spawn")
    ctrl_r, ctrl_w = ctx.Pipe(duplex=False)
    data_r, data_w = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=child_main if warm else _cold_child, args=(ctrl_r, data_w), daemon=True)
    proc.start()
    ctrl_r.close()
    data_w.close()
    try:
        ready = _wait_idle(proc)
        job = {"family": api.FAMILIES[kind], "kind": kind, "density": get_density(density_name),
               "options": api.default_options(kind), "device": "cpu", "seed": 0, "steps": None, "seconds": 60.0}
        t0 = time.perf_counter()
        ctrl_w.send(job)
        first_snapshot = first_picture = None
        while first_picture is None:
            msg = data_r.recv()
            if msg[0] == "failed":
                raise SystemExit(f"{kind}: {msg[1]}")
            if msg[0] != "snapshot":
                continue
            now = time.perf_counter() - t0
            first_snapshot = first_snapshot if first_snapshot is not None else now
            if msg[1].samples is not None:
                first_picture = now
        ctrl_w.send("stop")
        while data_r.poll(10):  # read on: a child blocked on a full pipe would not see the stop
            if data_r.recv()[0] in ("finished", "failed"):
                break
    except EOFError:
        pass  # the child closed its end: it has ended
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
            proc.join(2)
    return {"kind": kind, "warm": warm, "child_ready_s": round(ready, 2),
            "first_snapshot_s": round(first_snapshot, 3), "first_picture_s": round(first_picture, 3)}


def main() -> None:
    from engine import api

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(api.FAMILIES), help="comma-separated model kinds")
    ap.add_argument("--density", default="moons")
    ap.add_argument("--repeats", type=int, default=1, help="children per kind and mode (the median is reported)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--cold", action="store_true", help="a child that does not warm up (as before warm_up)")
    mode.add_argument("--both", action="store_true", help="warm and cold children")
    args = ap.parse_args()
    kinds = [k.strip() for k in args.models.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in api.FAMILIES]
    if unknown or args.repeats < 1:
        ap.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(api.FAMILIES)}" if unknown
                 else "--repeats must be at least 1")
    modes = [True, False] if args.both else [not args.cold]
    load_before = list(os.getloadavg())
    rows: list[dict[str, Any]] = []
    for kind in kinds:
        for warm in modes:
            runs = [time_start(kind, args.density, warm) for _ in range(args.repeats)]
            row = {key: statistics.median(r[key] for r in runs)
                   for key in ("child_ready_s", "first_snapshot_s", "first_picture_s")}
            rows.append({"kind": kind, "warm": warm, **row, "runs": runs})
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "runs"}), file=sys.stderr, flush=True)
    print(json.dumps({"density": args.density, "repeats": args.repeats, "cpus": os.cpu_count(),
                      "load_before": load_before, "load_after": list(os.getloadavg()), "results": rows}, indent=1))


if __name__ == "__main__":
    main()
