"""``flowscope reflow``: straighten a flow-matching model by training on its own noise-to-data pairs."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from engine.errors import InputError

from .args import RANGES, check_out, float_in, int_in, seed

DEFAULT_PAIRS = 20_000


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reflow", help="reflow a flow-matching model (straighter paths, fewer sampling steps)",
                       description="Draw noise, carry it through the model's ODE accurately (dopri5) to get pairs "
                       "(x0, x1), and train a new flow-matching model on those pairs, starting from the model's "
                       "weights. Its paths are straighter, so one or two Euler steps sample it. Repeatable: the "
                       "checkpoint records its generation (1 for a reflow, 2 for a reflow of a reflow, ...).")
    p.add_argument("checkpoint", metavar="CKPT", help="a trained fm model (.pt)")
    p.add_argument("--pairs", type=int, default=DEFAULT_PAIRS, help=f"noise-data pairs to draw (default "
                   f"{DEFAULT_PAIRS:,}; a fifth of them, at most 1,000, are held out)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int_in(*RANGES["train_steps"]),  # type: ignore[arg-type]
                        help="training steps, 1 to 10,000,000")
    budget.add_argument("--seconds", type=float_in(*RANGES["train_seconds"], low_open=True),
                        help="training budget in seconds, up to 604,800 (drawing the pairs not counted)")
    p.add_argument("--lr", type=float_in(0, 1, low_open=True), help="learning rate in (0, 1] (default: the fm default)")
    p.add_argument("--batch", type=int_in(1, 200_000),
                   help="batch size, 1 to 200,000 (default: the fm default)")
    p.add_argument("--seed", type=seed, default=0, help="random seed, 0 to 2**32-1 (default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.add_argument("--threads", type=int_in(*RANGES["threads"]), default=None,  # type: ignore[arg-type]
                   help="torch threads, 1 to 256 (default 1)")
    p.add_argument("--out", required=True, metavar="CKPT2", help="checkpoint file to write (.pt)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    from engine.flowmatch.reflow import MAX_PAIRS

    if not 5 <= args.pairs <= MAX_PAIRS:
        raise InputError(f"--pairs must be between 5 and {MAX_PAIRS:,}, not {args.pairs}")
    if args.steps is not None and args.steps <= 0:
        raise InputError("--steps must be a positive integer")
    if args.seconds is not None and not args.seconds > 0:
        raise InputError("--seconds must be a positive number")
    if args.threads is not None and args.threads <= 0:
        raise InputError("--threads must be a positive integer")
    check_out(args.out, (".pt",), [args.checkpoint], "checkpoint")


def _density(record: dict[str, object]):
    """The teacher's training data when it can still be read (a conditional reflow needs its class shares)."""
    from engine.densities import get_density

    try:
        return get_density(str(record.get("spec")))
    except InputError:
        return None


def run(args: argparse.Namespace) -> int:
    from app.progress import run_with_progress
    from engine.checkpoint import load_trained, save_checkpoint
    from engine.device import configure_threads, resolve_device
    from engine.flowmatch import FlowMatchingModel, make_reflow_trainer

    _check(args)
    device = resolve_device(args.device)
    configure_threads(args.threads)
    teacher = load_trained(args.checkpoint, device)
    if not isinstance(teacher.model, FlowMatchingModel):
        raise InputError(f"{args.checkpoint}: reflow needs a flow-matching model (train one with --model fm), "
                         f"not a {teacher.kind} model")
    options = {k: v for k, v in (("lr", args.lr), ("batch", args.batch)) if v is not None}
    started = time.perf_counter()
    trainer = make_reflow_trainer(teacher.model, args.pairs, options, density=_density(teacher.density),
                                  seed=args.seed, device=device)
    pair_seconds = time.perf_counter() - started
    outcome = run_with_progress(trainer.run(steps=args.steps, seconds=args.seconds), args.quiet)
    failure = outcome.failure
    model = trainer.best_model()
    metrics = {
        "generation": model.generation,
        "pairs": args.pairs,
        "pair_seconds": round(pair_seconds, 2),
        **outcome.figures(),
        "teacher_straightness": round(teacher.model.straightness(), 5),
        "straightness": round(model.straightness(), 5),
        "teacher": os.path.basename(args.checkpoint),
        "seed": args.seed,
        "device": str(device),
    }
    save_checkpoint(args.out, {**model.to_checkpoint(), "density": teacher.density, "metrics": metrics})
    if failure is not None:
        print(f"flowscope: reflow stopped: {failure}; saved the last good model to {args.out}", file=sys.stderr)
        return 2
    print(json.dumps({"out": args.out, **metrics}))
    return 0
