"""Time-conditioned vector fields f_θ(z, t) with a closed-form Jacobian-vector product.

The CNF needs the divergence tr(∂f/∂z) at every function evaluation. For a small MLP in
2D it is cheapest to carry tangent vectors through the network alongside the values
(forward-mode differentiation written out by hand): with the d basis vectors as tangents
this gives the whole Jacobian, hence the exact trace, in about three forward passes and
without the double backward that an autograd trace would need during training.

Fourier features of z (the first layer) and of t (every layer's gate and shift), and a change
of frame that standardises the data, keep every layer affine in its input at a fixed time, so
the carried tangents stay exact: they pass through sin and cos and the frame's affine map too.

Only smooth activations are offered: the flow exists and is unique when f is Lipschitz
in z (Picard), and the exact trace needs f to be differentiable everywhere.

References:
    | FFJORD: Free-form Continuous Dynamics for Scalable Reversible Generative Models
    | (Grathwohl et al., 2019) https://arxiv.org/abs/1810.01367
    | Fourier Features Let Networks Learn High Frequency Functions (Tancik et al., 2020)
    |   https://arxiv.org/abs/2006.10739
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import cast

import torch
from torch import Tensor, nn

from ..fourier import (
    fourier_features,
    fourier_features_jvp,
    octaves,
    radial_features,
    radial_features_jvp,
    radial_frequencies,
    time_features,
)

__all__ = ["ACTIVATIONS", "ConcatSquash", "VectorField"]

# name -> (activation σ, tangent map (dv, a, σ(a)) -> σ'(a) dv); only smooth activations.
# Where ATen has a fused, twice-differentiable backward kernel it serves as the tangent map:
# one pass over the tangents instead of three (σ', then a product), most of the cost in 2D.
Activation = tuple[Callable[[Tensor], Tensor], Callable[[Tensor, Tensor, Tensor], Tensor]]

_aten = torch.ops.aten


def _silu_tangent(dv: Tensor, a: Tensor, y: Tensor) -> Tensor:
    s = torch.sigmoid(a)  # aten's silu_backward has no derivative of its own
    return dv * (s * (1 + a * (1 - s)))


# spread of radial features' initial frequencies (data units): flow matching on rings, histogram TV
# over an exact sample's after 3 s, 3.0 without them, 1.7 with 8 drawn at scale 4, 1.6 at scale 8
RADIAL_SCALE = 8.0

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
        fourier: m > 0 feeds the first layer [x, sin(B x), cos(B x)] instead of x, with B
            (m, dim) frequencies drawn at random and then learned: Fourier features let a
            small network resolve sharp edges and thin structure (Tancik et al., 2020).
        fourier_scale: standard deviation of the initial entries of B.
        radial: k > 0 also feeds it [sin(ω ρ), cos(ω ρ)], waves in the smooth distance from the
            origin ρ (:func:`engine.fourier.radius`), with k frequencies ω starting spread over
            |N(0, radial_scale²)| (:func:`engine.fourier.radial_frequencies`) and then learned.
        radial_scale: that spread (data units; RADIAL_SCALE unless given).
        time_features: k > 0 gates and shifts every layer by a linear function of
            [t, sin(2^j π t), cos(2^j π t) for j < k] instead of t alone, so that the field can
            change quickly in time.
        shift, scale: the data's centre (d,) and spread. The network then works in the frame
            u = (z − t·shift) / (1 + t(scale − 1)), which is z itself at t = 0 (the noise) and the
            standardised data at t = 1, and the field is carried back to z exactly (see
            :meth:`forward`). None and 1: no change of frame.

    Every layer stays affine in its input at a fixed time, and the features' and the frame's
    derivatives are known in closed form, so :meth:`jvp` is exact.

    Example:
        >>> f = VectorField(width=32, depth=2)
        >>> f(torch.tensor(0.5), torch.randn(10, 2)).shape
        torch.Size([10, 2])
    """

    def __init__(
        self, dim: int = 2, width: int = 64, depth: int = 3, activation: str = "tanh", end_time: float = 1.0,
        fourier: int = 0, fourier_scale: float = 1.0, time_features: int = 0,
        shift: Sequence[float] | None = None, scale: float = 1.0, radial: int = 0,
        radial_scale: float = RADIAL_SCALE,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation '{activation}'; choose one of {', '.join(ACTIVATIONS)}")
        sizes = [dim] + [width] * depth + [dim]
        self.layers = nn.ModuleList(ConcatSquash(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.act, self.act_tangent = ACTIVATIONS[activation]
        self.dim, self.width, self.depth, self.activation = dim, width, depth, activation
        self.end_time = float(end_time)
        # the random draws come in this order (layers, B, the first layer again, the time
        # gates): a seed gives the same initial weights as before the features existed
        self.fourier, self.fourier_scale, self.radial = int(fourier), float(fourier_scale), int(radial)
        if self.fourier:
            self.freqs = nn.Parameter(torch.randn(self.fourier, dim) * self.fourier_scale)
        if self.radial:
            self.radial_freqs = nn.Parameter(radial_frequencies(self.radial, radial_scale))
        if self.fourier or self.radial:
            n_in = dim + 2 * self.fourier + 2 * self.radial
            self.layers[0] = ConcatSquash(n_in, self._squashes()[0].linear.out_features)
        self.time_features = int(time_features)
        if self.time_features:
            n_t = 1 + 2 * self.time_features
            self.time_freqs: Tensor
            self.register_buffer("time_freqs", octaves(self.time_features), persistent=False)
            for layer in self._squashes():
                n_out = layer.linear.out_features
                layer.gate, layer.shift = nn.Linear(n_t, n_out), nn.Linear(n_t, n_out, bias=False)
        self.shift = tuple(float(v) for v in shift) if shift is not None else (0.0,) * dim
        self.scale = float(scale)
        self._folded: dict[float, list[tuple[Tensor, Tensor]]] | None = None  # see fixed_times
        if len(self.shift) != dim or not (self.scale > 0 and math.isfinite(self.scale)):
            raise ValueError(f"the frame needs {dim} shifts and a positive scale, not {shift} and {scale}")

    def _squashes(self) -> list[ConcatSquash]:
        return cast("list[ConcatSquash]", list(self.layers))  # ModuleList items are typed nn.Module

    @property
    def framed(self) -> bool:
        """Whether the network works in a frame other than z's own (a shift or a scale)."""
        return self.scale != 1.0 or any(self.shift)

    # -- features ------------------------------------------------------------------------
    def _embed(self, z: Tensor) -> Tensor:
        """The first layer's input: z, or [z, sin(B z), cos(B z)] with Fourier features, then
        [sin(ω ρ), cos(ω ρ)] with radial ones."""
        h = fourier_features(z, self.freqs) if self.fourier else z
        return torch.cat([h, radial_features(z, self.radial_freqs)], -1) if self.radial else h

    def _embed_jvp(self, z: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """The embedding and its Jacobian-vector products: d sin(Bz) = cos(Bz) ⊙ Bv, d cos(Bz) = −sin(Bz) ⊙ Bv
        (and likewise through ρ for radial features)."""
        h, dh = fourier_features_jvp(z, v, self.freqs) if self.fourier else (z, v)
        if not self.radial:
            return h, dh
        r, dr = radial_features_jvp(z, v, self.radial_freqs)
        return torch.cat([h, r], -1), torch.cat([dh.expand(*dr.shape[:-1], dh.shape[-1]), dr], -1)

    def _time(self, t: Tensor) -> Tensor:
        """Time features (..., 1) -> (..., 1 + 2k): t, or [t, sin(2^j π t), cos(2^j π t)]."""
        return time_features(t, self.time_freqs) if self.time_features else t

    def _at_time(self, layer: ConcatSquash, s: Tensor | float, gate_offset: Tensor | float = 0.0,
                 shift_offset: Tensor | float = 0.0) -> tuple[Tensor, Tensor]:
        """A layer at a scalar (network) time as a plain affine map (weight, bias); the offsets are
        added to its gate's logit and to its shift (a label's, in flow matching's conditional field).
        With times (k, 1) instead of a scalar, the k maps at once: weights (k, n_out, n_in), biases (k, n_out)."""
        w = layer.linear.weight
        if self.time_features:
            st = torch.as_tensor(s, dtype=w.dtype, device=w.device)
            e = self._time(st if st.dim() == 2 else st.reshape(1))
            logit, shift = layer.gate(e), layer.shift(e)
        else:
            logit, shift = layer.gate.weight[:, 0] * s + layer.gate.bias, layer.shift.weight[:, 0] * s
        gate = torch.sigmoid(logit + gate_offset)
        return w * gate[..., None], layer.linear.bias * gate + shift + shift_offset

    @contextmanager
    def fixed_times(self, times: Sequence[float]) -> Iterator[None]:
        """Within the block, evaluations at these times (Python floats, as a fixed-step solver passes
        them; :func:`engine.cnf.solvers.stage_times`) use the layers folded at all of them at once.

        Folding a layer at one time is a handful of small operations, and a training solve of 4 RK4
        steps folds each layer 16 times, forwards and again backwards: a quarter of a CNF step. Here
        each layer is folded once for every time together, with the same values and gradients.
        """
        w0 = self._squashes()[0].linear.weight
        s = torch.tensor([t * self.end_time for t in times], dtype=w0.dtype, device=w0.device)[:, None]
        per_layer = [list(zip(*(m.unbind(0) for m in self._at_time(layer, s)))) for layer in self._squashes()]
        self._folded = {t: [maps[k] for maps in per_layer] for k, t in enumerate(times)}
        try:
            yield
        finally:
            self._folded = None

    def _maps(self, t: Tensor | float) -> list[tuple[Tensor, Tensor]]:
        """Every layer at time t in [0, 1] as a plain affine map (weight, bias)."""
        if self._folded is not None and isinstance(t, float) and t in self._folded:
            return self._folded[t]
        s = t * self.end_time
        return [self._at_time(layer, s) for layer in self._squashes()]

    # -- the frame -----------------------------------------------------------------------
    def _frame(self, t: Tensor | float, like: Tensor) -> tuple[Tensor | float, float, Tensor, Tensor]:
        """z = a(t) u + b(t): a = 1 + t(scale − 1), a' = scale − 1, b = t·shift, b' = shift."""
        db = like.new_tensor(self.shift)
        return 1.0 + t * (self.scale - 1.0), self.scale - 1.0, t * db, db

    def forward(self, t: Tensor | float, z: Tensor) -> Tensor:
        r"""Velocity f_θ(z, t), (n, d), at a scalar time t in [0, 1].

        In a frame, the network g gives du/dt and z = a u + b moves at dz/dt = a g(u, t) + a' u + b'.
        """
        if not self.framed:
            return self._velocity(t, z)
        a, da, b, db = self._frame(t, z)
        u = (z - b) / a
        return a * self._velocity(t, u) + da * u + db

    def _velocity(self, t: Tensor | float, z: Tensor) -> Tensor:
        h = self._embed(z)
        for i, (w, b) in enumerate(self._maps(t)):
            h = torch.addmm(b, h, w.T)
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
            vectors as tangents, entry [i, :, j] is ∂f_j/∂z_i, the whole Jacobian. In a frame
            ∂f/∂z = ∂g/∂u + (a'/a) I: the trace gains 2a'/a, whose integral over [0, 1] is
            2 log(scale), the log-determinant of the frame's map at t = 1.
        """
        if not self.framed:
            return self._velocity_jvp(t, z, v)
        a, da, b, db = self._frame(t, z)
        u = (z - b) / a
        g, jv = self._velocity_jvp(t, u, v)  # ∂u/∂z = 1/a and dz/dt carries a factor a: they cancel
        return a * g + da * u + db, jv + (da / a) * v

    def _velocity_jvp(self, t: Tensor | float, z: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        h, dh = self._embed_jvp(z, v)
        last = len(self.layers) - 1
        for i, (w, b) in enumerate(self._maps(t)):
            a = torch.addmm(b, h, w.T)
            dh = dh @ w.T  # the layer is linear in its input at a fixed t
            if i < last:
                h = self.act(a)
                dh = self.act_tangent(dh, a, h)
            else:
                h = a
        return h * self.end_time, dh * self.end_time
