"""The command line end to end with DDPM, NCSN and a conditional DDPM on tiny budgets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from engine.device import configure_threads

configure_threads()  # one torch thread: two spin-wait on a busy 2-core machine


def _train(tmp: pytest.TempPathFactory, *args: str) -> str:
    path = str(tmp.mktemp("diffusion") / "m.pt")
    assert main(["train", "--density", "8gaussians", "--steps", "30", "--batch", "64", "--out", path, "--quiet",
                 *args]) == 0
    return path


@pytest.fixture(scope="module")
def ddpm(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _train(tmp_path_factory, "--model", "ddpm", "--timesteps", "100", "--schedule", "cosine")


@pytest.fixture(scope="module")
def ncsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _train(tmp_path_factory, "--model", "ncsn", "--timesteps", "20", "--width", "32", "--depth", "2")


@pytest.fixture(scope="module")
def conditional(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _train(tmp_path_factory, "--model", "ddpm", "--conditional", "--timesteps", "50", "--lr", "0.003")


def test_train_reports_json(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    out = f"{tmp_path}/t.pt"
    assert main(["train", "--model", "ddpm", "--density", "moons", "--steps", "5", "--timesteps", "20",
                 "--out", out, "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["steps"] == 5 and report["heldout_nll"] is not None


@pytest.mark.parametrize("sampler", [None, "ancestral", "ddim", "sde", "ode", "langevin", "dpm++"])
def test_sample_with_every_sampler(ddpm: str, sampler: str | None, tmp_path: object) -> None:
    out = f"{tmp_path}/s.npy"
    extra = [] if sampler is None else ["--sampler", sampler, "--steps", "20"]
    assert main(["sample", ddpm, "-n", "200", "--seed", "1", "--out", out, *extra]) == 0
    x = np.load(out)
    assert x.shape == (200, 2) and x.dtype == np.float32 and np.isfinite(x).all()


def test_sampling_on_two_threads_gives_the_same_points(ddpm: str, tmp_path: object) -> None:
    try:
        for threads in ("1", "2"):
            assert main(["sample", ddpm, "-n", "3000", "--seed", "1", "--threads", threads, "--sampler", "ancestral",
                         "--steps", "50", "--out", f"{tmp_path}/s{threads}.npy"]) == 0
    finally:
        configure_threads(1)
    np.testing.assert_allclose(np.load(f"{tmp_path}/s1.npy"), np.load(f"{tmp_path}/s2.npy"), atol=1e-4)


def test_ncsn_samples_by_default_with_langevin_and_writes_csv(ncsn: str, tmp_path: object) -> None:
    out = f"{tmp_path}/s.csv"
    assert main(["sample", ncsn, "-n", "50", "--steps", "10", "--out", out]) == 0
    x = np.loadtxt(out, delimiter=",", skiprows=1)
    assert x.shape == (50, 2) and np.isfinite(x).all()


@pytest.mark.parametrize("kind", ["cfg", "classifier"])
def test_guided_sampling(conditional: str, kind: str, tmp_path: object) -> None:
    out = f"{tmp_path}/g.npy"
    assert main(["sample", conditional, "-n", "100", "--label", "3", "--guidance", "3", "--guidance-kind", kind,
                 "--sampler", "ddim", "--steps", "20", "--out", out]) == 0
    assert np.isfinite(np.load(out)).all()
    assert main(["sample", conditional, "-n", "50", "--label", "3", "--guidance", "-1.5", "--out", out]) == 0


def test_guidance_interval_on_the_command_line(conditional: str, tmp_path: object) -> None:
    base = ["sample", conditional, "-n", "200", "--label", "3", "--sampler", "dpm++", "--steps", "10"]
    runs = {}
    for name, extra in {"full": ["--guidance", "4"], "whole": ["--guidance", "4", "--guidance-interval", "0,1"],
                        "part": ["--guidance", "4", "--guidance-interval", "0.3,0.6"],
                        "conditional": ["--guidance", "1"]}.items():
        assert main([*base, *extra, "--out", f"{tmp_path}/{name}.npy"]) == 0
        runs[name] = np.load(f"{tmp_path}/{name}.npy")
    assert np.array_equal(runs["whole"], runs["full"])
    assert not np.allclose(runs["part"], runs["full"]) and not np.allclose(runs["part"], runs["conditional"])


def test_guided_sample_is_the_guidance_sweep_sample(conditional: str, tmp_path: object) -> None:
    # without --sampler, a guided sample is drawn as guidance-sweep draws it: its share in the class at γ is the curve's
    from engine.densities import get_density

    out, curve = f"{tmp_path}/s.npy", f"{tmp_path}/c.json"
    assert main(["sample", conditional, "-n", "300", "--label", "3", "--guidance", "3", "--seed", "2",
                 "--out", out]) == 0
    assert main(["guidance-sweep", conditional, "--label", "3", "--gammas", "3", "-n", "300", "--seed", "2",
                 "--out", curve]) == 0
    share = float(np.mean(get_density("8gaussians").classify(np.load(out)) == 3))
    with open(curve) as f:
        assert json.load(f)["points"][0]["in_class"] == share
    plain = f"{tmp_path}/a.npy"  # asked for explicitly, the model's own sampler still answers
    assert main(["sample", conditional, "-n", "300", "--label", "3", "--guidance", "3", "--seed", "2",
                 "--sampler", "ancestral", "--out", plain]) == 0
    assert not np.allclose(np.load(plain), np.load(out))


def test_logprob_and_eval(ddpm: str, ncsn: str, tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    pts, lp = f"{tmp_path}/p.npy", f"{tmp_path}/lp.npy"
    np.save(pts, np.array([[2.0, 2.0], [0.0, 0.0], [-2.8, 0.1]], np.float32))
    for ckpt in (ddpm, ncsn):
        assert main(["logprob", ckpt, "--points", pts, "--out", lp]) == 0
        values = np.load(lp)
        assert values.shape == (3,) and values.dtype == np.float64 and np.isfinite(values).all()
    capsys.readouterr()
    assert main(["eval", ddpm, "-n", "300"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "ddpm" and report["entropy"] == pytest.approx(2.833, abs=0.01)
    assert report["heldout_nll"] is not None and report["tv_64"] > 0


@pytest.mark.parametrize(
    ("which", "args", "message"),
    [
        ("ddpm", ["--label", "1"], "unconditional"),
        ("conditional", ["--label", "8"], "0..7"),
        ("conditional", ["--guidance", "2"], "--label"),
        ("ddpm", ["--sampler", "ancestral", "--steps", "500"], "at most"),
        ("ncsn", ["--label", "0", "--guidance-kind", "classifier"], "unconditional"),
        ("ddpm", ["--threads", "0"], "--threads"),
        ("conditional", ["--label", "1", "--guidance", "3", "--guidance-interval", "0.8,0.2"], "LO <= HI"),
        ("conditional", ["--label", "1", "--guidance", "3", "--guidance-interval", "half"], "LO,HI"),
        ("conditional", ["--label", "1", "--guidance-interval", "0.2,0.8"], "guidance scale"),
    ],
)
def test_impossible_sampling_requests_exit_2(which: str, args: list[str], message: str, request: pytest.FixtureRequest,
                                             tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = request.getfixturevalue(which)
    assert main(["sample", ckpt, "-n", "5", "--out", f"{tmp_path}/x.npy", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "ncsn", "--schedule", "cosine"], "geometric"),
        (["--model", "ddpm", "--density", "swissroll", "--conditional"], "labelled"),
        (["--model", "ddpm", "--timesteps", "1"], "timesteps"),
    ],
)
def test_impossible_training_requests_exit_2(args: list[str], message: str, tmp_path: object,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    density = [] if "--density" in args else ["--density", "8gaussians"]
    assert main(["train", *density, "--steps", "2", "--out", f"{tmp_path}/x.pt", *args]) == 2
    assert message in capsys.readouterr().err


def test_train_help_states_the_conditional_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    from engine.diffusion import CONDITIONAL_DEFAULTS, OPTIONS

    assert main(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    d = CONDITIONAL_DEFAULTS["ddpm"]
    assert f"are {d['batch']}, {d['depth']} and {d['lr']:g}" in text
    assert f"(std {d['fourier']:g} against {OPTIONS['ddpm']['fourier']:g})" in text
