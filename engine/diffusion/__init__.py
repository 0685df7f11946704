r"""Diffusion models on 2D densities: DDPM, NCSN, their score-SDE view, and guidance.

This family implements the contract of :mod:`engine.api` for two kinds:

* ``ddpm`` — a noise predictor ε_θ(x_t, t) trained with L_simple on the VP chain
  (linear or cosine β), sampled by ancestral sampling (σ_t² = β_t or β̃_t), DDIM, the
  reverse SDE or the probability-flow ODE (Ho et al., 2020; Nichol & Dhariwal, 2021;
  Song, Meng & Ermon, 2021; Song et al., 2021).
* ``ncsn`` — a noise-conditional score network s_θ(x, σ) = −ε_θ(x, σ)/σ trained by
  denoising score matching over geometric σ levels and sampled by annealed Langevin
  dynamics (Song & Ermon, 2019, 2020).

Both give exact log-densities through the probability-flow ODE. With ``conditional`` a
class-conditional ε_θ(x_t, t, y) with a learned null label is trained for classifier-free
guidance (Ho & Salimans, 2022), with a noisy classifier p(y | x_t) for classifier guidance
(Dhariwal & Nichol, 2021). γ = 0 is unconditional, 1 conditional, > 1 sharper.

Example:
    >>> from engine.densities import get_density
    >>> trainer = make_trainer("ddpm", get_density("8gaussians"), dict(OPTIONS["ddpm"]), torch.device("cpu"), 0)
    >>> for snap in trainer.run(steps=10): pass
    >>> trainer.best_model().sample(100, seed=0, sampler="ddim", steps=20).shape
    (100, 2)

References:
    | Denoising Diffusion Probabilistic Models (Ho et al., 2020) https://arxiv.org/abs/2006.11239
    | Generative Modeling by Estimating Gradients of the Data Distribution (Song & Ermon, 2019)
    |   https://arxiv.org/abs/1907.05600
    | Score-Based Generative Modeling through SDEs (Song et al., 2021) https://arxiv.org/abs/2011.13456
    | Diffusion Models Beat GANs on Image Synthesis (Dhariwal & Nichol, 2021) https://arxiv.org/abs/2105.05233
    | Classifier-Free Diffusion Guidance (Ho & Salimans, 2022) https://arxiv.org/abs/2207.12598
    | Improved Denoising Diffusion Probabilistic Models (Nichol & Dhariwal, 2021) https://arxiv.org/abs/2102.09672
"""

from __future__ import annotations

from typing import Any

import torch

from ..densities import Density
from ..errors import InputError
from .model import DiffusionModel, build_model, validate_config
from .options import CONDITIONAL_DEFAULTS, OPTIONS, check_options, default_options
from .samplers import SAMPLERS
from .train import DiffusionTrainer

__all__ = ["KINDS", "OPTIONS", "CONDITIONAL_DEFAULTS", "SAMPLERS", "default_options", "DiffusionModel",
           "DiffusionTrainer", "make_trainer", "load_model", "validate_config"]

KINDS = ("ddpm", "ncsn")


def make_trainer(kind: str, density: Density, options: dict[str, Any], device: torch.device,
                 seed: int) -> DiffusionTrainer:
    """A trainer for ``kind`` (``ddpm`` or ``ncsn``) with checked options.

    Options not given take their defaults (:func:`default_options`: a class-conditional model has its own).
    """
    if kind not in KINDS:
        raise InputError(f"unknown diffusion model '{kind}'; choose one of {', '.join(KINDS)}")
    opts = {**default_options(kind, bool(options.get("conditional", False))), **options}
    check_options(kind, density, opts)
    return DiffusionTrainer(kind, density, opts, device, seed)


def load_model(checkpoint: dict[str, Any], device: torch.device) -> DiffusionModel:
    """Rebuild a model from a checkpoint dict (see :mod:`engine.checkpoint`)."""
    kind = checkpoint["kind"]
    if kind not in KINDS:
        raise InputError(f"checkpoint holds a '{kind}' model, not a diffusion model")
    validate_config(checkpoint["config"])
    extra = checkpoint.get("extra") or {}
    if not isinstance(extra, dict):
        raise InputError("'extra' must be a mapping of state dicts")
    if bool(checkpoint["config"].get("classifier")) != ("classifier" in extra):
        raise InputError("'config.classifier' and the weights in 'extra.classifier' must come together")
    return build_model(kind, checkpoint["config"], checkpoint["state_dict"], extra.get("classifier"), device)
