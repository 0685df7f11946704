"""Densities with a closed-form log-density and score.

Log-densities are written in torch so they run on any device and can be differentiated;
the scores are closed forms, checked against autograd in the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .base import Density

__all__ = ["GaussianMixture", "Banana", "Funnel", "Checkerboard"]

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
