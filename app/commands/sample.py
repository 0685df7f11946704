"""``flowscope sample``: draw samples from a checkpoint, in the data's own coordinates."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.errors import InputError

from .args import RANGES, check_out, float_in, int_in, seed

if TYPE_CHECKING:
    from engine.checkpoint import TrainedModel

GUIDANCE_HELP = (
    "guidance scale gamma, from -100 to 100: classifier-free eps = gamma*eps(x,y) + (1-gamma)*eps(x); classifier "
    "eps = eps(x) - gamma*sqrt(1-abar_t)*grad log p(y|x). gamma=0 unconditional, 1 conditional, "
    ">1 sharper, negative allowed (texts that write 1+w use w = gamma-1)"
)
MAX_WORK = 2e10  # points x network evaluations of one run: beyond this a CPU takes hours


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="draw samples from a trained model",
                       description="Draw N samples from a checkpoint and write them as .npy or .csv "
                       "(in the coordinates of the training data).")
    p.add_argument("checkpoint", metavar="CKPT")
    p.add_argument("-n", type=int_in(*RANGES["samples"]), required=True,  # type: ignore[arg-type]
                   help="number of samples, 1 to 10,000,000")
    p.add_argument("--out", required=True, metavar="FILE", help="output .npy or .csv")
    p.add_argument("--seed", type=seed, default=0, help="random seed, 0 to 2**32-1 (default 0)")
    p.add_argument("--device", default="cpu", help="auto, cpu, cuda or mps (default cpu)")
    p.add_argument("--threads", type=int_in(*RANGES["threads"]), default=None,  # type: ignore[arg-type]
                   help="torch threads, 1 to 256 (default 1, the fastest for these small networks on a CPU; "
                        "10k points x 1,000 DDPM steps took 1.8 s on one thread, 5 s on two)")
    p.add_argument("--sampler", choices=["ancestral", "ddim", "sde", "ode", "langevin", "dpm++", "euler", "midpoint",
                                         "rk4", "dopri5"],
                   help="diffusion sampler (default: the model's own, and dpm++ with --guidance, as the guidance "
                        "lab and guidance-sweep sample; dpm++ is DPM-Solver++(2M), good at 10-25 steps and with "
                        "strong guidance), or the ODE solver of a CNF or flow-matching model (default dopri5; "
                        "euler when only --steps is given to fm; rk4 with 4 steps with --guidance); for fm, "
                        "sde is its stochastic sampler (50 steps unless --steps), the window's live preview")
    p.add_argument("--steps", type=int_in(*RANGES["sampler_steps"]),  # type: ignore[arg-type]
                   help="sampler steps (diffusion) or solver steps (CNF, fm), 1 to 100,000")
    p.add_argument("--label", type=int_in(*RANGES["label"]),  # type: ignore[arg-type]
                   help="class to sample (conditional diffusion and fm models), 0 to 1000")
    p.add_argument("--guidance", type=float_in(*RANGES["guidance"]), help=GUIDANCE_HELP)
    p.add_argument("--guidance-kind", choices=["cfg", "classifier"], default=None,
                   help="cfg (classifier-free, default) or classifier guidance")
    p.add_argument("--guidance-interval", type=parse_interval, metavar="LO,HI",
                   help="apply gamma only at diffusion times LO <= tau <= HI (0 data, 1 noise); "
                        "elsewhere the plain conditional model (gamma = 1)")
    p.set_defaults(func=run)


def check_finite(x: np.ndarray, what: str) -> None:
    """InputError when a result holds NaN or infinite values: such a file would only mislead."""
    bad = ~np.isfinite(x)
    if bad.any():
        raise InputError(f"the model produced {int(bad.reshape(len(x), -1).any(1).sum()):,} {what} with NaN or "
                         "infinite values (damaged weights?); nothing was written")


def parse_interval(text: str) -> tuple[float, float]:
    """``LO,HI`` -> (lo, hi) with 0 <= lo <= hi <= 1 (argparse reports the error in one line)."""
    from engine.diffusion.guidance import check_interval

    parts = text.split(",")
    try:
        values = tuple(float(v) for v in parts)
    except ValueError:
        values = ()
    if len(values) != 2:
        raise argparse.ArgumentTypeError(f"expected two times LO,HI such as 0.2,0.8, not '{text}'")
    try:
        window = check_interval(values)
    except InputError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    assert window is not None
    return window


def write_points(path: str, x: np.ndarray) -> None:
    """Points (n, 2) to .npy or .csv, atomically."""
    from engine.files import atomic_write

    ext = check_out(path, (".npy", ".csv"))
    check_finite(x, "samples")
    with atomic_write(path) as tmp:
        if ext == ".npy":
            np.save(tmp, x.astype(np.float32))
        else:
            np.savetxt(tmp, x, delimiter=",", header="x,y", comments="", fmt="%.7g")


def sample_options(args: argparse.Namespace) -> dict[str, object]:
    keys = ("sampler", "steps", "label", "guidance", "guidance_kind", "guidance_interval")
    return {k: getattr(args, k) for k in keys if getattr(args, k) is not None}


def guided_defaults(tm: TrainedModel, options: dict[str, Any]) -> dict[str, Any]:
    """With --guidance and no --sampler, the sampler of the guidance lab and of guidance-sweep (DPM-Solver++ at
    their steps; RK4 at 4 steps for flow matching when no --steps either): the same seed gives their sample."""
    if "guidance" not in options or "sampler" in options:
        return options
    from engine.guidance_sweep import SWEEP_FM, SWEEP_SAMPLER, SWEEP_STEPS

    if hasattr(tm.model, "process"):
        steps = SWEEP_STEPS.get(str(options.get("guidance_kind") or "cfg"), SWEEP_STEPS["cfg"])
        return {"sampler": SWEEP_SAMPLER, "steps": steps, **options}
    if getattr(tm.model, "kind", None) == "fm" and "steps" not in options:
        return {"sampler": SWEEP_FM[0], "steps": SWEEP_FM[1], **options}
    return options


def held_in_box(tm: TrainedModel, options: dict[str, Any]) -> dict[str, Any]:
    """A guided flow-matching sample holds its predicted end point in the density's box, as the guidance lab
    and guidance-sweep do (for γ outside [0, 1]): the same seed gives the same particles."""
    if getattr(tm.model, "kind", None) != "fm" or "label" not in options or "box" not in tm.density:
        return options
    return {**options, "box": tuple(float(v) for v in tm.density["box"])}


def check_work(tm: TrainedModel, n: int, options: dict[str, Any]) -> None:
    """Refuse a request whose memory (points x network width) or work (points x steps) is out of reach."""
    from engine.resources import check_memory

    net = getattr(tm.model, "net", None) or getattr(tm.model, "field", None)
    width = int(getattr(net, "width", 64) or 64)
    check_memory(n * width * 4.0 * 16, f"-n {n:,} (with a network {width} units wide)")
    frames = _frames(tm, options)
    if frames * n > MAX_WORK:
        raise InputError(f"-n {n:,} with {frames:,} sampler steps would take hours ({frames * n:.1e} network "
                         f"evaluations of a point; the limit is {MAX_WORK:.0e}): ask for fewer samples or steps")


def _frames(tm: TrainedModel, options: dict[str, Any]) -> int:
    model: Any = tm.model
    if hasattr(model, "process"):
        from engine.diffusion.samplers import count_frames

        name = str(options.get("sampler") or model.default_sampler)
        steps = options.get("steps")
        try:
            return count_frames(name, model.process, None if steps is None else int(steps),
                                model.sampler_options({}))
        except (KeyError, ValueError):  # a sampler this family lacks: sampling itself says so in one sentence
            return 1
    return int(options.get("steps") or 32) * 4  # an ODE solve: up to four evaluations per step


def run(args: argparse.Namespace) -> int:
    from engine.checkpoint import load_trained
    from engine.device import configure_threads, resolve_device

    check_out(args.out, (".npy", ".csv"), [args.checkpoint])
    configure_threads(args.threads)
    tm = load_trained(args.checkpoint, resolve_device(args.device))
    ncls = int(tm.density.get("num_classes", 0))
    if args.label is not None and not 0 <= args.label < max(ncls, 1):
        raise InputError(f"--label {args.label}: this model's data have {ncls} classes (0..{ncls - 1})")
    options = held_in_box(tm, guided_defaults(tm, sample_options(args)))
    check_work(tm, args.n, options)
    x = tm.sample_user(args.n, seed=args.seed, **options)
    write_points(args.out, x)
    return 0
