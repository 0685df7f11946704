"""Benchmark: the engine on CUDA against the CPU; prints one JSON object.

For each device (the CPU, and CUDA where torch sees a GPU) it measures

* ``train``: training steps per second of every model family (cnf, ddpm, ncsn, and fm where
  the engine has it) at batch 256 and 4,096 on 8gaussians, monitoring off (no held-out
  evaluation or preview samples between steps), after a few warm-up steps;
* ``sample``: seconds to draw 100,000 points from each family's (untrained) model with its
  default sampler (CNF: dopri5; DDPM: 1,000 ancestral steps; NCSN: annealed Langevin; FM: its ODE);
* ``kfp``: output frames per second of the Fokker–Planck grid solver on a 512 x 512 grid
  (Ornstein–Uhlenbeck from 8gaussians, the whole evolution in 60 frames);

and ``speedup``: CUDA's figure over the CPU's for each (steps/s and frames/s: higher is
better; sampling: CPU seconds over CUDA seconds). Only engine/ and torch are imported (no Qt),
so it runs on a machine without display libraries.

Usage::

    python tests/bench/bench_gpu.py                      # the CPU, and CUDA when available
    python tests/bench/bench_gpu.py --device cuda        # CUDA alone
    python tests/bench/bench_gpu.py --device cpu --quick # < 1 min: small sizes, a smoke test
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the application: before torch loads

import torch  # noqa: E402

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

import engine.diffusion.train as diffusion_train  # noqa: E402
from engine.api import FAMILIES, make_trainer  # noqa: E402
from engine.densities import get_density  # noqa: E402
from engine.device import configure_threads, resolve_device  # noqa: E402
from engine.errors import InputError  # noqa: E402
from engine.sde import FokkerPlanck, Grid, initial_density, make_sde  # noqa: E402
from engine.sde.kfp import pilot_box  # noqa: E402

KINDS = tuple(k for k in ("cnf", "ddpm", "ncsn", "fm") if k in FAMILIES)
FULL = {"batches": (256, 4096), "train_seconds": 4.0, "sample_n": 100_000, "grid": 512, "frames": 60}
QUICK = {"batches": (256, 4096), "train_seconds": 0.6, "sample_n": 5_000, "grid": 128, "frames": 10}
WARMUP_STEPS = 3  # CUDA context, kernels' first launch, allocator growth
# monitoring options that switch off what runs between steps, where a family has them
QUIET = {"cnf": {"sample_every": 0.0, "eval_every": 1e9}}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_rate(kind: str, batch: int, device: torch.device, seconds: float) -> dict[str, Any]:
    """Steps per second of ``kind`` at ``batch`` after the warm-up steps, over about ``seconds``."""
    density = get_density("8gaussians")
    trainer = make_trainer(kind, density, {"batch": batch, **QUIET.get(kind, {})}, device, 0)
    run = trainer.run(seconds=1e9)  # the budget only sets the cosine's length; we stop it ourselves
    try:
        for _ in range(WARMUP_STEPS):
            next(run)
        _sync(device)
        start, steps = time.perf_counter(), 0
        while time.perf_counter() - start < seconds or steps < 3:
            next(run)
            steps += 1
        _sync(device)
        wall = time.perf_counter() - start
    finally:
        run.close()
    return {"batch": batch, "steps": steps, "steps_per_s": round(steps / wall, 1),
            "points_per_s": round(steps * batch / wall)}


def sample_time(kind: str, device: torch.device, n: int) -> dict[str, Any]:
    """Seconds to draw ``n`` points with the family's default sampler (a second call, after a warm one)."""
    density = get_density("8gaussians")
    model = make_trainer(kind, density, QUIET.get(kind, {}), device, 0).best_model()
    model.sample(min(n, 256), seed=1)  # warm: kernels, allocator
    _sync(device)
    start = time.perf_counter()
    x = model.sample(n, seed=0)
    _sync(device)
    wall = time.perf_counter() - start
    assert x.shape == (n, 2)
    return {"n": n, "seconds": round(wall, 3), "points_per_s": round(n / wall)}


