"""The ``flowscope`` command line.

Convention (docs/ARCHITECTURE.md, "The command line"): exit 0 on success; exit 2 on bad usage
or bad input with one line on stderr and no traceback; exit 1 with a short message on an
unexpected internal error (the traceback only with ``--debug``). With no subcommand the GUI opens.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
import warnings
from collections.abc import Sequence

from engine import __version__
from engine.errors import InputError, WorkLimitError

__all__ = ["main", "build_parser", "COMMANDS", "CliParser"]

# subcommand -> module in app.commands defining add_parser(subparsers) and run(args) -> int
COMMANDS = ["densities", "train", "sample", "logprob", "eval", "kfp", "render", "reflow", "guidance-sweep"]


class CliParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def _add_gui_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("opening the window (no subcommand)")
    g.add_argument("--density", metavar="SPEC", help="density to open on (name, file:PATH or image:PATH)")
    g.add_argument("--model", choices=["cnf", "fm", "ddpm", "ncsn"], help="model to select")
    g.add_argument("--train", action="store_true", help="start training at once")
    g.add_argument("--scene", metavar="FILE", help="open a scene file, or a shipped scene by name (e.g. score_field)")


def build_parser() -> CliParser:
    p = CliParser(
        prog="flowscope",
        description="See the dynamics of continuous normalizing flows, diffusion models and SDEs on 2D densities. "
        "With no subcommand, the window opens.",
    )
    p.add_argument("--version", action="version", version=f"flowscope {__version__}")
    p.add_argument("--debug", action="store_true", help="show full tracebacks of internal errors")
    _add_gui_options(p)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=CliParser)
    for name in COMMANDS:
        try:
            module = {"eval": "evaluate", "guidance-sweep": "guidance_sweep"}.get(name, name)
            mod = importlib.import_module(f"app.commands.{module}")
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith("app.commands"):
                continue  # a command that is not part of this build yet
            raise
        mod.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    # before torch loads: idle OpenMP threads sleep instead of spinning (they collapse a busy 2-core machine)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            from app.gui import run_gui

            return run_gui(args)
        return _run_command(args)
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    except InputError as e:
        sys.stderr.write(f"flowscope: error: {_one_line(e)}\n")
        return 2
    except WorkLimitError as e:
        sys.stderr.write(f"flowscope: error: {_one_line(e)}: the model's dynamics are too stiff to solve "
                         "(damaged or tampered weights?)\n")
        return 2
    except MemoryError:
        sys.stderr.write("flowscope: error: not enough memory for this request; ask for less\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("flowscope: interrupted\n")
        return 130
    except Exception as e:  # noqa: BLE001 - the last line of defence
        if debug:
            traceback.print_exc()
        msg = str(e).splitlines()[0] if str(e) else ""
        sys.stderr.write(f"flowscope: internal error: {type(e).__name__}: {msg} (run with --debug for details)\n")
        return 1


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())


def _run_command(args: argparse.Namespace) -> int:
    """Run a subcommand; numerical warnings stay off stderr (results are checked for NaN/inf instead)."""
    import numpy as np

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return int(args.func(args) or 0)
