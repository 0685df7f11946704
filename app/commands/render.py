"""``flowscope render``: draw a view offscreen, frame by frame, into a GIF, an MP4 or a PNG."""

from __future__ import annotations

import argparse
import sys

from app.labs.registry import lab_names
from engine.errors import InputError

from .args import RANGES, check_out, float_in, input_paths, int_in

FONT_SCALE = (0.5, 3.0)


def font_scale(value: float) -> float:
    if not (FONT_SCALE[0] <= value <= FONT_SCALE[1]):  # NaN fails too
        raise InputError(f"--font-scale {value:g}: choose a number from {FONT_SCALE[0]:g} to {FONT_SCALE[1]:g}")
    return float(value)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render a view to a GIF, MP4 or PNG (no window needed)",
                       description="Render one of the window's views offscreen for slides and homework. "
                       "The time bar sweeps from noise (t = 0) to data (t = 1) over the frames; a PNG is the "
                       "last frame.")
    p.add_argument("checkpoint", metavar="CKPT", nargs="?", help="trained model (.pt)")
    p.add_argument("--scene", metavar="FILE", help="render a scene file or a shipped scene by name (its density, "
                   "model, view and settings)")
    p.add_argument("--view", choices=lab_names(), default=None, help="which view (default path, or the scene's)")
    p.add_argument("--density", metavar="SPEC", help="density to show (default: the model's own)")
    p.add_argument("--frames", type=int_in(*RANGES["frames"]), default=30,  # type: ignore[arg-type]
                   help="number of frames, 1 to 2000 (default 30); frames x pixels must fit in memory")
    p.add_argument("--fps", type=float_in(*RANGES["fps"], low_open=True), default=15.0,
                   help="frames per second of the animation, in (0, 120] (default 15)")
    p.add_argument("--size", default="960x720", help="WIDTHxHEIGHT in pixels (default 960x720)")
    p.add_argument("--label", type=int_in(*RANGES["label"]), help="class for the guidance view")  # type: ignore[arg-type]
    p.add_argument("--guidance", type=float_in(*RANGES["guidance"]),
                   help="guidance scale gamma for the guidance view, from -100 to 100")
    p.add_argument("--out", required=True, metavar="FILE", help="output .gif, .mp4 or .png")
    p.add_argument("--theme", choices=["dark", "light"], default="dark",
                   help="dark (default) or light: white background, for slides and printing")
    p.add_argument("--font-scale", type=float, default=1.0, metavar="F",
                   help=f"text size as a multiple of the window's default, {FONT_SCALE[0]:g} to {FONT_SCALE[1]:g} "
                   "(default 1; 1.5 for a projector)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 960x720") from None
    if not (64 <= w <= 4096 and 64 <= h <= 4096):
        raise InputError(f"--size {text}: width and height must be between 64 and 4096 pixels")
    return w - w % 2, h - h % 2  # video encoders need even sizes


def check_output(path: str, inputs: list[str] | None = None) -> str:
    return check_out(path, (".gif", ".mp4", ".png"), inputs or [])


def run(args: argparse.Namespace) -> int:
    from engine.resources import check_memory

    ext = check_output(args.out, input_paths(args.checkpoint, args.scene, specs=[args.density]))
    size = parse_size(args.size)
    check_memory(args.frames * size[0] * size[1] * 3 * 2.0, f"--frames {args.frames} at --size {args.size}")
    from app.frames import write_frames
    from app.render import render_view

    options = {"label": args.label, "guidance": args.guidance}
    scene = None
    if args.scene:
        from app.scenes import load_scene

        scene = load_scene(args.scene)
        if scene.checkpoint:
            check_output(args.out, [scene.checkpoint])
        if args.checkpoint:
            raise InputError("give either a checkpoint or --scene, not both")
        options = {**scene.settings, **{k: v for k, v in options.items() if v is not None}}
    elif not args.checkpoint:
        raise InputError("render needs a checkpoint (CKPT) or --scene FILE")
    view = args.view or (scene.view if scene is not None and scene.view != "training" else "path")
    frames = render_view(args.checkpoint, view, size, args.frames, density=args.density, scene=scene,
                         options=options, theme=args.theme, font_scale=font_scale(args.font_scale),
                         progress=None if args.quiet else lambda k, n: print(f"frame {k + 1}/{n}", file=sys.stderr))
    write_frames(args.out, ext, frames, args.fps)
    if not args.quiet:
        print(f"wrote {args.out} ({len(frames)} frames, {size[0]}x{size[1]})", file=sys.stderr)
    return 0
