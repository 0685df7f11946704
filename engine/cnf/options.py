"""Training options of the CNF: the defaults (``OPTIONS``) and their checked, typed form.

The defaults are the settings that met the speed targets of the benchmark
(tests/bench/bench_cnf.py) on one CPU thread; see the README's performance section.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ..errors import InputError
from ..guard import check_learning_rate
from .divergence import PROBES
from .nets import ACTIVATIONS
from .optim import SCHEDULES
from .solvers import check_solver

__all__ = ["OPTIONS", "TrainConfig"]

OPTIONS: dict[str, dict[str, Any]] = {
    "cnf": {
        # the vector field
        "width": 64,
        "depth": 2,
        "activation": "tanh",
        "end_time": 1.0,
        # learned Fourier features of z fed to the first layer, [z, sin(Bz), cos(Bz)] (0: z alone, unless
        # `fourier_flat` picks them). They sharpen the first seconds but cost the minute on Gaussian-like
        # data: held-out NLL gap after 60 s on 25gaussians 0.029-0.030 nats with 32 against 0.006-0.013
        # without (bench_cnf.py), each step 30-40 % dearer and the field stiffer; twomodes' early picture
        # wanders with them
        "fourier": 0,
        # ... or this many when the data are flatter than a Gaussian (flat parts with sharp edges, thin
        # curves: engine.metrics.log_density_spread under FLAT_TOL), take no radial features, and `fourier`
        # is 0, with the Jacobian penalty doubled (engine.cnf.train.FLAT_FROBENIUS); 0: never. Histogram TV
        # over an exact sample's after 5 s, seeds 0-3 (bench_first_picture.py): checkerboard 1.45-1.50
        # against 1.69-1.84 without, 2spirals 1.37-1.45 against 1.87-2.47, swissroll 1.11-1.21 against
        # 1.60-1.94, moons 1.15-1.23 against ~1.25; after 60 s their held-out NLL is lower (bench_cnf_minute.py)
        "fourier_flat": 24,
        "fourier_scale": 2.5,  # standard deviation of their initial frequencies (data units)
        # sin/cos features of t in every layer's gate and shift (0: t alone); 3 made rings worse (5.27)
        "time_features": 0,
        # waves in the distance from the origin fed to the first layer, [sin(ω ρ), cos(ω ρ)] (0: none) ...
        "radial": 0,
        # ... or this many when the data look the same at every angle about the origin (rings, circles, a
        # centred gaussian: engine.metrics.angular_asymmetry under RADIAL_SYMMETRY_TOL) and `radial` is 0;
        # 0: never. Histogram TV over an exact sample's after 5 s, seeds 0-3 (bench_first_picture.py):
        # rings 1.31-1.40 against ~4.0 without, circles 1.07-1.11 against 1.51 (median; worst 1.63); after
        # 60 s rings' held-out NLL 2.63-2.65 against 2.73-2.95, circles' 3.267-3.278 against 3.266-3.267 (a
        # stiffer field: its training solver refines to 9-21 steps; bench_cnf_minute.py). On every other
        # density radial features cost the CNF (25gaussians 3-6 at 5 s, some runs diverged), so they are not
        # used there
        "radial_symmetric": 8,
        "radial_scale": 3.0,  # spread of their initial frequencies (at 8 rings read 1.7-5.0, at 1.5 1.4-1.6)
        # the network works in a frame that standardises the data (its mean and spread), carried back to
        # the data's coordinates exactly (engine.cnf.nets.VectorField). Off: the built-in densities'
        # spread is already 1.3-2.3, and the frame drew 2spirals and checkerboard worse after 5 s
        # (4.04 / 2.25 against 2.42 / 1.73 with both frobenius=0)
        "normalise": False,
        # the solver used in training (evaluation always uses dopri5 at atol/rtol, per point)
        "solver": "rk4",
        "solver_steps": 4,
        "solver_gap": 0.02,  # nats; refine the training solver past this gap (0: never)
        "atol": 1e-5,
        "rtol": 1e-5,
        "adjoint": False,
        "max_nfe": 2000,
        # the divergence
        "trace": "exact",
        "probe": "gaussian",
        "probes": 1,
        # regularizers (RNODE): weights of ∫‖f‖² dt and ∫‖∂f/∂z‖²_F dt
        "kinetic": 0.0,
        "frobenius": 0.01,
        # optimisation
        # 3e-2, also with the 24 Fourier features flat data get (at 5 s checkerboard 1.42-1.51 and 2spirals
        # 1.33-1.38 against 1.42-1.50 and 1.28-1.50 at 2e-2); 32 of them at scale 2 had wanted 2e-2 (at 3e-2
        # their batch NLL jumped by half a nat every few dozen steps)
        "lr": 3e-2,
        "batch": 256,
        "beta2": 0.99,  # Adam's second-moment decay: adapts faster than 0.999 at a high rate
        "weight_decay": 0.0,
        "clip": 0.0,
        # an average of the weights (its decay grows as (1 + k)/(10 + k) up to this), which the picture
        # and the kept model are drawn from: at a rate of 3e-2 the raw weights wander, and after 5 s
        # the average drew moons, pinwheel and 25gaussians with a histogram TV 1.33-1.45x an exact
        # sample's against 1.84-1.99x (bench_first_picture.py); 60-s NLL gaps within their seed spread
        "ema": 0.99,
        "schedule": "cosine",
        "warmup": 0.05,  # share of the budget
        # ... but no more steps than this (0: no cap): a 60-s budget's 5 % spent 3 s, some 90
        # steps, on a small rate, and the picture of the first seconds waited for it
        "warmup_steps": 20,
        "lr_floor": 0.0,
        "steps": 2000,
        # monitoring
        "heldout": 2000,
        "eval_every": 5.0,
        "sample_every": 0.5,
        "samples": 2000,
    }
}


@dataclass(frozen=True)
class TrainConfig:
    """The options of one run, checked; see ``OPTIONS["cnf"]`` for names and defaults."""

    width: int
    depth: int
    activation: str
    end_time: float
    fourier: int
    fourier_flat: int
    fourier_scale: float
    time_features: int
    radial: int
    radial_symmetric: int
    radial_scale: float
    normalise: bool
    solver: str
    solver_steps: int
    solver_gap: float
    atol: float
    rtol: float
    adjoint: bool
    max_nfe: int
    trace: str
    probe: str
    probes: int
    kinetic: float
    frobenius: float
    lr: float
    batch: int
    beta2: float
    weight_decay: float
    clip: float
    ema: float
    schedule: str
    warmup: float
    warmup_steps: int
    lr_floor: float
    steps: int
    heldout: int
    eval_every: float
    sample_every: float
    samples: int

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> TrainConfig:
        """Typed options (defaults filled in); InputError names a bad value and the allowed ones."""
        merged = {**OPTIONS["cnf"], **options}
        unknown = set(merged) - {f.name for f in fields(cls)}
        if unknown:
            raise InputError(f"unknown CNF option(s): {', '.join(sorted(unknown))}")
        values = {f.name: _convert(f.name, merged[f.name], type(OPTIONS["cnf"][f.name])) for f in fields(cls)}
        cfg = cls(**values)
        cfg.check()
        return cfg

    def check(self) -> None:
        """Refuse values that cannot work, naming the allowed ones."""
        check_solver(self.solver)
        _choice("activation", self.activation, tuple(ACTIVATIONS))
        _choice("trace", self.trace, ("exact", "hutchinson"))
        _choice("probe", self.probe, PROBES)
        _choice("schedule", self.schedule, SCHEDULES)
        for name in ("width", "depth", "solver_steps", "probes", "batch", "steps", "heldout", "samples"):
            if getattr(self, name) < 1:
                raise InputError(f"option '{name}' must be a positive integer, not {getattr(self, name)}")
        check_learning_rate(self.lr)
        if not 0 <= self.time_features <= 16:
            raise InputError(f"option 'time_features' must be in [0, 16], not {self.time_features}")
        for name in ("fourier", "fourier_flat", "radial", "radial_symmetric"):
            if not 0 <= getattr(self, name) <= 1024:
                raise InputError(f"option '{name}' must be in [0, 1024], not {getattr(self, name)}")
        for name in ("fourier_scale", "radial_scale"):
            if not 0 < getattr(self, name) <= 1000:
                raise InputError(f"option '{name}' must be in (0, 1000], not {getattr(self, name)}")
        for name in ("atol", "rtol", "end_time"):
            if not getattr(self, name) > 0:
                raise InputError(f"option '{name}' must be positive, not {getattr(self, name)}")
        for name in ("kinetic", "frobenius", "weight_decay", "clip", "max_nfe", "eval_every", "sample_every",
                     "solver_gap", "warmup_steps"):
            if getattr(self, name) < 0:
                raise InputError(f"option '{name}' must not be negative, not {getattr(self, name)}")
        for name in ("ema", "warmup", "lr_floor", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise InputError(f"option '{name}' must be in [0, 1), not {getattr(self, name)}")


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(f"option '{name}': unknown value '{value}'; choose one of {', '.join(allowed)}")


def _convert(name: str, value: Any, kind: type) -> Any:
    """Coerce a value (perhaps a string from a form) to the type of its default."""
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                return value.lower() in ("true", "1", "yes")
            return bool(value)
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        return kind(value)
    except (TypeError, ValueError):
        raise InputError(f"option '{name}' must be a {kind.__name__}, not {value!r}") from None
