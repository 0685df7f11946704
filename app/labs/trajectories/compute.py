"""What the trajectories lab computes for a clicked point: its ODE path and log p_t along it, or an SDE fan."""

from __future__ import annotations

import numpy as np
import torch

from engine.flowmatch.model import SDE_STEPS

__all__ = ["FAN", "TIMES", "cnf_probe", "diffusion_fan", "flow_fan"]

TIMES = np.linspace(0.0, 1.0, 41)
FAN = 24


def cnf_probe(model: object, x: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ODE path through x at time t: positions (K, 2), log p_t(z(t)) (K,), log p_t(x) at the fixed x (K,)."""
    from engine.cnf.views import trajectories

    z = model.as_input(torch.as_tensor(x, dtype=torch.float32).reshape(1, 2))  # type: ignore[attr-defined]
    z0 = model.flow(z, t0=t, t1=0.0, solver="rk4", steps=64)  # type: ignore[attr-defined]
    frames = list(trajectories(model, points=z0.detach().cpu().numpy(), direction="forward", solver="rk4",  # type: ignore[arg-type]
                               steps=len(TIMES) - 1))
    path = np.stack([f.x[0] for f in frames])
    along = np.array([f.log_density[0] for f in frames])
    with torch.no_grad():
        fixed = np.array([float(model.log_prob_at(z, float(s), solver="rk4", steps=16)[0]) for s in TIMES])  # type: ignore[attr-defined]
    return path, along, fixed


def diffusion_fan(model: object, x: np.ndarray, sampler: str, seed: int = 0) -> np.ndarray:
    """Paths (K, n, 2) of the reverse process started at x (as noise at t = 0)."""
    from engine.diffusion.samplers import run_sampler

    n = FAN if sampler != "ode" else 1
    z = model.to_z(np.repeat(np.asarray(x, np.float64).reshape(1, 2), n, 0))  # type: ignore[attr-defined]
    gen = torch.Generator().manual_seed(seed)
    eps, options = model.sampler_setup(sampler, None, None, None, {})  # type: ignore[attr-defined]
    frames = run_sampler(sampler, eps, model.process, z.float(), None, gen, True, **options)  # type: ignore[attr-defined]
    xs = [model.from_z(z.float())] + [model.from_z(f.x) for f in frames]  # type: ignore[attr-defined]
    return np.stack(xs)


def flow_fan(model: object, x: np.ndarray, t: float, steps: int = SDE_STEPS, seed: int = 0) -> np.ndarray:
    """Paths (K, n, 2) of a flow-matching model's stochastic sampler started at x at time t: a fan to t = 1
    (its steps spread as ``steps`` would spread over the whole of [0, 1])."""
    count = max(1, int(round(steps * (1.0 - t))))
    z = torch.as_tensor(np.repeat(np.asarray(x, np.float32).reshape(1, 2), FAN, 0))
    gen = torch.Generator().manual_seed(seed)
    return np.stack([s.float().cpu().numpy() for _, s in model.sde_states(z, count, gen, start=t)])  # type: ignore[attr-defined]
