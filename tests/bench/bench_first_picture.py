"""Benchmark: how soon after Train the picture is good; prints JSON.

A run with the window's defaults (each family's default options, a 60-second budget, one
torch thread) is paused at a few moments of training time; at each the model the window
would show is sampled (``--n`` points, drawn as the window's live preview draws them: the
current weights, their average where one is kept, not the kept best model, which lags them;
a diffusion model with its preview sampler (100 ancestral steps spread evenly in log-SNR for
DDPM, 50 reverse-SDE steps for NCSN), the CNF with its training solver, a flow-matching model
with its preview sampler (50 steps of its stochastic sampler); ``--sampler default`` uses each
model's default sampler instead, far slower for diffusion models: 1,000 steps) and the total
variation between 64 x 64 histograms of those samples and of an exact sample of the same size
is divided by that of a second exact sample (the ratio bench_diffusion.py reports; 1 is as
good as sampling the density itself). Evaluation does not count as training time.

For each density, model and seed it reports the ratio at every moment (``at``; the look is taken at
the first training step past it, ``t``), ``seconds_to_1_5``: the first moment at which the
ratio is at most 1.5 (None when none was), and the ratio at the
target moment (5 s for the CNF, 3 s for the others: DDPM, NCSN, flow matching), with the steps done by then and
the share of a core the run had.

``--seeds 0,1,2,3`` runs every density once per seed (the seed sets the initial weights and
the batches): the summary then says for how many densities the target was met with every seed,
and for each density the worst and the median ratio over the seeds. One seed says little on
the densities whose picture sits near the threshold: DDPM's rings either separate by 3 s or stay
a blur from one seed to the next.

``--clock cpu`` (the default) runs the trainers on the process's CPU time instead of the
wall clock (their budget, schedule and elapsed time all follow it): the figures are then what
a core of one's own would give, even on a machine shared with other work; ``--clock wall``
measures as the window does, which on a busy machine is far slower. ``--clock steps:N`` puts
the target moment at about step N (the earlier looks in proportion) on any machine: the
trainers' schedules then see the same moment at the same step in every run, which compares
variants of the options at equal steps (``seconds_to_1_5`` and the times are then moments of
that schedule, not measured seconds).

Usage::

    python tests/bench/bench_first_picture.py --models ddpm,ncsn,fm,cnf
    python tests/bench/bench_first_picture.py --models cnf --densities checkerboard --times 2,5
    python tests/bench/bench_first_picture.py --models fm --times 1,2,3 --seeds 0,1,2,3
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from engine.api import FAMILIES, make_trainer  # noqa: E402
from engine.densities import DENSITIES, Density, get_density  # noqa: E402
from engine.device import configure_threads  # noqa: E402
from engine.errors import TrainingError  # noqa: E402
from engine.metrics import histogram_tv  # noqa: E402

TARGET_SECONDS = {"cnf": 5.0}  # every other family: 3 s
THRESHOLD = 1.5
DEFAULT_TIMES = {"cnf": (1.0, 2.0, 3.0, 5.0, 8.0, 12.0)}  # every other family: DIFFUSION_TIMES
DIFFUSION_TIMES = (1.0, 2.0, 3.0, 5.0, 10.0)
TRAIN_MODULES = ("engine.cnf.train", "engine.diffusion.train", "engine.flowmatch.train")


class _CpuClock:
    """Stands in for the ``time`` module inside the trainers: their clock becomes CPU time."""

    perf_counter = staticmethod(time.process_time)
    monotonic = staticmethod(time.process_time)


class _StepClock:
    """Stands in for the ``time`` module inside the trainers: every reading moves it on by ``tick``.

    A training step reads it twice (its start and its end; flow matching twice more around a
    look), so with tick = target / (2 N) the target moment falls at about step N whatever the
    machine's speed and load, and variants are compared at equal steps.
    """

    now = 0.0
    tick = 0.0

    @classmethod
    def perf_counter(cls) -> float:
        cls.now += cls.tick
        return cls.now

    monotonic = perf_counter

    @classmethod
    def restart(cls, target: float, steps: int) -> None:
        cls.now, cls.tick = 0.0, target / (2 * steps)


def use_clock(clock: type) -> None:
    """Make ``clock`` (a stand-in for the ``time`` module) the trainers' clock."""
    for name in TRAIN_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:  # a family this engine does not have
            continue
        module.time = clock  # type: ignore[attr-defined]


