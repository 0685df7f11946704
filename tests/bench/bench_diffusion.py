"""Benchmark: flowscope's diffusion defaults beside a tiny-diffusion-like reference; prints JSON.

For each density and model it trains for ``--seconds`` (one torch thread), then measures

* ``tv``: total variation between 64x64 histograms of ``--n`` samples and of an exact
  sample, next to ``tv_exact`` (two exact samples) and their ratio (target <= 1.5);
* ``nll`` / ``gap``: held-out NLL through the probability-flow ODE against the true
  entropy, on analytic densities (target |gap| <= 0.10 nats); ``gap_paired`` subtracts
  the true NLL of the same points instead (an estimate of the KL without sampling noise);
* ``label_share_min``: the smallest share of samples in the asked class, over classes,
  with guidance gamma = 3 (conditional models; target >= 0.97);

and once, the time to sample 10k points with 1000 ancestral steps (target <= 2 s).

Usage::

    python tests/bench/bench_diffusion.py --seconds 60 --clock cpu --densities 8gaussians,checkerboard \
        --models ddpm,reference,ncsn,ddpm-cond

The reference follows tiny-diffusion: sinusoidal embeddings of x, y (scale 25) and t,
concatenated into an MLP of three residual 128-unit GELU blocks, T = 50 linear betas from
1e-4 to 0.02, batch 32, AdamW at 1e-3 with gradient clipping, on the raw coordinates.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import deque
from typing import Any

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from engine.densities import get_density  # noqa: E402
from engine.densities.base import Density  # noqa: E402
from engine.device import configure_threads  # noqa: E402
from engine.diffusion import make_trainer  # noqa: E402
from engine.diffusion import train as train_module  # noqa: E402
from engine.metrics import histogram_tv  # noqa: E402

# ---------------------------------------------------------------------------------------------
# the reference


def _sinusoid(v: torch.Tensor, size: int, scale: float) -> torch.Tensor:
    half = size // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half) / (half - 1))
    args = (v * scale)[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], 1)


class _Block(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.lin, self.act = nn.Linear(width, width), nn.GELU()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.act(self.lin(h))


class ReferenceNet(nn.Module):
    """tiny-diffusion's MLP: embeddings of x, y (scale 25) and t, 3 residual GELU blocks of 128."""

    def __init__(self, width: int = 128, emb: int = 128) -> None:
        super().__init__()
        self.emb = emb
        self.body = nn.Sequential(nn.Linear(3 * emb, width), nn.GELU(), *[_Block(width) for _ in range(3)],
                                  nn.Linear(width, 2))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        feats = [_sinusoid(x[:, 0], self.emb, 25.0), _sinusoid(x[:, 1], self.emb, 25.0), _sinusoid(t, self.emb, 1.0)]
        return self.body(torch.cat(feats, 1))


class Reference:
    """Train and sample the tiny-diffusion-like model (T = 50, batch 32, AdamW 1e-3)."""

    def __init__(self, seed: int, T: int = 50) -> None:
        torch.manual_seed(seed)
        self.net, self.T = ReferenceNet(), T
        self.betas = torch.linspace(1e-4, 0.02, T)
        self.abar = torch.cumprod(1 - self.betas, 0)
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=1e-3)
        self.steps = 0

    def train(self, density: Density, seconds: float, seed: int) -> None:
        data = torch.from_numpy(density.sample(8000, seed=seed).x)  # tiny-diffusion's 8,000 points
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            x0 = data[torch.randint(0, len(data), (32,))]
            t = torch.randint(0, self.T, (32,))
            noise = torch.randn_like(x0)
            ab = self.abar[t][:, None]
            loss = nn.functional.mse_loss(self.net(ab.sqrt() * x0 + (1 - ab).sqrt() * noise, t.float()), noise)
            self.opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
            self.opt.step()
            self.steps += 1

    @torch.no_grad()
    def sample(self, n: int, seed: int) -> np.ndarray:
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n, 2, generator=g)
        for t in range(self.T - 1, -1, -1):
            eps = self.net(x, torch.full((n,), float(t)))
            ab, b = self.abar[t], self.betas[t]
            x = (x - b / (1 - ab).sqrt() * eps) / (1 - b).sqrt()
            if t > 0:
                var = b * (1 - self.abar[t - 1]) / (1 - ab)
                x = x + var.clamp(min=1e-20).sqrt() * torch.randn(n, 2, generator=g)
        return x.numpy()


# ---------------------------------------------------------------------------------------------
# measurements


def _tv(samples: np.ndarray, density: Density, n: int) -> dict[str, float]:
    truth = density.sample(n, seed=101).x
    tv = histogram_tv(samples, truth, density.box)
    tv0 = histogram_tv(density.sample(n, seed=102).x, truth, density.box)
    return {"tv": round(tv, 4), "tv_exact": round(tv0, 4), "tv_ratio": round(tv / tv0, 3)}


