"""A tiny model family for GUI tests: fits a Gaussian by maximum likelihood.

It follows engine/api.py's contract exactly, so the window, worker and checkpoint code can be
tested in seconds, independently of the real models.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from engine.api import TrainSnapshot
from engine.densities import Density
from engine.errors import InputError, TrainingError

KINDS = ("cnf", "ddpm", "ncsn", "fm")
_BASE = {"lr": 0.05, "batch": 64, "steps": 300, "fail_at": -1, "step_delay": 0.002}
OPTIONS = {k: dict(_BASE) for k in KINDS}


class GaussianModel:
    def __init__(self, kind: str, mean: torch.Tensor, log_std: torch.Tensor) -> None:
        self.kind, self.num_classes = kind, 0
        self.mean, self.log_std = mean.detach().clone(), log_std.detach().clone()

    def sample(self, n: int, *, seed: int | None = None, **options: Any) -> np.ndarray:
        if options.get("label") is not None:
            raise InputError("this model is unconditional")
        g = torch.Generator().manual_seed(seed or 0)
        return (self.mean + torch.exp(self.log_std) * torch.randn(n, 2, generator=g)).numpy().astype(np.float32)

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        z = (torch.as_tensor(x, dtype=torch.float64) - self.mean.double()) / torch.exp(self.log_std.double())
        return (-0.5 * (z**2).sum(1) - self.log_std.double().sum() - math.log(2 * math.pi)).numpy()

    def to_checkpoint(self) -> dict[str, Any]:
        return {"kind": self.kind, "config": {}, "state_dict": {"mean": self.mean, "log_std": self.log_std}}


class GaussianTrainer:
    def __init__(self, kind: str, density: Density, options: dict[str, Any], seed: int) -> None:
        self.kind, self.density, self.o = kind, density, options
        torch.manual_seed(seed)
        self.mean = torch.zeros(2, requires_grad=True)
        self.log_std = torch.zeros(2, requires_grad=True)
        self.opt = torch.optim.Adam([self.mean, self.log_std], lr=options["lr"])
        self.best = GaussianModel(kind, self.mean, self.log_std)
        self.pending_lr: float | None = None
        self.rng = np.random.default_rng(seed)

    def set_learning_rate(self, lr: float) -> None:
        self.pending_lr = lr

    def best_model(self) -> GaussianModel:
        return self.best

    def run(self, steps: int | None = None, seconds: float | None = None) -> Iterator[TrainSnapshot]:
        total = steps if steps is not None else (None if seconds else self.o["steps"])
        elapsed, step = 0.0, 0
        while (total is None or step < total) and (seconds is None or elapsed < seconds):
            t0 = time.perf_counter()
            if self.pending_lr is not None:
                for g in self.opt.param_groups:
                    g["lr"] = self.pending_lr
                self.pending_lr = None
            x = torch.from_numpy(self.density.sample(self.o["batch"], seed=self.rng).x)
            loss = -torch.as_tensor(GaussianModel(self.kind, self.mean, self.log_std).log_prob(x.numpy())).mean()
            z = (x - self.mean) / torch.exp(self.log_std)
            nll = (0.5 * (z**2).sum(1) + self.log_std.sum() + math.log(2 * math.pi)).mean()
            self.opt.zero_grad()
            nll.backward()
            self.opt.step()
            step += 1
            if step == self.o["fail_at"]:
                raise TrainingError(f"loss became NaN at step {step}")
            self.best = GaussianModel(self.kind, self.mean, self.log_std)
            time.sleep(self.o["step_delay"])
            elapsed += time.perf_counter() - t0
            samples = self.best.sample(500, seed=step) if step % 10 == 0 else None
            yield TrainSnapshot(step=step, elapsed=elapsed, loss=float(loss), lr=self.opt.param_groups[0]["lr"],
                                steps_per_s=step / max(elapsed, 1e-9), total_steps=total, budget_seconds=seconds,
                                heldout_nll=float(nll.detach()), metric_name="held-out NLL", metric=float(nll.detach()),
                                best_step=step, samples=samples)


def make_trainer(kind: str, density: Density, options: dict[str, Any], device: torch.device,
                 seed: int) -> GaussianTrainer:
    return GaussianTrainer(kind, density, options, seed)


def load_model(ckpt: dict[str, Any], device: torch.device) -> GaussianModel:
    sd = ckpt["state_dict"]
    return GaussianModel(ckpt["kind"], sd["mean"], sd["log_std"])
