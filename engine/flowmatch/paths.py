r"""Probability paths and time sampling of flow matching.

A conditional path joins a noise point x_0 ~ N(0, I) (t = 0) to a data point x_1 (t = 1),
as x_t = a(t) x_1 + s(t) x_0, with conditional velocity u_t(x_t | x_0, x_1) = a'(t) x_1 + s'(t) x_0.
Flow matching regresses v_θ(x_t, t) on u_t; the minimiser is the marginal velocity
E[u_t | x_t], whose flow carries N(0, I) to the data.

* ``linear``: a = t, s = 1 − (1 − σ_min) t, so u = x_1 − (1 − σ_min) x_0 (the optimal-transport
  displacement path of Lipman et al.; with σ_min = 0 the rectified flow of Liu et al.).
* ``vp``: the diffusion (variance-preserving) path written as a flow, a = α(1 − t),
  s = √(1 − a²) with α(τ) = exp(−½ ∫_0^τ β), β linear from 0.1 to 20 (the DDPM/score-SDE
  schedule). At t = 1 s' is infinite, so times are drawn in [0, 1 − ε] (ε = 10⁻³), and at
  t = 0 a = α(1) ≈ 0.0066: the path starts a hair away from pure noise.

Times: ``uniform`` on [0, 1], ``logit_normal`` (t = sigmoid(m + s·N(0, 1)), Esser et al.
2024), which spends more of the training on the middle of the path, or ``ramp`` (density 2t,
t = √u), which spends more of it near the data, where the field draws the fine structure, or
``early_ramp``: ramp times for the first tenth of the budget, uniform ones from a fifth on.

References:
    | Flow Matching for Generative Modeling (Lipman et al., 2023) https://arxiv.org/abs/2210.02747
    | Flow Straight and Fast (Liu et al., 2023) https://arxiv.org/abs/2209.03003
    | Scaling Rectified Flow Transformers (Esser et al., 2024) https://arxiv.org/abs/2403.03206
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..cnf.optim import fade
from ..errors import InputError

__all__ = ["PATHS", "TIME_SAMPLING", "VP_BETA", "VP_T_MAX", "coefficients", "interpolate", "sample_times"]

PATHS = ("linear", "vp")
TIME_SAMPLING = ("uniform", "logit_normal", "ramp", "early_ramp")
# early_ramp: ramp until this share of the budget, then a linear change to uniform until the second
EARLY_RAMP = (0.1, 0.2)
VP_BETA = (0.1, 20.0)
VP_T_MAX = 1.0 - 1e-3


def _check_path(path: str) -> None:
    if path not in PATHS:
        raise InputError(f"unknown path '{path}'; choose one of {', '.join(PATHS)}")


def coefficients(path: str, t: Tensor, sigma_min: float = 0.0) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """a(t), s(t), a'(t), s'(t) of the path x_t = a x_1 + s x_0 at times t (any shape)."""
    _check_path(path)
    if path == "linear":
        one = torch.ones_like(t)
        return t, 1.0 - (1.0 - sigma_min) * t, one, -(1.0 - sigma_min) * one
    b0, b1 = VP_BETA
    tau = 1.0 - t
    a = torch.exp(-0.5 * (b0 * tau + 0.5 * (b1 - b0) * tau * tau))
    da = a * 0.5 * (b0 + (b1 - b0) * tau)  # d/dt of exp(-T(1 - t)/2) = a β(1 − t)/2
    s = torch.sqrt(torch.clamp(1.0 - a * a, min=1e-12))
    return a, s, da, -a * da / s


def interpolate(path: str, x0: Tensor, x1: Tensor, t: Tensor, sigma_min: float = 0.0) -> tuple[Tensor, Tensor]:
    """x_t and the conditional velocity u_t(x_t | x_0, x_1) for pairs (n, d) at times t (n,)."""
    a, s, da, ds = (c[:, None] for c in coefficients(path, t, sigma_min))
    return a * x1 + s * x0, da * x1 + ds * x0


def sample_times(n: int, kind: str, generator: torch.Generator, path: str = "linear", *, mean: float = 0.0,
                 std: float = 1.0, fraction: float = 1.0) -> Tensor:
    """n training times in [0, 1] (in [0, 1 − ε] for the vp path) when ``fraction`` of the budget is done."""
    if kind not in TIME_SAMPLING:
        raise InputError(f"unknown time sampling '{kind}'; choose one of {', '.join(TIME_SAMPLING)}")
    if kind == "uniform":
        t = torch.rand(n, generator=generator)
    elif kind == "ramp":  # density 2t: twice as many times near the data (t = 1) as on average
        t = torch.rand(n, generator=generator).sqrt()
    elif kind == "early_ramp":  # a share of ramp times falling from 1 to 0 over EARLY_RAMP, the rest uniform
        u = torch.rand(n, generator=generator)
        ramped = torch.rand(n, generator=generator) < fade(fraction, *EARLY_RAMP)
        t = torch.where(ramped, u.sqrt(), u)
    else:
        t = torch.sigmoid(mean + std * torch.randn(n, generator=generator))
    return t * VP_T_MAX if path == "vp" else t


def logit_normal_density(t: float, mean: float = 0.0, std: float = 1.0) -> float:
    """The density of the logit-normal time distribution at t in (0, 1) (for tests and plots)."""
    z = (math.log(t / (1 - t)) - mean) / std
    return math.exp(-0.5 * z * z) / (std * math.sqrt(2 * math.pi) * t * (1 - t))