def kfp_rate(device: torch.device, n: int, frames: int) -> dict[str, Any]:
    """Output frames per second of the grid solver (OU from 8gaussians) on an n x n grid."""
    density, sde = get_density("8gaussians"), make_sde("ou")
    t_end = sde.default_t_end()
    grid = Grid(pilot_box(sde, density, t_end), n)
    times = [t_end * k / frames for k in range(frames + 1)]
    solver = FokkerPlanck(sde, grid, device=device)
    run = solver.solve(initial_density(density, grid), times)
    next(run)  # t = 0: no work
    _sync(device)
    start = time.perf_counter()
    last = None
    for frame in run:  # every frame comes back to host memory, as a live view takes it
        last = frame
    _sync(device)
    wall = time.perf_counter() - start
    assert last is not None
    return {"grid": n, "frames": frames, "frames_per_s": round(frames / wall, 2), "solver_steps": last.steps,
            "ms_per_step": round(1e3 * wall / last.steps, 3), "mass_error": float(abs(last.mass - 1))}


def bench_device(device: torch.device, sizes: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"train": {}, "sample": {}}
    for kind in KINDS:
        out["train"][kind] = [train_rate(kind, b, device, sizes["train_seconds"]) for b in sizes["batches"]]
        out["sample"][kind] = sample_time(kind, device, sizes["sample_n"])
    out["kfp"] = kfp_rate(device, sizes["grid"], sizes["frames"])
    return out


def speedups(cpu: dict[str, Any], gpu: dict[str, Any]) -> dict[str, float]:
    """GPU over CPU for every figure both devices have (higher: the GPU is faster)."""
    out: dict[str, float] = {}
    for kind, rows in gpu["train"].items():
        for row, base in zip(rows, cpu["train"].get(kind, [])):
            out[f"train_{kind}_{row['batch']}"] = round(row["steps_per_s"] / base["steps_per_s"], 2)
    for kind, row in gpu["sample"].items():
        if kind in cpu["sample"]:
            out[f"sample_{kind}"] = round(cpu["sample"][kind]["seconds"] / row["seconds"], 2)
    out["kfp"] = round(gpu["kfp"]["frames_per_s"] / cpu["kfp"]["frames_per_s"], 2)
    return out


def devices_for(name: str) -> list[torch.device]:
    """``all``: the CPU and CUDA when there is one; otherwise the one device named."""
    if name == "all":
        return [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    return [resolve_device(name)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="all", help="all (the CPU and CUDA where present), cpu, cuda, cuda:N")
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke test: < 1 min on a CPU)")
    p.add_argument("--threads", type=int, default=1, help="torch threads on the CPU (the application uses 1)")
    p.add_argument("--seconds", type=float, default=None, help="timing window per training figure")
    args = p.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    if args.seconds is not None:
        sizes["train_seconds"] = args.seconds
    try:
        devices = devices_for(args.device)
    except InputError as e:  # an unknown or missing device: one line, exit status 2
        print(f"bench_gpu: {e}", file=sys.stderr)
        sys.exit(2)
    configure_threads(args.threads)
    # no preview samples or held-out checks between diffusion steps: the figure is the step itself
    diffusion_train.MONITOR_EVERY = math.inf
    load0 = os.getloadavg()
    results = {str(d): bench_device(d, sizes) for d in devices}
    out: dict[str, Any] = {
        "quick": args.quick, "sizes": sizes, "kinds": list(KINDS), "torch": torch.__version__,
        "python": platform.python_version(), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_before": [round(v, 2) for v in load0], "results": results,
    }
    cpu = results.get("cpu")
    gpus = [k for k in results if k.startswith("cuda")]
    if cpu and gpus:
        out["speedup"] = speedups(cpu, results[gpus[0]])
    out["load_after"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
