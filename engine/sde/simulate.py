"""Particles under an SDE by Euler–Maruyama: x ← x + f(x, t) dt + g(t) √dt ε.

:func:`euler_maruyama` is a generator (data flows one way: docs/ARCHITECTURE.md) that yields a
:class:`ParticleFrame` at each requested time; :func:`trajectories` records them all.

>>> from engine.sde import make_sde
>>> x0 = np.zeros((100, 2), np.float32)
>>> traj = trajectories(make_sde("brownian"), x0, [0.0, 0.5, 1.0], dt=0.01, seed=0)
>>> traj.shape
(3, 100, 2)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from .sdes import SDE

__all__ = ["ParticleFrame", "euler_maruyama", "trajectories", "check_times"]


@dataclass(frozen=True)
class ParticleFrame:
    """Particles at one time.

    Attributes:
        t: the time.  step: Euler–Maruyama steps taken so far.
        x: positions (n, 2) float32.
    """

    t: float
    step: int
    x: np.ndarray


def check_times(times: Sequence[float] | np.ndarray, t0: float) -> list[float]:
    """Output times as floats, refused unless finite, ascending and not before ``t0``."""
    out = [float(t) for t in times]
    if not out or not all(math.isfinite(t) for t in out):
        raise InputError("output times must be a non-empty list of finite numbers")
    if out[0] < t0 or any(b < a for a, b in zip(out, out[1:])):
        raise InputError(f"output times must be ascending and not before the start time {t0:g}")
    return out


def _as_tensor(x0: np.ndarray | torch.Tensor, device: torch.device | str | None) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(x0) if not isinstance(x0, torch.Tensor) else x0)
    if x.ndim != 2 or x.shape[1] != 2:
        raise InputError(f"particles must have shape (n, 2), not {tuple(x.shape)}")
    return x.to(device=device, dtype=torch.float32).clone()


def euler_maruyama(
    sde: SDE,
    x0: np.ndarray | torch.Tensor,
    times: Sequence[float] | np.ndarray,
    dt: float = 1e-3,
    seed: int = 0,
    t0: float = 0.0,
    device: torch.device | str | None = None,
) -> Iterator[ParticleFrame]:
    """Simulate particles from ``x0`` (n, 2) at time ``t0``; yield them at each of ``times``.

    Each interval between output times is cut into equal steps no longer than ``dt``, so
    frames land exactly on the requested times. The noise comes from a generator seeded
    with ``seed``: the same call gives the same paths.

    Raises:
        InputError: when the particles leave the finite numbers (an exploding drift).
    """
    if not (math.isfinite(dt) and dt > 0):
        raise InputError(f"the step dt must be a positive number, not {dt!r}")
    times = check_times(times, t0)
    x = _as_tensor(x0, device)
    gen = torch.Generator(device=x.device).manual_seed(int(seed))
    noise = torch.empty_like(x)
    t, step = float(t0), 0
    for target in times:
        n = max(1, math.ceil((target - t) / dt - 1e-9)) if target > t else 0
        h = (target - t) / n if n else 0.0
        # no_grad only around the steps: a generator suspended inside it would switch
        # gradients off for whatever else runs on the consumer's thread
        with torch.no_grad():
            for k in range(n):
                s = t + k * h
                torch.randn(x.shape, generator=gen, out=noise)
                x.add_(sde.drift(x, s), alpha=h).add_(noise, alpha=sde.diffusion(s) * math.sqrt(h))
            finite = bool(torch.isfinite(x).all())
        t, step = target, step + n
        if n and not finite:
            raise InputError(f"the SDE sent particles to infinity before t = {t:g}; "
                             "its drift grows too fast (try a shorter time or a gentler drift)")
        yield ParticleFrame(t, step, x.cpu().numpy().copy())


def trajectories(
    sde: SDE,
    x0: np.ndarray | torch.Tensor,
    times: Sequence[float] | np.ndarray,
    dt: float = 1e-3,
    seed: int = 0,
    t0: float = 0.0,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Recorded paths: positions at every output time, (len(times), n, 2) float32."""
    return np.stack([f.x for f in euler_maruyama(sde, x0, times, dt, seed, t0, device)])
