r"""Noise schedules and the forward process, discrete and as a continuous SDE.

Both families noise data the same way, in closed form::

    x_t = a(t) x_0 + s(t) ε,   ε ~ N(0, I)

* **VP** (DDPM): a = √ᾱ_t, s = √(1 − ᾱ_t), ᾱ_t = Π_{i≤t} (1 − β_i).
* **VE** (NCSN): a = 1, s = σ_t, geometric noise levels σ_min … σ_max.

A model is trained on ``num_levels`` discrete levels t = 1 … L (level 1 is the least
noisy); each level sits at a time τ ∈ [0, 1] (``times``), and between levels the
schedule is continued smoothly, which gives the continuous SDE of Song et al. (2021)::

    dx = f(τ) x dτ + g(τ) dw,   VP: f = −β(τ)/2, g² = β(τ);   VE: f = 0, g² = dσ²/dτ

whose marginals are exactly N(a(τ) x_0, s(τ)² I) at every level.

References:
    | Denoising Diffusion Probabilistic Models (Ho et al., 2020) https://arxiv.org/abs/2006.11239
    | Improved Denoising Diffusion Probabilistic Models (Nichol & Dhariwal, 2021) https://arxiv.org/abs/2102.09672
    | Generative Modeling by Estimating Gradients of the Data Distribution (Song & Ermon, 2019)
    |   https://arxiv.org/abs/1907.05600
    | Score-Based Generative Modeling through SDEs (Song et al., 2021) https://arxiv.org/abs/2011.13456
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ..errors import InputError

__all__ = ["SCHEDULES", "NoiseProcess", "VPSchedule", "VESchedule", "linear_betas", "cosine_betas", "make_process"]

SCHEDULES = ("linear", "cosine")


def linear_betas(T: int) -> Tensor:
    """DDPM's β_t from 1e-4 to 0.02 (T,) float64, for T = 1000.

    For another T the betas are scaled by 1000/T so that the chain still ends in noise
    (it discretises the same continuous schedule β(τ) from 0.1 to 20).
    """
    scale = 1000.0 / T
    return (torch.linspace(1e-4, 0.02, T, dtype=torch.float64) * scale).clamp(max=0.999)


def cosine_betas(T: int, offset: float = 0.008) -> Tensor:
    """Nichol & Dhariwal's cosine schedule: ᾱ(τ) ∝ cos²((τ + s)/(1 + s) · π/2), β_t ≤ 0.999 (T,) float64."""
    tau = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((tau + offset) / (1 + offset) * math.pi / 2) ** 2
    abar = f / f[0]
    return (1 - abar[1:] / abar[:-1]).clamp(min=0.0, max=0.999)


class NoiseProcess:
    """The forward process x_t = a(τ) x_0 + s(τ) ε over time τ ∈ [0, 1], with discrete levels.

    Subclasses define :meth:`signal` a(τ), :meth:`noise` s(τ), :meth:`drift_coef` f(τ)
    and :meth:`g2` g(τ)², all on tensors of times (any shape, float64 inside).
    """

    name = "process"
    num_levels: int
    times: Tensor  # (L,) float64, ascending: level t sits at times[t - 1]
    prior_std: float

    def signal(self, tau: Tensor) -> Tensor:
        raise NotImplementedError

    def noise(self, tau: Tensor) -> Tensor:
        raise NotImplementedError

    def drift_coef(self, tau: Tensor) -> Tensor:
        raise NotImplementedError

    def g2(self, tau: Tensor) -> Tensor:
        raise NotImplementedError

    def to_config(self) -> dict[str, Any]:
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------
    @property
    def t_min(self) -> float:
        """Time of the least noisy level: where samplers stop and likelihoods start."""
        return float(self.times[0])

    @property
    def t_max(self) -> float:
        """Where the continuous samplers start and likelihoods end: 1, or for a VP schedule the
        first level with ᾱ ≤ 1e-4 (and never a clipped step of the cosine schedule, where β(τ)
        is in the thousands): past it the data are gone and the ODE and SDE are only stiff."""
        return 1.0

    def level_time(self, t: Tensor | int) -> Tensor:
        """τ of integer level(s) t ∈ {1 … L} (float64)."""
        t = torch.as_tensor(t, dtype=torch.long)
        if bool(((t < 1) | (t > self.num_levels)).any()):
            raise ValueError(f"levels run from 1 to {self.num_levels}")
        return self.times[t - 1]

    def marginal(self, tau: Tensor) -> tuple[Tensor, Tensor]:
        """(a(τ), s(τ)): q(x_τ | x_0) = N(a x_0, s² I)."""
        tau = torch.as_tensor(tau, dtype=torch.float64)
        return self.signal(tau), self.noise(tau)

    def add_noise(self, x0: Tensor, noise: Tensor, t: Tensor | int) -> Tensor:
        """Sample q(x_t | x_0) in closed form at integer levels t (scalar or (n,)): (n, 2)."""
        a, s = self.marginal(self.level_time(t))
        a, s = _column(a, x0), _column(s, x0)
        return a * x0 + s * noise

    def add_noise_at(self, x0: Tensor, noise: Tensor, tau: Tensor | float) -> Tensor:
        """Like :meth:`add_noise` at continuous time(s) τ."""
        a, s = self.marginal(torch.as_tensor(tau, dtype=torch.float64))
        return _column(a, x0) * x0 + _column(s, x0) * noise

    def drift(self, x: Tensor, tau: Tensor | float) -> Tensor:
        """Forward SDE drift f(τ) x, (n, 2)."""
        return _column(self.drift_coef(torch.as_tensor(tau, dtype=torch.float64)), x) * x

    def diffusion(self, tau: Tensor | float) -> Tensor:
        """Forward SDE diffusion g(τ) (float64)."""
        return self.g2(torch.as_tensor(tau, dtype=torch.float64)).sqrt()


