"""The vector field f_θ(z, t) that the trace and adjoint labs study: the trained CNF's, or a random one."""

from __future__ import annotations

import torch

from engine.cnf import CNF, VectorField

from .context import LabContext

__all__ = ["lab_field", "random_field"]


def random_field(seed: int = 0, width: int = 64, depth: int = 3, gain: float = 3.0) -> VectorField:
    """An untrained concat-squash field with weights scaled up, so that it visibly stretches and squeezes."""
    gen = torch.Generator().manual_seed(seed)
    field = VectorField(2, width, depth)
    with torch.no_grad():
        for p in field.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * gain / max(p.shape[-1], 1) ** 0.5)
    return field.eval()


def lab_field(ctx: LabContext) -> tuple[VectorField, str]:
    """The current CNF's field and a phrase naming it; a seeded random field when no CNF is loaded."""
    model = None if ctx.trained is None else ctx.trained.model
    if isinstance(model, CNF):
        return model.field, "the trained CNF's f<sub>θ</sub>"
    return random_field(), "a random vector field (no CNF is loaded)"
