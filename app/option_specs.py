"""Form descriptions of each model's training options, built from the engine's defaults."""

from __future__ import annotations

from typing import Any

from engine.api import default_options
from widgets.options_form import OptionSpec

__all__ = ["MODELS", "option_specs", "META"]

MODELS = [
    ("cnf", "CNF (FFJORD)", "Continuous normalizing flow: a neural ODE trained by exact maximum likelihood"),
    ("fm", "Flow matching", "A CNF trained by regressing its velocity on a path between paired noise and data "
     "points (no ODE solve in training); reflow straightens it for one-step sampling"),
    ("ddpm", "DDPM", "Denoising diffusion: learns the noise added at each step, samples by ancestral denoising"),
    ("ncsn", "NCSN", "Noise-conditional score network: learns scores at many noise levels, samples by Langevin"),
]

Meta = dict[str, tuple[str, str, dict[str, Any]]]

_COMMON: Meta = {
    "lr": ("Learning rate", "Step size of the optimiser; can be changed while training runs",
           {"minimum": 1e-6, "maximum": 1.0, "live": True}),
    "batch": ("Batch size", "Data points per training step", {"minimum": 1, "maximum": 65536}),
    "width": ("Width", "Hidden units per layer of the network", {"minimum": 1, "maximum": 4096}),
    "depth": ("Depth", "Number of hidden layers of the network", {"minimum": 1, "maximum": 16}),
}
_EMA: Meta = {"ema": ("EMA decay", "Average of the weights over recent steps (0 = off); smooths the kept model",
                      {"minimum": 0.0, "maximum": 0.9999, "decimals": 4})}
_CONDITIONAL: Meta = {"conditional": ("Class-conditional", "Also learn each class (label dropout for "
                                      "classifier-free guidance) and a noisy classifier", {})}

# per model: option name -> (label, one-sentence tooltip, extra OptionSpec arguments)
META: dict[str, Meta] = {
    "cnf": {
        **_COMMON,
        "solver": ("ODE solver", "How the flow's ODE is integrated while training: fixed steps or adaptive dopri5",
                   {"choices": ("euler", "midpoint", "rk4", "dopri5")}),
        "solver_steps": ("Solver steps", "Steps of a fixed-step solver over [0, 1]", {"minimum": 1, "maximum": 1000}),
        "trace": ("Divergence", "Exact trace of the Jacobian, or Hutchinson's unbiased estimate",
                  {"choices": ("exact", "hutchinson")}),
        "probe": ("Probe", "Distribution of Hutchinson's probe vectors", {"choices": ("gaussian", "rademacher")}),
        "adjoint": ("Adjoint gradients", "Gradients by solving the adjoint ODE backwards instead of "
                    "backpropagating through the solver", {}),
        "kinetic": ("Kinetic energy", "Weight of the ∫‖f‖² dt regularizer (RNODE): straighter, easier paths",
                    {"minimum": 0.0, "maximum": 10.0, "decimals": 4}),
        "frobenius": ("Jacobian norm", "Weight of the ∫‖∂f/∂z‖²_F dt regularizer (RNODE); doubled for data with "
                      "sharp edges or thin curves, whose field also gets Fourier features",
                      {"minimum": 0.0, "maximum": 10.0, "decimals": 4}),
        "schedule": ("LR schedule", "How the learning rate changes over the budget",
                     {"choices": ("cosine", "constant")}),
        **_EMA,
    },
    "fm": {
        **_COMMON,
        "path": ("Path", "linear: x_t = (1 − t) x_0 + t x_1 (rectified flow); vp: the diffusion path as a flow",
                 {"choices": ("linear", "vp")}),
        "sigma_min": ("σ_min", "Noise left at the data end of the linear path", {"minimum": 0.0, "maximum": 0.5,
                                                                               "decimals": 3}),
        "coupling": ("Coupling", "How noise and data are paired in a batch: independently, or by minibatch "
                     "optimal transport (shorter, uncrossed pairs: straighter paths)",
                     {"choices": ("independent", "ot")}),
        "time_sampling": ("Times", "Distribution of the training times t: uniform, logit-normal (more weight "
                          "mid-path), ramp (density 2t: more weight near the data) or early ramp (ramp for the "
                          "first tenth of the run, uniform from a fifth on; the loss then rises a little: "
                          "the same model judged on another mix of times)",
                          {"choices": ("uniform", "logit_normal", "ramp", "early_ramp")}),
        "label_dropout": ("Label dropout", "How often a label is replaced by ∅ in training (classifier-free "
                          "guidance)", {"minimum": 0.01, "maximum": 0.99, "decimals": 2}),
        "conditional": ("Class-conditional", "Also learn each class's velocity (label dropout for "
                        "classifier-free guidance on the velocity)", {}),
        "schedule": ("LR schedule", "How the learning rate changes over the budget",
                     {"choices": ("cosine", "constant")}),
        **_EMA,
    },
    "ddpm": {
        **_COMMON,
        "schedule": ("Noise schedule", "How the noise level grows with the diffusion step",
                     {"choices": ("linear", "cosine")}),
        "timesteps": ("Steps T", "Number of noise levels of the diffusion", {"minimum": 1, "maximum": 1000}),
        "variance": ("Reverse variance", "σ_t² of ancestral sampling: β_t or the posterior β̃_t",
                     {"choices": ("beta", "beta_tilde")}),
        **_CONDITIONAL,
        **_EMA,
    },
    "ncsn": {
        **_COMMON,
        "timesteps": ("Noise levels L", "Number of geometric noise levels σ_1 > … > σ_L",
                      {"minimum": 1, "maximum": 1000}),
        "sigma_min": ("Smallest σ", "The last, finest noise level", {"minimum": 1e-4, "maximum": 10.0}),
        "steps_per_level": ("Langevin steps", "Langevin steps at each noise level when sampling",
                            {"minimum": 1, "maximum": 1000}),
        "step_size": ("Step size", "Langevin step size scale (η_i ∝ σ_i²)", {"minimum": 1e-5, "maximum": 10.0}),
        **_CONDITIONAL,
        **_EMA,
    },
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
    """Specs for the options the GUI offers for ``model``, in a stable order."""
    try:
        defaults = default_options(model)
    except ImportError:  # a model family missing from this build: offer no knobs for it
        return []
    specs = []
    for name, (label, tip, extra) in META.get(model, {}).items():
        if defaults.get(name) is None:
            continue
        value = defaults[name]
        kind = _kind(value, extra)
        if kind == "choice" and str(value) not in extra["choices"]:
            extra = {**extra, "choices": (*extra["choices"], str(value))}
        specs.append(OptionSpec(name, label, kind, value, tip, **extra))
    return specs
