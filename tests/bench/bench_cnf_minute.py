"""Benchmark: the CNF's kept model after a budget of CPU time, on any density; prints JSON.

bench_cnf.py judges a run by its held-out NLL's gap to the density's entropy, which needs an
exact log-density; this one also serves the densities known only through their samplers
(rings, circles, the spirals), where two variants of the options are compared by the NLL itself
(lower is better) and by the TV ratio of the kept model's samples. For each density and seed it
trains the CNF with its defaults (and ``--option`` overrides) for ``--seconds`` of the process's
CPU time, then reports the kept (best held-out) model's held-out NLL on 5,000 fresh points by
its accurate solver, the total variation of 64 x 64 histograms of 20,000 of its samples (default
sampler) against an exact sample over that of another exact sample (1 is as good as sampling the
density), the steps done, the radial and Fourier features it used and the training solver's final steps.

Usage::

    python tests/bench/bench_cnf_minute.py --densities rings,circles --seeds 0,1
    python tests/bench/bench_cnf_minute.py --densities rings --seeds 0,1 --option radial_symmetric=0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_first_picture import _CpuClock, _value, exact_floor, use_clock  # noqa: E402

from engine.api import make_trainer  # noqa: E402
from engine.densities import get_density  # noqa: E402
from engine.device import configure_threads  # noqa: E402
from engine.metrics import histogram_tv  # noqa: E402


def run(name: str, seed: int, seconds: float, options: dict[str, object]) -> dict[str, object]:
    density = get_density(name)
    trainer = make_trainer("cnf", density, options, torch.device("cpu"), seed)
    t0 = time.perf_counter()
    for _ in trainer.run(seconds=seconds):
        pass
    wall = time.perf_counter() - t0
    model = trainer.best_model()
    x = torch.as_tensor(density.sample(5000, seed=999).x, dtype=torch.float32)
    nll = float(-model.log_prob_at(x).mean().detach())
    truth, floor = exact_floor(density, 20_000)
    ratio = histogram_tv(np.asarray(model.sample(20_000, seed=11)), truth, density.box) / floor
    return {"density": name, "seed": seed, "steps": trainer.step, "wall_s": round(wall, 1),
            "heldout_nll": round(nll, 4), "tv_ratio": round(ratio, 3), "radial": trainer.cfg.radial,
            "fourier": trainer.cfg.fourier,
            "solver_steps": trainer.solver_steps, "load_1min": round(os.getloadavg()[0], 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--densities", default="rings,circles", help="comma-separated built-in densities")
    p.add_argument("--seeds", default="0", help="comma-separated seeds")
    p.add_argument("--seconds", type=float, default=60.0, help="training budget in CPU seconds")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a CNF option instead of its default (repeatable; the value is read as JSON)")
    args = p.parse_args()
    configure_threads(1)
    use_clock(_CpuClock)
    options = {key: _value(value) for key, _, value in (o.partition("=") for o in args.option)}
    rows = []
    for name in args.densities.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            rows.append(run(name, seed, args.seconds, options))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(json.dumps({"seconds": args.seconds, "clock": "cpu", "options": options, "cpus": os.cpu_count(),
                      "torch_threads": torch.get_num_threads(), "results": rows}, indent=1))


if __name__ == "__main__":
    main()
