"""``flowscope train``: train a CNF, flow-matching model, DDPM or NCSN on a density and save a checkpoint."""

from __future__ import annotations

import argparse
import json
import os
import sys

from engine.errors import InputError, TrainingError

# option name on the command line -> (dest, type, help); only options given are passed on
MODEL_OPTIONS: list[tuple[str, dict[str, object]]] = [
    ("--lr", {"type": float, "help": "learning rate"}),
    ("--batch", {"type": int, "help": "batch size"}),
    ("--width", {"type": int, "help": "hidden units per layer"}),
    ("--depth", {"type": int, "help": "number of hidden layers"}),
    ("--solver", {"help": "CNF: ODE solver (euler, midpoint, rk4, dopri5)"}),
    ("--solver-steps", {"type": int, "dest": "solver_steps", "help": "CNF: steps of a fixed-step solver"}),
    ("--trace", {"choices": ["exact", "hutchinson"], "help": "CNF: divergence exactly or by Hutchinson's estimator"}),
    ("--probe", {"choices": ["gaussian", "rademacher"], "help": "CNF: Hutchinson probe distribution"}),
    ("--adjoint", {"action": "store_true", "default": None, "help": "CNF: gradients by the adjoint method"}),
    ("--schedule", {"choices": ["linear", "cosine"], "help": "diffusion: noise schedule"}),
    ("--timesteps", {"type": int, "help": "diffusion: number of noise levels T"}),
    ("--path", {"choices": ["linear", "vp"], "help": "fm: probability path (linear: rectified flow; vp: the "
                                                     "diffusion path as a flow)"}),
    ("--sigma-min", {"type": float, "dest": "sigma_min", "help": "fm: noise left at the data end of the linear path"}),
    ("--coupling", {"choices": ["independent", "ot"], "help": "fm: pairing of noise and data in a batch "
                                                            "(ot: minibatch optimal transport)"}),
    ("--time-sampling", {"choices": ["uniform", "logit_normal"], "dest": "time_sampling",
                         "help": "fm: distribution of the training times t"}),
    ("--conditional", {"action": "store_true", "default": None,
                       "help": "fm: class-conditional velocity with label dropout (classifier-free guidance); "
                               "diffusion: class-conditional model with label dropout, plus a noisy classifier; "
                               "unless given, its batch, depth and learning rate are 1024, 4 and 0.008, and its "
                               "first layer's Fourier features are wider (std 4.5 against 3)"}),
]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model and save a checkpoint",
                       description="Train a model on a density. Without --steps or --seconds the model's default "
                       "number of steps is used. The saved model is the best one seen on a held-out batch.")
    p.add_argument("--model", required=True, choices=["cnf", "fm", "ddpm", "ncsn"],
                   help="model family (fm: flow matching)")
    p.add_argument("--density", required=True, metavar="SPEC", help="built-in name, file:PATH or image:PATH")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="number of training steps")
    budget.add_argument("--seconds", type=float, help="wall-clock budget in seconds")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default 1: fastest for small batches)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, metavar="CKPT", help="checkpoint file to write (.pt)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    g = p.add_argument_group("model options (each applies to the models named)")
    for flag, kw in MODEL_OPTIONS:
        g.add_argument(flag, **kw)
    p.set_defaults(func=run)


def _given_options(args: argparse.Namespace) -> dict[str, object]:
    out = {}
    for flag, kw in MODEL_OPTIONS:
        dest = str(kw.get("dest", flag[2:].replace("-", "_")))
        value = getattr(args, dest)
        if value is not None:
            out[dest] = value
    return out


def _check_budget(args: argparse.Namespace) -> None:
    if args.steps is not None and args.steps <= 0:
        raise InputError("--steps must be a positive integer")
    if args.seconds is not None and not args.seconds > 0:
        raise InputError("--seconds must be a positive number")
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise InputError(f"{args.out}: the folder {out_dir} does not exist")


def run(args: argparse.Namespace) -> int:
    from app.progress import ProgressPrinter
    from engine.api import make_trainer
    from engine.checkpoint import density_record, finite_or_none, save_checkpoint
    from engine.densities import get_density
    from engine.device import configure_threads, resolve_device

    _check_budget(args)
    density = get_density(args.density)
    if density.notice:
        print(density.notice, file=sys.stderr)
    device = resolve_device(args.device)
    configure_threads(args.threads)
    trainer = make_trainer(args.model, density, _given_options(args), device, args.seed)
    progress = ProgressPrinter(quiet=args.quiet)
    last = None
    failure: TrainingError | None = None
    try:
        for last in trainer.run(steps=args.steps, seconds=args.seconds):
            progress.update(last)
    except TrainingError as e:
        failure = e
    finally:
        if last is not None:
            progress.update(last, force=True)
        progress.close()
    model = trainer.best_model()
    metrics = {
        "steps": 0 if last is None else last.step,
        "seconds": 0.0 if last is None else round(last.elapsed, 2),
        "heldout_nll": None if last is None else finite_or_none(last.heldout_nll),
        "best_step": None if last is None else last.best_step,
        "seed": args.seed,
        "device": str(device),
    }
    if model.kind == "fm":
        metrics["straightness"] = round(model.straightness(), 5)  # type: ignore[attr-defined]
    save_checkpoint(args.out, {**model.to_checkpoint(), "density": density_record(density, args.density),
                               "metrics": metrics})
    if failure is not None:
        # bad options (a learning rate far too high) are the usual cause: exit 2 like other bad input
        print(f"flowscope: training stopped: {failure}; saved the last good model to {args.out}", file=sys.stderr)
        return 2
    print(json.dumps({"out": args.out, **metrics}))
    return 0
