"""``flowscope train``: train a CNF, flow-matching model, DDPM or NCSN on a density and save a checkpoint."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from collections.abc import Iterator
from typing import Any

from engine.errors import InputError

from .args import RANGES, check_out, float_in, input_paths, int_in, seed

# option name on the command line -> (dest, type, help); only options given are passed on
MODEL_OPTIONS: list[tuple[str, dict[str, object]]] = [
    ("--lr", {"type": float_in(0, 1, low_open=True), "help": "learning rate, in (0, 1]"}),
    ("--batch", {"type": int_in(1, 200_000), "help": "batch size, 1 to 200,000"}),
    ("--width", {"type": int_in(1, 2048), "help": "hidden units per layer, 1 to 2048"}),
    ("--depth", {"type": int_in(1, 32), "help": "number of hidden layers, 1 to 32"}),
    ("--solver", {"help": "CNF: ODE solver (euler, midpoint, rk4, dopri5)"}),
    ("--solver-steps", {"type": int_in(1, 1000), "dest": "solver_steps",
                        "help": "CNF: steps of a fixed-step solver, 1 to 1000"}),
    ("--trace", {"choices": ["exact", "hutchinson"], "help": "CNF: divergence exactly or by Hutchinson's estimator"}),
    ("--probe", {"choices": ["gaussian", "rademacher"], "help": "CNF: Hutchinson probe distribution"}),
    ("--adjoint", {"action": "store_true", "default": None, "help": "CNF: gradients by the adjoint method"}),
    ("--schedule", {"choices": ["linear", "cosine"], "help": "diffusion: noise schedule"}),
    ("--timesteps", {"type": int_in(2, 10_000), "help": "diffusion: number of noise levels T, 2 to 10,000"}),
    ("--path", {"choices": ["linear", "vp"], "help": "fm: probability path (linear: rectified flow; vp: the "
                                                     "diffusion path as a flow)"}),
    ("--sigma-min", {"type": float_in(0, 1), "dest": "sigma_min",
                     "help": "fm: noise left at the data end of the linear path, in [0, 1]"}),
    ("--coupling", {"choices": ["independent", "ot"], "help": "fm: pairing of noise and data in a batch "
                                                            "(ot: minibatch optimal transport)"}),
    ("--time-sampling", {"choices": ["uniform", "logit_normal", "ramp", "early_ramp"], "dest": "time_sampling",
                         "help": "fm: distribution of the training times t"}),
    ("--conditional", {"action": "store_true", "default": None,
                       "help": "fm: class-conditional velocity with label dropout (classifier-free guidance); "
                               "diffusion: class-conditional model with label dropout, plus a noisy classifier; "
                               "unless given, its batch, depth and learning rate are 1024, 4 and 0.008, and its "
                               "first layer's Fourier features are wider (std 4.5 against 3)"}),
]

INTERRUPTED = {signal.SIGINT: 130, signal.SIGTERM: 143}  # exit status after a signal: 128 + its number


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model and save a checkpoint",
                       description="Train a model on a density. Without --steps or --seconds the model's default "
                       "number of steps is used. The saved model is the best one seen on a held-out batch; "
                       "Ctrl+C (or SIGTERM) stops early and saves it too. If the checkpoint cannot be written "
                       "at the end, it goes to the system's temporary folder and the message says where.")
    p.add_argument("--model", required=True, choices=["cnf", "fm", "ddpm", "ncsn"],
                   help="model family (fm: flow matching)")
    p.add_argument("--density", required=True, metavar="SPEC", help="built-in name, file:PATH or image:PATH")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int_in(*RANGES["train_steps"]),  # type: ignore[arg-type]
                        help="number of training steps, 1 to 10,000,000")
    budget.add_argument("--seconds", type=float_in(*RANGES["train_seconds"], low_open=True),
                        help="wall-clock budget in seconds, up to 604,800 (a week)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.add_argument("--threads", type=int_in(*RANGES["threads"]), default=None,  # type: ignore[arg-type]
                   help="torch threads, 1 to 256 (default 1: fastest for small batches)")
    p.add_argument("--seed", type=seed, default=0, help="random seed, 0 to 2**32-1 (default 0)")
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


def check_training_memory(kind: str, options: dict[str, Any]) -> None:
    """Refuse a batch x width x depth whose activations cannot fit (a rough upper estimate)."""
    from engine.api import default_options
    from engine.resources import check_memory

    opts = {**default_options(kind, bool(options.get("conditional"))), **options}
    batch, width, depth = int(opts.get("batch", 256)), int(opts.get("width", 64)), int(opts.get("depth", 2))
    # a CNF keeps every stage of every solver step for backpropagation (4 per RK4 step); diffusion ~6 passes
    passes = 4 * int(opts.get("solver_steps", 4)) * 6 if kind == "cnf" else 6
    check_memory(4.0 * batch * width * (depth + 2) * passes,
                 f"--batch {batch} with --width {width} and --depth {depth}")


@contextlib.contextmanager
def stop_signals() -> Iterator[dict[str, int]]:
    """SIGINT and SIGTERM raise KeyboardInterrupt inside the block; the dict records which arrived."""
    seen: dict[str, int] = {}

    def handler(signum: int, _frame: object) -> None:
        if "signal" in seen:
            return  # a second signal while the model is being saved must not lose it
        seen["signal"] = signum
        raise KeyboardInterrupt

    old = {}
    for sig in INTERRUPTED:
        with contextlib.suppress(ValueError, OSError):  # not the main thread: leave the signals alone
            old[sig] = signal.signal(sig, handler)
    try:
        yield seen
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def _save(path: str, checkpoint: dict[str, Any]) -> tuple[str, str | None]:
    """Where the checkpoint went and, when not at ``path``, why."""
    from engine.checkpoint import save_checkpoint
    from engine.files import fallback_path

    try:
        save_checkpoint(path, checkpoint)
        return path, None
    except InputError as e:
        rescue = fallback_path(path)
        save_checkpoint(rescue, checkpoint)
        return rescue, str(e)


def run(args: argparse.Namespace) -> int:
    from app.progress import run_with_progress
    from engine.api import make_trainer
    from engine.checkpoint import density_record
    from engine.densities import get_density
    from engine.device import configure_threads, resolve_device

    check_out(args.out, (".pt",), input_paths(specs=[args.density]), "checkpoint")
    options = _given_options(args)
    check_training_memory(args.model, options)
    density = get_density(args.density)
    if density.notice:
        print(density.notice, file=sys.stderr)
    device = resolve_device(args.device)
    configure_threads(args.threads)
    trainer = make_trainer(args.model, density, options, device, args.seed)
    with stop_signals() as stopped:
        outcome = run_with_progress(trainer.run(steps=args.steps, seconds=args.seconds), args.quiet,
                                    catch_interrupt=True)
        if outcome.interrupted:
            stopped.setdefault("signal", signal.SIGINT)
        last, failure = outcome.last, outcome.failure
        model = trainer.best_model()
        metrics = {
            **outcome.figures(),
            "best_step": None if last is None else last.best_step,
            "seed": args.seed,
            "device": str(device),
        }
        if model.kind == "fm":
            metrics["straightness"] = round(model.straightness(), 5)  # type: ignore[attr-defined]
        where, why = _save(args.out, {**model.to_checkpoint(), "density": density_record(density, args.density),
                                      "metrics": metrics})
    if why is not None:
        print(f"flowscope: error: {why}; the model was saved to {where} instead", file=sys.stderr)
        return 2
    if stopped:
        print(f"flowscope: interrupted after {metrics['steps']} steps; saved the best model so far to {where}",
              file=sys.stderr)
        return INTERRUPTED[signal.Signals(stopped["signal"])]
    if failure is not None:
        # bad options (a learning rate far too high) are the usual cause: exit 2 like other bad input
        print(f"flowscope: training stopped: {failure}; saved the last good model to {where}", file=sys.stderr)
        return 2
    print(json.dumps({"out": where, **metrics}))
    return 0
