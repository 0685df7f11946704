"""Time-conditioned vector fields f_θ(z, t) with a closed-form Jacobian-vector product.

The CNF needs the divergence tr(∂f/∂z) at every function evaluation. For a small MLP in
2D it is cheapest to carry tangent vectors through the network alongside the values
(forward-mode differentiation written out by hand): with the d basis vectors as tangents
this gives the whole Jacobian, hence the exact trace, in about three forward passes and
without the double backward that an autograd trace would need during training.

Only smooth activations are offered: the flow exists and is unique when f is Lipschitz
in z (Picard), and the exact trace needs f to be differentiable everywhere.

References:
    | FFJORD: Free-form Continuous Dynamics for Scalable Reversible Generative Models
    | (Grathwohl et al., 2019) https://arxiv.org/abs/1810.01367
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

__all__ = ["ACTIVATIONS", "ConcatSquash", "VectorField"]

# name -> (activation σ, tangent map (dv, a, σ(a)) -> σ'(a) dv); only smooth activations.
# Where ATen has a fused, twice-differentiable backward kernel it serves as the tangent map:
# one pass over the tangents instead of three (σ', then a product), most of the cost in 2D.
Activation = tuple[Callable[[Tensor], Tensor], Callable[[Tensor, Tensor, Tensor], Tensor]]

_aten = torch.ops.aten


def _silu_tangent(dv: Tensor, a: Tensor, y: Tensor) -> Tensor:
    s = torch.sigmoid(a)  # aten's silu_backward has no derivative of its own
    return dv * (s * (1 + a * (1 - s)))


ACTIVATIONS: dict[str, Activation] = {
    "tanh": (torch.tanh, lambda dv, a, y: _aten.tanh_backward(dv, y)),
    "softplus": (nn.functional.softplus, lambda dv, a, y: _aten.softplus_backward(dv, a, 1.0, 20.0)),
    "silu": (nn.functional.silu, _silu_tangent),
}


class ConcatSquash(nn.Module):
    r"""FFJORD's concat-squash layer, y = (W x + b) ⊙ σ(a t + c) + d t.

    Time gates and shifts the features, so one layer both sees t and stays linear in x.

    Arguments:
        n_in: input features.
        n_out: output features.
    """

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        self.gate = nn.Linear(1, n_out)
        self.shift = nn.Linear(1, n_out, bias=False)

    def at_time(self, t: Tensor | float) -> tuple[Tensor, Tensor]:
        """The layer at a scalar time t as a plain affine map: weight (n_out, n_in), bias (n_out,).

        Folding the gate into the weights costs O(n_out n_in) once per evaluation instead of
        a product over the whole batch (and its tangents).
        """
        gate = torch.sigmoid(self.gate.weight[:, 0] * t + self.gate.bias)
        return self.linear.weight * gate[:, None], self.linear.bias * gate + self.shift.weight[:, 0] * t

    def forward(self, t: Tensor | float, x: Tensor) -> Tensor:
        w, b = self.at_time(t)
        return torch.addmm(b, x, w.T)


class VectorField(nn.Module):
    r"""A concat-squash MLP f_θ(z, t): (n, d) points at a scalar time -> (n, d) velocities.

    Arguments:
        dim: dimension d of the data (2 here).
        width: hidden units per layer.
        depth: number of hidden layers (FFJORD's 64-64-64 is width 64, depth 3).
        activation: one of :data:`ACTIVATIONS` (smooth, never ReLU).
        end_time: FFJORD's ``time_length`` T. The network is run on [0, T] and the field is
            rescaled so that, seen from outside, the flow always goes from t=0 to t=1.

    Example:
        >>> f = VectorField(width=32, depth=2)
        >>> f(torch.tensor(0.5), torch.randn(10, 2)).shape
        torch.Size([10, 2])
    """

    def __init__(
        self, dim: int = 2, width: int = 64, depth: int = 3, activation: str = "tanh", end_time: float = 1.0
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation '{activation}'; choose one of {', '.join(ACTIVATIONS)}")
        sizes = [dim] + [width] * depth + [dim]
        self.layers = nn.ModuleList(ConcatSquash(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.act, self.act_tangent = ACTIVATIONS[activation]
        self.dim, self.width, self.depth, self.activation = dim, width, depth, activation
        self.end_time = float(end_time)

    def forward(self, t: Tensor | float, z: Tensor) -> Tensor:
        """Velocity f_θ(z, t), (n, d), at a scalar time t in [0, 1]."""
        s = t * self.end_time
        h = z
        for i, layer in enumerate(self.layers):
            h = layer(s, h)
            if i < len(self.layers) - 1:
                h = self.act(h)
        return h * self.end_time

    def jvp(self, t: Tensor | float, z: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        r"""Velocity and Jacobian-vector products in one pass.

        Arguments:
            t: scalar time in [0, 1].
            z: points, (n, d).
            v: tangents, (k, n, d) or (k, 1, d) to share them over the batch.

        Returns:
            f_θ(z, t), (n, d), and (∂f/∂z) v for each tangent, (k, n, d). With the d basis
            vectors as tangents, entry [i, :, j] is ∂f_j/∂z_i, the whole Jacobian.
        """
        s = t * self.end_time
        h, dh = z, v
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            w, b = layer.at_time(s)  # type: ignore[operator]  # ModuleList items are typed nn.Module
            a = torch.addmm(b, h, w.T)
            dh = dh @ w.T  # the layer is linear in its input at a fixed t
            if i < last:
                h = self.act(a)
                dh = self.act_tangent(dh, a, h)
            else:
                h = a
        return h * self.end_time, dh * self.end_time
