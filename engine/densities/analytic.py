"""Densities with a closed-form log-density and score.

Log-densities are written in torch so they run on any device and can be differentiated;
the scores are closed forms, checked against autograd in the tests.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .base import Density

__all__ = ["GaussianMixture", "FastMixture", "Banana", "Funnel", "Checkerboard"]

_LOG2PI = math.log(2 * math.pi)


@dataclass
class GaussianMixture(Density):
    """Mixture of isotropic Gaussians; each component is one class.

    Arguments:
        means: (K, 2) component centres.
        stds: (K,) component standard deviations.
        weights: (K,) mixture weights (normalised here).
    """

    means: np.ndarray = field(default_factory=lambda: np.zeros((1, 2)))
    stds: np.ndarray = field(default_factory=lambda: np.ones(1))
    weights: np.ndarray = field(default_factory=lambda: np.ones(1))
    labelled: bool = True

    analytic = True

    def __post_init__(self) -> None:
        self.means = np.asarray(self.means, np.float64).reshape(-1, 2)
        self.stds = np.broadcast_to(np.asarray(self.stds, np.float64), (len(self.means),)).copy()
        w = np.broadcast_to(np.asarray(self.weights, np.float64), (len(self.means),))
        self.weights = w / w.sum()
        self.num_classes = len(self.means) if self.labelled else 0

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        k = rng.choice(len(self.means), size=n, p=self.weights)
        x = self.means[k] + rng.standard_normal((n, 2)) * self.stds[k, None]
        return x, (k if self.labelled else None)

    def _component_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        mu = torch.as_tensor(self.means, dtype=x.dtype, device=x.device)
        sd = torch.as_tensor(self.stds, dtype=x.dtype, device=x.device)
        logw = torch.as_tensor(np.log(self.weights), dtype=x.dtype, device=x.device)
        d2 = ((x[:, None, :] - mu[None]) ** 2).sum(-1)
        return logw - 0.5 * d2 / sd**2 - 2 * torch.log(sd) - _LOG2PI

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return torch.logsumexp(self._component_log_prob(x), dim=1)

    def class_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        if not self.labelled:
            raise NotImplementedError(f"density '{self.name}' has no classes")
        return torch.log_softmax(self._component_log_prob(x), dim=1)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        r = torch.softmax(self._component_log_prob(x), dim=1)
        mu = torch.as_tensor(self.means, dtype=x.dtype, device=x.device)
        var = torch.as_tensor(self.stds, dtype=x.dtype, device=x.device) ** 2
        return (r[:, :, None] * (mu[None] - x[:, None, :]) / var[None, :, None]).sum(1)

    @functools.cached_property
    def fast(self) -> FastMixture:
        """The same closed forms laid out for many points at once (built once per mixture)."""
        return FastMixture(self)


class FastMixture:
    """Σ_k w_k N(μ_k, σ_k² I): ``score``, ``log_prob`` and ``classify`` for many points (n, 2) at once.

    The same closed forms as :class:`GaussianMixture`, which works on (n, K, 2) tensors and
    reduces over its short last axis: ~5 ms (2 modes) to ~20 ms (8 modes) per call on 20k
    points and one CPU thread. Here the squared distances are expanded into one matrix product
    and everything is laid out (K, n), so each reduction runs over long contiguous rows: the
    same numbers in a fraction of the time (the Langevin and KFP views call it several times
    per frame). Get one with :attr:`GaussianMixture.fast`.

    With a_k = μ_k/σ_k² and c_k = log w_k − log(2π σ_k²) − |μ_k|²/(2σ_k²), the log of each weighted
    component is a_k·x + c_k − |x|²/(2σ_k²), i.e. one (K, 4) @ (4, n) product with the rows
    (x, y, 1, |x|²). Per-component constants are folded into matrices because broadcasting a
    (K, 1) column over (K, n) is slow in torch on the CPU.
    """

    def __init__(self, density: GaussianMixture) -> None:
        mu, var = np.asarray(density.means, np.float64), np.asarray(density.stds, np.float64) ** 2
        c = np.log(density.weights) - np.log(2 * math.pi * var) - 0.5 * (mu**2).sum(1) / var
        self.num_classes = len(mu)
        # logits = A @ (x, y, 1, |x|²);  score = (B @ r)[:2] − x (B @ r)[2] for responsibilities r
        self._host = {"A": np.column_stack([mu / var[:, None], c, -0.5 / var]),
                      "B": np.vstack([(mu / var[:, None]).T, 1.0 / var])}
        self._cache: dict[tuple[torch.dtype, torch.device], dict[str, torch.Tensor]] = {}

    def _consts(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        key = (x.dtype, x.device)
        if key not in self._cache:
            self._cache[key] = {k: torch.as_tensor(v, dtype=x.dtype, device=x.device) for k, v in self._host.items()}
        return self._cache[key]

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        """log w_k N(x; μ_k, σ_k² I), (K, n)."""
        rows = torch.stack([x[:, 0], x[:, 1], torch.ones_like(x[:, 0]), (x * x).sum(1)])
        return self._consts(x)["A"] @ rows

    @staticmethod
    def _shifted_exp(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """exp(logits − max) with the exponent cut at −80, and the max: terms below e^−80 of the
        largest change nothing, and cutting them keeps exp out of subnormal floats, which make
        CPU arithmetic ~100x slower (far components underflow there for most points)."""
        top = logits.amax(0)  # max(0) is ~50x slower on this layout
        return (logits - top).clamp_(min=-80.0).exp_(), top

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """∇log p(x), (n, 2) in the dtype of x."""
        e, _ = self._shifted_exp(self._logits(x))
        m = self._consts(x)["B"] @ (e / e.sum(0))  # (3, n)
        return (m[:2] - x.T * m[2]).T

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x), (n,)."""
        e, top = self._shifted_exp(self._logits(x))
        return top + e.sum(0).log()

    def classify(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        """The most probable component of each point, (n,) int64; -1 for a point that is not finite."""
        t = torch.as_tensor(np.asarray(x, np.float32) if not isinstance(x, torch.Tensor) else x)
        with torch.no_grad():
            logits = self._logits(t)
            labels = logits.max(0).indices  # argmax(0) is ~15x slower here
            # a point that is not finite has no finite logit (one row read instead of both coordinates;
            # a point so far out that |x|² overflows is unknown too)
            return torch.where(torch.isfinite(logits[0]), labels, -1).cpu().numpy()

    def shares(self, labels: np.ndarray) -> np.ndarray:
        """Share of the points in each component, (K,) float64 (like ``engine.sde.mode_shares``)."""
        n = max(len(labels), 1)
        return np.bincount(labels[labels >= 0], minlength=self.num_classes)[: self.num_classes] / n


@dataclass
class Banana(Density):
    """x ~ N(0, a^2), y | x ~ N(b x^2 + c, s^2): a curved ridge."""

    a: float = 1.2
    b: float = 0.35
    c: float = -2.0
    s: float = 0.5

    analytic = True

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, None]:
        x = self.a * rng.standard_normal(n)
        y = self.b * x**2 + self.c + self.s * rng.standard_normal(n)
        return np.stack([x, y], 1), None

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        u, v = x[:, 0], x[:, 1] - self.b * x[:, 0] ** 2 - self.c
        return -0.5 * (u / self.a) ** 2 - 0.5 * (v / self.s) ** 2 - math.log(self.a * self.s) - _LOG2PI

    def score(self, x: torch.Tensor) -> torch.Tensor:
        u, v = x[:, 0], x[:, 1] - self.b * x[:, 0] ** 2 - self.c
        gv = -v / self.s**2
        return torch.stack([-u / self.a**2 + gv * (-2 * self.b * u), gv], 1)


