"""``flowscope logprob``: exact log-density of a trained model at given points."""

from __future__ import annotations

import argparse

import numpy as np

from engine.errors import InputError

from .args import check_out


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("logprob", help="exact log-density of a model at points",
                       description="Natural log-density (nats) of a trained model at the points of FILE "
                       "(.npy, .npz or .csv, in the training data's coordinates, at most 2,000,000 points), "
                       "written as a .npy array (-inf where the model puts no mass).")
    p.add_argument("checkpoint", metavar="CKPT")
    p.add_argument("--points", required=True, metavar="FILE", help="points (.npy (N,2), .npz with x, or .csv)")
    p.add_argument("--out", required=True, metavar="FILE.npy")
    p.add_argument("--device", default="cpu", help="auto, cpu, cuda or mps (default cpu)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.checkpoint import load_trained
    from engine.densities import read_points
    from engine.densities.data import MAX_POINTS
    from engine.device import configure_threads, resolve_device
    from engine.files import atomic_write

    check_out(args.out, (".npy",), [args.checkpoint, args.points])
    x, _ = read_points(args.points, spread=False)
    if len(x) > MAX_POINTS:
        raise InputError(f"{args.points}: {len(x):,} points; at most {MAX_POINTS:,} at a time")
    configure_threads()
    tm = load_trained(args.checkpoint, resolve_device(args.device))
    lp = tm.log_prob_user(x).astype(np.float64)
    if not np.isfinite(lp).all():  # a flow or diffusion model puts mass everywhere: its log-density is finite
        bad = int((~np.isfinite(lp)).sum())
        raise InputError(f"the model gave {bad:,} NaN or infinite log-densities (points far outside the "
                         "data, or damaged weights); nothing was written")
    with atomic_write(args.out) as tmp:
        np.save(tmp, lp)
    return 0
