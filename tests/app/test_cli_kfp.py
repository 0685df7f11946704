"""``flowscope kfp``: the npz contract, the JSON summary, and one-line refusals."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from engine.device import configure_threads

configure_threads()  # one torch thread: two spinning threads collapse on a shared 2-core machine

SMALL = ["--grid", "32", "--particles", "3000", "--frames", "4", "--device", "cpu"]


def run_kfp(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["kfp", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_writes_the_documented_npz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ou.npz"
    code, stdout, _ = run_kfp(["--sde", "ou", "--density", "8gaussians", *SMALL, "--out", str(out)], capsys)
    assert code == 0
    with np.load(out) as z:
        assert sorted(z.files) == ["extent", "hist", "particles", "pde", "times"]
        times, extent, pde, hist, particles = (z[k] for k in ("times", "extent", "pde", "hist", "particles"))
    assert times.shape == (4,) and times[0] == 0 and times[-1] == pytest.approx(2.0)  # OU's default: 2/theta
    assert extent.shape == (4,) and extent[0] < -4 and extent[1] > 4 and extent[2] < -4 and extent[3] > 4
    assert pde.shape == (4, 32, 32) and pde.dtype == np.float32 and (pde >= 0).all()
    dx, dy = (extent[1] - extent[0]) / 32, (extent[3] - extent[2]) / 32
    np.testing.assert_allclose(pde.sum(axis=(1, 2)) * dx * dy, 1.0, atol=1e-5)
    assert hist.shape == (4, 32, 32) and np.issubdtype(hist.dtype, np.integer)
    assert (hist.sum(axis=(1, 2)) <= 3000).all() and hist[0].sum() == 3000
    assert particles.shape == (4, 3000, 2) and particles.dtype == np.float32
    # grid convention: row i is y. 8gaussians has a mode at (0, 2.83): its top rows hold mass at t = 0
    i = int((2.83 - extent[2]) / dy)
    j = int((0.0 - extent[0]) / dx)
    assert pde[0, i, j] > 10 * pde[0, j, i] or pde[0, i, j] > 0.1
    summary = json.loads(stdout)
    assert summary["sde"] == "ou" and summary["grid"] == 32 and len(summary["per_frame"]) == 4
    assert summary["max_mass_error"] < 1e-5
    for frame in summary["per_frame"]:
        assert frame["tv"] < frame["tv_floor"] + 0.05  # grid and particles agree to within the counting noise


def test_particles_are_subsampled_when_many(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "b.npz"
    args = ["--sde", "brownian", "--sigma", "0.5", "--density", "gaussian", "--grid", "16", "--particles", "12000",
            "--frames", "2", "--t-end", "0.2", "--out", str(out)]
    assert run_kfp(args, capsys)[0] == 0
    with np.load(out) as z:
        assert z["particles"].shape == (2, 10000, 2) and z["hist"][0].sum() == 12000


@pytest.mark.parametrize("sde,extra", [
    ("brownian", []), ("vp", ["--beta-max", "10"]), ("ve", ["--sigma-max", "1"]), ("langevin", []),
    ("double-well", ["--sigma", "0.7"]), ("custom", ["--drift-x=-y", "--drift-y", "x", "--diffusion", "0.3"]),
])
def test_every_sde_runs(sde: str, extra: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run_kfp(["--sde", sde, "--density", "twomodes", *SMALL, "--particles", "1000",
                               "--t-end", "0.3", *extra], capsys)
    assert code == 0
    summary = json.loads(stdout)
    assert summary["max_mass_error"] < 1e-5 and summary["out"] is None


BAD = [
    (["--sde", "custom", "--drift-x", "__import__('os').system('true')"], "formula"),
    (["--sde", "custom", "--drift-y", "x.__class__"], "formula"),
    (["--sde", "custom", "--diffusion", "x"], "t only"),
    (["--sde", "brownian", "--theta", "2"], "--theta does not apply"),
    (["--sde", "ou", "--theta", "-1"], "theta"),
    (["--sde", "ou", "--grid", "8"], "--grid"),
    (["--sde", "ou", "--frames", "1"], "--frames"),
    (["--sde", "ou", "--t-end", "nan"], "--t-end"),
    (["--sde", "ou", "--out", "x.npy"], ".npz"),
    (["--sde", "ou", "--out", "/no/such/folder/x.npz"], "does not exist"),
    (["--sde", "ou", "--density", "nowhere"], "unknown density"),
    (["--sde", "langevin", "--density", "moons"], "closed-form score"),
]


@pytest.mark.parametrize("args,words", BAD, ids=[b[1] for b in BAD])
def test_bad_input_exits_2_with_one_line(args: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    full = args if "--density" in args else [*args, "--density", "gaussian"]
    code, stdout, stderr = run_kfp([*full, "--grid", "16"] if "--grid" not in args else full, capsys)
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and words in stderr and "Traceback" not in stderr


def test_bad_formula_in_a_real_process_prints_one_line() -> None:
    proc = subprocess.run([sys.executable, "-m", "app", "kfp", "--sde", "custom", "--drift-x", "lambda: 0",
                           "--density", "gaussian"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("flowscope: error: formula 'lambda: 0'") and proc.stderr.count("\n") == 1


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kfp", "--help"]) == 0
    text = capsys.readouterr().out
    assert "usage: flowscope kfp" in text and "--drift-x" in text and "--beta-min" in text