class VPSchedule(NoiseProcess):
    """DDPM's variance-preserving chain, q(x_t | x_{t−1}) = N(√(1−β_t) x_{t−1}, β_t I).

    Arguments:
        timesteps: T, the number of levels.
        schedule: ``linear`` (Ho et al., 2020) or ``cosine`` (Nichol & Dhariwal, 2021).

    Level t sits at τ = t/T. Between levels log ᾱ is linear in τ, so the continuous β(τ)
    is constant on each step and ᾱ(τ) matches the chain exactly at every level.

    Example:
        >>> vp = VPSchedule(1000, "linear")
        >>> round(float(vp.alpha_bars[-1]), 6) < 1e-4
        True
    """

    name = "vp"

    def __init__(self, timesteps: int = 1000, schedule: str = "linear") -> None:
        if schedule not in SCHEDULES:
            raise InputError(f"unknown schedule '{schedule}'; choose one of {', '.join(SCHEDULES)}")
        if not 2 <= int(timesteps) <= 10_000:
            raise InputError(f"--timesteps must be between 2 and 10000, not {timesteps}")
        self.schedule, self.num_levels = schedule, int(timesteps)
        T = self.num_levels
        self.betas = linear_betas(T) if schedule == "linear" else cosine_betas(T)
        self.alphas = 1 - self.betas
        self.alpha_bars = torch.cumprod(self.alphas, 0)
        prev = torch.cat([torch.ones(1, dtype=torch.float64), self.alpha_bars[:-1]])
        self.betas_tilde = (1 - prev) / (1 - self.alpha_bars) * self.betas  # β̃_1 = 0
        self.times = torch.arange(1, T + 1, dtype=torch.float64) / T
        self._log_abar = torch.cat([torch.zeros(1, dtype=torch.float64), self.alpha_bars.log()])
        self.prior_std = 1.0

    @property
    def t_max(self) -> float:
        last = self.num_levels - 1
        clipped = (self.betas >= 0.999).nonzero()
        if len(clipped):  # a clipped step jumps to noise: stop at the level before it
            last = max(int(clipped[0]) - 1, 0)
        noise = (self.alpha_bars[: last + 1] <= 1e-4).nonzero()
        return float(self.times[int(noise[0]) if len(noise) else last])

    def _locate(self, tau: Tensor) -> tuple[Tensor, Tensor]:
        if bool(torch.isnan(tau).any()):  # a solver fed NaN states by damaged weights picks NaN step sizes
            raise InputError("the model's values became NaN along the solve (damaged weights?)")
        u = tau.clamp(0.0, 1.0) * self.num_levels
        i = u.floor().long().clamp(max=self.num_levels - 1)
        return i, u - i

    def log_alpha_bar(self, tau: Tensor) -> Tensor:
        """log ᾱ(τ), linear between levels (float64)."""
        i, frac = self._locate(torch.as_tensor(tau, dtype=torch.float64))
        la = self._log_abar
        return la[i] + frac * (la[i + 1] - la[i])

    def signal(self, tau: Tensor) -> Tensor:
        return (0.5 * self.log_alpha_bar(tau)).exp()

    def noise(self, tau: Tensor) -> Tensor:
        return (-torch.expm1(self.log_alpha_bar(tau))).clamp(min=0.0).sqrt()

    def beta(self, tau: Tensor) -> Tensor:
        """Continuous β(τ) = −d log ᾱ/dτ (float64)."""
        i, _ = self._locate(torch.as_tensor(tau, dtype=torch.float64))
        return (self._log_abar[i] - self._log_abar[i + 1]) * self.num_levels

    def drift_coef(self, tau: Tensor) -> Tensor:
        return -0.5 * self.beta(tau)

    def g2(self, tau: Tensor) -> Tensor:
        return self.beta(tau)

    def to_config(self) -> dict[str, Any]:
        return {"process": "vp", "timesteps": self.num_levels, "schedule": self.schedule}


