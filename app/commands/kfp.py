"""``flowscope kfp``: a density under an SDE, as the Fokker–Planck grid solution and as particles."""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from typing import TYPE_CHECKING

import numpy as np

from engine.errors import InputError

if TYPE_CHECKING:
    from engine.sde import KfpFrame

SDE_NAMES = ["brownian", "ou", "vp", "ve", "langevin", "double-well", "custom"]

# flag -> (option name in engine.sde.make_sde, type, help)
SDE_FLAGS: list[tuple[str, str, type, str]] = [
    ("--theta", "theta", float, "ou: mean-reversion rate θ (default 1)"),
    ("--sigma", "sigma", float, "brownian, ou, double-well: noise level σ (default 1)"),
    ("--beta-min", "beta_min", float, "vp: β(0) (default 0.1)"),
    ("--beta-max", "beta_max", float, "vp: β(1) (default 20)"),
    ("--sigma-min", "sigma_min", float, "ve: σ(0) (default 0.01)"),
    ("--sigma-max", "sigma_max", float, "ve: σ(1) (default 2)"),
    ("--drift-x", "drift_x", str, "custom: x-component of the drift, a formula in x, y, t (default 0)"),
    ("--drift-y", "drift_y", str, "custom: y-component of the drift (default 0)"),
    ("--diffusion", "diffusion", str, "custom: g(t), a formula in t (default 1)"),
]
MAX_KEPT = 10_000  # particle positions stored per frame


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "kfp", help="evolve a density under an SDE: Fokker-Planck on a grid next to particles",
        description="Evolve p_0 = DENSITY under dx = f(x,t) dt + g(t) dw two ways: the Kolmogorov-Fokker-Planck "
        "equation dp/dt = -div(f p) + 1/2 g^2 Lap p on an N x N grid, and P Euler-Maruyama particles. Prints a JSON "
        "summary (per frame: the grid's mass error, the total variation between grid and particle histogram on "
        "32 x 32 blocks of cells, and the same figure for an exact sample of P points, its noise floor); "
        "--out writes times (K,), extent (4,), pde (K,N,N) with pde[k].sum()*dx*dy = 1, hist (K,N,N) particle "
        "counts and particles (K,M,2) with M = min(P, 10000). Formulas (custom) allow numbers, + - * / ^, "
        "parentheses, x y t pi and sin cos exp log sqrt tanh abs; one that starts with a minus sign is "
        "written --drift-x=-y.")
    p.add_argument("--sde", required=True, choices=SDE_NAMES, help="which SDE")
    p.add_argument("--density", required=True, metavar="SPEC", help="p_0: built-in name, file:PATH or image:PATH")
    g = p.add_argument_group("SDE options (each applies to the SDEs named)")
    for flag, dest, kind, text in SDE_FLAGS:
        g.add_argument(flag, dest=dest, type=kind, default=None, metavar="EXPR" if kind is str else "X", help=text)
    p.add_argument("--t-end", type=float, default=None, metavar="T",
                   help="end time (default per SDE: 2/theta for ou, 3 for double-well, else 1)")
    p.add_argument("--grid", type=int, default=128, metavar="N", help="cells per side (default 128)")
    p.add_argument("--particles", type=int, default=20000, metavar="P", help="number of particles (default 20000)")
    p.add_argument("--frames", type=int, default=21, metavar="K", help="frames from 0 to T inclusive (default 21)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default auto)")
    p.add_argument("--out", metavar="FILE.npz", help="write the frames here")
    p.set_defaults(func=run)


def _sde_options(args: argparse.Namespace) -> dict[str, object]:
    from engine.sde import sde_options

    allowed = sde_options(args.sde)
    given = {}
    for flag, dest, _, _ in SDE_FLAGS:
        value = getattr(args, dest)
        if value is None:
            continue
        if dest not in allowed:
            flags = [f for f, d, _, _ in SDE_FLAGS if d in allowed]
            raise InputError(f"{flag} does not apply to --sde {args.sde}; its options are {', '.join(flags) or 'none'}")
        given[dest] = value
    return given


def _check(args: argparse.Namespace) -> None:
    if not 16 <= args.grid <= 1024:
        raise InputError(f"--grid must be between 16 and 1024, not {args.grid}")
    if not 1 <= args.particles <= 5_000_000:
        raise InputError(f"--particles must be between 1 and 5000000, not {args.particles}")
    if not 2 <= args.frames <= 2000:
        raise InputError(f"--frames must be between 2 and 2000, not {args.frames}")
    if args.t_end is not None and not (math.isfinite(args.t_end) and 0 < args.t_end <= 1e4):
        raise InputError(f"--t-end must be a positive number up to 10000, not {args.t_end}")
    if args.out is not None:
        if not args.out.lower().endswith(".npz"):
            raise InputError(f"{args.out}: the output must end in .npz")
        folder = os.path.dirname(os.path.abspath(args.out))
        if not os.path.isdir(folder):
            raise InputError(f"{args.out}: the folder {folder} does not exist")


def _write(path: str, times: np.ndarray, extent: tuple[float, ...], frames: list[KfpFrame]) -> None:
    try:
        np.savez_compressed(path, times=times.astype(np.float32), extent=np.asarray(extent, np.float64),
                            pde=np.stack([f.pde for f in frames]), hist=np.stack([f.hist for f in frames]),
                            particles=np.stack([f.particles for f in frames]))
    except OSError as e:
        raise InputError(f"{path}: cannot write ({e.strerror or e})") from None


def run(args: argparse.Namespace) -> int:
    from engine.densities import get_density
    from engine.device import configure_threads, resolve_device
    from engine.sde import Grid, make_sde
    from engine.sde.kfp import TV_BINS, kfp_frames, pilot_box

    _check(args)
    options = _sde_options(args)
    density = get_density(args.density)
    sde = make_sde(args.sde, density, None, **options)
    device = resolve_device(args.device)
    configure_threads()
    started = time.monotonic()
    t_end = args.t_end if args.t_end is not None else sde.default_t_end()
    grid = Grid(pilot_box(sde, density, t_end, args.seed, device=device), args.grid)
    times = np.linspace(0.0, t_end, args.frames)
    frames = list(kfp_frames(sde, density, grid, times, args.particles, args.seed, device, keep=MAX_KEPT))
    if args.out:
        _write(args.out, times, grid.box, frames)
    summary = {
        "sde": args.sde, "equation": sde.equation, "options": options, "density": args.density, "t_end": t_end,
        "grid": args.grid, "extent": [round(v, 6) for v in grid.box], "particles": args.particles,
        "frames": args.frames, "seed": args.seed, "device": str(device), "pde_steps": frames[-1].steps,
        "max_mass_error": max(f.mass_error for f in frames), "max_tv": max(f.tv for f in frames),
        "tv_bins": TV_BINS,
        "per_frame": [{"t": round(f.t, 6), "mass_error": f.mass_error, "tv": round(f.tv, 5),
                       "tv_floor": round(f.tv_floor, 5)} for f in frames],
        "seconds": round(time.monotonic() - started, 2), "out": args.out,
    }
    print(json.dumps(summary))
    return 0
