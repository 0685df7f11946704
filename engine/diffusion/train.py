r"""Training DDPM and NCSN models: a generator of :class:`~engine.api.TrainSnapshot`.

Each step draws a batch of fresh data, noises it at random levels and takes one Adam step
on L_simple (DDPM) or denoising score matching (NCSN); an exponential moving average of
the weights is what gets sampled and saved. With ``conditional`` the labels are dropped
to the null label ∅ (classifier-free guidance): with ``paired`` (a conditional DDPM's
default) every noisy point of half a batch is seen twice, with its label and with ∅;
otherwise each label is dropped with probability ``label_dropout``. A noisy classifier p(y | x_t, τ) is trained on
(the first ``classifier_batch`` points of) the same noisy batch (classifier guidance).

The learning rate follows a cosine from ``lr`` to 5 % of it over the budget (steps or
seconds), times ``early_lr`` falling to 1 over its first tenth (DDPM: a good picture sooner).
Every ~0.5 s a snapshot carries 2,000 samples (50-100 stochastic steps) and the histogram TV
against the true density; the EMA weights with the lowest denoising loss on a fixed
held-out batch are kept as the best model.

References:
    | Ho et al. (2020) L_simple; Song & Ermon (2019) denoising score matching;
    | Ho & Salimans (2022) label dropout; Dhariwal & Nichol (2021) noisy classifier.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterator
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F

from ..api import HISTOGRAM_TV, TrainSnapshot
from ..cnf.optim import fade, fused_adam
from ..densities import Density
from ..errors import TrainingError
from ..guard import DivergenceGuard, check_learning_rate
from ..metrics import histogram_tv
from .model import DiffusionModel, build_model
from .nets import EpsNet, NoisyClassifier
from .options import max_spread, model_config
from .schedules import NoiseProcess

__all__ = ["DiffusionTrainer", "level_probabilities"]

POOL = 65_536  # data points drawn at a time
MONITOR_EVERY = 0.5  # seconds between snapshots with samples
MONITOR_SAMPLES = 2000
# How the monitor's samples (the picture shown while training) are drawn: a stochastic sampler,
# whose noise corrects what an early score gets wrong. Histogram TV of 20k samples over an exact
# sample's after 3 s of training (tests/bench/bench_first_picture.py): NCSN on 8gaussians,
# 25gaussians, moons with 50 DDIM steps 1.59 / 2.62 / 1.71, with 50 reverse-SDE steps 1.20 /
# 1.69 / 1.22; DDPM with DDIM 2.12 / 3.36 / 2.11, 50 ancestral steps 1.53 / 2.92 / 1.56. DDPM's
# steps are spread evenly in log-SNR (DDPM's linear schedule spreads its levels thinly where the
# noise is small): on 25gaussians and 2spirals 2.38 / 1.81 with the levels' even spread, 1.61 /
# 1.65 even in log-SNR, 1.53 / 1.60 with all 1,000 levels (the same 3-s model). 100 steps instead of 50
# (~35 ms more per look, 2,000 points every 0.5 s): 25gaussians 1.73 -> 1.57, checkerboard 1.51 -> 1.46.
PREVIEW: dict[str, tuple[str, int, dict[str, Any]]] = {
    "ddpm": ("ancestral", 100, {"spacing": "logsnr"}), "ncsn": ("sde", 50, {})}
# levels drawn per batch, each shared by a batch's 64th: the network's time conditioning, three
# quarters of its arithmetic, then runs once per level (engine.diffusion.nets.ConditionedMLP), and a
# DDPM step took 1.6 ms instead of 1.9 (NCSN, 100 levels, 1.5 instead of 1.9 with distinct levels alone)
LEVELS_PER_BATCH = 64
# the share of the budget over which the ``early_lr`` multiplier falls to 1
EARLY_LR_UNTIL = 0.1
# held-out points that choose the best model: with 4,096 the choice followed the batch's noise and
# could fall half a run early; 16,384 cost ~3 ms a check
HELDOUT = 16_384
# share of the training levels drawn uniformly over all levels with t_sampling "logsnr": the
# noisiest levels, where the prior is, are still seen now and then
LOGSNR_FLOOR = 0.05
# t_sampling "logsnr-mixed" (DDPM's default): until this share of the budget the uniform half of the
# "mixed" levels is drawn evenly in log-SNR instead ("early"), then a linear change to "mixed". The
# picture comes sooner (histogram TV over an exact sample's after 3 s, bench_first_picture.py:
# 2spirals 2.43-2.55 -> 1.75-1.83, checkerboard 1.71-1.80 -> 1.43-1.60, pinwheel 1.47-1.55 ->
# 1.35-1.44). Levels all even in log-SNR early on drew it sooner still (1.72, 1.38-1.40, 1.35) but
# left 25gaussians' probability-flow NLL 0.046-0.047 nats above the entropy after 60 s, against
# 0.016-0.025 with "mixed" throughout and 0.009 with this
LOGSNR_UNTIL = (0.1, 0.2)


class DiffusionTrainer:
    """Trains one DDPM or NCSN model on a density (see the module docstring).

    Arguments:
        kind: ``ddpm`` or ``ncsn``.  density: the data.
        options: checked training options (``engine.diffusion.OPTIONS[kind]`` filled in).
        device: where to train.  seed: seeds data, noise and initial weights.
    """

    def __init__(self, kind: str, density: Density, options: dict[str, Any], device: torch.device, seed: int) -> None:
        self.kind, self.density, self.opts, self.device, self.seed = kind, density, options, device, int(seed)
        torch.manual_seed(self.seed)
        self.gen = torch.Generator().manual_seed(self.seed)
        self._rng = np.random.default_rng(self.seed)
        self._refill()
        self.config = model_config(kind, density, options, self._pool_x)
        self.model = build_model(kind, self.config, device=device)
        self.net = cast(EpsNet, self.model.net)  # build_model makes an EpsNet
        self.process: NoiseProcess = self.model.process
        self.net.train()
        self.ema = copy.deepcopy(self.net).eval()
        self._ema_params: list[torch.Tensor] = list(self.ema.parameters())
        self._net_params: list[torch.Tensor] = list(self.net.parameters())
        self.opt = _adam(self.net, float(options["lr"]))
        self.classifier = cast("NoisyClassifier | None", self.model.classifier)
        self.clf_opt = None
        if self.classifier is not None:
            self.classifier.train()
            self.clf_opt = _adam(self.classifier, float(options["lr"]))
        self.base_lr = float(options["lr"])
        self._pending_lr: float | None = None
        self._heldout = self._make_heldout()
        self._reference = density.sample(20_000, seed=self.seed + 7).x
        # the TV an exact sampler would read: an exact sample of the monitor's size against the same
        # reference (histogram noise alone), so the curve's figure can be judged against it
        self.exact_sample_tv = histogram_tv(density.sample(MONITOR_SAMPLES, seed=self.seed + 5).x, self._reference,
                                            density.box)
        self.best_loss = math.inf
        self.best_step: int | None = None
        self._best_state = copy.deepcopy(self.ema.state_dict())
        self._best_clf = None if self.classifier is None else copy.deepcopy(self.classifier.state_dict())
        self.step = 0
        self.elapsed = 0.0
        self._last_loss = math.nan
        # the ε error of normalised data starts near 2: 20 above the best median is a run come apart
        self.guard = DivergenceGuard(margin=20.0)

    # -- data ------------------------------------------------------------------------
    def _refill(self) -> None:
        smp = self.density.sample(POOL, seed=self._rng)
        self._pool_x = smp.x
        self._pool_y = None if smp.labels is None else torch.from_numpy(smp.labels).to(self.device)
        self._pool_z: torch.Tensor | None = None  # normalised once the model (and its shift, scale) exists
        self._pool_used = 0

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        b = int(self.opts["batch"])
        if self._pool_used + b > POOL:
            self._refill()
        if self._pool_z is None:
            self._pool_z = self.model.to_z(self._pool_x)
        idx = torch.randint(0, POOL, (b,), generator=self.gen).to(self.device)
        self._pool_used += b
        return self._pool_z[idx], None if self._pool_y is None else self._pool_y[idx]

    def _make_heldout(self) -> dict[str, torch.Tensor | None]:
        smp = self.density.sample(HELDOUT, seed=self.seed + 1)
        g = torch.Generator().manual_seed(self.seed + 2)
        t = torch.randint(1, self.process.num_levels + 1, (HELDOUT,), generator=g)
        noise = torch.randn(HELDOUT, 2, generator=g).to(self.device)
        x0 = self.model.to_z(smp.x)
        y = None if smp.labels is None or not self.net.num_classes else torch.from_numpy(smp.labels).to(self.device)
        tau = self.process.level_time(t).float().to(self.device)
        return {"x_t": self.process.add_noise(x0, noise, t), "tau": tau, "noise": noise, "y": y}

    # -- one step ----------------------------------------------------------------------
    def _lr_at(self, fraction: float) -> float:
        warm = min(1.0, (self.step + 1) / 100)  # a short warm-up keeps Adam's first steps small
        early = 1.0 + (float(self.opts["early_lr"]) - 1.0) * fade(fraction, 0.0, EARLY_LR_UNTIL)
        return self.base_lr * warm * early * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(fraction, 1.0))))

    def _train_step(self, fraction: float) -> float:
        if self._pending_lr is not None:
            self.base_lr, self._pending_lr = self._pending_lr, None
        lr = self._lr_at(fraction)
        for o in (self.opt, self.clf_opt):
            if o is not None:
                for group in o.param_groups:
                    group["lr"] = lr
        x0, y = self._batch()
        paired = y is not None and bool(self.opts["paired"]) and bool(self.net.num_classes)
        if paired:
            half = max(1, len(x0) // 2)
            x0, y = x0[:half], y[:half]  # type: ignore[index]
        t = self._levels(len(x0), fraction)
        noise = torch.randn(x0.shape, generator=self.gen).to(self.device)
        x_t = self.process.add_noise(x0, noise, t)
        tau = self.process.level_time(t).float().to(self.device)
        if paired:
            # each noisy point twice, with its label and with ∅: the shared ε cancels from what
            # guidance amplifies, ε_θ(x, y) − ε_θ(x, ∅)
            null = torch.full_like(y, self.net.null_label)  # type: ignore[arg-type]
            inputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] = (
                torch.cat([x_t, x_t]), torch.cat([tau, tau]), torch.cat([y, null]))  # type: ignore[list-item]
            target = torch.cat([noise, noise])
        else:
            inputs, target = (x_t, tau, self._drop_labels(y)), noise
        loss = ((self.net(*inputs) - target) ** 2).sum(1).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if self.classifier is not None and y is not None and self.clf_opt is not None:
            m = min(len(y), int(self.opts["classifier_batch"]))  # the batch is already in random order
            clf_loss = F.cross_entropy(self.classifier(x_t[:m], tau[:m]), y[:m])
            self.clf_opt.zero_grad(set_to_none=True)
            clf_loss.backward()
            self.clf_opt.step()
        self._update_ema()
        return float(loss.detach())

    def _levels(self, n: int, fraction: float = 1.0) -> torch.Tensor:
        """Training levels (n,) when ``fraction`` of the budget is done: uniform (L_simple), or drawn by
        :func:`level_probabilities` (``logsnr-mixed``: ``early`` first, then ``mixed``, see LOGSNR_UNTIL).
        At most :data:`LEVELS_PER_BATCH` are drawn, each for the next n/64 points (in random order), unless
        the model has labels (each point's own label makes its conditioning its own anyway)."""
        m = n if self.net.num_classes else min(n, LEVELS_PER_BATCH)
        return self._draw_levels(m, fraction).repeat_interleave(-(-n // m))[:n]

    def _draw_levels(self, n: int, fraction: float) -> torch.Tensor:
        mode = self.opts.get("t_sampling", "uniform")
        if mode == "uniform":
            return torch.randint(1, self.process.num_levels + 1, (n,), generator=self.gen)
        if not hasattr(self, "_level_probs"):
            spread = max(1.0, max_spread((self._pool_x - self.model.shift) / self.model.scale))
            self._level_probs = {m: level_probabilities(self.process, m, spread) for m in ("early", "logsnr", "mixed")}
        if mode == "logsnr-mixed":
            late = 1.0 - fade(fraction, *LOGSNR_UNTIL)
            probs = torch.lerp(self._level_probs["early"], self._level_probs["mixed"], late)
        else:
            probs = self._level_probs[mode]
        return torch.multinomial(probs, n, replacement=True, generator=self.gen) + 1

    def _drop_labels(self, y: torch.Tensor | None) -> torch.Tensor | None:
        if y is None or not self.net.num_classes:
            return None
        drop = torch.rand(len(y), generator=self.gen).to(self.device) < float(self.opts["label_dropout"])
        return torch.where(drop, torch.full_like(y, self.net.null_label), y)

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = min(float(self.opts["ema"]), (1 + self.step) / (10 + self.step))
        torch._foreach_lerp_(self._ema_params, self._net_params, 1 - decay)  # one call for all tensors

    # -- monitoring ----------------------------------------------------------------------
    @torch.no_grad()
    def _heldout_loss(self) -> float:
        h = self._heldout
        eps = self.ema(h["x_t"], h["tau"], h["y"])
        return float(((eps - h["noise"]) ** 2).sum(1).mean())

    def _monitor(self) -> tuple[float, np.ndarray]:
        loss = self._heldout_loss()
        if loss < self.best_loss:
            self.best_loss, self.best_step = loss, self.step
            self._best_state = copy.deepcopy(self.ema.state_dict())
            if self.classifier is not None:
                self._best_clf = copy.deepcopy(self.classifier.state_dict())
        sampler, steps, options = self.preview_sampler()
        samples = self.current_model().sample(MONITOR_SAMPLES, seed=self.seed + 3, sampler=sampler, steps=steps,
                                           **options)
        return histogram_tv(samples, self._reference, self.density.box), samples

    def preview_sampler(self) -> tuple[str, int, dict[str, Any]]:
        """The sampler, steps and sampler options of the samples shown while training (see PREVIEW)."""
        name, steps, options = PREVIEW[self.kind]
        return name, min(steps, self.process.num_levels), dict(options)

    def current_model(self) -> DiffusionModel:
        """The model as the live preview samples it: the EMA weights as they are now (shared, not copied)."""
        return DiffusionModel(self.kind, self.ema, self.process, self.config, self.classifier)

    # -- public --------------------------------------------------------------------------
    def set_learning_rate(self, lr: float) -> None:
        """Change the base learning rate; safe from another thread (taken at the next step)."""
        self._pending_lr = check_learning_rate(lr)

    def best_model(self) -> DiffusionModel:
        """The EMA weights with the lowest held-out loss so far (the last good ones after a failure)."""
        clf = None
        if self.classifier is not None:
            clf = copy.deepcopy(self.classifier)
            if self._best_clf is not None:
                clf.load_state_dict(self._best_clf)
            clf.eval()
        net = copy.deepcopy(self.ema)
        net.load_state_dict(self._best_state)
        return DiffusionModel(self.kind, net, self.process, self.config, clf)

    def run(self, steps: int | None = None, seconds: float | None = None) -> Iterator[TrainSnapshot]:
        """Train for ``steps`` steps or ``seconds`` of training time (default: the ``default_steps`` option).

        Yields a snapshot after every step; time spent while the caller holds the generator
        (a pause) does not count. Raises :class:`TrainingError` when the loss stops being finite.
        """
        if steps is None and seconds is None:
            steps = int(self.opts["default_steps"])
        start_step, last_monitor, rate = self.step, -math.inf, 0.0
        while True:
            done = (self.step - start_step) / steps if steps else self.elapsed / float(seconds or 1)
            if done >= 1.0:
                break
            t0 = time.perf_counter()
            loss = self._last_loss = self._train_step(done)
            self.step += 1
            try:
                self.guard.check(loss, self.base_lr)
            except TrainingError as e:
                raise TrainingError(f"training diverged at step {self.step}: {e}; kept the model of step "
                                    f"{self.best_step or 0}") from None
            dt = time.perf_counter() - t0
            rate = 1 / dt if rate == 0 else 0.95 * rate + 0.05 / max(dt, 1e-9)
            metric, samples = None, None
            if self.elapsed + dt - last_monitor >= MONITOR_EVERY:
                metric, samples = self._monitor()
                last_monitor = self.elapsed + dt
            self.elapsed += time.perf_counter() - t0
            yield TrainSnapshot(
                step=self.step, elapsed=self.elapsed, loss=loss, lr=self.opt.param_groups[0]["lr"], steps_per_s=rate,
                total_steps=(start_step + steps) if steps else None, budget_seconds=seconds,
                metric_name=HISTOGRAM_TV if metric is not None else None, metric=metric,
                metric_reference=self.exact_sample_tv if metric is not None else None,
                best_step=self.best_step, samples=samples,
            )
        yield self._final_snapshot(steps, seconds, rate)

    def _final_snapshot(self, steps: int | None, seconds: float | None, rate: float) -> TrainSnapshot:
        """The budget's end: a last look at the EMA weights, and the best model's held-out NLL."""
        metric, samples = self._monitor()
        heldout = self.density.sample(1000, seed=self.seed + 4).x
        nll = float(-np.mean(self.best_model().log_prob(heldout, solver="rk4", steps=50)))
        return TrainSnapshot(
            step=self.step, elapsed=self.elapsed, loss=self._last_loss, lr=self.opt.param_groups[0]["lr"],
            steps_per_s=rate, total_steps=self.step if steps else None, budget_seconds=seconds,
            heldout_nll=nll if math.isfinite(nll) else None, metric_name=HISTOGRAM_TV, metric=metric,
            metric_reference=self.exact_sample_tv, best_step=self.best_step, samples=samples,
        )


def level_probabilities(process: NoiseProcess, mode: str, spread: float) -> torch.Tensor:
    """Probabilities (L,) of the training levels (float32) for ``mode``:

    ``likelihood``: ∝ g²/s² (the likelihood weighting). ``mixed``: half uniform, half
    ``likelihood``. ``logsnr``: even in log-SNR over the levels whose noise-to-signal ratio s/a
    is at most ``spread`` (the data's largest distance in normalised units, NCSN's σ_max rule:
    noisier levels only blur one Gaussian into another), plus :data:`LOGSNR_FLOOR` spread
    uniformly over every level. ``early``: half ``logsnr``, half ``likelihood``.
    """
    tau = process.times
    if mode in ("likelihood", "mixed"):
        w = process.g2(tau) / process.noise(tau) ** 2
        lik = w / w.sum()
        return (lik if mode == "likelihood" else 0.5 / len(tau) + 0.5 * lik).float()
    if mode == "early":
        return 0.5 * (level_probabilities(process, "logsnr", spread) + level_probabilities(process, "likelihood",
                                                                                           spread))
    a, s = process.marginal(tau)
    lam = 2 * (a.log() - s.log())  # log-SNR, falling with the level
    edges = torch.cat([lam[:1], 0.5 * (lam[1:] + lam[:-1]), lam[-1:]])
    w = (edges[:-1] - edges[1:]).clamp(min=0) * (lam >= -2 * math.log(spread))
    return (LOGSNR_FLOOR / len(tau) + (1 - LOGSNR_FLOOR) * w / w.sum()).float()


def _adam(module: torch.nn.Module, lr: float) -> torch.optim.Adam:
    return fused_adam(module.parameters(), lr=lr)
