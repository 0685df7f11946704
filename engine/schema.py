"""Checking a decoded configuration before anything is built from it.

Small typed readers — :func:`integer`, :func:`number`, :func:`choice`, :func:`mapping` —
each return the value or raise :class:`~engine.errors.InputError` naming the key, what it
holds and the allowed range. Model families use them in their ``validate_config``;
:func:`check_state_dict` compares weights with the shapes a configuration implies and
refuses non-finite ones. :func:`check_depth` bounds the nesting of decoded JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from .errors import InputError

__all__ = ["integer", "number", "choice", "mapping", "boolean", "number_list", "check_state_dict",
           "check_finite_state", "check_depth", "MAX_DEPTH", "MAX_PARAMETERS"]

MAX_DEPTH = 64  # nesting of a decoded JSON value: scenes and configurations need a handful of levels
MAX_PARAMETERS = 50_000_000  # weights in one checkpoint: these networks have tens of thousands


def _name(value: Any) -> str:
    return "true/false" if isinstance(value, bool) else type(value).__name__


def mapping(d: Any, key: str) -> dict[str, Any]:
    """``d`` as a dict, or InputError naming ``key``."""
    if not isinstance(d, Mapping):
        raise InputError(f"'{key}' must be a mapping, not {_name(d)}")
    return dict(d)


def integer(d: Mapping[str, Any], key: str, low: int, high: int, default: Any = None, where: str = "") -> int:
    """``d[key]`` as an int in [low, high] (an integral float is accepted; true/false is not)."""
    name = f"{where}{key}"
    value = d.get(key, default)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"'{name}' must be a whole number from {low:,} to {high:,}, not {_name(value)}")
    if not low <= value <= high:
        raise InputError(f"'{name}' must be from {low:,} to {high:,}, not {value:,}")
    return value


def number(d: Mapping[str, Any], key: str, low: float, high: float, default: Any = None, where: str = "",
           low_open: bool = False) -> float:
    """``d[key]`` as a finite float in [low, high] ((low, high] with ``low_open``)."""
    name = f"{where}{key}"
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"'{name}' must be a number, not {_name(value)}")
    value = float(value)
    ok = math.isfinite(value) and (low < value if low_open else low <= value) and value <= high
    if not ok:
        left = "(" if low_open else "["
        raise InputError(f"'{name}' must be a finite number in {left}{low:g}, {high:g}], not {value}")
    return value


def boolean(d: Mapping[str, Any], key: str, default: Any = None, where: str = "") -> bool:
    value = d.get(key, default)
    if not isinstance(value, bool):
        raise InputError(f"'{where}{key}' must be true or false, not {_name(value)}")
    return value


def choice(d: Mapping[str, Any], key: str, allowed: tuple[str, ...] | list[str], default: Any = None,
           where: str = "") -> str:
    value = d.get(key, default)
    if not isinstance(value, str) or value not in allowed:
        shown = value if isinstance(value, str) else _name(value)
        raise InputError(f"'{where}{key}' must be one of {', '.join(allowed)}, not {str(shown)[:40]!r}")
    return value


def number_list(d: Mapping[str, Any], key: str, length: int, bound: float, where: str = "") -> list[float]:
    """``d[key]`` as ``length`` finite numbers of magnitude at most ``bound``."""
    name = f"{where}{key}"
    value = d.get(key)
    if not isinstance(value, (list, tuple)) or len(value) != length:
        raise InputError(f"'{name}' must be a list of {length} numbers")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)) or abs(v) > bound:
            raise InputError(f"'{name}' must hold finite numbers of magnitude at most {bound:g}, not {v!r}")
    return [float(v) for v in value]


def check_finite_state(state: Any, where: str) -> int:
    """The number of weights in a state dict after checking every entry is a finite floating tensor."""
    state = mapping(state, where)
    total = 0
    for key, tensor in state.items():
        if not isinstance(tensor, torch.Tensor):
            raise InputError(f"'{where}.{key}' must be a tensor, not {_name(tensor)}")
        total += tensor.numel()
        if total > MAX_PARAMETERS:
            raise InputError(f"'{where}' holds more than {MAX_PARAMETERS:,} weights, far more than these models use")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise InputError(f"'{where}.{key}' holds NaN or infinite weights")
    return total


def check_state_dict(expected: Mapping[str, torch.Tensor], state: Mapping[str, Any], where: str) -> None:
    """Refuse weights whose names or shapes differ from ``expected`` (a module's state dict), naming the key."""
    missing = [k for k in expected if k not in state]
    if missing:
        raise InputError(f"'{where}' lacks the weights '{missing[0]}' that its configuration needs")
    extra = [k for k in state if k not in expected]
    if extra:
        raise InputError(f"'{where}' holds weights '{extra[0]}' that its configuration has no place for")
    for key, ref in expected.items():
        got = state[key]
        if not isinstance(got, torch.Tensor):
            raise InputError(f"'{where}.{key}' must be a tensor, not {_name(got)}")
        if tuple(got.shape) != tuple(ref.shape):
            raise InputError(f"'{where}.{key}' has shape {tuple(got.shape)} but the configuration implies "
                             f"{tuple(ref.shape)}")


def check_depth(value: Any, limit: int = MAX_DEPTH, what: str = "the file") -> None:
    """InputError when lists and dicts nest deeper than ``limit`` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            children: Any = v.values()
        elif isinstance(v, (list, tuple)):
            children = v
        else:
            continue
        if depth > limit:
            raise InputError(f"{what} nests lists or objects more than {limit} levels deep")
        stack.extend((c, depth + 1) for c in children)
