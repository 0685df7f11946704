r"""The velocity network of flow matching: the CNF's concat-squash field, with per-point times and labels.

A flow-matching model is a CNF, so its network is :class:`engine.cnf.VectorField` (the same
layers, the same hand-written Jacobian-vector product for exact log-densities). Training
differs in one respect: every point of a batch has its own time t, so
:class:`FlowField` also evaluates the field at per-point times. A class-conditional field
adds a learned label embedding to each layer's time gate and shift; label ``num_classes``
is the null label ∅ of classifier-free guidance. Fourier features of x (first layer) and of t
(every layer's gate and shift) keep each layer affine in its input at a fixed time, so the
Jacobian-vector product stays exact: it carries the tangents through sin and cos as well.

:class:`GuidedField` fixes the label and the guidance scale γ and is what the CNF's solvers,
likelihood and views see: v̂ = γ v(x, t, y) + (1 − γ) v(x, t, ∅). Its Jacobian is the same
combination of the two Jacobians, so the exact trace stays exact.

References:
    | FFJORD (Grathwohl et al., 2019) https://arxiv.org/abs/1810.01367
    | Classifier-Free Diffusion Guidance (Ho & Salimans, 2022) https://arxiv.org/abs/2207.12598
    | Fourier Features Let Networks Learn High Frequency Functions (Tancik et al., 2020)
    |   https://arxiv.org/abs/2006.10739
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..cnf.nets import ConcatSquash, VectorField

__all__ = ["FlowField", "GuidedField"]


def _label_terms(emb: Tensor | None, n_out: int) -> tuple[Tensor | float, Tensor | float]:
    """Split a label embedding row(s) (..., 2 n_out) into gate-logit and shift offsets."""
    if emb is None:
        return 0.0, 0.0
    return emb[..., :n_out], emb[..., n_out:]


class FlowField(VectorField):
    r"""v_θ(x, t[, y]): the CNF's concat-squash MLP, also at per-point times and with labels.

    Arguments:
        dim, width, depth, activation, fourier, fourier_scale, time_features, radial: as
            :class:`~engine.cnf.nets.VectorField` (Fourier features of x and of t; here the time
            features let the field sharpen near the data, t → 1).
        num_classes: classes of the label embedding; 0 for an unconditional field.

    Example:
        >>> f = FlowField(width=16, depth=2, num_classes=3)
        >>> f(torch.rand(5), torch.randn(5, 2), torch.tensor([0, 1, 2, 3, 3])).shape
        torch.Size([5, 2])
    """

    def __init__(self, dim: int = 2, width: int = 64, depth: int = 3, activation: str = "silu",
                 num_classes: int = 0, fourier: int = 0, fourier_scale: float = 1.0, time_features: int = 0,
                 radial: int = 0) -> None:
        super().__init__(dim, width, depth, activation, 1.0, fourier, fourier_scale, time_features, radial=radial)
        self.num_classes = int(num_classes)
        if self.num_classes:
            embeddings = [nn.Embedding(self.num_classes + 1, 2 * layer.linear.out_features)
                          for layer in self._squashes()]
            for emb in embeddings:
                nn.init.normal_(emb.weight, std=0.1)
            self.labels = nn.ModuleList(embeddings)

    @property
    def null_label(self) -> int:
        return self.num_classes

    def _embeddings(self, y: Tensor | int | None, device: torch.device) -> list[Tensor | None]:
        if not self.num_classes:
            return [None] * len(self.layers)
        if y is None:
            y = self.null_label
        y = torch.as_tensor(y, dtype=torch.long, device=device)
        return [emb(y) for emb in self.labels]

    def _affine(self, layer: ConcatSquash, t: Tensor | float, emb: Tensor | None) -> tuple[Tensor, Tensor]:
        """The layer at a scalar time and label as a plain affine map (weight, bias)."""
        return self._at_time(layer, t, *_label_terms(emb, layer.linear.out_features))

    def forward(self, t: Tensor | float, z: Tensor, y: Tensor | int | None = None) -> Tensor:
        """Velocity (n, d) at a scalar time or at per-point times t (n,), for labels y (scalar or (n,); None: ∅)."""
        if isinstance(t, Tensor) and t.dim() > 0:
            return self._forward_rows(t.reshape(-1, 1).to(z.dtype), z, y)
        embs = self._embeddings(y, z.device)
        if embs[0] is not None and embs[0].dim() > 1:  # one label per point at one time
            return self._forward_rows(torch.full((len(z), 1), float(t), dtype=z.dtype, device=z.device), z, y)
        h = self._embed(z)
        for i, (layer, emb) in enumerate(zip(self._squashes(), embs)):
            w, b = self._affine(layer, t, emb)
            h = torch.addmm(b, h, w.T)
            if i < len(self.layers) - 1:
                h = self.act(h)
        return h

    def _forward_rows(self, t: Tensor, z: Tensor, y: Tensor | int | None) -> Tensor:
        """Per-point times t (n, 1): the gate is (n, width) instead of folded into the weights."""
        h, e = self._embed(z), self._time(t)
        for i, (layer, emb) in enumerate(zip(self._squashes(), self._embeddings(y, z.device))):
            dg, ds = _label_terms(emb, layer.linear.out_features)
            gate = torch.sigmoid(layer.gate(e) + dg)
            h = layer.linear(h) * gate + layer.shift(e) + ds
            if i < len(self.layers) - 1:
                h = self.act(h)
        return h

    def jvp(self, t: Tensor | float, z: Tensor, v: Tensor, y: int | None = None) -> tuple[Tensor, Tensor]:
        """Velocity and Jacobian-vector products (see VectorField.jvp) at a scalar time and label."""
        h, dh = self._embed_jvp(z, v)
        last = len(self.layers) - 1
        for i, (layer, emb) in enumerate(zip(self._squashes(), self._embeddings(y, z.device))):
            w, b = self._affine(layer, t, emb)
            a = torch.addmm(b, h, w.T)
            dh = dh @ w.T
            if i < last:
                h = self.act(a)
                dh = self.act_tangent(dh, a, h)
            else:
                h = a
        return h, dh


class GuidedField(nn.Module):
    r"""The field a sampler follows: v(x, t, ∅), v(x, t, y), or γ v(x, t, y) + (1 − γ) v(x, t, ∅).

    Arguments:
        net: the trained :class:`FlowField`.
        label: the class y, or None for the unconditional field.
        gamma: guidance scale γ (None: the conditional field, γ = 1). γ = 0 is v(x, t, ∅).
        interval: (τ_lo, τ_hi) in diffusion time τ = 1 − t (1 is noise, 0 data): γ applies only
            there and the field is v(x, t, y) elsewhere (a guidance interval), or None for all times.
        hold: (box (x0, x1, y0, y1), path coefficients t -> (a, s, a', s')): the guided field's
            predicted end point x̂_1 is held inside the box where γ lies outside [0, 1], as a
            diffusion sampler holds x̂_0 (γ = 0 stays the unconditional field exactly). The
            guided prediction γ x̂_1(y) + (1 − γ) x̂_1(∅) extrapolates away from the data's mean,
            so for a class at the box's edge it lies far outside early on and carries the
            particles out (a third of them past the edge on checkerboard at γ = 3).

    It has the interface of :class:`~engine.cnf.nets.VectorField` that the CNF's solvers,
    log-density and views use: ``field(t, z)``, ``field.jvp(t, z, v)`` and ``dim``.
    """

    def __init__(self, net: FlowField, label: int | None = None, gamma: float | None = None,
                 interval: tuple[float, float] | None = None, hold: tuple[Any, Any] | None = None) -> None:
        super().__init__()
        self.net = net
        self.label = label
        self.gamma = gamma
        self.interval = interval
        self.hold = hold
        self.dim = net.dim

    def _held(self, t: Tensor | float, x: Tensor, v: Tensor) -> Tensor:
        """v with its end point x̂_1 = (s v − s' x)/(a' s − s' a) of the path x_t = a x_1 + s x_0 clamped to the box."""
        if self.hold is None or (isinstance(t, Tensor) and t.numel() > 1):
            return v
        box, coefficients = self.hold
        a, s, da, ds = (float(c) for c in coefficients(torch.tensor(float(t), dtype=torch.float64)))
        if s < 1e-3:  # at the data end x̂_1 is x itself
            return v
        lo = torch.tensor((box[0], box[2]), dtype=x.dtype, device=x.device)
        hi = torch.tensor((box[1], box[3]), dtype=x.dtype, device=x.device)
        x1 = ((s * v - ds * x) / (da * s - ds * a)).clamp(lo, hi)
        return (da - ds * a / s) * x1 + (ds / s) * x

    def _scale(self, t: Tensor | float) -> float | Tensor:
        """γ at time t (1 outside the interval): a number, or per point for per-point times."""
        g = float(self.gamma)  # type: ignore[arg-type]
        if self.interval is None:
            return g
        lo, hi = self.interval
        tau = 1.0 - torch.as_tensor(t, dtype=torch.float64)
        if tau.numel() == 1:
            return g if lo <= float(tau) <= hi else 1.0
        inside = (tau >= lo) & (tau <= hi)
        return torch.where(inside, g, 1.0).to(torch.get_default_dtype()).reshape(-1, 1)

    @property
    def mixed(self) -> bool:
        """Whether two evaluations are combined (a label with γ other than 1)."""
        return self.label is not None and self.gamma is not None and float(self.gamma) != 1.0

    def forward(self, t: Tensor | float, z: Tensor) -> Tensor:
        if self.label is None:
            return self.net(t, z)
        cond = self.net(t, z, self.label)
        if not self.mixed:
            return cond
        g = self._scale(t)
        if isinstance(g, float) and g == 1.0:  # outside the interval: one network call
            return cond
        v = g * cond + (1.0 - g) * self.net(t, z)
        # only an extrapolation (γ outside [0, 1]) predicts end points beyond both fields' own
        return self._held(t, z, v) if isinstance(g, float) and not 0.0 <= g <= 1.0 else v

    def jvp(self, t: Tensor | float, z: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        if self.label is None:
            return self.net.jvp(t, z, v)
        f, jv = self.net.jvp(t, z, v, self.label)
        if not self.mixed:
            return f, jv
        g = self._scale(t)
        f0, jv0 = self.net.jvp(t, z, v)
        return g * f + (1.0 - g) * f0, g * jv + (1.0 - g) * jv0
