r"""A trained flow-matching model: a CNF whose field was learned by regression, not likelihood.

:class:`FlowMatchingModel` is a :class:`engine.cnf.CNF`: sampling solves dx/dt = v_θ(x, t)
from noise at t = 0 to data at t = 1 with any solver of :data:`engine.cnf.ODE_SOLVERS`, and
the exact log-density comes from the instantaneous change of variables along the same ODE.
A class-conditional model samples a class y with classifier-free guidance on the velocity,
v̂ = γ v(x, t, y) + (1 − γ) v(x, t, ∅) (γ = 0 unconditional, 1 conditional, > 1 sharper); its
log-density is that of the unconditional field v(·, ·, ∅).

The ``sde`` sampler draws from the same marginals p_t with noise added along the way: with the
path's noise estimate x̂_0 = E[x_0 | x_t] read off the velocity (for the linear path
x̂_0 = x − t v), the score is −x̂_0 / s(t), and

.. math:: dx = [v_θ(x, t) − ε x̂_0]\,dt + \sqrt{2 ε s(t)}\,dW

has the ODE's marginals for the exact field (its Fokker–Planck equation is the continuity
equation of v), whatever ε ≥ 0; ε = 0 is the ODE. Integrated by Euler–Maruyama, like a
diffusion model's ancestral sampler its noise corrects what an early field gets wrong, so the
window's live preview uses it (Ma et al., 2024, SiT, take the same diffusion coefficient).

Straightness (Liu et al., 2023) of the model's own paths,
S = E_{x_0} ∫_0^1 ‖v(x_t, t) − (x_1 − x_0)‖² dt, is 0 exactly when every path is a straight line
travelled at constant speed, which one Euler step integrates without error.

References:
    | Flow Matching for Generative Modeling (Lipman et al., 2023) https://arxiv.org/abs/2210.02747
    | Flow Straight and Fast (Liu et al., 2023) https://arxiv.org/abs/2209.03003
    | SiT: Exploring Flow and Diffusion-based Generative Models with Scalable Interpolant
      Transformers (Ma et al., 2024) https://arxiv.org/abs/2401.08740
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from ..cnf.model import CNF, seeded_generator
from ..cnf.solvers import ODE_SOLVERS, fixed_step_solve
from ..errors import InputError, check_class_request, check_interval
from .coupling import COUPLINGS
from .nets import FlowField, GuidedField
from .paths import PATHS, TIME_SAMPLING, coefficients

__all__ = ["SDE_NOISE", "SDE_SAMPLER", "SDE_STEPS", "FlowMatchingModel", "validate_config"]

_SAMPLE_OPTIONS = {"label", "guidance", "guidance_kind", "guidance_interval", "sampler", "steps", "solver", "box",
                   "noise"}
SDE_SAMPLER = "sde"  # the stochastic sampler's name (beside the ODE solvers)
SDE_NOISE = 1.0  # its ε: at 1, ½ g² = s(t), the noise scale of the path itself
SDE_STEPS = 50  # its Euler–Maruyama steps unless told (the live preview's and the trajectories lab's)
_MAX_WIDTH, _MAX_DEPTH, _MAX_CLASSES = 4096, 16, 1000


def validate_config(config: dict[str, Any]) -> None:
    """InputError naming the first key of an fm checkpoint's config that is missing or out of range."""
    if not isinstance(config, dict):
        raise InputError("the model's config must be a mapping")
    ints = {"dim": (1, 64), "width": (1, _MAX_WIDTH), "depth": (1, _MAX_DEPTH), "num_classes": (0, _MAX_CLASSES),
            "generation": (0, 1000)}
    for key, (lo, hi) in ints.items():
        value = config.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise InputError(f"config '{key}' must be an integer in [{lo}, {hi}], not {value!r}")
    choices = {"activation": ("tanh", "softplus", "silu"), "path": PATHS, "coupling": COUPLINGS,
               "time_sampling": TIME_SAMPLING}
    for key, allowed in choices.items():
        if config.get(key) not in allowed:
            raise InputError(f"config '{key}' must be one of {', '.join(allowed)}, not {config.get(key)!r}")
    for key, hi in (("fourier", 1024), ("time_features", 16), ("radial", 1024)):  # absent from older checkpoints: 0
        value = config.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= hi:
            raise InputError(f"config '{key}' must be an integer in [0, {hi}], not {value!r}")
    numbers = {"sigma_min": (0.0, 0.5), "atol": (1e-12, 1.0), "rtol": (1e-12, 1.0), "fourier_scale": (1e-6, 1000.0)}
    for key, (low, high) in numbers.items():
        number = config.get(key, 1.0) if key == "fourier_scale" else config.get(key)
        if not isinstance(number, (int, float)) or isinstance(number, bool) or not low <= float(number) <= high:
            raise InputError(f"config '{key}' must be a number in [{low:g}, {high:g}], not {number!r}")


