"""``flowscope logprob``: exact log-density of a trained model at given points."""

from __future__ import annotations

import argparse
import os

import numpy as np

from engine.errors import InputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("logprob", help="exact log-density of a model at points",
                       description="Natural log-density (nats) of a trained model at the points of FILE "
                       "(.npy, .npz or .csv, in the training data's coordinates), written as a .npy array.")
    p.add_argument("checkpoint", metavar="CKPT")
    p.add_argument("--points", required=True, metavar="FILE", help="points (.npy (N,2), .npz with x, or .csv)")
    p.add_argument("--out", required=True, metavar="FILE.npy")
    p.add_argument("--device", default="cpu", help="auto, cpu, cuda or mps (default cpu)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.checkpoint import load_trained
    from engine.densities import read_points
    from engine.device import configure_threads, resolve_device

    if not args.out.lower().endswith(".npy"):
        raise InputError(f"{args.out}: output must end in .npy")
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
        raise InputError(f"{args.out}: the folder does not exist")
    x, _ = read_points(args.points, spread=False)
    configure_threads()
    tm = load_trained(args.checkpoint, resolve_device(args.device))
    np.save(args.out, tm.log_prob_user(x).astype(np.float64))
    return 0
