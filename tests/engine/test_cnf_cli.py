"""The command line end to end with a CNF on a tiny budget."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from engine.device import configure_threads

configure_threads()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("cnf") / "m.pt")
    code = main(["train", "--model", "cnf", "--density", "8gaussians", "--steps", "20", "--out", path, "--quiet"])
    assert code == 0
    return path


def test_train_prints_json(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    out = f"{tmp_path}/h.pt"
    code = main(["train", "--model", "cnf", "--density", "banana", "--steps", "3", "--trace", "hutchinson",
                 "--probe", "rademacher", "--adjoint", "--solver", "midpoint", "--solver-steps", "2",
                 "--batch", "64", "--width", "16", "--depth", "2", "--lr", "0.005", "--out", out, "--quiet"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["steps"] == 3 and report["heldout_nll"] is not None


def test_sample_logprob_eval(checkpoint: str, tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    samples, lp = f"{tmp_path}/s.npy", f"{tmp_path}/lp.npy"
    assert main(["sample", checkpoint, "-n", "300", "--out", samples]) == 0
    x = np.load(samples)
    assert x.shape == (300, 2) and np.isfinite(x).all() and x.std() > 0.5
    assert main(["sample", checkpoint, "-n", "10", "--steps", "4", "--out", f"{tmp_path}/s.csv"]) == 0
    assert main(["logprob", checkpoint, "--points", samples, "--out", lp]) == 0
    values = np.load(lp)
    assert values.shape == (300,) and np.isfinite(values).all() and values.dtype == np.float64
    capsys.readouterr()
    assert main(["eval", checkpoint, "-n", "500"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "cnf"
    assert report["entropy"] == pytest.approx(2.833, abs=0.01)
    assert report["gap"] == pytest.approx(report["heldout_nll"] - report["entropy"])
    assert 0 < report["gap"] < 3  # 20 steps learn something, not everything


def test_conditioning_a_cnf_is_refused(checkpoint: str, tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", checkpoint, "-n", "5", "--label", "1", "--out", f"{tmp_path}/x.npy"]) == 2
    assert "CNF models are unconditional" in capsys.readouterr().err
    assert main(["sample", checkpoint, "-n", "5", "--guidance", "2", "--out", f"{tmp_path}/x.npy"]) == 2
    assert main(["train", "--model", "cnf", "--density", "8gaussians", "--steps", "1", "--solver", "rk5",
                 "--out", f"{tmp_path}/y.pt"]) == 2
    assert "unknown ODE solver 'rk5'" in capsys.readouterr().err