class VESchedule(NoiseProcess):
    """NCSN's noise levels: x_σ = x_0 + σ ε, σ geometric from ``sigma_min`` to ``sigma_max``.

    Arguments:
        levels: L, the number of noise levels (Song & Ermon's σ_1 > … > σ_L are our levels L … 1).
        sigma_min, sigma_max: the smallest and largest noise level.

    Level t sits at τ = (t − 1)/(L − 1) and σ(τ) = σ_min (σ_max/σ_min)^τ. The prior is
    N(0, (σ_max² + 1) I), the noisiest marginal of unit-variance data.
    """

    name = "ve"

    def __init__(self, levels: int = 100, sigma_min: float = 0.01, sigma_max: float = 5.0) -> None:
        if not 2 <= int(levels) <= 10_000:
            raise InputError(f"the number of noise levels must be between 2 and 10000, not {levels}")
        if not 0 < sigma_min < sigma_max:
            raise InputError(f"noise levels need 0 < sigma_min < sigma_max, not {sigma_min} and {sigma_max}")
        self.num_levels, self.sigma_min, self.sigma_max = int(levels), float(sigma_min), float(sigma_max)
        self.times = torch.linspace(0.0, 1.0, self.num_levels, dtype=torch.float64)
        self._log_ratio = math.log(self.sigma_max / self.sigma_min)
        # data are normalised to unit variance, so x_1 = x_0 + σ_max ε has variance σ_max² + 1:
        # that Gaussian (not N(0, σ_max²)) is the prior that the ODE's end point really follows
        self.prior_std = math.sqrt(self.sigma_max**2 + 1.0)

    @property
    def sigmas(self) -> Tensor:
        """σ of every level, ascending (L,) float64."""
        return self.noise(self.times)

    def signal(self, tau: Tensor) -> Tensor:
        return torch.ones_like(torch.as_tensor(tau, dtype=torch.float64))

    def noise(self, tau: Tensor) -> Tensor:
        return self.sigma_min * torch.exp(torch.as_tensor(tau, dtype=torch.float64) * self._log_ratio)

    def drift_coef(self, tau: Tensor) -> Tensor:
        return torch.zeros_like(torch.as_tensor(tau, dtype=torch.float64))

    def g2(self, tau: Tensor) -> Tensor:
        return 2 * self._log_ratio * self.noise(tau) ** 2

    def to_config(self) -> dict[str, Any]:
        return {"process": "ve", "levels": self.num_levels, "sigma_min": self.sigma_min, "sigma_max": self.sigma_max}


def make_process(config: dict[str, Any]) -> NoiseProcess:
    """Rebuild a process from :meth:`NoiseProcess.to_config`."""
    if config["process"] == "vp":
        return VPSchedule(int(config["timesteps"]), str(config["schedule"]))
    return VESchedule(int(config["levels"]), float(config["sigma_min"]), float(config["sigma_max"]))


def _column(v: Tensor, like: Tensor) -> Tensor:
    """A per-point (n,) or scalar coefficient shaped to multiply (n, d) points."""
    v = v.to(dtype=like.dtype, device=like.device)
    return v[:, None] if v.dim() == 1 else v
