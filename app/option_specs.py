"""Form descriptions of each model's training options, built from the engine's defaults."""

from __future__ import annotations

from typing import Any

from engine.api import default_options
from widgets.options_form import OptionSpec

__all__ = ["MODELS", "option_specs", "META"]

MODELS = [
    ("cnf", "CNF (FFJORD)", "Continuous normalizing flow: a neural ODE trained by exact maximum likelihood"),
    ("ddpm", "DDPM", "Denoising diffusion: learns the noise added at each step, samples by ancestral denoising"),
    ("ncsn", "NCSN", "Noise-conditional score network: learns scores at many noise levels, samples by Langevin"),
]

# name -> (label, tooltip, extra keyword arguments of OptionSpec)
META: dict[str, tuple[str, str, dict[str, Any]]] = {
    "lr": ("Learning rate", "Step size of the optimiser; can be changed while training runs",
           {"minimum": 1e-6, "maximum": 1.0, "live": True}),
    "batch": ("Batch size", "Data points per training step", {"minimum": 1, "maximum": 65536}),
    "width": ("Width", "Hidden units per layer of the network", {"minimum": 1, "maximum": 4096}),
    "depth": ("Depth", "Number of hidden layers of the network", {"minimum": 1, "maximum": 16}),
    "solver": ("ODE solver", "How the flow's ODE is integrated: fixed steps (euler, midpoint, rk4) or adaptive",
               {"choices": ("euler", "midpoint", "rk4", "dopri5")}),
    "solver_steps": ("Solver steps", "Steps of a fixed-step solver over the time interval",
                     {"minimum": 1, "maximum": 1000}),
    "trace": ("Divergence", "Exact trace of the Jacobian, or Hutchinson's unbiased estimate",
              {"choices": ("exact", "hutchinson")}),
    "probe": ("Probe", "Distribution of Hutchinson's probe vectors", {"choices": ("gaussian", "rademacher")}),
    "adjoint": ("Adjoint gradients", "Gradients by solving the adjoint ODE backwards instead of backpropagation",
                {}),
    "schedule": ("Noise schedule", "How the noise level grows with the diffusion step",
                 {"choices": ("linear", "cosine")}),
    "timesteps": ("Steps T", "Number of noise levels of the diffusion", {"minimum": 1, "maximum": 1000}),
    "conditional": ("Class-conditional", "Also learn each class (label dropout for classifier-free guidance) "
                    "and a noisy classifier", {}),
}


def _kind(value: Any, extra: dict[str, Any]) -> str:
    if "choices" in extra:
        return "choice"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return "float"


def option_specs(model: str) -> list[OptionSpec]:
    """Specs for the options the GUI offers: the known ones, in a stable order."""
    try:
        defaults = default_options(model)
    except ImportError:  # a model family missing from this build: offer no knobs for it
        return []
    specs = []
    for name, (label, tip, extra) in META.items():
        if name not in defaults or defaults[name] is None:
            continue
        value = defaults[name]
        kind = _kind(value, extra)
        if kind == "choice" and str(value) not in extra["choices"]:
            extra = {**extra, "choices": (*extra["choices"], str(value))}
        specs.append(OptionSpec(name, label, kind, value, tip, **extra))
    return specs
