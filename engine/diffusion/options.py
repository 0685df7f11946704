"""Training options of DDPM and NCSN, their checks, and the model configuration they give.

Every option a trainer accepts is a key of ``OPTIONS[kind]`` with its default; the
command line passes only the options given, and :func:`check_options` refuses values
that cannot work with one sentence naming the allowed ones.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..densities import Density
from ..errors import InputError
from ..guard import check_learning_rate
from .nets import ACTIVATIONS
from .schedules import SCHEDULES

__all__ = ["OPTIONS", "CONDITIONAL_DEFAULTS", "default_options", "check_options", "model_config", "max_spread"]

_COMMON: dict[str, Any] = {
    "lr": 5e-3,
    "batch": 512,
    "width": 40,
    "depth": 3,
    "fourier": 3.0,  # std of the sin first layer's weights (normalised units); 0: plain SiLU
    # first-layer units added to the width that start as waves in the distance from the data's centre (see
    # engine.diffusion.nets.ConditionedMLP): rings at 3 s of training, histogram TV over an exact
    # sample's (bench_first_picture.py), 3.0 -> 1.3 (DDPM) and 2.3 -> 1.1 (NCSN)
    "radial": 8,
    "radial_scale": 0.0,  # spread of their initial frequencies (normalised units); 0: twice ``fourier``
    # the learning rate starts this many times higher and falls linearly to ``lr`` by a tenth of the budget
    "early_lr": 1.0,
    "emb_dim": 32,
    "film": True,  # time modulates each layer by a gain as well as a shift (FiLM)
    "activation": "hardswish",  # SiLU's cheap twin: same quality, ~15% faster sampling
    "conditional": False,
    # CFG: how often the label is replaced by ∅ in training; ∅ is also the unconditional model that
    # classifier guidance steers: at 0.15, 2spirals' classifier-guided label share was 0.93, at 0.3 0.98
    "label_dropout": 0.3,
    "paired": False,  # each labelled point also trained with ∅ at the same x_t (instead of label dropout)
    "classifier_batch": 256,  # points of each batch the noisy classifier trains on
    "ema": 0.999,
    "default_steps": 15_000,  # used when neither steps nor seconds are given
    # or "mixed": half the levels drawn by the likelihood weighting g²/s²; or "logsnr": even in log-SNR
    # up to the data's spread (engine.diffusion.train.level_probabilities); or "logsnr-mixed": the
    # one, then the other (engine.diffusion.train.LOGSNR_UNTIL)
    "t_sampling": "uniform",
}
T_SAMPLINGS = ("uniform", "mixed", "logsnr", "logsnr-mixed")

OPTIONS: dict[str, dict[str, Any]] = {
    # DDPM: likelihood-weighted levels and a lower rate gave checkerboard's probability-flow NLL
    # gap 0.088 nats after 60 s, against 0.118 with uniform levels at 5e-3 (bench_diffusion.py);
    # for the first tenth of the budget half the levels even in log-SNR draw the first picture sooner
    "ddpm": {**_COMMON, "lr": 3e-3, "t_sampling": "logsnr-mixed", "schedule": "linear", "timesteps": 1000,
             "variance": "beta_tilde", "radial": 4, "radial_scale": 9.0, "early_lr": 2.5},
    "ncsn": {**_COMMON, "schedule": "geometric", "timesteps": 100, "sigma_min": 0.01, "sigma_max": 0.0,
             "steps_per_level": 10, "step_size": 0.2},
}

# A class-conditional DDPM learns C + 1 distributions (each class and the null label ∅, which is also
# the unconditional model that classifier guidance steers) next to a classifier, in the same minute.
# Smallest label share over classes at γ = 3 after 60 s (classifier-free / classifier guidance) on
# rings with the unconditional defaults: 0.95 / 0.80-0.84, ∅'s own samples 15-18 % off the rings.
# Twice the batch with half of it ∅: 0.92 / 0.95 (∅ 6 % off); a fourth layer: 0.98 / 0.97 on rings
# but 0.92-0.97 on checkerboard; each point seen with its label and with ∅ at the same x_t
# (paired): rings 0.96-0.97 / 0.96-0.97, checkerboard 0.965-0.983 / 0.985-0.989 at a learning rate
# of 5e-3; at 8e-3 rings 0.972-0.979 / 0.969-0.970, checkerboard 0.976-0.980 / 0.988-0.992, circles
# 0.980-0.984 / 0.981-0.985; at 1e-2 rings 0.978 / 0.976 but checkerboard 0.967 / 0.986.
# Guidance amplifies the blur of a square's edge: checkerboard's worst class lost 1.8-2.5 % of its
# samples just past an edge at γ = 3 (0.975-0.983 classifier-free over three runs); wider Fourier
# features (std 4.5) drew the edges sharper: 0.979-0.988 over five, every other density >= 0.993.
CONDITIONAL_DEFAULTS: dict[str, dict[str, Any]] = {
    # its label shares were measured with the likelihood-weighted levels ("mixed")
    "ddpm": {"batch": 1024, "depth": 4, "lr": 8e-3, "paired": True, "fourier": 4.5, "t_sampling": "mixed",
             "radial": 0, "early_lr": 1.0},
    "ncsn": {"radial": 0},
}


def default_options(kind: str, conditional: bool = False) -> dict[str, Any]:
    """The default options of ``kind``, with a class-conditional model's own where ``conditional``."""
    return {**OPTIONS[kind], **(CONDITIONAL_DEFAULTS[kind] if conditional else {}), "conditional": bool(conditional)}


