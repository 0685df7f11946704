"""A run that comes apart while staying finite stops with a message and keeps the last good model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.cli import main
from engine.checkpoint import load_checkpoint
from engine.errors import TrainingError
from engine.guard import DivergenceGuard


def test_guard_stops_a_finite_blow_up_and_names_the_learning_rate() -> None:
    g = DivergenceGuard(margin=20.0)
    losses = [2.0, 1.9, 1.8, 50.0, 1e3, 1e6, 1e9, 1e12, 1e15, 1e19] + [1e19] * 20
    with pytest.raises(TrainingError, match=r"rose from 1.8 to .*learning rate of 10 "):
        for loss in losses:
            g.check(loss, lr=10.0)


def test_guard_stops_at_once_on_nan() -> None:
    g = DivergenceGuard(margin=20.0)
    g.check(1.0, lr=1e-3)
    with pytest.raises(TrainingError, match="became nan"):
        g.check(float("nan"), lr=1e-3)


def test_guard_ignores_noisy_losses_and_single_spikes() -> None:
    rng = np.random.default_rng(0)
    g = DivergenceGuard(margin=20.0)
    # the squared error of one noise draw (batch 1): chi-square with 2 degrees of freedom, heavy spikes
    for loss in rng.chisquare(2, 20_000):
        g.check(float(loss), lr=1e-3)
    for loss in [1.0] * 30 + [1e6] * 3 + [1.0] * 30:  # a few wild batches are not a diverged run
        g.check(loss, lr=1e-3)


@pytest.mark.parametrize("model", ["cnf", "ddpm", "ncsn"])
@pytest.mark.parametrize("lr", ["10", "0", "nan", "fast"])
def test_impossible_learning_rates_are_refused_before_training(model: str, lr: str, tmp_path: object,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--model", model, "--density", "moons", f"--lr={lr}", "--steps", "5",
                 "--out", f"{tmp_path}/m.pt"]) == 2
    err = capsys.readouterr().err
    assert "lr" in err and err.count("\n") == 1 and "Traceback" not in err


# (the CNF's own divergence stops are tested in test_cnf_training.py: whether a CNF run at a high
# learning rate comes apart, saturates or goes stiff depends on when its held-out checks fall)
@pytest.mark.parametrize(("model", "args"), [("ddpm", ["--lr", "0.5"]), ("ncsn", ["--lr", "0.5"])])
def test_a_diverging_run_stops_with_one_line_exit_2_and_a_usable_model(model: str, args: list[str], tmp_path: object,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out, steps = f"{tmp_path}/m.pt", 400
    assert main(["train", "--model", model, "--density", "moons", *args, "--steps", str(steps),
                 "--out", out, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "diverged" in err and "last good model" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    ckpt = load_checkpoint(out)
    assert ckpt["metrics"]["steps"] < steps, "the run stops when it diverges, not at the end of its budget"
    from engine import api
    m = api.family(model).load_model(ckpt, torch.device("cpu"))
    assert np.isfinite(m.sample(200, seed=1)).all()


def test_batch_of_one_trains_without_false_alarm(tmp_path: object) -> None:
    assert main(["train", "--model", "ddpm", "--density", "moons", "--batch", "1", "--steps", "3000",
                 "--out", f"{tmp_path}/m.pt", "--quiet"]) == 0


@pytest.mark.parametrize("model", ["cnf", "ddpm", "ncsn"])
@pytest.mark.parametrize("option", ["width", "depth", "batch"])
def test_a_zero_sized_network_or_batch_is_refused_before_training(model: str, option: str, tmp_path: object,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--model", model, "--density", "moons", f"--{option}", "0", "--steps", "5",
                 "--out", f"{tmp_path}/m.pt"]) == 2
    err = capsys.readouterr().err
    assert f"--{option}" in err and err.count("\n") == 1 and "Traceback" not in err


def test_hutchinson_variance_closed_forms_for_one_jacobian() -> None:
    from engine.cnf.divergence import theory_variance

    jac = np.array([[[1.0, 2.0], [4.0, -3.0]]])  # S = [[1, 3], [3, -3]]
    counts = (1, 4)
    np.testing.assert_allclose(theory_variance(jac, "gaussian", counts), np.array([2 * 28.0, 2 * 28.0 / 4]))
    np.testing.assert_allclose(theory_variance(jac, "rademacher", counts), np.array([36.0, 9.0]))  # (J12 + J21)²


@pytest.mark.parametrize("probe", ["gaussian", "rademacher"])
def test_measured_hutchinson_variance_matches_its_closed_form(probe: str) -> None:
    from engine.cnf.divergence import probe_variance, theory_variance

    jac = np.random.default_rng(0).standard_normal((64, 3, 3))
    counts = (1, 2, 8)
    measured = probe_variance(jac, probe, counts, draws=4096, seed=1)
    np.testing.assert_allclose(measured, theory_variance(jac, probe, counts), rtol=0.1)
