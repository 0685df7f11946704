"""The built-in SDEs by name, and how to build one from options a person typed.

>>> make_sde("ou", theta=2.0).default_t_end()
1.0
"""

from __future__ import annotations

import dataclasses
import math

import torch

from ..densities import Density, grid_points
from ..errors import InputError
from .nonlinear import CustomSDE, DoubleWell, Langevin
from .sdes import SDE, VESDE, VPSDE, Brownian, OrnsteinUhlenbeck, ScoreFn

__all__ = ["SDES", "make_sde", "sde_options", "langevin_for"]

SDES: dict[str, type[SDE]] = {
    "brownian": Brownian,
    "ou": OrnsteinUhlenbeck,
    "vp": VPSDE,
    "ve": VESDE,
    "langevin": Langevin,
    "double-well": DoubleWell,
    "custom": CustomSDE,
}

# option -> (lowest allowed, whether the lowest itself is allowed)
_LIMITS: dict[str, tuple[float, bool]] = {
    "sigma": (0.0, True), "theta": (0.0, False), "beta_min": (0.0, True), "beta_max": (0.0, False),
    "sigma_min": (0.0, False), "sigma_max": (0.0, False), "a": (0.0, False), "h": (0.0, True),
}


def sde_options(name: str) -> tuple[str, ...]:
    """The options that :func:`make_sde` takes for the SDE ``name``."""
    if name == "custom":
        return ("drift_x", "drift_y", "diffusion")
    return tuple(f.name for f in dataclasses.fields(SDES[name]) if f.name != "score")  # type: ignore[arg-type]


def _check_number(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{key} must be a finite number, not {value!r}")
    low, inclusive = _LIMITS.get(key, (-math.inf, True))
    if value < low or (value == low and not inclusive):
        raise InputError(f"{key} must be {'at least' if inclusive else 'greater than'} {low:g}, not {value:g}")
    return float(value)


def langevin_for(density: Density) -> Langevin:
    """The Langevin SDE of a density with a closed-form score that is positive everywhere."""
    if not density.analytic:
        raise InputError(f"the langevin SDE needs a closed-form score; '{density.name}' is known only through "
                         "samples (train a model and use its learned score instead)")
    _, _, pts = grid_points(density.box, 16)
    with torch.no_grad():
        lp = density.log_prob(torch.from_numpy(pts).double())
    if not torch.isfinite(lp).all():
        raise InputError(f"the langevin SDE needs a density that is positive everywhere; '{density.name}' "
                         "is zero in places, where its score is undefined")
    return Langevin(density.score)


def make_sde(name: str, density: Density | None = None, score: ScoreFn | None = None, **options: object) -> SDE:
    """Build the SDE ``name`` from options; ``langevin`` takes a ``score`` or an analytic ``density``.

    Raises:
        InputError: unknown name, an option the SDE does not take, or a value out of range,
            naming the allowed ones.
    """
    if name not in SDES:
        raise InputError(f"unknown SDE '{name}'; choose one of {', '.join(SDES)}")
    allowed = sde_options(name)
    for key in options:
        if key not in allowed:
            raise InputError(f"option '{key}' does not apply to the {name} SDE; "
                             f"its options are {', '.join(allowed) or 'none'}")
    if name == "langevin":
        if score is not None:
            return Langevin(score)
        if density is None:
            raise InputError("the langevin SDE needs a density or a score")
        return langevin_for(density)
    if name == "custom":
        texts = {"diffusion_text" if k == "diffusion" else k: str(v) for k, v in options.items()}
        return CustomSDE(**texts)
    values = {k: _check_number(k, v) for k, v in options.items()}
    sde = SDES[name](**values)
    if isinstance(sde, VPSDE) and sde.beta_max < sde.beta_min:
        raise InputError(f"beta_max ({sde.beta_max:g}) must be at least beta_min ({sde.beta_min:g})")
    if isinstance(sde, VESDE) and sde.sigma_max <= sde.sigma_min:
        raise InputError(f"sigma_max ({sde.sigma_max:g}) must be greater than sigma_min ({sde.sigma_min:g})")
    return sde

