"""The labs, by name (also the names of ``flowscope render --view``)."""

from __future__ import annotations

import importlib

from .base import Lab
from .context import LabContext

__all__ = ["LABS", "available_labs", "make_lab"]

# name -> (module, class); imported lazily
LABS: dict[str, tuple[str, str]] = {
    "path": ("app.labs.path", "PathLab"),
    "trajectories": ("app.labs.trajectories", "TrajectoriesLab"),
    "field": ("app.labs.field", "FieldLab"),
    "langevin": ("app.labs.langevin", "LangevinLab"),
    "kfp": ("app.labs.kfp", "KfpLab"),
    "guidance": ("app.labs.guidance", "GuidanceLab"),
    "trace": ("app.labs.trace", "TraceLab"),
    "adjoint": ("app.labs.adjoint", "AdjointLab"),
}


def available_labs() -> list[str]:
    """Names of the labs present in this build."""
    out = []
    for name, (module, _) in LABS.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            continue
        out.append(name)
    return out


def make_lab(name: str, ctx: LabContext) -> Lab:
    module, cls = LABS[name]
    return getattr(importlib.import_module(module), cls)(ctx)  # type: ignore[no-any-return]
