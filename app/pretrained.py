"""Regenerate the pretrained models that the shipped scenes open with (a developer command).

    .venv/bin/python -m app.pretrained            # all of them, into assets/pretrained
    .venv/bin/python -m app.pretrained cnf_8gaussians

Budgets are step counts with fixed seeds, so a run gives the same models on any machine
(up to floating-point differences between CPUs), however fast it is.
"""

from __future__ import annotations

import os
import sys

from app.cli import main as cli
from app.scenes import PRETRAINED_DIR

__all__ = ["MODELS", "REFLOWED"]

# file name -> flowscope train arguments
MODELS: dict[str, list[str]] = {
    "cnf_8gaussians": ["--model", "cnf", "--density", "8gaussians", "--steps", "800"],
    "ddpm_8gaussians_conditional": ["--model", "ddpm", "--density", "8gaussians", "--conditional", "--steps", "8000"],
    "ncsn_twomodes": ["--model", "ncsn", "--density", "twomodes", "--steps", "6000"],
    "fm_moons": ["--model", "fm", "--density", "moons", "--steps", "4000"],
    "fm_8gaussians": ["--model", "fm", "--density", "8gaussians", "--steps", "4000"],
    "fm_8gaussians_ot": ["--model", "fm", "--density", "8gaussians", "--coupling", "ot", "--steps", "2500"],
}
# file name -> (teacher's file name, flowscope reflow arguments); made after the models above
REFLOWED: dict[str, tuple[str, list[str]]] = {
    "fm_moons_reflow1": ("fm_moons", ["--pairs", "20000", "--steps", "3000"]),
}


def regenerate(names: list[str]) -> int:
    os.makedirs(PRETRAINED_DIR, exist_ok=True)
    for name in names or [*MODELS, *REFLOWED]:
        if name not in MODELS and name not in REFLOWED:
            print(f"unknown model '{name}'; choose from {', '.join([*MODELS, *REFLOWED])}", file=sys.stderr)
            return 2
        out = os.path.join(PRETRAINED_DIR, f"{name}.pt")
        if name in MODELS:
            args = ["train", *MODELS[name]]
        else:
            teacher, extra = REFLOWED[name]
            args = ["reflow", os.path.join(PRETRAINED_DIR, f"{teacher}.pt"), *extra]
        code = cli([*args, "--seed", "0", "--device", "cpu", "--out", out])
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(regenerate(sys.argv[1:]))