def _train_flowscope(kind: str, density: Density, seconds: float, conditional: bool,
                     options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    opts = {**options, **({"conditional": True} if conditional else {})}
    trainer = make_trainer(kind, density, opts, torch.device("cpu"), 0)
    (last,) = deque(trainer.run(seconds=seconds), maxlen=1)
    return trainer.best_model(), {"train_steps": last.step, "steps_per_s": round(last.step / max(last.elapsed, 1e-9))}


def _label_share(model: Any, density: Density, kind: str, n: int = 2000) -> float:
    shares = []
    for k in range(density.num_classes):
        x = model.sample(n, seed=7 + k, label=k, guidance=3.0, guidance_kind=kind)
        shares.append(float((density.classify(x) == k).mean()))
    return round(min(shares), 4)


def bench_flowscope(name: str, model_name: str, density: Density, args: argparse.Namespace) -> dict[str, Any]:
    kind = "ncsn" if model_name == "ncsn" else "ddpm"
    conditional = model_name.endswith("-cond")
    model, out = _train_flowscope(kind, density, args.seconds, conditional, args.options)
    t0 = time.perf_counter()
    samples = model.sample(args.n, seed=11)
    out["sample_s"] = round(time.perf_counter() - t0, 2)
    out.update(_tv(samples, density, args.n))
    if density.analytic and not args.no_nll:
        t0 = time.perf_counter()
        pts = density.sample(args.nll_points, seed=103).x
        nll = float(-np.mean(model.log_prob(pts)))
        ent = float(density.entropy())  # type: ignore[arg-type]
        # the same points' true NLL: the paired difference is the KL estimate without the sample's own noise
        true_nll = float(-np.mean(density.log_prob(torch.from_numpy(pts).double()).numpy()))
        out.update({"nll": round(nll, 4), "entropy": round(ent, 4), "gap": round(nll - ent, 4),
                    "gap_paired": round(nll - true_nll, 4), "nll_s": round(time.perf_counter() - t0, 1)})
    if conditional:
        out["label_share_min_cfg"] = _label_share(model, density, "cfg")
        out["label_share_min_classifier"] = _label_share(model, density, "classifier")
    if args.speed and model_name == "ddpm" and "speed" not in args.done:
        args.done.add("speed")
        out["ancestral_10k_1000_s"] = _sampling_speed(model)
    return {"density": name, "model": model_name, **out}


def _sampling_speed(model: Any, repeats: int = 3) -> dict[str, list[float]]:
    """Wall-clock and CPU seconds (the CPU time is what a quiet core would take: the machine is shared)."""
    wall, cpu = [], []
    for r in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        model.sample(10_000, seed=r, sampler="ancestral", steps=1000)
        wall.append(round(time.perf_counter() - t0, 2))
        cpu.append(round(time.process_time() - c0, 2))
    return {"wall_s": wall, "cpu_s": cpu}


def bench_reference(name: str, density: Density, args: argparse.Namespace) -> dict[str, Any]:
    ref = Reference(seed=0)
    t0 = time.perf_counter()
    ref.train(density, args.seconds, seed=0)
    out: dict[str, Any] = {"train_steps": ref.steps, "steps_per_s": round(ref.steps / (time.perf_counter() - t0))}
    t0 = time.perf_counter()
    samples = ref.sample(args.n, seed=11)
    out["sample_s"] = round(time.perf_counter() - t0, 2)
    out.update(_tv(samples, density, args.n))
    return {"density": name, "model": "reference", **out}


def _option(text: str) -> tuple[str, Any]:
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


class _CpuClock:
    """Stands in for the ``time`` module inside the trainer: its budget counts the process's CPU time."""

    perf_counter = staticmethod(time.process_time)
    monotonic = staticmethod(time.process_time)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0, help="training budget per model and density")
    p.add_argument("--densities", default="8gaussians,25gaussians,checkerboard,moons,2spirals,rings,pinwheel,"
                   "circles,swissroll,banana,funnel,twomodes,gaussian")
    p.add_argument("--models", default="ddpm,reference", help="any of ddpm, ddpm-cond, ncsn, ncsn-cond, reference")
    p.add_argument("--n", type=int, default=20_000, help="samples for the histogram TV")
    p.add_argument("--nll-points", type=int, default=2000)
    p.add_argument("--no-nll", action="store_true")
    p.add_argument("--no-speed", dest="speed", action="store_false", help="skip the 10k x 1000-step timing")
    p.add_argument("--speed-only", action="store_true", help="only the timing, on an untrained default model")
    p.add_argument("--threads", type=int, default=1, help="torch threads (training and sampling)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a training option instead of its default (repeatable), e.g. t_sampling=mixed")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="what the trainers' seconds count: cpu gives what a core of one's own would (shared machine)")
    args = p.parse_args()
    if args.clock == "cpu":
        train_module.time = _CpuClock  # type: ignore[attr-defined]
    args.options = dict(_option(o) for o in args.option)
    args.done = set()
    configure_threads(args.threads)
    if args.speed_only:
        model = make_trainer("ddpm", get_density("8gaussians"), {}, torch.device("cpu"), 0).best_model()
        print(json.dumps({"ancestral_10k_1000": _sampling_speed(model), "torch_threads": torch.get_num_threads(),
                          "load": os.getloadavg()}))
        return
    results = []
    load0 = os.getloadavg()
    for name in args.densities.split(","):
        density = get_density(name)
        for model_name in args.models.split(","):
            if model_name.endswith("-cond") and density.num_classes < 2:
                continue
            t0 = time.perf_counter()
            if model_name == "reference":
                row = bench_reference(name, density, args)
            else:
                row = bench_flowscope(name, model_name, density, args)
            row["load_1min"] = round(os.getloadavg()[0], 2)
            row["wall_s"] = round(time.perf_counter() - t0, 1)
            results.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    print(json.dumps({"seconds": args.seconds, "n": args.n, "options": args.options,
                      "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(),
                      "load_before": [round(v, 2) for v in load0],
                      "load_after": [round(v, 2) for v in os.getloadavg()], "results": results}, indent=1))


if __name__ == "__main__":
    main()
