"""Where computation runs, and how many threads it uses."""

from __future__ import annotations

import os

import torch

from .errors import InputError

__all__ = ["resolve_device", "describe_devices", "configure_threads"]


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then CPU; asking for a missing device is an InputError."""
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError("--device cuda: no CUDA GPU is available to PyTorch here (a CPU build of torch?)")
        return torch.device(name)
    if name == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise InputError("--device mps: Apple MPS is not available here")
        return torch.device("mps")
    raise InputError(f"unknown device '{name}'; choose auto, cpu, cuda or mps")


def describe_devices() -> list[tuple[str, str]]:
    """(name, description) of every device found, CPU first."""
    found = [("cpu", f"CPU ({os.cpu_count()} cores)")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            found.append((f"cuda:{i}" if i else "cuda", torch.cuda.get_device_name(i)))
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append(("mps", "Apple GPU (MPS)"))
    return found


def configure_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads: one by default, because small-batch work is fastest on
    one thread and two spinning OpenMP threads on a busy 2-core machine collapse."""
    n = n or int(os.environ.get("FLOWSCOPE_THREADS", "1"))
    torch.set_num_threads(max(1, n))
    return torch.get_num_threads()
