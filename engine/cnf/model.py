r"""The trained continuous normalizing flow: sampling, exact log-density, checkpoints.

Notation (the lecture's): dz/dt = f_θ(z, t); z(0) ~ N(0, I) is noise at t=0 and x = z(1)
is data at t=1. Sampling solves the ODE forwards from noise; the log-density solves it
backwards from the data with the instantaneous change of variables

.. math:: \log p_1(x) = \log p_0(z(0)) - \int_0^1 \mathrm{tr}\,\frac{\partial f_θ}{\partial z}(z(t), t)\, dt.

Log-densities are computed with the exact trace and an adaptive solver held to a tight
tolerance on every point (not on the batch average), so that a reported likelihood is the
model's, not the discretization's.

References:
    | Neural Ordinary Differential Equations (Chen et al., 2018) https://arxiv.org/abs/1806.07366
    | FFJORD (Grathwohl et al., 2019) https://arxiv.org/abs/1810.01367
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import InputError
from ..schema import check_state_dict, choice, integer, mapping, number, number_list
from .dynamics import CNFDynamics, FieldDynamics
from .nets import ACTIVATIONS, VectorField
from .solvers import ODE_SOLVERS, Counted, check_solver, odesolve

__all__ = ["CNF", "seeded_generator", "standard_normal_log_prob", "validate_config", "EVAL_MAX_NFE"]

_LOG_2PI = math.log(2 * math.pi)
_CHUNK = 8192  # points per solve: bounds memory, and the adaptive steps suit each chunk
# function evaluations allowed per solve of a model loaded from a file: a trained flow needs about a
# hundred at the evaluation tolerance (110 for cnf_8gaussians); damaged weights would keep dopri5 busy for hours
EVAL_MAX_NFE = 5_000


def validate_config(config: dict[str, Any]) -> None:
    """InputError naming the first key of a CNF checkpoint configuration outside its allowed range."""
    c = mapping(config, "config")
    integer(c, "dim", 2, 2, where="config.")
    integer(c, "width", 1, 4096, where="config.")
    integer(c, "depth", 1, 64, where="config.")
    choice(c, "activation", tuple(ACTIVATIONS), where="config.")
    number(c, "end_time", 0.0, 100.0, where="config.", low_open=True)
    number(c, "atol", 1e-12, 1.0, 1e-5, where="config.")
    number(c, "rtol", 1e-12, 1.0, 1e-5, where="config.")
    integer(c, "fourier", 0, 1024, 0, where="config.")
    number(c, "fourier_scale", 0.0, 1000.0, 1.0, where="config.", low_open=True)
    integer(c, "time_features", 0, 16, 0, where="config.")
    integer(c, "radial", 0, 1024, 0, where="config.")
    if "shift" in c:
        number_list(c, "shift", 2, 1e15, where="config.")
    number(c, "scale", 1e-15, 1e15, 1.0, where="config.")


def seeded_generator(seed: int | None) -> torch.Generator:
    """A CPU generator seeded with ``seed``, or from fresh entropy (the global RNG stays untouched)."""
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    return gen


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """log N(z; 0, I) of points (n, d) -> (n,)."""
    return -0.5 * (z * z).sum(1) - 0.5 * z.shape[1] * _LOG_2PI


class CNF(nn.Module):
    """A continuous normalizing flow from N(0, I) at t=0 to the data at t=1.

    Arguments:
        field: the vector field f_θ.
        atol, rtol: tolerances of the adaptive solver used for log-densities and for
            default sampling.

    Example:
        >>> flow = CNF(VectorField(width=16, depth=1))
        >>> flow.sample(5, seed=0).shape
        (5, 2)
    """

    kind = "cnf"
    num_classes = 0

    def __init__(self, field: VectorField, atol: float = 1e-5, rtol: float = 1e-5) -> None:
        super().__init__()
        self.field = field
        self.atol = atol
        self.rtol = rtol
        self.max_nfe = 0  # per solve; 0: no limit
        self.last_nfe = 0  # function evaluations of the last flow / log_prob_at call

    # -- the dynamics -------------------------------------------------------------
    def velocity(self, x: Tensor, t: float) -> Tensor:
        """f_θ(x, t), (n, 2), for points x (n, 2) at a time t in [0, 1] (no gradient kept)."""
        with torch.no_grad():
            return self.field(float(t), self.as_input(x))

    def flow(
        self, z: Tensor, t0: float = 0.0, t1: float = 1.0, *, solver: str = "dopri5", steps: int = 32
    ) -> Tensor:
        """Transport points z (n, 2) from time t0 to time t1 along the ODE (either direction)."""
        check_solver(solver)
        times = self.as_input(torch.tensor([float(t0), float(t1)]))
        dyn = Counted(FieldDynamics(self.field), self.max_nfe)
        out, self.last_nfe = [], 0
        with torch.no_grad():
            for chunk in self.as_input(z).split(_CHUNK):
                dyn.nfe = 0  # the limit is per solve
                out.append(odesolve(dyn, (chunk,), times, solver=solver, steps=steps, atol=self.atol,
                                    rtol=self.rtol, strict=True)[0][-1])
                self.last_nfe += dyn.nfe
        return torch.cat(out) if out else self.as_input(z).clone()

    def log_prob_at(self, x: Tensor, t: float = 1.0, *, solver: str = "dopri5", steps: int = 32) -> Tensor:
        """log p_t(x), (n,), the density of the flow at time t in [0, 1] at points x (n, 2).

        Solves from t back to 0 with the exact trace: log p_t(x) = log p_0(z(0)) − Δ(0).
        """
        check_solver(solver)
        x = self.as_input(x)
        self.last_nfe = 0
        if float(t) == 0.0:
            return standard_normal_log_prob(x)
        times = self.as_input(torch.tensor([float(t), 0.0]))
        dynamics = CNFDynamics(self.field)
        dyn = Counted(dynamics, self.max_nfe)
        out = []
        with torch.no_grad():
            for chunk in x.split(_CHUNK):
                dyn.nfe = 0  # the limit is per solve
                z, delta = odesolve(dyn, dynamics.initial_state(chunk), times, solver=solver, steps=steps,
                                    atol=self.atol, rtol=self.rtol, strict=True)
                out.append(standard_normal_log_prob(z[-1]) - delta[-1])
                self.last_nfe += dyn.nfe
        return torch.cat(out) if out else x.new_zeros(0)

    # -- the Model contract (engine.api) -----------------------------------------------
    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """Exact log-density (nats) at (n, 2) points -> (n,) float64; -inf where it is not finite."""
        lp = self.log_prob_at(torch.as_tensor(np.asarray(x, np.float32))).double().cpu().numpy()
        return np.where(np.isfinite(lp), lp, -np.inf)

    def sample(self, n: int, *, seed: int | None = None, **options: Any) -> np.ndarray:
        """(n, 2) float32 samples: noise from N(0, I) carried from t=0 to t=1.

        Options: ``steps`` (a fixed-step solve with that many steps, RK4 unless ``solver``
        says otherwise), ``solver`` or ``sampler`` (a name in ODE_SOLVERS; ``ode`` is the default).
        Labels and guidance are refused: a CNF models one unconditional density.
        """
        self._check_sample_options(options)
        named = options.get("sampler") if options.get("sampler") in ODE_SOLVERS else None
        solver = options.get("solver") or named or ("rk4" if options.get("steps") else "dopri5")
        gen = seeded_generator(seed)
        z = torch.randn(int(n), self.field.dim, generator=gen)
        x = self.flow(z, 0.0, 1.0, solver=solver, steps=int(options.get("steps") or 32))
        return x.float().cpu().numpy()

    @staticmethod
    def _check_sample_options(options: dict[str, Any]) -> None:
        for key in ("label", "guidance", "guidance_kind"):
            if options.get(key) is not None:
                raise InputError(f"CNF models are unconditional: '{key}' does not apply (train a diffusion "
                                 "model with --conditional for labels and guidance)")
        if options.get("sampler") not in (None, "ode", *ODE_SOLVERS):
            raise InputError(f"a CNF samples by solving its ODE; sampler '{options['sampler']}' does not apply")
        unknown = set(options) - {"label", "guidance", "guidance_kind", "sampler", "steps", "solver"}
        if unknown:
            raise InputError(f"unknown CNF sampling option(s): {', '.join(sorted(unknown))}")

    def config(self) -> dict[str, Any]:
        """The JSON-able architecture that :meth:`from_checkpoint` rebuilds."""
        f = self.field
        config = {"dim": f.dim, "width": f.width, "depth": f.depth, "activation": f.activation,
                  "end_time": f.end_time, "atol": self.atol, "rtol": self.rtol}
        if f.fourier or f.time_features:
            config.update(fourier=f.fourier, fourier_scale=f.fourier_scale, time_features=f.time_features)
        if f.radial:
            config.update(radial=f.radial)
        if f.framed:
            config.update(shift=list(f.shift), scale=f.scale)
        return config

    def to_checkpoint(self) -> dict[str, Any]:
        """kind, config and a CPU state dict (see engine.checkpoint)."""
        state = {k: v.detach().cpu().clone() for k, v in self.field.state_dict().items()}
        return {"kind": self.kind, "config": self.config(), "state_dict": state}

    @classmethod
    def from_checkpoint(cls, checkpoint: dict[str, Any], device: torch.device | str = "cpu") -> CNF:
        """Rebuild a CNF from :meth:`to_checkpoint`'s dict (strict about the weights)."""
        c = checkpoint["config"]
        validate_config(c)

        def make() -> VectorField:
            # a checkpoint from before the features and the frame has neither key: the plain field
            return VectorField(int(c["dim"]), int(c["width"]), int(c["depth"]), str(c["activation"]),
                               float(c["end_time"]), int(c.get("fourier", 0)), float(c.get("fourier_scale", 1.0)),
                               int(c.get("time_features", 0)), c.get("shift"), float(c.get("scale", 1.0)),
                               int(c.get("radial", 0)))

        with torch.device("meta"):  # shapes only: nothing is allocated before the weights are known to fit
            check_state_dict(make().state_dict(), checkpoint["state_dict"], "state_dict")
        field = make()
        field.load_state_dict(checkpoint["state_dict"], strict=True)
        model = cls(field, float(c.get("atol", 1e-5)), float(c.get("rtol", 1e-5)))
        model.max_nfe = EVAL_MAX_NFE
        return model.to(device).eval()

    def as_input(self, x: Tensor) -> Tensor:
        """x on the model's device, in its dtype (the views and trainers hand points over this way)."""
        p = next(self.field.parameters())
        return x.to(device=p.device, dtype=p.dtype)

    @property
    def device(self) -> torch.device:
        return next(self.field.parameters()).device
