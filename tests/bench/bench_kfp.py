"""Speed of the KFP lab's engines; prints one JSON object.

* Grid: output frames per second of the Fokker–Planck solver on a 256 x 256 grid, for
  the frame spacing a live view uses: the whole evolution shown in 4 s at 30 frames/s,
  so 120 frames, i.e. dt_frame = t_end / 120 (OU: t_end = 2/θ = 2, dt_frame = 1/60;
  VP: t_end = 1, dt_frame = 1/120). Target: ≥ 30 frames/s for OU or VP. VP is also timed
  on 128 x 128: its late diffusion (g² = β = 20) makes the explicit step ~Δx²/20.
* Particles: Euler–Maruyama steps per second at 50k particles (OU, and the Langevin SDE
  of 8gaussians, whose mixture score dominates).

Run: python tests/bench/bench_kfp.py [--device cpu|cuda] [--frames 120]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from engine.densities import get_density
from engine.device import configure_threads, resolve_device
from engine.sde import FokkerPlanck, Grid, euler_maruyama, initial_density, make_sde
from engine.sde.kfp import pilot_box

GRID = 256  # the live view's image
PARTICLES = 50_000


def grid_fps(name: str, device: torch.device, frames: int, limiter: str, n: int = GRID) -> dict[str, object]:
    density = get_density("8gaussians")
    sde = make_sde(name)
    t_end = sde.default_t_end()
    grid = Grid(pilot_box(sde, density, t_end), n)
    times = np.linspace(0.0, t_end, frames + 1)
    solver = FokkerPlanck(sde, grid, limiter=limiter, device=device)
    run = solver.solve(initial_density(density, grid), times)
    next(run)  # t = 0: no work
    start = time.perf_counter()
    last = None
    for frame in run:  # a live view would hand each frame to the GUI here
        last = frame
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    assert last is not None
    return {"sde": name, "limiter": limiter, "grid": n, "box": [round(v, 3) for v in grid.box],
            "frames": frames, "t_end": t_end, "dt_frame": t_end / frames, "frames_per_s": round(frames / seconds, 1),
            "solver_steps": last.steps, "steps_per_frame": round(last.steps / frames, 1),
            "ms_per_step": round(1e3 * seconds / last.steps, 3), "mass_error": abs(last.mass - 1)}


def em_rate(name: str, device: torch.device, steps: int) -> dict[str, object]:
    density = get_density("8gaussians")
    sde = make_sde(name, density=density)
    x0 = density.sample(PARTICLES, seed=0).x
    run = euler_maruyama(sde, x0, [0.0, steps * 1e-3], dt=1e-3, seed=0, device=device)
    next(run)
    start = time.perf_counter()
    (frame,) = run
    seconds = time.perf_counter() - start
    return {"sde": name, "particles": PARTICLES, "steps": frame.step, "steps_per_s": round(frame.step / seconds, 1),
            "particle_steps_per_s": round(frame.step * PARTICLES / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--frames", type=int, default=120)
    args = parser.parse_args()
    device = resolve_device(args.device)
    threads = configure_threads()
    load_before = os.getloadavg()
    out = {
        "device": str(device), "torch_threads": threads, "cpus": os.cpu_count(),
        "grid": [grid_fps("ou", device, args.frames, "mc"), grid_fps("vp", device, args.frames, "mc"),
                 grid_fps("ou", device, args.frames, "minmod"), grid_fps("vp", device, args.frames, "mc", 128)],
        "euler_maruyama": [em_rate("ou", device, 400), em_rate("langevin", device, 40)],
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
