r"""Fourier features of points and of time, with their exact derivatives.

A small network resolves sharp edges and thin structure far sooner when it sees
[x, sin(B x), cos(B x)] instead of x alone, with B a matrix of frequencies drawn at random
(and then learned). Waves in the distance from the centre, [sin(ω ρ), cos(ω ρ)], draw rings
and circles in hundreds of steps where plane waves take thousands. The same trick on time,
[t, sin(2^j π t), cos(2^j π t)], lets a field change quickly in t. The derivatives are
closed forms (d sin(Bx) = cos(Bx) ⊙ B dx), so a network that carries tangent vectors for an
exact Jacobian carries them through these too. The CNF's and flow matching's vector fields
share these functions; the diffusion networks use the radius.

References:
    | Fourier Features Let Networks Learn High Frequency Functions (Tancik et al., 2020)
    |   https://arxiv.org/abs/2006.10739
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["fourier_features", "fourier_features_jvp", "octaves", "time_features", "RADIUS_CORE", "radius",
           "radial_frequencies", "radial_features", "radial_features_jvp"]

# the radius's rounded core: ρ = √(|z|² + c²) − c is smooth at the centre (its second derivative,
# which a CNF's trained divergence meets, stays bounded by 1/c)
RADIUS_CORE = 0.1


def fourier_features(z: Tensor, freqs: Tensor) -> Tensor:
    """[z, sin(B z), cos(B z)]: points (..., d) and frequencies B (m, d) -> (..., d + 2m)."""
    p = z @ freqs.T
    return torch.cat([z, torch.sin(p), torch.cos(p)], -1)


def fourier_features_jvp(z: Tensor, v: Tensor, freqs: Tensor) -> tuple[Tensor, Tensor]:
    """The features of points z (n, d) and their Jacobian-vector products for tangents v (k, n or 1, d).

    d sin(Bz) = cos(Bz) ⊙ B v and d cos(Bz) = −sin(Bz) ⊙ B v; the tangents of z itself pass unchanged.
    """
    p = z @ freqs.T
    s, c = torch.sin(p), torch.cos(p)
    dp = v @ freqs.T
    return torch.cat([z, s, c], -1), torch.cat([v.expand(*dp.shape[:-2], len(z), v.shape[-1]), c * dp, -s * dp], -1)


def octaves(k: int) -> Tensor:
    """The angular frequencies π 2^j, j < k, of :func:`time_features`."""
    return math.pi * 2.0 ** torch.arange(k, dtype=torch.float32)


def time_features(t: Tensor, freqs: Tensor) -> Tensor:
    """[t, sin(ω t), cos(ω t)] for times (..., 1) and angular frequencies ω (k,) -> (..., 1 + 2k)."""
    p = t * freqs.to(t.dtype)
    return torch.cat([t, torch.sin(p), torch.cos(p)], -1)


def radius(z: Tensor) -> Tensor:
    """ρ = √(|z|² + c²) − c, (..., 1): the distance from the origin, smooth at it (c = RADIUS_CORE)."""
    return ((z * z).sum(-1, keepdim=True) + RADIUS_CORE ** 2).sqrt() - RADIUS_CORE


def radial_frequencies(k: int, scale: float) -> Tensor:
    """k frequencies at the quantiles (j + ½)/k of |N(0, scale²)|: spread evenly, the same for every seed."""
    q = (torch.arange(k, dtype=torch.float32) + 0.5) / k
    return scale * math.sqrt(2.0) * torch.erfinv(q)


def radial_features(z: Tensor, freqs: Tensor) -> Tensor:
    """[sin(ω ρ), cos(ω ρ)] of points (..., d) for frequencies ω (k,) -> (..., 2k)."""
    p = radius(z) * freqs
    return torch.cat([torch.sin(p), torch.cos(p)], -1)


def radial_features_jvp(z: Tensor, v: Tensor, freqs: Tensor) -> tuple[Tensor, Tensor]:
    """The radial features of z (n, d) and their Jacobian-vector products for tangents v (k, n or 1, d).

    dρ = (z · v) / (ρ + c), so d sin(ωρ) = cos(ωρ) ω dρ and d cos(ωρ) = −sin(ωρ) ω dρ.
    """
    r = radius(z)
    p = r * freqs
    s, c = torch.sin(p), torch.cos(p)
    dr = (v * z).sum(-1, keepdim=True) / (r + RADIUS_CORE)
    dp = dr * freqs
    return torch.cat([s, c], -1), torch.cat([c * dp, -s * dp], -1)