def _noise_estimate(x: torch.Tensor, v: torch.Tensor, a: float, s: float, da: float, ds: float) -> torch.Tensor:
    """x̂_0 from x = a x̂_1 + s x̂_0 and v = a' x̂_1 + s' x̂_0."""
    return (da * x - a * v) / (da * s - a * ds)


class FlowMatchingModel(CNF):
    """A flow-matching model: the CNF of the field v_θ(x, t, ∅), with labels and guidance on top.

    Arguments:
        net: the trained :class:`FlowField`.
        info: what the model records about its training (path, sigma_min, coupling,
            time_sampling, generation: 0 for a model trained on data, k for a k-th reflow).
        atol, rtol: tolerances of the adaptive solver (log-densities, accurate samples).
    """

    kind = "fm"

    def __init__(self, net: FlowField, info: dict[str, Any] | None = None, atol: float = 1e-5,
                 rtol: float = 1e-5) -> None:
        super().__init__(GuidedField(net), atol, rtol)  # type: ignore[arg-type]
        self.net = net
        self.info = {"path": "linear", "sigma_min": 0.0, "coupling": "independent", "time_sampling": "uniform",
                     "generation": 0, **(info or {})}
        self.num_classes = net.num_classes

    @property
    def generation(self) -> int:
        """0 for a model trained on data; k for the k-th reflow."""
        return int(self.info["generation"])

    def guided(self, label: int | None = None, guidance: float | None = None,
               interval: tuple[float, float] | None = None,
               box: tuple[float, float, float, float] | None = None) -> FlowMatchingModel:
        """The same model following γ v(x, t, y) + (1 − γ) v(x, t, ∅) (shares the weights); with ``interval``
        (τ_lo, τ_hi), γ only at diffusion times τ = 1 − t inside it and v(x, t, y) elsewhere."""
        self.check_guidance(label, guidance)
        if interval is not None and (label is None or guidance is None):
            raise InputError("a guidance interval needs a class and a guidance scale: give --label and --guidance")
        model = FlowMatchingModel(self.net, self.info, self.atol, self.rtol)
        hold = None if box is None else (tuple(box), self._coefficients)
        model.field = GuidedField(self.net, label, guidance, check_interval(interval), hold)  # type: ignore[assignment]
        model.max_nfe = self.max_nfe
        return model

    def _coefficients(self, t: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return coefficients(self.info["path"], t, float(self.info["sigma_min"]))

    def check_guidance(self, label: int | None, guidance: float | None, kind: str | None = None) -> None:
        """InputError for a label or guidance this model cannot follow, in one sentence."""
        if kind not in (None, "cfg"):
            raise InputError(f"flow-matching models guide by classifier-free guidance only, not '{kind}'")
        check_class_request(label, guidance, self.num_classes)

    # -- sampling -------------------------------------------------------------------------
    def sample(self, n: int, *, seed: int | None = None, **options: Any) -> np.ndarray:
        """(n, 2) float32 samples: noise carried from t = 0 to t = 1.

        Options: ``sampler`` or ``solver`` (a name in ODE_SOLVERS; ``ode`` is dopri5; ``sde`` the
        stochastic sampler, with ``noise`` ε, default 1, and ``steps`` Euler–Maruyama steps, default 50),
        ``steps`` (fixed-step solvers; with steps and no solver, Euler, the sampler flow
        matching is judged by), ``label`` and ``guidance`` (γ) for conditional models, and
        ``box`` (x0, x1, y0, y1): the density's box that a guided sample's predicted end point
        is held in when γ lies outside [0, 1] (as the guidance lab holds it).
        """
        unknown = set(options) - _SAMPLE_OPTIONS
        if unknown:
            raise InputError(f"unknown flow-matching sampling option(s): {', '.join(sorted(unknown))}")
        name = options.get("solver") or options.get("sampler")
        solver = SDE_SAMPLER if name == SDE_SAMPLER else self.solver_for(name, options.get("steps"))
        interval = options.get("guidance_interval")
        model = self.guided(options.get("label"), options.get("guidance"), interval, options.get("box")) \
            if options.get("label") is not None or interval is not None else self
        self.check_guidance(options.get("label"), options.get("guidance"), options.get("guidance_kind"))
        gen = seeded_generator(seed)
        z = torch.randn(int(n), self.net.dim, generator=gen)
        if solver == SDE_SAMPLER:
            steps = options.get("steps")
            x = model.sde_solve(z, SDE_STEPS if steps is None else int(steps), gen,
                                float(options.get("noise", SDE_NOISE)))
        else:
            x = model.flow(z, 0.0, 1.0, solver=solver, steps=int(options.get("steps") or 32))
        self.last_nfe = model.last_nfe
        return x.float().cpu().numpy()

    def noise_estimate(self, x: torch.Tensor, t: float, v: torch.Tensor) -> torch.Tensor:
        """x̂_0 = E[x_0 | x_t = x] from the velocity v at x: solving x = a x̂_1 + s x̂_0, v = a' x̂_1 + s' x̂_0."""
        return _noise_estimate(x, v, *self._path_at(t))

    def _path_at(self, t: float) -> tuple[float, float, float, float]:
        """The path's a, s, a', s' at one time t, as numbers."""
        a, s, da, ds = (float(c) for c in self._coefficients(torch.tensor(float(t), dtype=torch.float64)))
        return a, s, da, ds

    def sde_solve(self, z: torch.Tensor, steps: int, generator: torch.Generator,
                  noise: float = SDE_NOISE) -> torch.Tensor:
        """Euler–Maruyama on dx = [v − ε x̂_0] dt + √(2 ε s(t)) dW from noise z (n, d) at t = 0 to t = 1.

        The Brownian increments come from ``generator`` (on the CPU, so a seed gives the same sample on any
        device); ``noise`` ε = 0 is Euler on the ODE.
        """
        last = deque(self.sde_states(z, steps, generator, noise), maxlen=1)  # only the end is kept
        return last[0][1]

    def sde_states(self, z: torch.Tensor, steps: int, generator: torch.Generator, noise: float = SDE_NOISE,
                   start: float = 0.0) -> Iterator[tuple[float, torch.Tensor]]:
        """(t, x (n, d)) from z at t = ``start`` (the noise at 0) after each Euler–Maruyama step of
        :meth:`sde_solve` to t = 1, lazily (the trajectories lab draws every state)."""
        if int(steps) < 1:
            raise InputError(f"the sde sampler needs at least one step, not {steps}")
        if not (math.isfinite(noise) and 0.0 <= noise <= 100.0):
            raise InputError(f"the sde sampler's noise must be in [0, 100], not {noise}")
        if not 0.0 <= start <= 1.0:
            raise InputError(f"the sde sampler starts at a time in [0, 1], not {start}")
        x, h = self.as_input(z), (1.0 - start) / int(steps)
        self.last_nfe = 0
        yield start, x
        with torch.no_grad():
            for i in range(int(steps)):
                t = start + i * h
                v = self.field(t, x)
                a, s, da, ds = self._path_at(t)
                x = x + h * (v - noise * _noise_estimate(x, v, a, s, da, ds))
                if noise > 0.0:
                    kick = torch.randn(x.shape, generator=generator, dtype=torch.float32)
                    x = x + math.sqrt(2.0 * noise * s * h) * self.as_input(kick)
                self.last_nfe = i + 1
                yield start + (i + 1) * h, x

    def states(self, n: int, *, seed: int | None = None, solver: str = "rk4", steps: int = 4, label: int | None = None,
               guidance: float | None = None, guidance_interval: tuple[float, float] | None = None,
               box: tuple[float, float, float, float] | None = None) -> Iterator[tuple[float, torch.Tensor]]:
        """(t, x (n, 2)) from the noise (t = 0) after each of ``steps`` fixed steps to the sample (t = 1).

        The same noise as :meth:`sample` with that seed; lazily, so that a worker can stop
        between two steps (the guidance lab shows every state, the time bar moving in τ = 1 − t).
        """
        if solver not in ODE_SOLVERS or ODE_SOLVERS[solver].adaptive:
            raise InputError(f"states are taken along a fixed-step solver, not '{solver}'")
        if int(steps) < 1:
            raise InputError(f"a fixed-step solver needs at least one step, not {steps}")
        model = self.guided(label, guidance, guidance_interval, box) if label is not None else self
        field = model.field
        x = self.as_input(torch.randn(int(n), self.net.dim, generator=seeded_generator(seed)))
        yield 0.0, x
        h, method = 1.0 / int(steps), ODE_SOLVERS[solver].method
        with torch.no_grad():
            for i in range(int(steps)):
                x = fixed_step_solve(lambda t, s: (field(t, s[0]),), (x,), i * h, (i + 1) * h, 1, method)[0]
                yield (i + 1) * h, x

    @staticmethod
    def solver_for(name: str | None, steps: int | None) -> str:
        """The ODE solver a sampler name asks for (dopri5 by default, Euler when only steps are given)."""
        if name in (None, ""):
            return "euler" if steps else "dopri5"
        if name == "ode":
            return "dopri5"
        if name not in ODE_SOLVERS:
            raise InputError(f"a flow-matching model samples with an ODE solver or the stochastic sampler: choose "
                             f"one of {', '.join(ODE_SOLVERS)} or {SDE_SAMPLER}, not '{name}'")
        return str(name)

    def euler_path(self, z: torch.Tensor, steps: int) -> list[torch.Tensor]:
        """The states of a fixed-step Euler solve from noise z (n, 2): steps + 1 tensors."""
        out, x, h = [self.as_input(z)], self.as_input(z), 1.0 / steps
        with torch.no_grad():
            for i in range(steps):
                x = fixed_step_solve(lambda t, s: (self.field(t, s[0]),), (x,), i * h, (i + 1) * h, 1, "euler")[0]
                out.append(x)
        return out

    def straightness(self, n: int = 2000, *, seed: int = 0, steps: int = 64) -> float:
        """S = E ∫_0^1 ‖v(x_t, t) − (x_1 − x_0)‖² dt along the model's own paths (RK4, trapezoid rule)."""
        z = self.as_input(torch.randn(int(n), self.net.dim, generator=seeded_generator(seed)))
        h = 1.0 / steps
        xs, x = [z], z
        with torch.no_grad():
            for i in range(steps):
                x = fixed_step_solve(lambda t, s: (self.field(t, s[0]),), (x,), i * h, (i + 1) * h, 1, "rk4")[0]
                xs.append(x)
            chord = xs[-1] - xs[0]
            dev = torch.stack([((self.field(i * h, xi) - chord) ** 2).sum(1) for i, xi in enumerate(xs)])
        weights = torch.full((steps + 1,), h, dtype=dev.dtype, device=dev.device)
        weights[0] = weights[-1] = h / 2
        return float((weights[:, None] * dev).sum(0).mean())

    # -- checkpoints ---------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The JSON-able architecture and training record that :meth:`from_checkpoint` rebuilds."""
        f = self.net
        return {"dim": f.dim, "width": f.width, "depth": f.depth, "activation": f.activation,
                "num_classes": f.num_classes, "fourier": f.fourier, "fourier_scale": f.fourier_scale,
                "time_features": f.time_features, "radial": f.radial, "atol": self.atol, "rtol": self.rtol,
                **{k: self.info[k] for k in ("path", "sigma_min", "coupling", "time_sampling", "generation")}}

    def to_checkpoint(self) -> dict[str, Any]:
        state = {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()}
        return {"kind": self.kind, "config": self.config(), "state_dict": state}

    @classmethod
    def from_checkpoint(cls, checkpoint: dict[str, Any], device: torch.device | str = "cpu") -> FlowMatchingModel:
        """Rebuild from :meth:`to_checkpoint`'s dict, after :func:`validate_config` (strict about the weights)."""
        c = checkpoint["config"]
        validate_config(c)
        net = FlowField(c["dim"], c["width"], c["depth"], c["activation"], c["num_classes"], c.get("fourier", 0),
                        c.get("fourier_scale", 1.0), c.get("time_features", 0), c.get("radial", 0))
        net.load_state_dict(checkpoint["state_dict"], strict=True)
        info = {k: c[k] for k in ("path", "sigma_min", "coupling", "time_sampling", "generation")}
        return cls(net, info, float(c["atol"]), float(c["rtol"])).to(device).eval()