@dataclass
class Funnel(Density):
    """Neal's funnel: y ~ N(0, s^2) vertical, x | y ~ N(0, exp(y))."""

    s: float = 1.2

    analytic = True

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, None]:
        y = self.s * rng.standard_normal(n)
        x = np.exp(y / 2) * rng.standard_normal(n)
        return np.stack([x, y], 1), None

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        u, y = x[:, 0], x[:, 1]
        return -0.5 * (y / self.s) ** 2 - math.log(self.s) - 0.5 * u**2 * torch.exp(-y) - 0.5 * y - _LOG2PI

    def score(self, x: torch.Tensor) -> torch.Tensor:
        u, y = x[:, 0], x[:, 1]
        e = torch.exp(-y)
        return torch.stack([-u * e, -y / self.s**2 + 0.5 * u**2 * e - 0.5], 1)


@dataclass
class Checkerboard(Density):
    """Uniform on 8 of the 16 cells of side 2 covering [-4, 4]^2 (FFJORD's scaling); entropy ln 32.

    Each occupied cell is a class. The density is piecewise constant, so its score is 0
    inside the cells and undefined on their edges.
    """

    analytic = True

    def __post_init__(self) -> None:
        self.num_classes = 8

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        label = rng.integers(0, 8, n)
        row, col = label // 2, 2 * (label % 2) + (label // 2) % 2
        x = np.stack([col, row], 1) * 2.0 - 4.0 + rng.random((n, 2)) * 2.0
        return x, label

    def _occupied(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # the board is the closed square [-4, 4]^2: a point on its right or top edge (where the
        # samplers' clipping to the box puts a point pushed past it) is in the last column or row
        inside = (x.abs() <= 4.0).all(1)
        col = (torch.floor(x[:, 0] / 2.0) + 2).clamp(0, 3)
        row = (torch.floor(x[:, 1] / 2.0) + 2).clamp(0, 3)
        return inside & ((col + row) % 2 == 0), row, col

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        ok, _, _ = self._occupied(x)
        inside = torch.full_like(x[:, 0], -math.log(32.0))
        return torch.where(ok, inside, torch.full_like(inside, -math.inf))

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)

    def class_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        ok, row, col = self._occupied(x)
        label = (row * 2 + torch.div(col, 2, rounding_mode="floor")).long().clamp(0, 7)
        out = torch.full((len(x), 8), -math.inf, dtype=x.dtype, device=x.device)
        out[ok, label[ok]] = 0.0
        out[~ok] = -math.log(8.0)
        return out

    def entropy(self) -> float:
        return math.log(32.0)
