"""The engine on CUDA: training, sampling, log-densities and the Fokker–Planck solver.

Every test compares the GPU with the CPU on the same weights and seeds (or with a closed
form where the GPU draws its own random numbers); they are skipped where torch sees no
CUDA device. The last tests run tests/bench/bench_gpu.py on the CPU.
"""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from engine.api import FAMILIES, make_trainer
from engine.cnf import CNF
from engine.densities import get_density
from engine.sde import FokkerPlanck, Grid, euler_maruyama, initial_density, make_sde

CUDA = torch.device("cuda")
CPU = torch.device("cpu")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
KINDS = [k for k in ("cnf", "ddpm", "ncsn", "fm") if k in FAMILIES]
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SMALL = {"cnf": {"batch": 64, "sample_every": 0.0, "eval_every": 1e9, "heldout": 200},
         "ddpm": {"batch": 128}, "ncsn": {"batch": 128}}


def _on(module: torch.nn.Module, device: torch.device) -> bool:
    return all(p.device.type == device.type for p in module.parameters())


@needs_cuda
@pytest.mark.parametrize("kind", KINDS)
def test_training_steps_on_cuda_keep_the_model_there_and_learn(kind: str) -> None:
    """A few steps on the GPU: finite losses, weights on the GPU, weights that moved."""
    trainer = make_trainer(kind, get_density("8gaussians"), SMALL.get(kind, {}), CUDA, 0)
    before = copy.deepcopy(trainer.best_model().to_checkpoint()["state_dict"])
    snaps = list(trainer.run(steps=5))
    assert all(math.isfinite(s.loss) for s in snaps)
    model = trainer.best_model()
    net = model.field if kind == "cnf" else getattr(model, "net", None)
    if isinstance(net, torch.nn.Module):
        assert _on(net, CUDA)
    after = trainer.current_model() if kind == "cnf" else model
    state = after.to_checkpoint()["state_dict"]
    assert all(v.device.type == "cpu" for v in state.values())  # checkpoints are written from host memory
    assert any(not torch.equal(before[k], state[k]) for k in before if k in state)


def _cpu_and_cuda(kind: str):  # type: ignore[no-untyped-def]
    """The same (briefly trained) model on the CPU and on the GPU."""
    trainer = make_trainer(kind, get_density("8gaussians"), SMALL.get(kind, {}), CPU, 0)
    for _ in trainer.run(steps=20):
        pass
    model = trainer.best_model()
    gpu = copy.deepcopy(model)
    if kind == "cnf":
        return model, gpu.to(CUDA)
    gpu.net.to(CUDA)
    if gpu.classifier is not None:
        gpu.classifier.to(CUDA)
    gpu.device = CUDA
    return model, gpu


@needs_cuda
@pytest.mark.parametrize("kind", [k for k in KINDS if k != "fm"])
def test_sampling_on_cuda_matches_the_cpu(kind: str) -> None:
    """The noise comes from a seeded CPU generator, so both devices carry the same points."""
    cpu, gpu = _cpu_and_cuda(kind)
    opts = {"steps": 50} if kind == "ddpm" else {}
    a, b = cpu.sample(2000, seed=3, **opts), gpu.sample(2000, seed=3, **opts)
    assert b.dtype == np.float32 and b.shape == (2000, 2)
    assert np.median(np.abs(a - b)) < 1e-3


@needs_cuda
@pytest.mark.parametrize("sampler", ["sde", "rk4", "dopri5"])
def test_fm_sampling_on_cuda_matches_the_cpu(sampler: str) -> None:
    """The noise and the stochastic sampler's kicks come from a seeded CPU generator: the same points on both."""
    trainer = make_trainer("fm", get_density("8gaussians"), {}, CPU, 0)
    for _ in trainer.run(steps=20):
        pass
    model = trainer.best_model()
    gpu = copy.deepcopy(model).to(CUDA)
    a, b = model.sample(2000, seed=3, sampler=sampler), gpu.sample(2000, seed=3, sampler=sampler)
    assert b.dtype == np.float32 and b.shape == (2000, 2)
    assert np.median(np.abs(a - b)) < 1e-3


@needs_cuda
@pytest.mark.parametrize("kind", ["cnf", "ddpm"])
def test_log_densities_on_cuda_match_the_cpu(kind: str) -> None:
    cpu, gpu = _cpu_and_cuda(kind)
    x = get_density("8gaussians").sample(500, seed=4).x
    a, b = cpu.log_prob(x), gpu.log_prob(x)
    assert np.all(np.isfinite(b))
    assert np.max(np.abs(a - b)) < 1e-2


@needs_cuda
def test_cnf_moved_to_cuda_takes_host_points() -> None:
    cpu, gpu = _cpu_and_cuda("cnf")
    assert isinstance(gpu, CNF)
    x = torch.zeros(10, 2)
    assert gpu.velocity(x, 0.5).device.type == "cuda"


@needs_cuda
def test_fokker_planck_on_cuda_matches_the_cpu() -> None:
    density, sde = get_density("8gaussians"), make_sde("ou")
    grid = Grid((-6.0, 6.0, -6.0, 6.0), 96)
    p0 = initial_density(density, grid)
    times = [0.0, 0.2, 0.5]
    cpu = [f.p for f in FokkerPlanck(sde, grid, device=CPU).solve(p0, times)]
    gpu = list(FokkerPlanck(sde, grid, device=CUDA).solve(p0, times))
    for f, ref in zip(gpu, cpu):
        assert isinstance(f.p, np.ndarray) and f.p.dtype == np.float32
        assert abs(f.mass - 1) < 1e-4
        assert np.abs(f.p - ref).max() < 1e-4 * max(1.0, float(ref.max()))


@needs_cuda
def test_euler_maruyama_on_cuda_follows_the_ou_mean() -> None:
    """OU dx = −θx dt + σ dW from a point: E[x_t] = x_0 e^{−θt} (θ = 1 by default)."""
    sde = make_sde("ou")
    x0 = np.tile(np.array([[2.0, -1.0]], np.float32), (20_000, 1))
    (*_, last) = euler_maruyama(sde, x0, [0.5], dt=1e-2, seed=0, device=CUDA)
    theta = float(-sde.drift(torch.ones(1, 2), 0.0)[0, 0])
    assert np.allclose(last.x.mean(0), x0[0] * math.exp(-theta * 0.5), atol=0.03)


# -- the benchmark, on the CPU ---------------------------------------------------------------

def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, os.path.join(ROOT, "tests", "bench", "bench_gpu.py"), *args],
                          capture_output=True, text=True, env=env, timeout=240)


@pytest.mark.slow
def test_bench_gpu_quick_on_the_cpu_prints_every_figure() -> None:
    done = _bench("--quick", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert list(out["results"]) == ["cpu"] and "speedup" not in out
    cpu = out["results"]["cpu"]
    assert set(cpu["train"]) == set(KINDS) == set(cpu["sample"])
    for rows in cpu["train"].values():
        assert [r["batch"] for r in rows] == [256, 4096]
        assert all(r["steps_per_s"] > 0 and r["steps"] >= 3 for r in rows)
    assert all(s["n"] == out["sizes"]["sample_n"] and s["seconds"] > 0 for s in cpu["sample"].values())
    assert cpu["kfp"]["frames_per_s"] > 0 and cpu["kfp"]["mass_error"] < 1e-4
    assert len(out["load_before"]) == 3


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_bench_gpu_refuses_a_missing_gpu_in_one_line() -> None:
    done = _bench("--device", "cuda", "--quick")
    assert done.returncode == 2
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1
    assert "CUDA" in done.stderr
