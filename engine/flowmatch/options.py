"""Training options of flow matching: the defaults (``OPTIONS``) and their checks.

The defaults are the settings measured by tests/bench/bench_flowmatch.py on one CPU thread
(see the README's performance section).
"""

from __future__ import annotations

from typing import Any

from ..cnf.nets import ACTIVATIONS
from ..cnf.optim import SCHEDULES
from ..cnf.options import _choice, _convert
from ..cnf.solvers import ODE_SOLVERS
from ..errors import InputError
from ..guard import check_learning_rate
from .coupling import COUPLINGS
from .model import SDE_SAMPLER, SDE_STEPS
from .paths import PATHS, TIME_SAMPLING

__all__ = ["OPTIONS", "check_options", "default_options"]

OPTIONS: dict[str, dict[str, Any]] = {
    "fm": {
        # the velocity field (the CNF's concat-squash network)
        "width": 64,
        "depth": 3,
        "activation": "silu",
        "fourier": 64,  # learned Fourier features of x fed to the first layer (0: x alone)
        "fourier_scale": 2.0,
        "time_features": 6,  # sin/cos features of t in every layer's gate and shift (0: t alone)
        # waves in the distance from the origin, [sin(ω ρ), cos(ω ρ)], also fed to the first layer: rings'
        # histogram TV over an exact sample's after 3 s (bench_first_picture.py) 3.0 without, 1.6 with 8
        "radial": 8,
        # what is regressed
        "path": "linear",
        "sigma_min": 0.0,
        "coupling": "independent",
        "ot_block": 64,  # the OT coupling is solved exactly on blocks of this many pairs (0: the whole batch)
        # times drawn with density 2t (near the data) for the first tenth of the budget, uniform from a fifth
        # on: at 3 s (bench_first_picture.py, with 8 preview steps) 25gaussians 1.66 -> 1.62, rings 1.44 ->
        # 1.40, checkerboard 1.55 -> 1.47, 2spirals 1.64 -> 1.60; the 60-s figures unchanged (bench_flowmatch.py)
        "time_sampling": "early_ramp",
        "t_mean": 0.0,  # logit-normal times: sigmoid(t_mean + t_std N(0, 1))
        "t_std": 1.0,
        # class-conditional field with label dropout (classifier-free guidance)
        "conditional": False,
        "label_dropout": 0.2,
        # optimisation
        "lr": 1e-2,
        "batch": 512,
        "beta2": 0.999,
        "weight_decay": 0.0,
        "ema": 0.995,  # the kept model and the picture are the average of the weights (warming up as (1+k)/(10+k))
        "schedule": "cosine",
        "warmup": 0.02,
        "lr_floor": 0.02,
        "steps": 6000,
        # evaluation (dopri5 with the exact trace, every point to atol/rtol)
        "atol": 1e-5,
        "rtol": 1e-5,
        "max_nfe": 2000,
        # monitoring
        "heldout": 1000,
        "eval_every": 5.0,
        "sample_every": 0.5,
        "samples": 1000,
        # the live preview: the stochastic sampler (sde, noise 1), whose noise corrects what an early field
        # gets wrong; at 3 s (bench_first_picture.py) 25gaussians 1.69 → 1.36 and 2spirals 1.55 → 1.37 against
        # 8 RK4 steps of the ODE (any ODE solver may be named instead)
        "sample_solver": "sde",
        "sample_steps": SDE_STEPS,
    }
}

_INTS = ("width", "depth", "batch", "steps", "heldout", "samples", "sample_steps")


def default_options(kind: str, conditional: bool = False) -> dict[str, Any]:
    """The default options (conditional models share them, with ``conditional`` set)."""
    if kind not in OPTIONS:
        raise InputError(f"the flow-matching family has no model '{kind}'; it has {', '.join(OPTIONS)}")
    return {**OPTIONS[kind], "conditional": bool(conditional)}


def check_options(options: dict[str, Any]) -> dict[str, Any]:
    """Typed options (defaults filled in); InputError names a bad value and the allowed ones."""
    defaults = OPTIONS["fm"]
    unknown = set(options) - set(defaults)
    if unknown:
        raise InputError(f"unknown flow-matching option(s): {', '.join(sorted(unknown))}; its options are "
                         f"{', '.join(defaults)}")
    opts = {k: _convert(k, options.get(k, v), type(v)) for k, v in defaults.items()}
    _choice("activation", opts["activation"], tuple(ACTIVATIONS))
    _choice("path", opts["path"], PATHS)
    _choice("coupling", opts["coupling"], COUPLINGS)
    _choice("time_sampling", opts["time_sampling"], TIME_SAMPLING)
    _choice("schedule", opts["schedule"], SCHEDULES)
    if opts["sample_solver"] not in (SDE_SAMPLER, *ODE_SOLVERS):
        raise InputError(f"unknown preview sampler '{opts['sample_solver']}'; choose {SDE_SAMPLER} or an ODE solver: "
                         f"{', '.join(ODE_SOLVERS)}")
    check_learning_rate(opts["lr"])
    for name in _INTS:
        if opts[name] < 1:
            raise InputError(f"option '{name}' must be a positive integer, not {opts[name]}")
    if not 0.0 <= opts["sigma_min"] <= 0.5:
        raise InputError(f"option 'sigma_min' must be in [0, 0.5], not {opts['sigma_min']}")
    if opts["path"] == "vp" and opts["sigma_min"] != 0.0:
        raise InputError("option 'sigma_min' applies to the linear path only (the vp path has its own noise)")
    if not 0.0 < opts["label_dropout"] < 1.0:
        raise InputError(f"option 'label_dropout' must be in (0, 1), not {opts['label_dropout']}")
    if not opts["t_std"] > 0:
        raise InputError(f"option 't_std' must be positive, not {opts['t_std']}")
    for name in ("atol", "rtol"):
        if not opts[name] > 0:
            raise InputError(f"option '{name}' must be positive, not {opts[name]}")
    if not 0 <= opts["ot_block"] <= 4096:
        raise InputError(f"option 'ot_block' must be in [0, 4096], not {opts['ot_block']}")
    for name in ("weight_decay", "max_nfe", "eval_every", "sample_every"):
        if opts[name] < 0:
            raise InputError(f"option '{name}' must not be negative, not {opts[name]}")
    for name in ("ema", "warmup", "lr_floor", "beta2"):
        if not 0 <= opts[name] < 1:
            raise InputError(f"option '{name}' must be in [0, 1), not {opts[name]}")
    if not 0 <= opts["fourier"] <= 1024:
        raise InputError(f"option 'fourier' must be in [0, 1024], not {opts['fourier']}")
    if not 0 <= opts["time_features"] <= 16:
        raise InputError(f"option 'time_features' must be in [0, 16], not {opts['time_features']}")
    if not 0 <= opts["radial"] <= 1024:
        raise InputError(f"option 'radial' must be in [0, 1024], not {opts['radial']}")
    if not 0 < opts["fourier_scale"] <= 1000:
        raise InputError(f"option 'fourier_scale' must be in (0, 1000], not {opts['fourier_scale']}")
    if opts["width"] > 4096 or opts["depth"] > 16:
        raise InputError(f"options 'width' ≤ 4096 and 'depth' ≤ 16, not {opts['width']} and {opts['depth']}")
    return opts
