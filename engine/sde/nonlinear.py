"""SDEs whose drift is not linear in x: Langevin for a score, a double well, user formulas,
a velocity field (g = 0), and the reverse-time SDE of a forward one.

>>> sde = DoubleWell(sigma=0.5)
>>> sde.drift(torch.tensor([[1.5, 1.0]]), 0.0)
tensor([[-0., -1.]])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ..errors import InputError
from .formula import Formula, parse_formula
from .sdes import SDE, ScoreFn, Split, Tensor, TimeScoreFn, VelocityFn, one

__all__ = ["Langevin", "DoubleWell", "CustomSDE", "Velocity", "Reverse"]


@dataclass
class Langevin(SDE):
    """The Langevin SDE of a density, dx = ½ ∇log p(x) dt + dw: it leaves p unchanged.

    Arguments:
        score: ∇log p, the exact one of an analytic density or a learned one, (n, 2) -> (n, 2).
    """

    score: ScoreFn

    name: ClassVar[str] = "langevin"
    equation: ClassVar[str] = "dx = ½ ∇log p(x) dt + dw"

    def drift(self, x: Tensor, t: float) -> Tensor:
        return 0.5 * self.score(x)

    def diffusion(self, t: float) -> float:
        return 1.0

    def drift_split(self) -> Split:
        return one, lambda x: 0.5 * self.score(x)


@dataclass
class DoubleWell(SDE):
    """Gradient flow of U(x, y) = h ((x/a)² − 1)² + y²/2 with noise σ; p_∞ ∝ exp(−2U/σ²).

    Arguments:
        sigma: noise level.  a: the wells sit at x = ±a.  h: the barrier's height.
    """

    sigma: float = 1.0
    a: float = 1.5
    h: float = 1.0

    name: ClassVar[str] = "double-well"
    equation: ClassVar[str] = "dx = −∇U(x) dt + σ dw,  U = h((x/a)² − 1)² + y²/2"
    t_end: ClassVar[float] = 3.0

    def _minus_grad(self, x: Tensor) -> Tensor:
        u = x[:, 0] / self.a
        return torch.stack([-4 * self.h * u * (u * u - 1) / self.a, -x[:, 1]], 1)

    def drift(self, x: Tensor, t: float) -> Tensor:
        return self._minus_grad(x)

    def diffusion(self, t: float) -> float:
        return self.sigma

    def drift_split(self) -> Split:
        return one, self._minus_grad


@dataclass
class CustomSDE(SDE):
    """An SDE typed as formulas: drift (f_x, f_y) in x, y, t and diffusion g in t.

    Arguments:
        drift_x, drift_y: formulas for the two components of f (see :mod:`engine.sde.formula`).
        diffusion_text: formula for g(t); it may use t only, since g does not depend on x here.
    """

    drift_x: str = "0"
    drift_y: str = "0"
    diffusion_text: str = "1"

    name: ClassVar[str] = "custom"
    equation: ClassVar[str] = "dx = f(x, y, t) dt + g(t) dw  (your formulas)"

    def __post_init__(self) -> None:
        self._fx: Formula = parse_formula(self.drift_x)
        self._fy: Formula = parse_formula(self.drift_y)
        self._g: Formula = parse_formula(self.diffusion_text)
        extra = sorted(self._g.variables - {"t"})
        if extra:
            raise InputError(f"the diffusion g(t) may depend on t only, but '{self.diffusion_text}' uses "
                             f"{' and '.join(extra)}")

    def drift(self, x: Tensor, t: float) -> Tensor:
        return torch.stack([self._fx.torch(x[:, 0], x[:, 1], t), self._fy.torch(x[:, 0], x[:, 1], t)], 1)

    def diffusion(self, t: float) -> float:
        return float(self._g.numpy(np.zeros(1), np.zeros(1), t)[0])

    def drift_split(self) -> Split | None:
        if "t" in self._fx.variables | self._fy.variables:
            return None
        return one, lambda x: self.drift(x, 0.0)


@dataclass
class Velocity(SDE):
    """An ODE as an SDE with g = 0, dx = v(x, t) dt: e.g. a CNF's velocity field.

    Its Fokker–Planck equation is the continuity equation ∂p/∂t = −div(v p) of the CNF.

    Arguments:
        velocity: v(x, t), (n, 2) -> (n, 2).
        autonomous: True when v does not depend on t (the grid solver then evaluates it once).
    """

    velocity: VelocityFn
    autonomous: bool = False

    name: ClassVar[str] = "velocity"
    equation: ClassVar[str] = "dx = v(x, t) dt"

    def drift(self, x: Tensor, t: float) -> Tensor:
        return self.velocity(x, t)

    def diffusion(self, t: float) -> float:
        return 0.0

    def drift_split(self) -> Split | None:
        return (one, lambda x: self.velocity(x, 0.0)) if self.autonomous else None


@dataclass
class Reverse(SDE):
    """The reverse-time SDE of a forward one, run in its own time τ = T − t from τ = 0:

        dx = [g(t)² s(x, t) − f(x, t)] dτ + g(t) dw,  t = T − τ,

    where s(x, t) = ∇log p_t(x) is the forward marginals' score (exact, or a learned one):
    started from p_T it passes through p_t in reverse and ends at p_0.

    Arguments:
        forward: the forward SDE.  score: s(x, t) in the forward time.  t_start: T.

    References:
        B. D. O. Anderson, Reverse-time diffusion equation models (1982).
    """

    forward: SDE
    score: TimeScoreFn
    t_start: float = 1.0

    name: ClassVar[str] = "reverse"
    equation: ClassVar[str] = "dx = [g² ∇log p_t(x) − f(x, t)] dτ + g dw,  t = T − τ"

    def default_t_end(self) -> float:
        return self.t_start

    def drift(self, x: Tensor, t: float) -> Tensor:
        s = self.t_start - t
        return self.forward.diffusion(s) ** 2 * self.score(x, s) - self.forward.drift(x, s)

    def diffusion(self, t: float) -> float:
        return self.forward.diffusion(self.t_start - t)
