r"""A trained diffusion model (DDPM or NCSN): sampling with any sampler and guidance, exact log-densities.

The model works in normalised coordinates z = (x − shift)/scale, where shift and scale are
the training data's mean and standard deviation, so that every density meets the same
noise schedule; samples, log-densities and scores come back in model coordinates x
(log p(x) = log p(z) − 2 log scale).

References:
    | Ho et al. (2020); Song & Ermon (2019); Song et al. (2021); Ho & Salimans (2022);
    | Dhariwal & Nichol (2021): see the modules of this package.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import InputError, check_class_request
from ..schema import boolean, check_state_dict, choice, integer, mapping, number, number_list
from .guidance import GUIDANCE_KINDS, check_interval, eps_function
from .nets import ACTIVATIONS, EpsNet, NoisyClassifier
from .samplers import SAMPLERS, Frame, check_sampler, run_sampler
from .schedules import SCHEDULES, NoiseProcess, make_process
from .score import EVAL_MAX_NFE, ProbabilityFlow

CLIPPED_SAMPLERS = ("ancestral", "ddim", "sde", "dpm++")  # x̂_0 held in the box; the ODE and Langevin stay exact

__all__ = ["DiffusionModel", "build_model", "validate_config", "EVAL_MAX_NFE"]
MAX_SAMPLER_WORK = 100_000  # network evaluations of one default sampling run (levels x steps per level)


def validate_config(config: dict[str, Any]) -> None:
    """InputError naming the first key of a DDPM/NCSN checkpoint configuration outside its allowed range."""
    c = mapping(config, "config")
    net = mapping(c.get("net"), "config.net")
    integer(net, "width", 1, 4096, where="config.net.")
    integer(net, "depth", 1, 64, where="config.net.")
    integer(net, "num_classes", 0, 1000, where="config.net.")
    integer(net, "emb_dim", 1, 4096, where="config.net.")
    number(net, "fourier", 0.0, 1000.0, where="config.net.")
    integer(net, "radial", 0, 4096, 0, where="config.net.")
    number(net, "radial_scale", 0.0, 1000.0, 0.0, where="config.net.")
    boolean(net, "film", False, where="config.net.")
    choice(net, "activation", tuple(ACTIVATIONS), "silu", where="config.net.")
    number_list(c, "shift", 2, 1e15, where="config.")
    number(c, "scale", 1e-15, 1e15, where="config.")
    box = number_list(c, "box", 4, 1e6, where="config.")
    if not (box[0] < box[1] and box[2] < box[3]):
        raise InputError("'config.box' must be [x_min, x_max, y_min, y_max] with each min below its max")
    process = mapping(c.get("process"), "config.process")
    kind = choice(process, "process", ("vp", "ve"), where="config.process.")
    if kind == "vp":
        levels = integer(process, "timesteps", 1, 10_000, where="config.process.")
        choice(process, "schedule", SCHEDULES, where="config.process.")
    else:
        levels = integer(process, "levels", 1, 10_000, where="config.process.")
        low = number(process, "sigma_min", 0.0, 1e6, where="config.process.", low_open=True)
        high = number(process, "sigma_max", 0.0, 1e6, where="config.process.", low_open=True)
        if not low < high:
            raise InputError(f"'config.process.sigma_min' ({low}) must be below sigma_max ({high})")
    choice(c, "sampler", tuple(SAMPLERS), "ancestral", where="config.")
    so = mapping(c.get("sampler_options", {}), "config.sampler_options")
    if "variance" in so:
        choice(so, "variance", ("beta", "beta_tilde"), where="config.sampler_options.")
    if "steps_per_level" in so:
        per = integer(so, "steps_per_level", 1, 1000, where="config.sampler_options.")
        if min(levels, 100) * per > MAX_SAMPLER_WORK:
            raise InputError(f"'config.sampler_options.steps_per_level' {per} with {levels} levels would take more "
                             f"than {MAX_SAMPLER_WORK:,} network evaluations per sample")
    if "step_size" in so:
        number(so, "step_size", 0.0, 10.0, where="config.sampler_options.", low_open=True)
    if "clip_sample" in so:
        boolean(so, "clip_sample", where="config.sampler_options.")
    if "solver" in so:
        choice(so, "solver", ("euler", "midpoint", "rk4", "dopri5"), where="config.sampler_options.")
    unknown = set(so) - {"variance", "steps_per_level", "step_size", "clip_sample", "solver"}
    if unknown:
        raise InputError(f"'config.sampler_options' has an unknown option '{sorted(unknown)[0]}'")
    if c.get("classifier"):
        clf = mapping(c["classifier"], "config.classifier")
        integer(clf, "width", 1, 4096, where="config.classifier.")
        integer(clf, "depth", 1, 64, where="config.classifier.")
        if int(net["num_classes"]) < 2:
            raise InputError("'config.classifier' needs a class-conditional network (config.net.num_classes >= 2)")

EpsFn = Callable[[Tensor, Tensor], Tensor]


class DiffusionModel:
    """ε_θ with its noise process, data normalisation and (optionally) a noisy classifier.

    Arguments:
        kind: ``ddpm`` or ``ncsn``.
        net: the noise predictor (class-conditional when ``net.num_classes > 0``).
        process: VP (DDPM) or VE (NCSN) noise process.
        config: JSON-able configuration (see :func:`build_model`).
        classifier: p(y | x_t, τ) for classifier guidance, or None.
    """

    def __init__(self, kind: str, net: EpsNet | nn.Module, process: NoiseProcess, config: dict[str, Any],
                 classifier: NoisyClassifier | nn.Module | None = None) -> None:
        self.kind, self.net, self.process, self.config, self.classifier = kind, net, process, config, classifier
        self.net.eval()
        if self.classifier is not None:
            self.classifier.eval()
        self.shift = np.asarray(config["shift"], np.float64)
        self.scale = float(config["scale"])
        self.num_classes = int(net.num_classes)  # type: ignore[arg-type]  # any eps net has num_classes
        self.max_nfe = EVAL_MAX_NFE  # per probability-flow solve
        tensors = list(net.parameters()) + list(net.buffers())
        self.device = tensors[0].device if tensors else torch.device("cpu")

    # -- coordinates ---------------------------------------------------------------
    def to_z(self, x: np.ndarray) -> Tensor:
        """Model coordinates (n, 2) -> normalised tensor (n, 2) float32 on the model's device."""
        z = (np.asarray(x, np.float64) - self.shift) / self.scale
        return torch.from_numpy(z.astype(np.float32)).to(self.device)

    def from_z(self, z: Tensor) -> np.ndarray:
        """Normalised tensor (n, 2) -> model coordinates (n, 2) float32 numpy."""
        return (z.detach().double().cpu().numpy() * self.scale + self.shift).astype(np.float32)

    # -- the ε a sampler uses ------------------------------------------------------
    def eps_fn(self, label: int | None = None, guidance: float | None = None, guidance_kind: str | None = None,
               grad: bool = False, interval: tuple[float, float] | None = None) -> EpsFn:
        """ε̂(z, τ) for an (optional) class and guidance, after checking the combination.

        Without ``grad`` it runs under ``torch.no_grad`` (classifier guidance still takes its
        own gradient inside), so samplers build no graphs. ``interval``: the diffusion times
        (τ_lo, τ_hi) where γ applies (γ = 1 elsewhere, see :mod:`engine.diffusion.guidance`).
        """
        self.check_guidance(label, guidance, guidance_kind)
        if interval is not None and guidance is None:
            raise InputError("a guidance interval needs a guidance scale: give --guidance too")
        # an exact mixture stands in for an EpsNet and for a classifier: the same calls
        fn = eps_function(self.net, self.process, label, guidance, guidance_kind or "cfg",  # type: ignore[arg-type]
                          self.classifier, check_interval(interval))  # type: ignore[arg-type]
        if grad:
            return fn

        def no_grad_fn(x: Tensor, tau: Tensor) -> Tensor:
            with torch.no_grad():
                return fn(x, tau)

        return no_grad_fn

    def check_guidance(self, label: int | None, guidance: float | None, guidance_kind: str | None) -> None:
        """InputError for a combination that cannot be sampled, in one sentence."""
        if guidance_kind is not None and guidance_kind not in GUIDANCE_KINDS:
            raise InputError(f"unknown guidance kind '{guidance_kind}'; choose one of {', '.join(GUIDANCE_KINDS)}")
        if label is None and guidance_kind is not None:
            raise InputError("guidance needs a class to guide towards: give --label too")
        check_class_request(label, guidance, self.num_classes)
        if guidance_kind == "classifier" and self.classifier is None:
            raise InputError("this model has no noisy classifier for classifier guidance; use --guidance-kind cfg")

    # -- sampling ------------------------------------------------------------------
    @property
    def default_sampler(self) -> str:
        return str(self.config.get("sampler", "ancestral" if self.kind == "ddpm" else "langevin"))

    def frames(self, n: int, *, seed: int | None = None, sampler: str | None = None, steps: int | None = None,
               label: int | None = None, guidance: float | None = None, guidance_kind: str | None = None,
               track: bool = True, **sampler_options: Any) -> Iterator[Frame]:
        """The sampler's frames in normalised coordinates; the last frame's ``x`` is the sample."""
        name = sampler or self.default_sampler
        eps, options = self.sampler_setup(name, label, guidance, guidance_kind, sampler_options)
        x, gen = self.initial_noise(n, seed)
        return run_sampler(name, eps, self.process, x, steps, gen, track, **options)

    def sampler_setup(self, name: str, label: int | None, guidance: float | None, guidance_kind: str | None,
                      sampler_options: dict[str, Any]) -> tuple[EpsFn, dict[str, Any]]:
        """The ε̂ a sampler runs on (clipped where that applies: ``clip_sample``, default on) and its options.

        ``guidance_interval`` (τ_lo, τ_hi) among the options limits guidance to those times.
        """
        check_sampler(name)
        options = self.sampler_options(sampler_options)
        eps = self.eps_fn(label, guidance, guidance_kind, interval=options.pop("guidance_interval", None))
        if options.pop("clip_sample", True) and name in CLIPPED_SAMPLERS:
            eps = self.clipped(eps)
            if name == "dpm++":  # its extrapolated x̂_0 too (see engine.diffusion.dpm_solver)
                options["bounds"] = self.x0_bounds()
        return eps, options

    def x0_bounds(self) -> tuple[Tensor, Tensor]:
        """The density's box in normalised coordinates: the corners (lo, hi) (2,) that x̂_0 is held within."""
        x0, x1, y0, y1 = self.config["box"]
        shift = torch.as_tensor(self.shift)
        lo = (torch.tensor((x0, y0), dtype=torch.float64) - shift) / self.scale
        hi = (torch.tensor((x1, y1), dtype=torch.float64) - shift) / self.scale
        return lo.float().to(self.device), hi.float().to(self.device)

    def clipped(self, eps: EpsFn) -> EpsFn:
        """ε̂ whose predicted clean point x̂_0 = (x − s ε̂)/a is held inside the density's box.

        Ho et al. (2020) clip x̂_0 to the data's range when sampling (diffusers' ``clip_sample``):
        a point that strays where no data were seen meets a network extrapolating freely, whose
        x̂_0 can lie far out and drag the point with it (~1 sample in 3,000 without this).
        """
        lo, hi = self.x0_bounds()
        coefs: dict[float, tuple[float, float]] = {}

        def fn(x: Tensor, tau: Tensor) -> Tensor:
            e = eps(x, tau)
            key = float(tau)
            if key not in coefs:
                at, st = self.process.marginal(torch.tensor(key, dtype=torch.float64))
                coefs[key] = (float(at), float(st))
            a, s = coefs[key]
            x0_hat = torch.add(x, e, alpha=-s).div_(a).clamp_(lo, hi)  # in place: 4 passes over the points
            return torch.add(x, x0_hat, alpha=-a).div_(s)

        return fn

    def initial_noise(self, n: int, seed: int | None = None) -> tuple[Tensor, torch.Generator]:
        """x_T ~ N(0, s(1)² I) (n, 2) in normalised coordinates, and the generator that drew it."""
        if int(n) < 1:
            raise InputError(f"the number of samples must be positive, not {n}")
        gen = torch.Generator().manual_seed(int(seed) if seed is not None else int(torch.seed() % 2**63))
        return torch.randn(int(n), 2, generator=gen).to(self.device) * self.process.prior_std, gen

    def sampler_options(self, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """The model's sampler options (variance, Langevin steps per level ...) with ``given`` on top."""
        return {**self.config.get("sampler_options", {}), **(given or {})}

    def sample(self, n: int, *, seed: int | None = None, sampler: str | None = None, steps: int | None = None,
               label: int | None = None, guidance: float | None = None, guidance_kind: str | None = None,
               **sampler_options: Any) -> np.ndarray:
        """(n, 2) float32 samples in model coordinates.

        Arguments:
            sampler: ``ancestral``, ``ddim``, ``sde``, ``ode``, ``langevin`` or ``dpm++`` (default: the model's).
            steps: sampler steps (see :mod:`engine.diffusion.samplers`).
            label: class to sample (conditional models).
            guidance: γ (0 unconditional, 1 conditional, > 1 sharper; needs ``label``).
            guidance_kind: ``cfg`` (default) or ``classifier``.
            guidance_interval: (τ_lo, τ_hi), the diffusion times where γ applies (γ = 1 elsewhere).
        """
        frames = self.frames(n, seed=seed, sampler=sampler, steps=steps, label=label, guidance=guidance,
                             guidance_kind=guidance_kind, track=False, **sampler_options)
        (last,) = deque(frames, maxlen=1)
        return self.from_z(last.x)

    # -- densities and fields --------------------------------------------------------
    def log_prob(self, x: np.ndarray, solver: str = "dopri5", steps: int = 100, level: int = 1) -> np.ndarray:
        """Exact log-density (nats) through the probability-flow ODE at (n, 2) points -> (n,) float64.

        The ODE starts at noise level ``level`` (1: the least noisy), so this is the density
        of data blurred by that level's s (1e-2 in normalised units at level 1 of DDPM's
        linear schedule), with the scale a of the level undone.
        """
        z = self.to_z(np.asarray(x, np.float64).reshape(-1, 2))
        t0 = float(self.process.level_time(level))
        a = float(self.process.signal(torch.tensor(t0, dtype=torch.float64)))
        flow = ProbabilityFlow(self.eps_fn(grad=True), self.process, solver=solver, steps=steps, max_nfe=self.max_nfe)
        lp = flow.log_prob(a * z, t0) + 2 * math.log(a) - 2 * math.log(self.scale)
        return lp.detach().cpu().numpy().astype(np.float64)

    def eps(self, x: np.ndarray, tau: float, label: int | None = None, guidance: float | None = None,
            guidance_kind: str | None = None) -> np.ndarray:
        """ε̂ at model-coordinate points (n, 2) and time τ, (n, 2) float32."""
        fn = self.eps_fn(label, guidance, guidance_kind)
        with torch.no_grad():
            return fn(self.to_z(x), torch.tensor(float(tau))).cpu().numpy().astype(np.float32)

    def score(self, x: np.ndarray, tau: float, label: int | None = None, guidance: float | None = None,
              guidance_kind: str | None = None) -> np.ndarray:
        """∇_x log p_τ(x) in model coordinates, (n, 2) float32: −ε̂/(s(τ) · scale)."""
        s = float(self.process.noise(torch.tensor(float(tau), dtype=torch.float64)))
        return (-self.eps(x, tau, label, guidance, guidance_kind) / (s * self.scale)).astype(np.float32)

    def class_probs(self, x: np.ndarray, tau: float) -> np.ndarray:
        """The noisy classifier's p(y | x_τ) at model-coordinate points, (n, C) float32."""
        if self.classifier is None:
            raise InputError("this model has no noisy classifier (train with --conditional)")
        with torch.no_grad():
            lp = self.classifier.log_probs(self.to_z(x), torch.tensor(float(tau)))  # type: ignore[operator]
        return lp.exp().cpu().numpy().astype(np.float32)

    # -- persistence -----------------------------------------------------------------
    def to_checkpoint(self) -> dict[str, Any]:
        extra = {} if self.classifier is None else {"classifier": _cpu(self.classifier.state_dict())}
        return {"kind": self.kind, "config": self.config, "state_dict": _cpu(self.net.state_dict()), "extra": extra}


def _cpu(sd: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().cpu().clone() for k, v in sd.items()}


def build_model(kind: str, config: dict[str, Any], state_dict: dict[str, Tensor] | None = None,
                classifier_state: dict[str, Tensor] | None = None,
                device: torch.device | str = "cpu") -> DiffusionModel:
    """A model from its configuration (and weights, when given).

    ``config`` holds ``net`` (width, depth, num_classes, emb_dim, fourier, radial, radial_scale), ``process``
    (see :func:`~engine.diffusion.schedules.make_process`), ``shift`` (2,), ``scale``, and
    optionally ``sampler``, ``sampler_options`` and ``classifier`` (width, depth).
    """
    nc = config["net"]
    film, act, radial = bool(nc.get("film", False)), str(nc.get("activation", "silu")), int(nc.get("radial", 0))
    radial_scale = float(nc.get("radial_scale", 0.0))

    def make_net() -> EpsNet:
        return EpsNet(int(nc["width"]), int(nc["depth"]), int(nc["num_classes"]), int(nc["emb_dim"]),
                      float(nc["fourier"]), film, act, radial, radial_scale)

    def make_classifier() -> NoisyClassifier:
        cc = config["classifier"]
        return NoisyClassifier(int(nc["num_classes"]), int(cc["width"]), int(cc["depth"]), int(nc["emb_dim"]),
                               float(nc["fourier"]), film, act, radial, radial_scale)

    with torch.device("meta"):  # shapes only: nothing is allocated before the weights are known to fit
        if state_dict is not None:
            check_state_dict(make_net().state_dict(), state_dict, "state_dict")
        if config.get("classifier") and classifier_state is not None:
            check_state_dict(make_classifier().state_dict(), classifier_state, "extra.classifier")
    net = make_net()
    if state_dict is not None:
        net.load_state_dict(state_dict)
    clf = None
    if config.get("classifier"):
        clf = make_classifier()
        if classifier_state is not None:
            clf.load_state_dict(classifier_state)
        clf.to(device)
    return DiffusionModel(kind, net.to(device), make_process(config["process"]), config, clf)
