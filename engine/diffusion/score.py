r"""The score view: ε ↔ score, the reverse SDE, the probability-flow ODE and its exact likelihood.

A noise predictor is a score model (Song et al., 2021)::

    s_θ(x_τ, τ) = ∇ log p_τ(x_τ) = −ε_θ(x_τ, τ) / s(τ)        (s = √(1 − ᾱ) for DDPM, σ for NCSN)

and the forward SDE dx = f(τ) x dτ + g(τ) dw has the same marginals as

* the reverse SDE, dx = [f(τ) x − g(τ)² s_θ] dτ + g(τ) dw̄, run from τ = 1 down to τ_min
  (here by Euler–Maruyama), and
* the probability-flow ODE, dx/dτ = f(τ) x − ½ g(τ)² s_θ, which is deterministic and
  invertible, so the change of variables d log p/dτ = −tr(∂v/∂x) gives exact log-densities.

The ODE is solved with the CNF's solvers and its exact divergence.

References:
    | Score-Based Generative Modeling through SDEs (Song et al., 2021) https://arxiv.org/abs/2011.13456
    | Reverse-time diffusion equation models (Anderson, 1982)
    | FFJORD (Grathwohl et al., 2019) https://arxiv.org/abs/1810.01367
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ..cnf.divergence import autograd_trace
from ..cnf.solvers import Counted, odesolve
from .ddpm import StepOutput
from .schedules import NoiseProcess

# function evaluations allowed per probability-flow solve outside training: the shipped models need
# 1,082 (ddpm_8gaussians_conditional) and 1,376 (ncsn_twomodes) for log-densities with dopri5;
# damaged weights would keep it busy for hours
EVAL_MAX_NFE = 10_000

__all__ = [
    "eps_to_score",
    "score_to_eps",
    "ReverseSDEScheduler",
    "ProbabilityFlow",
    "continuous_times",
]

EpsFn = Callable[[Tensor, Tensor], Tensor]  # (x (n, 2), τ scalar) -> ε (n, 2)


def eps_to_score(eps: Tensor, noise_std: Tensor | float) -> Tensor:
    """s = −ε / s(τ), (n, 2)."""
    return -eps / noise_std


def score_to_eps(score: Tensor, noise_std: Tensor | float) -> Tensor:
    """ε = −s(τ) · score, (n, 2)."""
    return -noise_std * score


def continuous_times(process: NoiseProcess, n: int) -> Tensor:
    """n times from τ_max (1, see :attr:`NoiseProcess.t_max`) down to τ_min, evenly spaced (n,) float64 (n ≥ 2)."""
    return torch.linspace(process.t_max, process.t_min, max(int(n), 2), dtype=torch.float64)


def _coefs(process: NoiseProcess, tau: Tensor | float) -> tuple[float, float, float, float]:
    t = torch.as_tensor(tau, dtype=torch.float64)
    a, s = process.marginal(t)
    return float(a), float(s), float(process.drift_coef(t)), float(process.g2(t))


class ReverseSDEScheduler:
    """Euler–Maruyama on the reverse SDE, diffusers-style; the last step returns x̂_0 (Tweedie's denoising).

    Arguments:
        process: the forward process, seen as an SDE.
    """

    def __init__(self, process: NoiseProcess) -> None:
        self.process = process
        self.set_timesteps(process.num_levels)

    def set_timesteps(self, n: int) -> None:
        """n model evaluations from τ = 1 down to τ_min: ``timesteps`` (n,) float64, descending."""
        self.timesteps = continuous_times(self.process, n)
        self._next = {float(v): float(w) for v, w in zip(self.timesteps[:-1].tolist(), self.timesteps[1:].tolist())}

    def add_noise(self, x0: Tensor, noise: Tensor, t: Tensor | float) -> Tensor:
        return self.process.add_noise_at(x0, noise, t)

    def step(self, model_out: Tensor, t: Tensor | float, x_t: Tensor,
             generator: torch.Generator | None = None) -> StepOutput:
        a, s, f, g2 = _coefs(self.process, t)
        x0 = (x_t - s * model_out) / a
        nxt = self._next.get(float(t))
        if nxt is None:
            return StepOutput(x0, x0)
        dt = float(t) - nxt
        drift = f * x_t + (g2 / s) * model_out  # f x − g² s_θ with s_θ = −ε/s
        z = torch.randn(x_t.shape, generator=generator, device="cpu").to(x_t)
        return StepOutput(x_t - drift * dt + math.sqrt(g2 * dt) * z, x0)


class ProbabilityFlow:
    """The probability-flow ODE of an ε model: sampling and exact log-densities.

    Arguments:
        eps_fn: ε_θ(x, τ) for points (n, 2) and a scalar time τ.
        process: the forward process.
        solver: a CNF solver name (``rk4``, ``dopri5``, ...).  steps: fixed-step solver steps.
        atol, rtol: tolerances of adaptive solvers.
    """

    def __init__(self, eps_fn: EpsFn, process: NoiseProcess, solver: str = "rk4", steps: int = 50,
                 atol: float = 1e-5, rtol: float = 1e-5, max_nfe: int = 0) -> None:
        self.eps_fn, self.process = eps_fn, process
        self.solver, self.steps, self.atol, self.rtol = solver, steps, atol, rtol
        self.max_nfe = max_nfe  # per solve; 0: no limit (past it, SolverDiverged)

    def velocity(self, x: Tensor, tau: Tensor | float) -> Tensor:
        """dx/dτ = f(τ) x + ½ g(τ)² ε_θ / s(τ), (n, 2)."""
        _, s, f, g2 = _coefs(self.process, tau)
        return f * x + (0.5 * g2 / s) * self.eps_fn(x, torch.as_tensor(float(tau)))

    def solve(self, x: Tensor, t0: float, t1: float, steps: int | None = None) -> Tensor:
        """Carry points x (n, 2) from time t0 to t1 along the ODE."""
        func = Counted(lambda t, y: (self.velocity(y[0], t),), self.max_nfe)
        tt = torch.tensor([t0, t1], dtype=x.dtype, device=x.device)
        (out,) = odesolve(func, (x,), tt, solver=self.solver, steps=steps or self.steps, atol=self.atol,
                          rtol=self.rtol)
        return out[-1]

    def denoise(self, x: Tensor, tau: float) -> Tensor:
        """x̂_0 = (x − s ε_θ)/a at time τ, (n, 2)."""
        a, s, _, _ = _coefs(self.process, tau)
        return (x - s * self.eps_fn(x, torch.as_tensor(float(tau)))) / a

    def log_prob(self, z: Tensor, t0: float | None = None) -> Tensor:
        """Exact log p_{t0}(z), (n,) float64, by integrating the ODE and tr(∂v/∂x) from t0 (τ_min) up to τ_max."""
        def func(t: Tensor | float, y: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
            with torch.enable_grad():
                x = y[0].detach().requires_grad_(True)
                v = self.velocity(x, t)
                div = autograd_trace(v, x)
            return v.detach(), div.detach()

        tt = torch.tensor([self.process.t_min if t0 is None else t0, self.process.t_max], dtype=z.dtype,
                          device=z.device)
        zero = torch.zeros(len(z), dtype=z.dtype, device=z.device)
        x1, integral = odesolve(Counted(func, self.max_nfe), (z, zero), tt, solver=self.solver, steps=self.steps,
                                atol=self.atol, rtol=self.rtol)
        prior = self.process.prior_std
        d = z.shape[1]
        log_prior = -0.5 * (x1[-1].double() ** 2).sum(1) / prior**2 - d * math.log(prior * math.sqrt(2 * math.pi))
        return log_prior + integral[-1].double()
