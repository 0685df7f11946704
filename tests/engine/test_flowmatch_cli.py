"""The command line end to end with flow matching and reflow on a tiny budget."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from app.cli import main
from engine.checkpoint import load_trained
from engine.device import configure_threads

configure_threads()

TINY = ["--width", "16", "--depth", "2", "--batch", "64"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("fm") / "m.pt")
    code = main(["train", "--model", "fm", "--density", "moons", "--steps", "40", *TINY, "--coupling", "ot",
                 "--time-sampling", "logit_normal", "--out", path, "--quiet"])
    assert code == 0
    return path


def test_train_records_the_options_and_the_straightness(checkpoint: str) -> None:
    tm = load_trained(checkpoint)
    assert tm.kind == "fm"
    assert tm.model.info["coupling"] == "ot" and tm.model.info["time_sampling"] == "logit_normal"  # type: ignore[attr-defined]
    assert tm.metrics["straightness"] == pytest.approx(tm.model.straightness(), rel=1e-3)  # type: ignore[attr-defined]
    assert tm.metrics["straightness"] > 0


@pytest.mark.parametrize("sampler,steps", [("euler", 1), ("midpoint", 2), ("rk4", 4), ("dopri5", None)])
def test_sample_with_each_solver(checkpoint: str, tmp_path: object, sampler: str, steps: int | None) -> None:
    out = f"{tmp_path}/s.npy"
    args = ["sample", checkpoint, "-n", "200", "--sampler", sampler, "--out", out]
    assert main(args + (["--steps", str(steps)] if steps else [])) == 0
    x = np.load(out)
    assert x.shape == (200, 2) and np.isfinite(x).all()


def test_the_stochastic_sampler_from_the_command_line_is_the_models_own(checkpoint: str, tmp_path: object) -> None:
    out = f"{tmp_path}/s.npy"
    assert main(["sample", checkpoint, "-n", "300", "--sampler", "sde", "--steps", "20", "--seed", "5",
                 "--out", out]) == 0
    tm = load_trained(checkpoint)
    expect = tm.data_map.to_user(tm.model.sample(300, seed=5, sampler="sde", steps=20))
    np.testing.assert_allclose(np.load(out), expect, atol=1e-5)
    ode = f"{tmp_path}/ode.npy"
    assert main(["sample", checkpoint, "-n", "300", "--sampler", "euler", "--steps", "20", "--seed", "5",
                 "--out", ode]) == 0
    assert not np.allclose(np.load(out), np.load(ode), atol=1e-3)  # the kicks moved the points


def test_one_euler_step_is_the_euler_map_of_the_velocity(checkpoint: str, tmp_path: object) -> None:
    out = f"{tmp_path}/s.npy"
    assert main(["sample", checkpoint, "-n", "50", "--sampler", "euler", "--steps", "1", "--seed", "3",
                 "--out", out]) == 0
    tm = load_trained(checkpoint)
    z = torch.randn(50, 2, generator=torch.Generator().manual_seed(3))
    expect = tm.data_map.to_user((z + tm.model.velocity(z, 0.0)).numpy())  # type: ignore[attr-defined]
    np.testing.assert_allclose(np.load(out), expect, atol=1e-5)


def test_logprob_and_eval(checkpoint: str, tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    pts, lp = f"{tmp_path}/p.npy", f"{tmp_path}/lp.npy"
    np.save(pts, np.array([[0.0, 0.0], [1.0, 0.5]], np.float32))
    assert main(["logprob", checkpoint, "--points", pts, "--out", lp]) == 0
    values = np.load(lp)
    np.testing.assert_allclose(values, load_trained(checkpoint).log_prob_user(np.load(pts)), rtol=1e-6)
    capsys.readouterr()
    assert main(["eval", checkpoint, "-n", "300"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "fm" and report["heldout_nll"] is not None


def test_reflow_is_repeatable_and_records_its_generation(checkpoint: str, tmp_path: object,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    r1, r2 = f"{tmp_path}/r1.pt", f"{tmp_path}/r2.pt"
    capsys.readouterr()
    assert main(["reflow", checkpoint, "--pairs", "300", "--steps", "5", "--batch", "64", "--out", r1,
                 "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["generation"] == 1 and report["steps"] == 5 and report["pairs"] == 300
    assert main(["reflow", r1, "--pairs", "300", "--steps", "2", "--out", r2, "--quiet"]) == 0
    assert load_trained(r2).model.generation == 2  # type: ignore[attr-defined]
    assert load_trained(r2).density == load_trained(checkpoint).density


def test_reflow_refuses_bad_input(checkpoint: str, tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    cnf = f"{tmp_path}/c.pt"
    assert main(["train", "--model", "cnf", "--density", "moons", "--steps", "1", "--width", "8", "--out", cnf,
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["reflow", cnf, "--steps", "1", "--out", f"{tmp_path}/x.pt"]) == 2
    assert "reflow needs a flow-matching model" in capsys.readouterr().err
    assert main(["reflow", checkpoint, "--pairs", "0", "--out", f"{tmp_path}/x.pt"]) == 2
    assert "--pairs must be between" in capsys.readouterr().err
    assert main(["reflow", checkpoint, "--seconds", "-1", "--out", f"{tmp_path}/x.pt"]) == 2
    assert main(["reflow", checkpoint, "--out", f"{tmp_path}/no/such/x.pt"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_conditional_fm_with_guidance(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    path = f"{tmp_path}/c.pt"
    assert main(["train", "--model", "fm", "--density", "8gaussians", "--conditional", "--steps", "10", *TINY,
                 "--out", path, "--quiet"]) == 0
    out = f"{tmp_path}/s.npy"
    assert main(["sample", path, "-n", "30", "--label", "2", "--guidance", "3", "--sampler", "rk4", "--steps", "4",
                 "--out", out]) == 0
    assert np.load(out).shape == (30, 2)
    capsys.readouterr()
    assert main(["sample", path, "-n", "3", "--label", "8", "--out", out]) == 2
    assert "--label 8" in capsys.readouterr().err
    assert main(["sample", path, "-n", "3", "--label", "1", "--guidance-kind", "classifier", "--out", out]) == 2
    assert "classifier-free guidance only" in capsys.readouterr().err
    assert main(["reflow", path, "--pairs", "80", "--steps", "2", "--out", f"{tmp_path}/cr.pt", "--quiet"]) == 0
    assert load_trained(f"{tmp_path}/cr.pt").model.num_classes == 8


def test_guided_sample_holds_its_end_point_in_the_box_as_the_guidance_lab_does(tmp_path: object) -> None:
    from app.labs.guidance.compute import Request, sample_panel

    path, out = f"{tmp_path}/c.pt", f"{tmp_path}/s.npy"
    assert main(["train", "--model", "fm", "--density", "checkerboard", "--conditional", "--steps", "100", *TINY,
                 "--out", path, "--quiet"]) == 0
    assert main(["sample", path, "-n", "400", "--label", "3", "--guidance", "3", "--seed", "5", "--out", out]) == 0
    tm = load_trained(path)
    box = tuple(tm.density["box"])
    lab = sample_panel(tm.model, Request("guided", 3, 3.0, "cfg", 5, 0.0), box, 400)
    np.testing.assert_allclose(np.load(out), tm.data_map.to_user(lab.xs[-1]), atol=1e-5)
    *_, (_, free) = tm.model.states(400, seed=5, solver="rk4", steps=4, label=3, guidance=3.0)
    held = lab.xs[-1]

    def outside(x: np.ndarray) -> int:
        return int((~np.all((x >= np.array(box[::2])) & (x <= np.array(box[1::2])), axis=1)).sum())

    assert outside(held) < outside(free.float().numpy())  # unheld, more of the guided sample leaves the box


def test_fm_options_are_checked(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--model", "fm", "--density", "moons", "--steps", "1", "--sigma-min", "0.9",
                 "--out", f"{tmp_path}/x.pt"]) == 2
    assert "sigma_min" in capsys.readouterr().err
    assert main(["train", "--model", "fm", "--density", "gaussian", "--steps", "1", "--conditional",
                 "--out", f"{tmp_path}/x.pt"]) == 2
    assert "at least 2 classes" in capsys.readouterr().err
