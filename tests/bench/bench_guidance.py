"""Benchmark: the guidance lab's preview and full samples, and the trade-off curve; prints JSON.

For each density a class-conditional DDPM is trained for ``--steps`` (11,000 by default, what
one minute gives on a quiet core: the pretrained 8gaussians model took 43 s for 8,000) or
``--seconds`` (one torch thread, cached in ``--cache`` between runs; on a loaded machine a
minute of training gives a model too poor to judge guidance by), then, with one busy-loop
child keeping the other core loaded:

* ``preview_ms``: p50 / p95 of the guided panel's answer to the slider (2,000 particles, the
  lab's own sampling path, which is also the sample kept once γ rests) over a drag of γ from
  −2 to 10 in steps of 0.1 (targets 33 / 60 ms): ``wall`` and this process's ``cpu`` time
  (on a machine that others load, CPU time is the figure that does not depend on them);
* ``full_ms``: the same sample asked at rest (the unconditional and conditional panels);
* ``tv``: per guidance kind and γ ∈ {−1, 0, 1, 3, 6, 10}, histogram TVs (64 x 64 cells):
  ``tv_preview_full`` between what the slider shows and the sample at rest (same noise), and
  ``ratio`` of it to ``tv_full_full``, the TV between two samples of different noise (target
  <= 1.5); ``converged``: the TV between the lab's sample and a 200-step solve of the same
  noise over the TV between two 200-step solves of different noise (how far the lab's steps
  are from the exact guided ODE, in units of sampling noise); ``edge``: the share of particles
  within 1e-3 of the box's edge (a picture that pins particles there lies) in the lab's
  sample and ``edge_converged`` in the 200-step one;
* ``curve_s``: the time to fill the trade-off curve, 13 γ at 2,000 samples (target <= 5 s);
* ``exact_ticks_s``: 121 samples, the time until every tick of the slider (−2 … 10 by 0.1)
  is answered at once from memory.

The load average is printed with the figures: on a shared machine they move with it.

Usage::

    python tests/bench/bench_guidance.py --steps 11000 --densities 8gaussians,checkerboard,rings
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np
import torch

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from app.labs.guidance import compute as runs  # noqa: E402
from engine.densities import get_density  # noqa: E402
from engine.device import configure_threads  # noqa: E402
from engine.diffusion import load_model, make_trainer  # noqa: E402
from engine.diffusion.model import DiffusionModel  # noqa: E402
from engine.guidance_sweep import DEFAULT_GAMMAS, sweep  # noqa: E402
from engine.metrics import histogram_tv  # noqa: E402

GAMMAS = (-1.0, 0.0, 1.0, 3.0, 6.0, 10.0)


def trained(density_name: str, steps: int | None, seconds: float, cache: str) -> DiffusionModel:
    """A class-conditional DDPM of the density, trained for ``steps`` or ``seconds`` (or read from the cache)."""
    budget = f"{steps}steps" if steps else f"{int(seconds)}s"
    path = os.path.join(cache, f"ddpm_{density_name}_cond_{budget}.pt")
    if not os.path.exists(path):
        density = get_density(density_name)
        trainer = make_trainer("ddpm", density, {"conditional": True}, torch.device("cpu"), 0)
        for _ in trainer.run(steps=steps) if steps else trainer.run(seconds=seconds):
            pass
        torch.save(trainer.best_model().to_checkpoint(), path)
    return load_model(torch.load(path, weights_only=True), torch.device("cpu"))


def request(label: int, gamma: float, kind: str, seed: int, preview: bool) -> runs.Request:
    return runs.Request("guided", label, gamma, kind, seed, time.perf_counter(), preview)


def sample(model: DiffusionModel, box: Any, label: int, gamma: float, kind: str, seed: int,
           preview: bool) -> tuple[np.ndarray, float, float]:
    """The lab's guided sample, its wall and CPU time (ms)."""
    start, cpu = time.perf_counter(), time.process_time()
    ps = runs.sample_panel(model, request(label, gamma, kind, seed, preview), box)
    return ps.xs[-1], 1000 * (time.perf_counter() - start), 1000 * (time.process_time() - cpu)


def stats(values: list[float]) -> dict[str, float]:
    return {"p50": round(float(np.percentile(values, 50)), 1), "p95": round(float(np.percentile(values, 95)), 1),
            "max": round(float(np.max(values)), 1)}


