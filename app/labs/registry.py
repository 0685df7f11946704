"""The labs, one entry each: the only place a lab is named.

A lab's key is its view name everywhere: the tab, ``flowscope render --view`` and a scene's
``view.name``. Its entry gives the tab's title and where its class lives; the class is
imported only when the lab is first built, so the command line and the scene schema read this
table without loading Qt. Adding a lab: write its package app/labs/<name>/ (``view.py`` with
the :class:`~app.labs.base.Lab`, ``compute.py`` with what it computes) and add one line here.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.errors import InputError

if TYPE_CHECKING:
    from .base import Lab
    from .context import LabContext

__all__ = ["LABS", "LabEntry", "available_labs", "lab_class", "lab_names", "lab_short_title", "lab_title",
           "make_lab"]


@dataclass(frozen=True)
class LabEntry:
    """A lab's tab title, and its class as a module path and a class name (imported lazily); ``short``:
    the title in a word, for a tab bar too narrow for the whole titles (none: the title)."""

    title: str
    module: str
    cls: str
    short: str = ""


LABS: dict[str, LabEntry] = {
    "path": LabEntry("Probability path", "app.labs.path.view", "PathLab", short="Path"),
    "trajectories": LabEntry("Trajectories", "app.labs.trajectories.view", "TrajectoriesLab"),
    "field": LabEntry("Vector field", "app.labs.field.view", "FieldLab", short="Field"),
    "fewstep": LabEntry("Few steps", "app.labs.fewstep.view", "FewStepLab"),
    "langevin": LabEntry("Langevin", "app.labs.langevin.view", "LangevinLab"),
    "kfp": LabEntry("Fokker–Planck", "app.labs.kfp.view", "KfpLab"),
    "guidance": LabEntry("Guidance", "app.labs.guidance.view", "GuidanceLab"),
    "trace": LabEntry("Trace", "app.labs.trace.view", "TraceLab"),
    "adjoint": LabEntry("Adjoint", "app.labs.adjoint.view", "AdjointLab"),
}


def lab_names() -> list[str]:
    """Every registered lab's name, in tab order (the choices of ``--view`` and of a scene's view)."""
    return list(LABS)


def _entry(name: str) -> LabEntry:
    if name not in LABS:
        raise InputError(f"unknown view '{name}'; choose one of {', '.join(LABS)}")
    return LABS[name]


def lab_title(name: str) -> str:
    """The title of lab ``name``'s tab."""
    return _entry(name).title


def lab_short_title(name: str) -> str:
    """The title of lab ``name``'s tab in a word (its title when that is short already)."""
    entry = _entry(name)
    return entry.short or entry.title


def available_labs() -> list[str]:
    """Names of the labs present in this build (a lab whose module is missing is left out).

    The modules are found, not imported: importing them all (torch and the engine with them)
    took ~0.7 s of the window's start, and a lab is built only when its tab is first opened.
    """
    out = []
    for name, entry in LABS.items():
        try:
            found = importlib.util.find_spec(entry.module) is not None
        except ModuleNotFoundError:  # its package is missing
            found = False
        if found:
            out.append(name)
    return out


def lab_class(name: str) -> type[Lab]:
    """The class of lab ``name``, imported now."""
    entry = _entry(name)
    cls: type[Lab] = getattr(importlib.import_module(entry.module), entry.cls)
    return cls


def make_lab(name: str, ctx: LabContext) -> Lab:
    """A new lab ``name`` following ``ctx``."""
    return lab_class(name)(ctx)
