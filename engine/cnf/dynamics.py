r"""The augmented CNF dynamics: the state and its log-density change, with regularizers.

For a vector field f_θ(z, t) (:class:`~engine.cnf.nets.VectorField`) the instantaneous
change of variables (Chen et al., 2018) integrates, beside z,

.. math:: \frac{d}{dt} [z, \Delta, E, F] = [f_θ(z, t),\; -\mathrm{tr}\,\partial f_θ/\partial z,\;
          \|f_θ\|^2,\; \|\partial f_θ/\partial z\|_F^2],

so that log p_t(z(t)) = log p_0(z(0)) + Δ(t) − Δ(0). E and F, integrated over the whole
path, are RNODE's kinetic-energy and Jacobian-Frobenius penalties (Finlay et al., 2020):
they favour straight, gentle paths that a few solver steps integrate accurately.

References:
    | Neural Ordinary Differential Equations (Chen et al., 2018) https://arxiv.org/abs/1806.07366
    | FFJORD (Grathwohl et al., 2019) https://arxiv.org/abs/1810.01367
    | How to train your neural ODE (Finlay et al., 2020) https://arxiv.org/abs/2002.02798
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .divergence import TraceEstimator
from .nets import VectorField

__all__ = ["CNFDynamics", "FieldDynamics"]


class CNFDynamics(nn.Module):
    """Right-hand side of the augmented ODE for the state (z, Δ[, E][, F]).

    Arguments:
        field: the vector field f_θ.
        estimator: exact trace or Hutchinson's estimator.
        kinetic: also integrate E = ∫‖f‖² dt.
        frobenius: also integrate F = ∫‖∂f/∂z‖²_F dt.

    Call :meth:`begin` before each solve: it draws the Hutchinson probes that stay fixed
    for the whole solve (and for its adjoint, which re-evaluates the same dynamics).
    """

    def __init__(
        self, field: VectorField, estimator: TraceEstimator | None = None, kinetic: bool = False,
        frobenius: bool = False,
    ) -> None:
        super().__init__()
        self.field = field
        self.estimator = estimator or TraceEstimator()
        self.kinetic = kinetic
        self.frobenius = frobenius
        self.tangents: Tensor | None = None

    def begin(self, z: Tensor, generator: torch.Generator | None = None) -> None:
        """Fix the tangents (basis vectors or probes) for a solve of the points z, (n, d)."""
        n, d = z.shape
        self.tangents = self.estimator.tangents(n, d, z.device, z.dtype, generator)

    def initial_state(self, z: Tensor) -> tuple[Tensor, ...]:
        """(z, Δ=0[, E=0][, F=0]) for points z, (n, d)."""
        zero = z.new_zeros(len(z))
        return (z, zero) + (zero,) * (int(self.kinetic) + int(self.frobenius))

    def forward(self, t: Tensor | float, state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        z = state[0]
        if self.tangents is None or self.tangents.shape[1] not in (1, len(z)):
            self.begin(z)  # a solve that nobody began: fix its probes now
        v = self.tangents
        assert v is not None
        f, jv = self.field.jvp(t, z, v)
        out = [f, -self.estimator.trace(v, jv)]
        if self.kinetic:
            out.append((f * f).sum(1))
        if self.frobenius:
            out.append(self.estimator.frobenius(jv))
        return tuple(out)


class FieldDynamics(nn.Module):
    """Right-hand side dz/dt = f_θ(z, t) for the state (z,) alone (sampling, trajectories)."""

    def __init__(self, field: VectorField) -> None:
        super().__init__()
        self.field = field

    def forward(self, t: Tensor | float, state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        return (self.field(t, state[0]),)
