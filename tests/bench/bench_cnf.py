"""Benchmark: how fast flowscope's CNF defaults learn, beside FFJORD's toy configuration.

Prints JSON with, for each density: steps/s, NFE per step, and the held-out NLL gap to the
true entropy against training time, for ``OPTIONS["cnf"]`` and, in the same run, for the
FFJORD paper's toy set-up (concat-squash 64-64-64 tanh, exact trace, dopri5 at 1e-5,
adjoint, batch 100, Adam 1e-3 with weight decay 1e-5, end time 0.5).

The gap is measured on fresh points x ~ p with the model's accurate solver (dopri5, every
point to atol = rtol = 1e-5), both as NLL − H (H: the density's entropy) and as the paired
estimate mean(log p(x) − log q(x)), which has the same expectation but far less sampling
noise; the targets are checked on the paired estimate. Evaluation time is not counted as
training time. The reference is run for ``--reference-seconds``; when that is shorter than
its 6 minutes, its gap at 6 minutes is extrapolated by a power law fitted to its curve
(and the output says so).

Usage::

    python tests/bench/bench_cnf.py --seconds 60 --densities 8gaussians,checkerboard --reference-seconds 360
    python tests/bench/bench_cnf.py --seconds 10 --densities 8gaussians --reference-seconds 0   # quick look
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

import numpy as np
import torch

from engine.cnf import OPTIONS, CNFTrainer
from engine.densities import get_density
from engine.device import configure_threads

ANALYTIC = ["8gaussians", "checkerboard", "25gaussians", "banana", "funnel", "twomodes", "gaussian"]
TARGETS = {"8gaussians": 0.02, "checkerboard": 0.15}  # every other analytic density: 0.05
REFERENCE_HORIZON = 360.0  # the reference's figure is its NLL after 6 minutes
# the reference's gap after 6 minutes on one quiet core, as the issue reports it
DOCUMENTED_REFERENCE = {"8gaussians": 0.06, "checkerboard": 0.30}
REFERENCE = {  # FFJORD train_toy.py defaults
    "width": 64, "depth": 3, "activation": "tanh", "trace": "exact", "solver": "dopri5", "atol": 1e-5,
    "rtol": 1e-5, "adjoint": True, "batch": 100, "lr": 1e-3, "beta2": 0.999, "weight_decay": 1e-5, "end_time": 0.5,
    "schedule": "constant", "warmup": 0.0, "ema": 0.0, "kinetic": 0.0, "frobenius": 0.0, "clip": 0.0,
    "max_nfe": 100000, "eval_every": 60.0, "sample_every": 0.0,
}


def evaluate(model: Any, x: torch.Tensor, true_lp: torch.Tensor, entropy: float) -> dict[str, float]:
    """Gap figures of a model on held-out points x with their true log-densities."""
    t0 = time.perf_counter()
    lp = model.log_prob_at(x).double()
    if not bool(torch.isfinite(lp).all()):
        return {"gap": math.inf, "nll_gap": math.inf}
    return {
        "gap": round(float((true_lp - lp).mean()), 5),
        "gap_se": round(float((true_lp - lp).std() / math.sqrt(len(x))), 5),
        "nll_gap": round(float(-lp.mean()) - entropy, 5),
        "eval_s": round(time.perf_counter() - t0, 2),
    }


def checkpoints(seconds: float, first: float = 1.0) -> list[float]:
    """Geometric evaluation times up to ``seconds`` (dense early, where curves move fast)."""
    out, t = [], first
    while t < seconds * 0.99:
        out.append(round(t, 2))
        t *= 1.5
    return out + [seconds]


def train_curve(
    density_name: str, options: dict[str, Any], seconds: float, n_eval: int, seed: int
) -> dict[str, Any]:
    """Train for ``seconds`` and evaluate at geometric times; the last figure is the saved model's."""
    density = get_density(density_name)
    entropy = float(density.entropy())
    x_np = density.sample(n_eval, seed=seed + 424242).x
    x = torch.from_numpy(x_np)
    with torch.no_grad():
        true_lp = density.log_prob(x.double())
    quick = x[: max(n_eval // 4, 1000)], true_lp[: max(n_eval // 4, 1000)]
    trainer = CNFTrainer(density, options, torch.device("cpu"), seed)
    marks, curve, nfe, last = checkpoints(seconds), [], [], None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        for snap in trainer.run(seconds=seconds):
            last = snap
            nfe.append(snap.nfe or 0.0)
            if marks and snap.elapsed >= marks[0] and snap.elapsed < seconds:
                while marks and snap.elapsed >= marks[0]:
                    marks.pop(0)
                with torch.no_grad():
                    fig = evaluate(trainer.current_model(), *quick, entropy)
                curve.append({"t": round(snap.elapsed, 2), "step": snap.step, "train_nll_gap": round(
                    snap.loss - entropy, 4), "solver_steps": trainer.solver_steps, **fig})
                print(f"  {density_name} t={snap.elapsed:6.1f}s step={snap.step:5d} gap={fig['gap']:.4f} "
                      f"(batch, training solver: {snap.loss - entropy:.4f}; steps {trainer.solver_steps})",
                      file=sys.stderr, flush=True)
        failure = None
    except Exception as e:  # noqa: BLE001 - a benchmark reports a failed run instead of stopping
        failure = f"{type(e).__name__}: {e}"
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    with torch.no_grad():
        final = evaluate(trainer.best_model(), x, true_lp, entropy)
    t_end = last.elapsed if last else 0.0
    curve.append({"t": round(t_end, 2), "step": last.step if last else 0, "saved_model": True, **final})
    print(f"  {density_name} final t={t_end:6.1f}s gap={final['gap']:.4f} (nll-H {final['nll_gap']:.4f})",
          file=sys.stderr, flush=True)
    return {
        "seconds": round(t_end, 2),
        "steps": last.step if last else 0,
        "steps_per_s": round((last.step if last else 0) / max(t_end, 1e-9), 2),
        "nfe_per_step": round(float(np.mean(nfe)), 1) if nfe else None,
        "nfe_last": nfe[-1] if nfe else None,
        "entropy": round(entropy, 4),
        "final_gap": final["gap"],
        "final_nll_gap": final["nll_gap"],
        "cpu_share": round(cpu / max(wall, 1e-9), 2),  # < 1 when other processes took the core
        "failure": failure,
        "curve": curve,
    }


def extrapolate(curve: list[dict[str, Any]], horizon: float) -> tuple[float, bool]:
    """The gap at ``horizon`` seconds: measured if the curve got there, else a power-law fit."""
    pts = [(c["t"], c["gap"]) for c in curve if c["t"] > 0 and math.isfinite(c["gap"]) and c["gap"] > 0]
    if not pts:
        return math.nan, False
    if pts[-1][0] >= horizon * 0.98:
        return min(g for _, g in pts[-2:]), False
    late = pts[len(pts) // 2:] if len(pts) >= 4 else pts
    if len(late) < 2:
        return pts[-1][1], True
    b, a = np.polyfit(np.log([t for t, _ in late]), np.log([g for _, g in late]), 1)
    return float(np.exp(a + b * math.log(horizon))), True


def time_to_reach(curve: list[dict[str, Any]], gap: float, interpolate: bool = False) -> float | None:
    """First training time at which the curve is at or below ``gap`` (an evaluation time, or
    linearly interpolated between the evaluations on either side of the crossing)."""
    before = None
    for c in curve:
        if c["gap"] <= gap:
            if not interpolate or before is None or not math.isfinite(before["gap"]):
                return float(c["t"])
            w = (before["gap"] - gap) / (before["gap"] - c["gap"])
            return round(before["t"] + w * (c["t"] - before["t"]), 2)
        before = c
    return None


def speedups(curve: list[dict[str, Any]], gap: float) -> dict[str, Any]:
    """How much sooner than the reference's 6 minutes the curve gets to ``gap``."""
    at, interp = time_to_reach(curve, gap), time_to_reach(curve, gap, interpolate=True)
    return {
        "time_to_reach": at,
        "speedup": None if at is None else round(REFERENCE_HORIZON / max(at, 1e-9), 1),
        "time_to_reach_interpolated": interp,
        "speedup_interpolated": None if interp is None else round(REFERENCE_HORIZON / max(interp, 1e-9), 1),
    }


class _CpuClock:
    """Stands in for the ``time`` module inside the trainer: its clock becomes CPU time."""

    perf_counter = staticmethod(time.process_time)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60.0, help="training budget of the defaults")
    p.add_argument("--densities", default="8gaussians,checkerboard",
                   help=f"comma-separated names, or 'analytic' for {','.join(ANALYTIC)}")
    p.add_argument("--reference-seconds", type=float, default=REFERENCE_HORIZON,
                   help="budget of the FFJORD reference (0 skips it; < 360 extrapolates)")
    p.add_argument("--reference-densities", default=None, help="densities for the reference (default: all)")
    p.add_argument("--eval-points", type=int, default=20000, help="held-out points for the final figures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a default option")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="cpu: the trainer's seconds are its CPU time (a core of its own on a shared machine)")
    args = p.parse_args(argv)
    if args.clock == "cpu":
        import engine.cnf.train as cnf_train

        cnf_train.time = _CpuClock  # type: ignore[assignment]

    configure_threads(1)
    names = ANALYTIC if args.densities == "analytic" else args.densities.split(",")
    ref_names = names if args.reference_densities is None else args.reference_densities.split(",")
    overrides = dict(kv.split("=", 1) for kv in args.set)
    defaults = {**OPTIONS["cnf"], **overrides}
    out: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
                    "python": platform.python_version(), "load_start": [round(v, 2) for v in os.getloadavg()]},
        "command": " ".join(["python", "tests/bench/bench_cnf.py", *(argv if argv is not None else sys.argv[1:])]),
        "defaults": defaults, "reference_options": REFERENCE, "results": {},
    }
    for name in names:
        res: dict[str, Any] = {"target_gap": TARGETS.get(name, 0.05)}
        res["defaults"] = train_curve(name, overrides, args.seconds, args.eval_points, args.seed)
        res["meets_target"] = res["defaults"]["final_gap"] <= res["target_gap"]
        if args.reference_seconds > 0 and name in ref_names:
            ref = train_curve(name, REFERENCE, args.reference_seconds, args.eval_points, args.seed)
            ref_gap, extrapolated = extrapolate(ref["curve"], REFERENCE_HORIZON)
            res["reference"] = ref
            res["reference_gap_at_360s"] = round(ref_gap, 4)
            res["reference_gap_extrapolated"] = extrapolated
            res["vs_reference_here"] = speedups(res["defaults"]["curve"], ref_gap)
        if name in DOCUMENTED_REFERENCE:
            res["vs_reference_documented"] = {"gap": DOCUMENTED_REFERENCE[name],
                                              **speedups(res["defaults"]["curve"], DOCUMENTED_REFERENCE[name])}
        out["results"][name] = res
    out["machine"]["load_end"] = [round(v, 2) for v in os.getloadavg()]
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
