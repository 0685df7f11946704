r"""Networks: the noise predictor ε_θ(x_t, τ, y) and the noisy classifier p(y | x_t, τ).

Both are MLPs on the 2D point whose every hidden layer receives a shift computed from a
sinusoidal embedding of the time τ (plus a learned class embedding). The first layer is
sin(W x + b) with W drawn wide: learned Fourier features, which let a small MLP draw the
thin arms and sharp edges of 2D toy densities (Tancik et al., 2020). When every point
shares one time and one label, as in sampling, that shift is one row folded into the
layer's bias, so a sampling step costs no more than a plain MLP of the same size.

References:
    | Attention Is All You Need (Vaswani et al., 2017) sinusoidal embeddings
    | Fourier Features Let Networks Learn High Frequency Functions (Tancik et al., 2020)
    |   https://arxiv.org/abs/2006.10739
    | Implicit Neural Representations with Periodic Activations (Sitzmann et al., 2020)
    | Denoising Diffusion Probabilistic Models (Ho et al., 2020) https://arxiv.org/abs/2006.11239
    | Classifier-Free Diffusion Guidance (Ho & Salimans, 2022) https://arxiv.org/abs/2207.12598
    | Diffusion Models Beat GANs on Image Synthesis (Dhariwal & Nichol, 2021) https://arxiv.org/abs/2105.05233
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["time_embedding", "ConditionedMLP", "EpsNet", "NoisyClassifier"]


def time_embedding(tau: Tensor, dim: int) -> Tensor:
    """Sinusoidal features of τ ∈ [0, 1] scaled to 0 … 1000 (DDPM's integer steps): (m,) -> (m, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=tau.device, dtype=torch.float32) / half)
    args = 1000.0 * tau.reshape(-1, 1).float() * freqs
    return torch.cat([args.sin(), args.cos()], 1)


class ConditionedMLP(nn.Module):
    """An MLP of (n, 2) points whose hidden layers are shifted by an embedding of (τ, y).

    Arguments:
        out_dim: output features (2 for ε, the number of classes for a classifier).
        width: hidden units per layer.  depth: hidden layers.
        num_classes: classes of the label embedding; 0 for none. Label ``num_classes``
            is the learned null label ∅ of classifier-free guidance.
        emb_dim: size of the time and label embeddings.
        fourier: standard deviation of the first layer's weights, whose activation is then
            sin (learned Fourier features of x); 0 for a plain SiLU first layer.
    """

    def __init__(self, out_dim: int, width: int = 64, depth: int = 3, num_classes: int = 0, emb_dim: int = 32,
                 fourier: float = 0.0) -> None:
        super().__init__()
        if width < 1 or depth < 1:
            raise ValueError("width and depth must be positive")
        self.width, self.depth, self.num_classes, self.emb_dim = width, depth, num_classes, emb_dim
        self.fourier = float(fourier)
        self.layers = nn.ModuleList([nn.Linear(2, width)] + [nn.Linear(width, width) for _ in range(depth - 1)])
        self.out = nn.Linear(width, out_dim)
        self.cond = nn.Sequential(nn.Linear(emb_dim, width), nn.SiLU(), nn.Linear(width, width * depth))
        self.labels = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None
        if self.fourier > 0:
            with torch.no_grad():
                self.layers[0].weight.normal_(0.0, self.fourier)
                self.layers[0].bias.uniform_(-math.pi, math.pi)

    @property
    def null_label(self) -> int:
        return self.num_classes

    def conditioning(self, tau: Tensor, y: Tensor | None) -> Tensor:
        """Per-layer shifts (m, depth, width) for times τ (m,) and labels y (m,) or None (= ∅)."""
        e = time_embedding(tau, self.emb_dim)
        if self.labels is not None:
            if y is None:
                y = torch.full((len(e),), self.null_label, dtype=torch.long, device=e.device)
            e = e + self.labels(y.reshape(-1).long())
        return self.cond(e).view(-1, self.depth, self.width)

    def forward(self, x: Tensor, tau: Tensor, y: Tensor | None = None) -> Tensor:
        """x (n, 2), τ scalar or (n,), y None, scalar or (n,) -> (n, out_dim)."""
        tau = torch.as_tensor(tau, device=x.device).reshape(-1)
        if y is not None:
            y = torch.as_tensor(y, device=x.device).reshape(-1)
        shared = len(tau) == 1 and (y is None or len(y) == 1)
        shifts = self.conditioning(tau, y)
        inplace = not torch.is_grad_enabled()  # in-place activations only where autograd is off
        h = x
        for k, layer in enumerate(self.layers):
            if shared:  # one conditioning row: fold it into the bias (a single addmm)
                h = F.linear(h, layer.weight, layer.bias + shifts[0, k])
            else:
                h = layer(h) + shifts[:, k]
            if k == 0 and self.fourier > 0:
                h = h.sin_() if inplace else h.sin()
            else:
                h = F.silu(h, inplace=inplace)
        return self.out(h)


class EpsNet(ConditionedMLP):
    """ε_θ(x_t, τ, y): predicts the noise ε that made x_t = a(τ) x_0 + s(τ) ε, (n, 2).

    Example:
        >>> net = EpsNet(width=32, depth=2)
        >>> net(torch.zeros(5, 2), torch.tensor(0.5)).shape
        torch.Size([5, 2])
    """

    def __init__(self, width: int = 64, depth: int = 3, num_classes: int = 0, emb_dim: int = 32,
                 fourier: float = 0.0) -> None:
        super().__init__(2, width, depth, num_classes, emb_dim, fourier)


class NoisyClassifier(ConditionedMLP):
    """p(y | x_t, τ): class logits (n, C) of noisy points, for classifier guidance (Dhariwal & Nichol, 2021)."""

    def __init__(self, num_classes: int, width: int = 64, depth: int = 3, emb_dim: int = 32,
                 fourier: float = 0.0) -> None:
        super().__init__(num_classes, width, depth, 0, emb_dim, fourier)
        self.classes = num_classes

    def log_probs(self, x: Tensor, tau: Tensor) -> Tensor:
        """log p(y | x_t) for every class, (n, C)."""
        return torch.log_softmax(self(x, tau), dim=1)

    def grad_log_prob(self, x: Tensor, tau: Tensor, y: Tensor | int) -> Tensor:
        """∇_x log p(y | x_t, τ), (n, 2), by autograd."""
        with torch.enable_grad():
            xr = x.detach().requires_grad_(True)
            lp = self.log_probs(xr, tau)
            yy = torch.as_tensor(y, device=x.device).long().expand(len(x))
            (g,) = torch.autograd.grad(lp.gather(1, yy[:, None]).sum(), xr)
        return g