def exact_floor(density: Density, n: int, repeats: int = 3) -> tuple[np.ndarray, float]:
    """A reference sample and the mean TV of ``repeats`` other exact samples of n points against it."""
    truth = density.sample(n, seed=101).x
    tvs = [histogram_tv(density.sample(n, seed=200 + r).x, truth, density.box) for r in range(repeats)]
    return truth, float(np.mean(tvs))


def window_samples(kind: str, trainer: Any, n: int, sampler: str) -> np.ndarray:
    """n samples of the model the window shows: the current weights (their EMA), as the live preview samples them."""
    model = trainer.current_model()
    if sampler == "default":
        return np.asarray(model.sample(n, seed=11))
    if kind == "fm":
        opts = trainer.opts
        return np.asarray(model.sample(n, seed=11, solver=opts["sample_solver"], steps=int(opts["sample_steps"])))
    if kind == "cnf":
        return np.asarray(model.sample(n, seed=11, solver=trainer.cfg.solver, steps=trainer.solver_steps))
    options: dict[str, Any] = {}
    if sampler == "preview":
        preview = getattr(trainer, "preview_sampler", None)
        name, steps, options = preview() if preview else ("ddim", min(50, model.process.num_levels), {})
    else:  # NAME:STEPS
        name, _, count = sampler.partition(":")
        steps = int(count)
    return np.asarray(model.sample(n, seed=11, sampler=name, steps=steps, **options))


def curve(kind: str, name: str, times: list[float], budget: float, n: int, seed: int,
          sampler: str, options: dict[str, Any], steps_at_target: int | None = None) -> dict[str, Any]:
    """One run's ratios at ``times``; ``steps_at_target``: the trainers run on the step clock."""
    density = get_density(name)
    truth, floor = exact_floor(density, n)
    target = TARGET_SECONDS.get(kind, 3.0)
    if steps_at_target is not None:
        _StepClock.restart(target, steps_at_target)
    trainer = make_trainer(kind, density, options, torch.device("cpu"), seed)
    run = trainer.run(seconds=budget)
    points: list[dict[str, Any]] = []
    pending = sorted(times)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    eval_cpu = eval_wall = 0.0
    stopped = None  # why the run stopped early, if it did (a diverged run): the other runs go on
    try:
        for snap in run:
            if snap.elapsed < pending[0]:
                continue
            c, w = time.process_time(), time.perf_counter()
            x = window_samples(kind, trainer, n, sampler)
            ratio = histogram_tv(x, truth, density.box) / floor
            eval_cpu, eval_wall = eval_cpu + time.process_time() - c, eval_wall + time.perf_counter() - w
            share = (time.process_time() - cpu0 - eval_cpu) / max(time.perf_counter() - wall0 - eval_wall, 1e-9)
            due = max(t for t in pending if t <= snap.elapsed)  # the moment this look stands for
            points.append({"at": due, "t": round(snap.elapsed, 2), "step": snap.step, "tv_ratio": round(ratio, 3),
                           "core_share": round(share, 2)})
            pending = [t for t in pending if t > snap.elapsed]
            reached = any(p["tv_ratio"] <= THRESHOLD for p in points)
            if not pending or (reached and snap.elapsed >= target):
                break
    except TrainingError as e:
        stopped = str(e)
    finally:
        run.close()
    # a look stands for the moment it was due: it is taken at the first step past it (a CNF step
    # takes ~40 ms, so the 5-s look came at 5.02-5.1 s)
    first = next((p["at"] for p in points if p["tv_ratio"] <= THRESHOLD), None)
    at_target = [p for p in points if p["at"] <= target]
    return {"density": name, "model": kind, "seconds_to_1_5": first, "target_s": target,
            "ratio_at_target": at_target[-1]["tv_ratio"] if at_target else None,
            "steps_at_target": at_target[-1]["step"] if at_target else None, "tv_exact": round(floor, 4),
            "curve": points, "stopped": stopped, "load_1min": round(os.getloadavg()[0], 2)}


