"""``flowscope kfp``: a density under an SDE, as the Fokker–Planck grid solution and as particles."""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING

import numpy as np

from engine.errors import InputError

from .args import check_out, float_in, input_paths, int_in, seed

if TYPE_CHECKING:
    from engine.sde import KfpFrame

SDE_NAMES = ["brownian", "ou", "vp", "ve", "langevin", "double-well", "custom"]

# flag -> (option name in engine.sde.make_sde, type, help)
SDE_FLAGS: list[tuple[str, str, object, str]] = [
    ("--theta", "theta", float_in(0, 1000, low_open=True), "ou: mean-reversion rate θ in (0, 1000] (default 1)"),
    ("--sigma", "sigma", float_in(0, 100, low_open=True),
     "brownian, ou, double-well: noise level σ in (0, 100] (default 1)"),
    ("--beta-min", "beta_min", float_in(0, 1000), "vp: β(0) in [0, 1000] (default 0.1)"),
    ("--beta-max", "beta_max", float_in(0, 1000, low_open=True), "vp: β(1) in (0, 1000] (default 20)"),
    ("--sigma-min", "sigma_min", float_in(0, 100, low_open=True), "ve: σ(0) in (0, 100] (default 0.01)"),
    ("--sigma-max", "sigma_max", float_in(0, 100, low_open=True), "ve: σ(1) in (0, 100] (default 2)"),
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
        g.add_argument(flag, dest=dest, type=kind, default=None, metavar="EXPR" if kind is str else "X",
                       help=text)
    p.add_argument("--t-end", type=float_in(0, 1e4, low_open=True), default=None, metavar="T",
                   help="end time in (0, 10000] (default per SDE: 2/theta for ou, 3 for double-well, else 1)")
    p.add_argument("--grid", type=int_in(16, 1024), default=128, metavar="N", help="cells per side, 16 to 1024 "
                   "(default 128)")
    p.add_argument("--particles", type=int_in(1, 5_000_000), default=20000, metavar="P",
                   help="number of particles, 1 to 5,000,000 (default 20000)")
    p.add_argument("--frames", type=int_in(2, 2000), default=21, metavar="K",
                   help="frames from 0 to T inclusive, 2 to 2000 (default 21); grid x grid x frames must fit in memory")
    p.add_argument("--seed", type=seed, default=0, help="random seed, 0 to 2**32-1 (default 0)")
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
    from engine.resources import check_memory

    if args.out is not None:
        check_out(args.out, (".npz",), input_paths(specs=[args.density]), "output")
    # per frame: the grid density (float32) and histogram (int32), kept until written, plus the compressed copy
    # while saving; the particles: positions (float32) and the simulation's own state
    per_frame = args.grid**2 * 8 * 2 + min(args.particles, MAX_KEPT) * 8
    check_memory(args.frames * per_frame + args.particles * 64.0,
                 f"--grid {args.grid} with --frames {args.frames} and --particles {args.particles}")


def _write(path: str, times: np.ndarray, extent: tuple[float, ...], frames: list[KfpFrame]) -> None:
    from engine.files import atomic_write

    with atomic_write(path) as tmp:
        np.savez_compressed(tmp, times=times.astype(np.float32), extent=np.asarray(extent, np.float64),
                            pde=np.stack([f.pde for f in frames]), hist=np.stack([f.hist for f in frames]),
                            particles=np.stack([f.particles for f in frames]))


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
