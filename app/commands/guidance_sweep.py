"""``flowscope guidance-sweep``: the guidance trade-off of a conditional model, figure by figure over γ."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os

from engine.errors import InputError

from .args import RANGES, check_out, int_in, seed
from .sample import parse_interval

FIELDS = ("gamma", "in_class", "fidelity", "precision", "recall", "coverage", "tilted", "seconds")


def parse_gammas(text: str) -> list[float]:
    """``-2,0,1,3`` -> [-2.0, 0.0, 1.0, 3.0] (argparse reports the error in one line)."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v != v or abs(v) == float("inf") for v in values):
        raise argparse.ArgumentTypeError(f"expected finite numbers separated by commas such as -2,0,1,3, not '{text}'")
    if len(values) > 200:
        raise argparse.ArgumentTypeError(f"at most 200 guidance scales, not {len(values)}")
    return values


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("guidance-sweep", help="write the guidance trade-off of a conditional model over gamma",
                       description="For each guidance scale gamma, sample the class and write: the share in "
                       "the class, fidelity (histogram TV to an exact sample of the class, small is faithful), "
                       "k-NN precision and recall against an exact class sample (recall: how much of the class "
                       "the samples cover), coverage (the share of the class's points with a sample among "
                       "their 5 nearest neighbours: recall without its blind spot for stray points), and the TV "
                       "to the tilted target p(x)p(y|x)^gamma where it is exact.")
    p.add_argument("checkpoint", metavar="CKPT")
    p.add_argument("--label", type=int_in(*RANGES["label"]), required=True,  # type: ignore[arg-type]
                   help="class to guide towards")
    p.add_argument("--kind", choices=["cfg", "classifier"], default="cfg",
                   help="cfg (classifier-free, default) or classifier guidance")
    p.add_argument("--gammas", type=parse_gammas, default=None, metavar="LIST",
                   help="guidance scales, comma-separated (default -2,-1,...,10)")
    p.add_argument("--interval", type=parse_interval, default=None, metavar="LO,HI",
                   help="apply gamma only at diffusion times LO <= tau <= HI (gamma = 1 elsewhere)")
    p.add_argument("-n", type=int_in(10, 200_000), default=2000,
                   help="samples per gamma, 10 to 200,000 (default 2000)")
    p.add_argument("--seed", type=seed, default=0,
                   help="seed of the noise, the same for every gamma, 0 to 2**32-1 (default 0)")
    p.add_argument("--sampler", default=None,
                   help="diffusion sampler (default dpm++: 20 steps for cfg, 12 for classifier, as the guidance lab)")
    p.add_argument("--steps", type=int_in(*RANGES["sampler_steps"]), default=None,  # type: ignore[arg-type]
                   help="sampler steps, 1 to 100,000")
    p.add_argument("--out", required=True, metavar="FILE", help="output .json or .csv")
    p.set_defaults(func=run)


def render(rows: list[dict[str, object]], ext: str, meta: dict[str, object]) -> str:
    if ext == ".json":
        return json.dumps({**meta, "points": rows}, indent=1) + "\n"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row[k] is None else row[k]) for k in FIELDS})
    return buf.getvalue()


def write_atomic(path: str, text: str) -> None:
    """Write through a temporary file in the same folder, renamed over ``path`` once complete."""
    from engine.files import atomic_write

    with atomic_write(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def run(args: argparse.Namespace) -> int:
    from engine.checkpoint import load_trained
    from engine.densities import get_density
    from engine.device import configure_threads
    from engine.guidance_sweep import DEFAULT_GAMMAS, sweep

    ext = check_out(args.out, (".json", ".csv"), [args.checkpoint])
    if not 10 <= args.n <= 200_000:
        raise InputError(f"-n must be between 10 and 200000, not {args.n}")
    if args.steps is not None and args.steps <= 0:
        raise InputError("--steps must be a positive integer")
    configure_threads()
    tm = load_trained(args.checkpoint)
    spec = str(tm.density.get("spec") or tm.density.get("name"))
    density = get_density(spec)
    gammas = args.gammas or list(DEFAULT_GAMMAS)
    points = sweep(tm.model, density, args.label, gammas, kind=args.kind, interval=args.interval, n=args.n,
                   seed=args.seed, sampler=args.sampler, steps=args.steps)
    rows = [p.to_dict() for p in points]
    meta = {"checkpoint": os.path.basename(args.checkpoint), "density": spec, "label": args.label, "kind": args.kind,
            "interval": None if args.interval is None else list(args.interval), "n": args.n, "seed": args.seed}
    write_atomic(args.out, render(rows, ext, meta))
    return 0
