r"""Networks: the noise predictor ε_θ(x_t, τ, y) and the noisy classifier p(y | x_t, τ).

Both are MLPs on the 2D point whose every hidden layer is shifted (and, with FiLM, scaled)
by a function of a sinusoidal embedding of the time τ plus a learned class embedding. The
first layer is sin(W x + b) with W drawn wide: learned Fourier features, which let a small
MLP draw the thin arms and sharp edges of 2D toy densities (Tancik et al., 2020). A few units
may be added to it that see the point's distance from the centre, sin(w ρ + b): waves in the
radius draw rings and circles in hundreds of steps where plane waves need thousands. When
every point shares one time and one label, as in sampling, the modulation is folded into the
layers' weights and biases, so a sampling step costs no more than a plain MLP of the same size.

References:
    | Attention Is All You Need (Vaswani et al., 2017) sinusoidal embeddings
    | Fourier Features Let Networks Learn High Frequency Functions (Tancik et al., 2020)
    |   https://arxiv.org/abs/2006.10739
    | Implicit Neural Representations with Periodic Activations (Sitzmann et al., 2020)
    | FiLM: Visual Reasoning with a General Conditioning Layer (Perez et al., 2018)
    | Denoising Diffusion Probabilistic Models (Ho et al., 2020) https://arxiv.org/abs/2006.11239
    | Classifier-Free Diffusion Guidance (Ho & Salimans, 2022) https://arxiv.org/abs/2207.12598
    | Diffusion Models Beat GANs on Image Synthesis (Dhariwal & Nichol, 2021) https://arxiv.org/abs/2105.05233
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..fourier import RADIUS_CORE, radial_frequencies, radius

__all__ = ["ACTIVATIONS", "time_embedding", "ConditionedMLP", "EpsNet", "NoisyClassifier"]

CHUNK = 2048  # points per chunk in big no-grad batches (64 units x 2048 points fit in L2)
FOLD_CACHE = 512  # folded layers kept per network (a few samplers' worth of times and labels)

# hidden activations; hardswish is SiLU's piecewise-polynomial twin (C1, no exp): twice as fast on CPU
ACTIVATIONS: dict[str, Callable[..., Tensor]] = {"silu": F.silu, "hardswish": F.hardswish, "relu": F.relu}


def time_embedding(tau: Tensor, dim: int) -> Tensor:
    """Sinusoidal features of τ ∈ [0, 1] scaled to 0 … 1000 (DDPM's integer steps): (m,) -> (m, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=tau.device, dtype=torch.float32) / half)
    args = 1000.0 * tau.reshape(-1, 1).float() * freqs
    return torch.cat([args.sin(), args.cos()], 1)


def _embedding(num: int, dim: int) -> nn.Embedding:
    """nn.Embedding(num, dim) as torch makes it (N(0, 1) entries), but with no random fill on the meta device."""
    emb = nn.Embedding(num, dim, _weight=torch.empty(num, dim))  # a given weight is not filled
    if not emb.weight.is_meta:
        with torch.no_grad():
            emb.weight.normal_()
    return emb


class ConditionedMLP(nn.Module):
    """An MLP of (n, 2) points whose hidden layers are modulated by an embedding of (τ, y).

    Hidden layer k computes act((W_k h + b_k + shift_k(τ, y)) · gain_k(τ, y)); the gains
    (FiLM, Perez et al. 2018) are 1 unless ``film`` is set.

    Arguments:
        out_dim: output features (2 for ε, the number of classes for a classifier).
        width: hidden units per layer.  depth: hidden layers.
        num_classes: classes of the label embedding; 0 for none. Label ``num_classes``
            is the learned null label ∅ of classifier-free guidance.
        emb_dim: size of the time and label embeddings.
        fourier: standard deviation of the first layer's weights, whose activation is then
            sin (learned Fourier features of x); 0 for a plain SiLU first layer.
        radial: first-layer units added to its ``width`` that start as waves in the smooth
            radius ρ = √(|x|² + c²) − c (:func:`engine.fourier.radius`) rather than in x: the
            layer then reads [x, ρ], and these units' weights start at 0 on x and at frequencies
            spread evenly over the quantiles of |N(0, radial_scale²)| on ρ; the others start at 0
            on ρ. They are modulated by (τ, y) like every hidden unit.
        radial_scale: the spread of the radial units' initial frequencies; 0: twice ``fourier``.
        film: modulate each layer by a gain as well as a shift.
        activation: hidden activation, a name in :data:`ACTIVATIONS`.
    """

    def __init__(self, out_dim: int, width: int = 64, depth: int = 3, num_classes: int = 0, emb_dim: int = 32,
                 fourier: float = 0.0, film: bool = False, activation: str = "silu", radial: int = 0,
                 radial_scale: float = 0.0) -> None:
        super().__init__()
        if width < 1 or depth < 1:
            raise ValueError("width and depth must be positive")
        if not 0 <= radial <= 4096:
            raise ValueError(f"radial units must be from 0 to 4,096, not {radial}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation '{activation}'; choose one of {', '.join(ACTIVATIONS)}")
        self.activation = activation
        self._owners: list[nn.Module] | None = None
        self._fold_cache: dict[tuple[float, int, tuple[tuple[int, int], ...]], list[tuple[Tensor, Tensor]]] = {}
        self.width, self.depth, self.num_classes, self.emb_dim = width, depth, num_classes, emb_dim
        self.fourier, self.film, self.radial = float(fourier), bool(film), int(radial)
        self.widths = [width + self.radial] + [width] * (depth - 1)  # units of each hidden layer
        first = nn.Linear(3 if self.radial else 2, self.widths[0])
        self.layers = nn.ModuleList([first] + [nn.Linear(a, b) for a, b in zip(self.widths[:-1], self.widths[1:])])
        self.out = nn.Linear(self.widths[-1], out_dim)
        parts = 2 if self.film else 1
        self.cond = nn.Sequential(nn.Linear(emb_dim, width), nn.SiLU(), nn.Linear(width, parts * sum(self.widths)))
        self.labels = _embedding(num_classes + 1, emb_dim) if num_classes else None
        # the initial values are left out on the meta device (a checkpoint's shapes checked before
        # anything is allocated): random fills there load torch's compiler, ~1 s of CPU
        if self.fourier > 0 and not first.weight.is_meta:
            with torch.no_grad():
                first.weight.normal_(0.0, self.fourier)
                first.bias.uniform_(-math.pi, math.pi)
        if self.radial and not first.weight.is_meta:
            with torch.no_grad():
                first.weight[:, 2] = 0.0
                first.weight[width:, :2] = 0.0  # the radial units come last
                scale = radial_scale or 2.0 * max(self.fourier, 1.0)
                first.weight[width:, 2] = radial_frequencies(self.radial, scale)

    @property
    def null_label(self) -> int:
        return self.num_classes

    def conditioning(self, tau: Tensor, y: Tensor | None) -> tuple[list[Tensor], list[Tensor] | None]:
        """Each hidden layer's shifts and gains (m, its width) for times τ (m,) and labels y (m,) or None (= ∅)."""
        return self._split(self.cond(self._embed(tau, y)))

    def _embed(self, tau: Tensor, y: Tensor | None) -> Tensor:
        """The conditioning network's input: τ's sinusoidal embedding plus y's (∅'s when y is None)."""
        e = time_embedding(tau, self.emb_dim).to(self.out.weight.dtype)
        if self.labels is not None:
            if y is None:
                y = torch.full((len(e),), self.null_label, dtype=torch.long, device=e.device)
            e = e + self.labels(y.reshape(-1).long())
        return e

    def _split(self, c: Tensor) -> tuple[list[Tensor], list[Tensor] | None]:
        """The conditioning network's output (m, parts·Σ widths) as each layer's shifts and gains (m, width)."""
        # split, not indexing: the backward of c[:, a:b] zero-fills the whole tensor once per slice,
        # which was a third of a training step; split's backward is one cat
        parts = c.split(sum(self.widths), 1)
        shifts = list(parts[0].split(self.widths, 1))
        return shifts, [1 + g for g in parts[1].split(self.widths, 1)] if self.film else None

    def forward(self, x: Tensor, tau: Tensor, y: Tensor | None = None) -> Tensor:
        """x (n, 2), τ scalar or (n,), y None, scalar or (n,) -> (n, out_dim)."""
        tau = torch.as_tensor(tau, device=x.device).reshape(-1)
        if y is not None:
            y = torch.as_tensor(y, device=x.device).reshape(-1)
        x = self._lift(x)
        if tau.numel() > 1 or (y is not None and y.numel() > 1):
            return self._per_point(x, *self._distinct_conditioning(tau, y))
        inplace = not torch.is_grad_enabled()  # in-place activations only where autograd is off
        # one conditioning row (sampling): folded into each layer, which is then a single addmm
        folded = self._fold_for(tau, y, self._fold_key(tau, y) if inplace else None)
        if not inplace or len(x) <= CHUNK:
            return self._run(x, folded, inplace)
        # big batches in chunks whose activations stay in cache: ~1.7x faster on CPU
        return torch.cat([self._run(c, folded, True) for c in x.split(CHUNK)])

    def _fold_key(self, tau: Tensor, y: Tensor | None) -> tuple[float, int, tuple[tuple[int, int], ...]] | None:
        """Cache key of the folded layers for one time and one label, None for per-point conditioning.

        A sampler asks the same few (τ, y) again and again (every γ a guidance slider tries runs
        through the same times): folding costs a third of a 2,000-point evaluation. The
        parameters' storage and in-place version counters are part of the key, so an optimiser
        step, an EMA update, loading weights or a copy of the network never meets a stale fold.
        """
        if tau.numel() != 1 or (y is not None and y.numel() != 1):
            return None
        if self._owners is None:  # the modules holding parameters (fixed once built; their parameters are read
            self._owners = [m for m in self.modules() if m._parameters]  # afresh: self.parameters() was 0.5 ms)
        version = tuple((p.data_ptr(), p._version) for m in self._owners for p in m._parameters.values()
                        if p is not None)
        return float(tau), -1 if y is None else int(y), version

    def _fold_for(self, tau: Tensor, y: Tensor | None,
                  key: tuple[float, int, tuple[tuple[int, int], ...]] | None) -> list[tuple[Tensor, Tensor]]:
        """The layers with one (τ, y) folded in (see :meth:`_folded`), from the cache when ``key`` is there."""
        folded = None if key is None else self._fold_cache.get(key)
        if folded is None:
            shift, gain = self.conditioning(tau, y)
            folded = self._folded([v[0] for v in shift], None if gain is None else [v[0] for v in gain])
            if key is not None:
                if len(self._fold_cache) >= FOLD_CACHE:
                    self._fold_cache.clear()
                self._fold_cache[key] = folded
        return folded

    def _lift(self, x: Tensor) -> Tensor:
        """The first layer's input: x (n, 2), or [x, ρ] (n, 3) with radial units."""
        if not self.radial:
            return x
        return torch.cat([x, radius(x)], 1)

    def _distinct_conditioning(self, tau: Tensor, y: Tensor | None) -> tuple[list[Tensor], list[Tensor] | None]:
        """Per-point shifts and gains, the conditioning network run once per distinct (τ, y).

        A training batch draws at most 64 levels (engine.diffusion.train.LEVELS_PER_BATCH) for its
        512 points; the conditioning network, three quarters of a small model's arithmetic, then
        runs on those rows alone, with the same values and gradients.
        """
        n = max(tau.numel(), 1 if y is None else y.numel())
        tau = tau.expand(n)
        if y is None:
            distinct, inverse = torch.unique(tau, return_inverse=True)
            y_distinct = None
        else:
            keys, inverse = torch.unique(torch.stack([tau.float(), y.expand(n).float()], 1), dim=0,
                                         return_inverse=True)
            distinct, y_distinct = keys[:, 0].to(tau.dtype), keys[:, 1].long()
        # one gather of the whole output, as an embedding lookup: its backward took 0.1 ms where
        # index_select's index_add took 0.25 (a sixth of a step)
        return self._split(F.embedding(inverse, self.cond(self._embed(distinct, y_distinct))))

    def _act(self, k: int, h: Tensor, inplace: bool) -> Tensor:
        if k == 0 and self.fourier > 0:
            return h.sin_() if inplace else h.sin()
        return ACTIVATIONS[self.activation](h, inplace=inplace)

    def _linears(self) -> list[nn.Linear]:
        return cast("list[nn.Linear]", list(self.layers))

    def _per_point(self, h: Tensor, shifts: list[Tensor], gains: list[Tensor] | None) -> Tensor:
        for k, layer in enumerate(self.layers):
            h = layer(h) + shifts[k]
            g = None if gains is None else gains[k]
            h = self._act(k, h if g is None else h * g, False)
        return self.out(h)

    def _folded(self, shift: list[Tensor], gain: list[Tensor] | None) -> list[tuple[Tensor, Tensor]]:
        """(weightᵀ (in, out), bias) of each layer and the output layer, one row of conditioning folded in."""
        out = []
        for k, layer in enumerate(self._linears()):
            w, b = layer.weight, layer.bias + shift[k]
            if gain is not None:
                w, b = w * gain[k][:, None], b * gain[k]
            out.append((w.t().contiguous(), b))  # contiguous (in, out) is the fastest addmm operand here
        out.append((self.out.weight.t().contiguous(), self.out.bias))
        return out

    def _run(self, h: Tensor, folded: list[tuple[Tensor, Tensor]], inplace: bool) -> Tensor:
        for k, (wt, b) in enumerate(folded[:-1]):
            h = self._act(k, torch.addmm(b, h, wt), inplace)
        wt, b = folded[-1]
        return torch.addmm(b, h, wt)


class EpsNet(ConditionedMLP):
    """ε_θ(x_t, τ, y): predicts the noise ε that made x_t = a(τ) x_0 + s(τ) ε, (n, 2).

    Example:
        >>> net = EpsNet(width=32, depth=2)
        >>> net(torch.zeros(5, 2), torch.tensor(0.5)).shape
        torch.Size([5, 2])
    """

    def __init__(self, width: int = 64, depth: int = 3, num_classes: int = 0, emb_dim: int = 32,
                 fourier: float = 0.0, film: bool = False, activation: str = "silu", radial: int = 0,
                 radial_scale: float = 0.0) -> None:
        super().__init__(2, width, depth, num_classes, emb_dim, fourier, film, activation, radial, radial_scale)


class NoisyClassifier(ConditionedMLP):
    """p(y | x_t, τ): class logits (n, C) of noisy points, for classifier guidance (Dhariwal & Nichol, 2021)."""

    def __init__(self, num_classes: int, width: int = 64, depth: int = 3, emb_dim: int = 32,
                 fourier: float = 0.0, film: bool = False, activation: str = "silu", radial: int = 0,
                 radial_scale: float = 0.0) -> None:
        super().__init__(num_classes, width, depth, 0, emb_dim, fourier, film, activation, radial, radial_scale)
        self.classes = num_classes

    def log_probs(self, x: Tensor, tau: Tensor) -> Tensor:
        """log p(y | x_t) for every class, (n, C)."""
        return torch.log_softmax(self(x, tau), dim=1)

    def grad_log_prob(self, x: Tensor, tau: Tensor, y: Tensor | int) -> Tensor:
        """∇_x log p(y | x_t, τ), (n, 2): by hand through the folded layers when sampling (no graph wanted,
        one time and one label), by autograd otherwise."""
        tau_t = torch.as_tensor(tau, device=x.device).reshape(-1)
        yy = torch.as_tensor(y).reshape(-1)
        if not torch.is_grad_enabled() and tau_t.numel() == 1 and yy.numel() == 1:
            return self._input_gradient(x, tau_t, int(yy))
        with torch.enable_grad():
            xr = x.detach().requires_grad_(True)
            lp = self.log_probs(xr, tau)
            yy = torch.as_tensor(y, device=x.device).long().expand(len(x))
            (g,) = torch.autograd.grad(lp.gather(1, yy[:, None]).sum(), xr)
        return g

    def _input_gradient(self, x: Tensor, tau: Tensor, y: int) -> Tensor:
        """∇_x log softmax(logits)_y by the chain rule through the folded layers (half autograd's cost:
        guidance asks it at every sampler step, and autograd's graph was most of the step)."""
        folded = self._fold_for(tau, None, self._fold_key(tau, None))
        h, pre = self._lift(x), []
        for k, (wt, b) in enumerate(folded[:-1]):
            z = torch.addmm(b, h, wt)
            pre.append(z)
            h = self._act(k, z, False)
        wt, b = folded[-1]
        logits = torch.addmm(b, h, wt)
        # d log p_y / d logits = onehot(y) − softmax; softmax by hand: torch's is 5x slower for a few classes
        g = logits.sub_(logits.amax(1, keepdim=True)).exp_()
        g.div_(g.sum(1, keepdim=True)).neg_()
        g[:, y] += 1.0
        g = g @ wt.t()
        for k in range(len(pre) - 1, -1, -1):
            g = _act_backward(self.activation, k == 0 and self.fourier > 0, g, pre[k]) @ folded[k][0].t()
        if self.radial:  # dρ/dx = x / √(|x|² + c²)
            g = g[:, :2] + g[:, 2:] * x / (radius(x) + RADIUS_CORE)
        return g


def _act_backward(activation: str, is_sin: bool, grad: Tensor, z: Tensor) -> Tensor:
    """grad · act'(z) for the hidden activation (sin for a Fourier first layer)."""
    if is_sin:
        return grad * z.cos()
    if activation == "hardswish":
        return torch.ops.aten.hardswish_backward(grad, z)
    if activation == "silu":
        return torch.ops.aten.silu_backward(grad, z)
    return torch.where(z > 0, grad, 0.0)