def _positive(opts: dict[str, Any], key: str, kind: type) -> None:
    value = opts[key]
    try:
        ok = kind(value) == value and float(value) > 0 and math.isfinite(float(value))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(f"option '{key}' must be a positive {'integer' if kind is int else 'number'}, not {value!r}")


def check_options(kind: str, density: Density, opts: dict[str, Any]) -> None:
    """InputError for an option value that cannot work (names the allowed values)."""
    for key in ("batch", "classifier_batch", "width", "depth", "timesteps", "emb_dim", "default_steps"):
        _positive(opts, key, int)
    check_learning_rate(opts["lr"])
    if kind == "ddpm" and opts["schedule"] not in SCHEDULES:
        raise InputError(f"unknown schedule '{opts['schedule']}'; choose one of {', '.join(SCHEDULES)}")
    if kind == "ncsn" and opts["schedule"] != "geometric":
        raise InputError("ncsn uses geometric noise levels (sigma_min ... sigma_max); --schedule applies to ddpm")
    if not 0.0 <= float(opts["radial_scale"]) <= 1000.0:
        raise InputError(f"option 'radial_scale' must be from 0 to 1,000, not {opts['radial_scale']}")
    if not 1.0 <= float(opts["early_lr"]) <= 100.0:
        raise InputError(f"option 'early_lr' must be from 1 to 100, not {opts['early_lr']}")
    if not 0.0 <= float(opts["ema"]) < 1.0:
        raise InputError(f"option 'ema' must be in [0, 1), not {opts['ema']}")
    if not 0.0 < float(opts["label_dropout"]) < 1.0:
        raise InputError(f"option 'label_dropout' must be in (0, 1), not {opts['label_dropout']}")
    if opts["t_sampling"] not in T_SAMPLINGS:
        raise InputError(f"unknown t_sampling '{opts['t_sampling']}'; choose one of {', '.join(T_SAMPLINGS)}")
    if opts["activation"] not in ACTIVATIONS:
        raise InputError(f"unknown activation '{opts['activation']}'; choose one of {', '.join(ACTIVATIONS)}")
    if float(opts["fourier"]) < 0:
        raise InputError(f"option 'fourier' must be 0 or positive, not {opts['fourier']}")
    radial = opts["radial"]
    if isinstance(radial, bool) or not isinstance(radial, int) or not 0 <= radial <= 4096:
        raise InputError(f"option 'radial' must be a whole number from 0 to 4,096, not {opts['radial']!r}")
    if opts["conditional"] and density.num_classes < 2:
        raise InputError(f"--conditional needs labelled data with at least 2 classes; '{density.name}' has "
                         f"{density.num_classes}")
    if kind == "ddpm" and opts["variance"] not in ("beta", "beta_tilde"):
        raise InputError(f"unknown variance '{opts['variance']}'; choose beta or beta_tilde")
    if kind == "ncsn":
        _positive(opts, "steps_per_level", int)
        _positive(opts, "step_size", float)
        _positive(opts, "sigma_min", float)


def max_spread(x: np.ndarray) -> float:
    """Largest distance between two of (up to 2,000 of) the points: NCSN's σ_max rule (Song & Ermon, 2020)."""
    pts = x[:2000]
    d2 = ((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1)
    return float(np.sqrt(d2.max()))


def model_config(kind: str, density: Density, opts: dict[str, Any], data: np.ndarray) -> dict[str, Any]:
    """The JSON-able model configuration for these options and (a sample of) the training data (n, 2)."""
    check_options(kind, density, opts)
    data = np.asarray(data, np.float64)
    shift = data.mean(0)
    scale = float(data.std()) or 1.0
    classes = int(density.num_classes) if opts["conditional"] else 0
    net = {"width": int(opts["width"]), "depth": int(opts["depth"]), "num_classes": classes,
           "emb_dim": int(opts["emb_dim"]), "fourier": float(opts["fourier"]), "film": bool(opts["film"]),
           "activation": str(opts["activation"]), "radial": int(opts["radial"]),
           "radial_scale": float(opts["radial_scale"])}
    config: dict[str, Any] = {"net": net, "shift": [float(v) for v in shift], "scale": scale,
                              "box": [float(v) for v in density.box]}
    if kind == "ddpm":
        config["process"] = {"process": "vp", "timesteps": int(opts["timesteps"]), "schedule": opts["schedule"]}
        config["sampler"] = "ancestral"
        config["sampler_options"] = {"variance": opts["variance"]}
    else:
        sigma_max = float(opts["sigma_max"]) or max(1.0, max_spread((data - shift) / scale))
        sigma_min = float(opts["sigma_min"])
        if not sigma_min < sigma_max:
            raise InputError(f"sigma_min ({sigma_min}) must be below sigma_max ({sigma_max})")
        config["process"] = {"process": "ve", "levels": int(opts["timesteps"]), "sigma_min": sigma_min,
                             "sigma_max": sigma_max}
        config["sampler"] = "langevin"
        config["sampler_options"] = {"steps_per_level": int(opts["steps_per_level"]),
                                     "step_size": float(opts["step_size"])}
    if classes:
        config["classifier"] = {"width": int(opts["width"]), "depth": int(opts["depth"])}
    return config
