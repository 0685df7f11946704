"""A training process that warmed up (engine.api.warm_up) starts its job without loading anything heavy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# what a run's first steps would load if nothing had before: torch's compiler front end (the first
# torch.optim optimizer imports it), torchdiffeq and scipy (adaptive solves)
HEAVY = ("torch._dynamo", "torchdiffeq", "scipy")

_SCRIPT = """
import json, sys
import torch
import engine.api
from engine.densities import get_density
from engine.device import configure_threads
configure_threads()
if sys.argv[1] == "warm":
    engine.api.warm_up()
before = set(sys.modules)
for kind in engine.api.FAMILIES:
    options = {"heldout": 200} if kind in ("cnf", "fm") else {}
    trainer = engine.api.make_trainer(kind, get_density("moons"), options, torch.device("cpu"), 0)
    for snap in trainer.run(steps=2):
        pass
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def _loaded_by_training(mode: str) -> list[str]:
    """Modules a fresh process imported while it built and ran a trainer of every kind."""
    out = subprocess.run([sys.executable, "-c", _SCRIPT, mode], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return [m for m in json.loads(out.stdout.strip().splitlines()[-1]) if m.split(".")[0] in ("torch", "torchdiffeq",
                                                                                              "scipy")]


def test_a_warmed_process_loads_nothing_heavy_when_its_first_run_starts() -> None:
    cold = _loaded_by_training("cold")
    assert any(m.startswith("torch._dynamo") for m in cold)  # what the warm-up is for
    assert any(m.startswith("torchdiffeq") for m in cold)
    warm = _loaded_by_training("warm")
    assert not [m for m in warm if m.startswith(HEAVY)], warm
