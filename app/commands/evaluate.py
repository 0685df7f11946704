"""``flowscope eval``: JSON metrics of a checkpoint."""

from __future__ import annotations

import argparse
import json

from .args import RANGES, int_in


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="print JSON metrics of a checkpoint",
                       description="Held-out NLL (nats, model coordinates) on fresh samples of the training "
                       "density, with the true entropy and the gap when the density is analytic, and the "
                       "figures recorded at training time.")
    p.add_argument("checkpoint", metavar="CKPT")
    p.add_argument("-n", type=int_in(*RANGES["eval_n"]), default=5000,  # type: ignore[arg-type]
                   help="held-out points, 1 to 1,000,000 (default 5000)")
    p.add_argument("--seed", type=int_in(0, 2**32 - 4), default=1234,  # the seeds used are seed .. seed + 3
                   help="seed of the held-out sample, 0 to 2**32-4")
    p.add_argument("--device", default="cpu", help="auto, cpu, cuda or mps (default cpu)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.checkpoint import load_trained
    from engine.device import configure_threads, resolve_device
    from engine.evaluation import evaluate_model

    configure_threads()
    tm = load_trained(args.checkpoint, resolve_device(args.device))
    print(json.dumps(evaluate_model(tm, n=args.n, seed=args.seed), indent=1))
    return 0