def drag(model: DiffusionModel, box: Any, label: int, kind: str) -> dict[str, Any]:
    """Slider answers over γ = −2, −1.9, … 10 (each γ new to the sampler, as a first drag is)."""
    runs_ = [sample(model, box, label, float(g), kind, 0, True)[1:] for g in np.round(np.arange(-2, 10.05, 0.1), 1)]
    return {"wall": stats([w for w, _ in runs_]), "cpu": stats([c for _, c in runs_]), "count": len(runs_)}


def edge_share(x: np.ndarray, box: Any) -> float:
    x0, x1, y0, y1 = box
    return float(np.mean((np.abs(x[:, 0] - x0) < 1e-3) | (np.abs(x[:, 0] - x1) < 1e-3)
                         | (np.abs(x[:, 1] - y0) < 1e-3) | (np.abs(x[:, 1] - y1) < 1e-3)))


def agreement(model: DiffusionModel, box: Any, label: int, kind: str) -> list[dict[str, Any]]:
    rows = []
    for gamma in GAMMAS:
        prev = sample(model, box, label, gamma, kind, 0, True)[0]
        full = sample(model, box, label, gamma, kind, 0, False)[0]
        other = sample(model, box, label, gamma, kind, 1, False)[0]
        tv, noise = histogram_tv(prev, full, box), histogram_tv(full, other, box)
        exact = [model.sample(len(full), seed=s, sampler="dpm++", steps=200, label=label, guidance=gamma,
                              guidance_kind=kind) for s in (0, 1)]
        floor = histogram_tv(exact[0], exact[1], box)
        rows.append({"gamma": gamma, "tv_preview_full": round(tv, 4), "tv_full_full": round(noise, 4),
                     "ratio": round(tv / noise, 3), "converged": round(histogram_tv(full, exact[0], box) / floor, 3),
                     "edge": round(edge_share(prev, box), 4), "edge_converged": round(edge_share(exact[0], box), 4)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=11_000, help="training steps (0: train for --seconds)")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--densities", default="8gaussians,checkerboard,rings")
    ap.add_argument("--label", type=int, default=1)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "flowscope-bench-guidance"))
    ap.add_argument("--checkpoint", action="append", default=[], metavar="DENSITY=PATH",
                    help="use this trained conditional DDPM for the density instead of training one "
                         "(e.g. 8gaussians=assets/pretrained/ddpm_8gaussians_conditional.pt)")
    ap.add_argument("--skip-drag", action="store_true", help="only the agreement and the curve")
    args = ap.parse_args()
    configure_threads(1)
    os.makedirs(args.cache, exist_ok=True)
    given = dict(item.split("=", 1) for item in args.checkpoint)
    models = {name: load_model(torch.load(given[name], weights_only=True), torch.device("cpu")) if name in given
              else trained(name, args.steps, args.seconds, args.cache) for name in args.densities.split(",")}
    load0 = [round(v, 2) for v in os.getloadavg()]
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        results: dict[str, Any] = {}
        for name, model in models.items():
            density = get_density(name)
            box = density.box
            row: dict[str, Any] = {"sampler": runs.SAMPLER, "steps": runs.STEPS}
            for kind in ("cfg", "classifier"):
                if not args.skip_drag:
                    row[f"preview_ms_{kind}"] = drag(model, box, args.label, kind)
                fulls = [sample(model, box, args.label, 3.0, kind, s, False)[1] for s in range(5)]
                row[f"full_cpu_ms_{kind}"] = round(float(np.median(
                    [sample(model, box, args.label, 3.0, kind, s, False)[2] for s in range(5)])), 1)
                row[f"full_ms_{kind}"] = round(float(np.median(fulls)), 1)
                # the lab samples every slider tick in full in the background once the curve is done, and
                # answers a tick met before with that exact sample: how long until all 121 are
                row[f"exact_ticks_s_{kind}"] = round(121 * float(np.median(fulls)) / 1000, 1)
                row[f"tv_{kind}"] = agreement(model, box, args.label, kind)
            start = time.perf_counter()
            points = list(sweep(model, density, args.label, DEFAULT_GAMMAS, n=2000))  # cfg
            row["curve_s"] = round(time.perf_counter() - start, 2)
            row["curve"] = [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in p.to_dict().items()}
                            for p in points]
            row["load_1min"] = round(os.getloadavg()[0], 2)
            results[name] = row
    finally:
        busy.kill()
        busy.wait()
    print(json.dumps({"machine": {"cpus": os.cpu_count(), "torch": torch.__version__, "load_before": load0,
                                  "load_after": [round(v, 2) for v in os.getloadavg()]},
                      "steps": args.steps, "seconds": args.seconds, "checkpoints": given, "label": args.label,
                      "results": results},
                     indent=1))


if __name__ == "__main__":
    main()