def met(row: dict[str, Any]) -> bool:
    """Whether a run's picture was within the threshold by its target moment."""
    first = row["seconds_to_1_5"]
    return first is not None and first <= row["target_s"] + 0.05


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One family's runs: the densities within the target with every seed, and each density's worst and median
    ratio at the target moment over the seeds."""
    densities = list(dict.fromkeys(r["density"] for r in rows))
    per: dict[str, dict[str, Any]] = {}
    for name in densities:
        runs = [r for r in rows if r["density"] == name]
        ratios = [r["ratio_at_target"] if r["ratio_at_target"] is not None else float("inf") for r in runs]
        per[name] = {"seeds_within": f"{sum(met(r) for r in runs)}/{len(runs)}", "worst": _json(max(ratios)),
                     "median": _json(round(float(np.median(ratios)), 3))}
    return {"densities_within_target": f"{sum(all(met(r) for r in rows if r['density'] == n) for n in densities)}"
                                       f"/{len(densities)}",
            "runs_within_target": f"{sum(met(r) for r in rows)}/{len(rows)}",
            # None where a run stopped before its target moment
            "worst_ratio_at_target": None if any(p["worst"] is None for p in per.values()) else max(
                (p["worst"] for p in per.values()), default=None), "per_density": per}


def _json(x: float) -> float | None:
    """A figure as strict JSON has it (no Infinity: a run that never reached its target moment)."""
    return x if np.isfinite(x) else None


def _clock(text: str) -> str:
    name, _, count = text.partition(":")
    if text in ("cpu", "wall") or (name == "steps" and count.isdigit() and int(count) > 0):
        return text
    raise argparse.ArgumentTypeError(f"choose cpu, wall or steps:N with N a positive whole number, not {text!r}")


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        seeds = []
    if not seeds:
        print(f"bench_first_picture: --seeds takes whole numbers separated by commas, not {text!r}", file=sys.stderr)
        sys.exit(2)
    return seeds


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="ddpm,ncsn,fm,cnf", help="comma-separated model kinds")
    p.add_argument("--densities", default=",".join(DENSITIES), help="comma-separated densities (default: all built-in)")
    p.add_argument("--times", default=None, help="training seconds at which to look (default per family)")
    p.add_argument("--budget", type=float, default=60.0, help="the run's budget in seconds (the window's default)")
    p.add_argument("--n", type=int, default=20_000, help="samples for each histogram")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", default=None, help="comma-separated seeds, one run of each density per seed "
                   "(instead of --seed)")
    p.add_argument("--sampler", default="preview",
                   help="preview (as the window), default (each model's own) or NAME:STEPS (diffusion)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a training option instead of its default (repeatable; the value is read as JSON)")
    p.add_argument("--clock", type=_clock, default="cpu",
                   help="what the trainers' seconds count: cpu, wall, or steps:N (the target moment at step N)")
    args = p.parse_args()
    args.options = {key: _value(value) for key, _, value in (o.partition("=") for o in args.option)}
    configure_threads(1)
    steps_at_target = int(args.clock.partition(":")[2]) if args.clock.startswith("steps:") else None
    if args.clock == "cpu":
        use_clock(_CpuClock)
    elif steps_at_target is not None:
        use_clock(_StepClock)
    kinds = [k for k in args.models.split(",") if k]
    unknown = [k for k in kinds if k not in FAMILIES]
    if unknown:
        print(f"bench_first_picture: unknown model(s) {', '.join(unknown)}; choose from {', '.join(FAMILIES)}",
              file=sys.stderr)
        sys.exit(2)
    seeds = _seeds(args.seeds) if args.seeds else [args.seed]
    load0 = os.getloadavg()
    results = []
    for name in args.densities.split(","):
        for kind in kinds:
            times = [float(t) for t in args.times.split(",")] if args.times else list(
                DEFAULT_TIMES.get(kind, DIFFUSION_TIMES))
            for seed in seeds:
                row = curve(kind, name, times, args.budget, args.n, seed, args.sampler, args.options,
                            steps_at_target)
                results.append({**row, "seed": seed})
                print(json.dumps({k: v for k, v in results[-1].items() if k != "curve"}), file=sys.stderr, flush=True)
    summary = {kind: summarise([r for r in results if r["model"] == kind]) for kind in kinds}
    print(json.dumps({"budget_s": args.budget, "clock": args.clock, "sampler": args.sampler, "options": args.options,
                      "n": args.n, "seeds": seeds,
                      "threshold": THRESHOLD, "cpus": os.cpu_count(),
                      "load_before": [round(v, 2) for v in load0],
                      "load_after": [round(v, 2) for v in os.getloadavg()], "summary": summary,
                      "results": results}, indent=1))


if __name__ == "__main__":
    main()
