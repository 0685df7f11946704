"""The guidance trade-off figures against known cases, and `flowscope guidance-sweep` end to end."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from app.cli import main
from engine.densities import get_density
from engine.device import configure_threads
from engine.diffusion.analytic import exact_model
from engine.diffusion.schedules import VPSchedule
from engine.errors import InputError
from engine.guidance_sweep import (
    SWEEP_STEPS,
    coverage,
    in_class_share,
    precision_recall,
    reference,
    score_sample,
    smallest_gamma,
    sweep,
    sweep_steps,
    tilted_grid,
    tilted_tv,
)

configure_threads()

GAUSS8 = get_density("8gaussians")
BOARD = get_density("checkerboard")


def test_an_exact_class_sample_is_all_in_class_faithful_and_covers_its_class() -> None:
    for density, label in ((GAUSS8, 2), (BOARD, 5)):
        ref = reference(density, label, 2000)
        exact = reference(density, label, 2000, seed=99).matched
        point = score_sample(exact, density, ref, gamma=1.0)
        assert point.in_class == pytest.approx(1.0, abs=0.005)  # the Gaussians overlap a little
        assert point.precision > 0.95 and point.recall > 0.95
        assert point.coverage == pytest.approx(1 - 2.0**-5, abs=0.03)  # Naeem et al.'s expectation at k = 5
        assert point.fidelity < 1.5 * ref.tv_floor + 0.02
        assert point.tilted is not None and point.tilted < 1.5 * ref.tv_floor + 0.02


def test_a_collapsed_sample_has_precision_but_little_recall() -> None:
    ref = reference(GAUSS8, 2, 2000)
    centre = GAUSS8.means[2]
    collapsed = centre + 0.02 * np.random.default_rng(0).standard_normal((2000, 2))
    precision, recall = precision_recall(collapsed, ref.matched)
    assert precision > 0.95 and recall < 0.2
    assert coverage(collapsed, ref.matched) < 0.1
    # another class entirely: neither
    other = reference(GAUSS8, 5, 2000).matched
    assert precision_recall(other, ref.matched) == (0.0, 0.0)
    assert in_class_share(other, GAUSS8, 2) == 0.0
    with pytest.raises(InputError, match="k = 3"):
        precision_recall(collapsed[:3], ref.matched)


def test_the_tilted_target_is_p_at_gamma_zero_and_the_class_at_gamma_one() -> None:
    box, bins = BOARD.box, 64
    p0 = tilted_grid(BOARD, 3, 0.0, box, bins)
    p1 = tilted_grid(BOARD, 3, 1.0, box, bins)
    p5 = tilted_grid(BOARD, 3, 5.0, box, bins)
    assert p0 is not None and p1 is not None and p5 is not None
    assert p0.sum() == pytest.approx(1.0) and p1.sum() == pytest.approx(1.0)
    # γ = 0: eight equal cells of the board; γ = 1: all of the mass on the class's own cell
    cells = p0.reshape(4, 16, 4, 16).sum((1, 3))
    assert np.allclose(np.sort(cells.ravel())[-8:], 1 / 8) and np.allclose(np.sort(cells.ravel())[:8], 0)
    # an exact sample's histogram on 16 x 16 cells matches (sampling noise ~0.015)
    own = BOARD.sample(100_000, seed=1)
    coarse = [tilted_grid(BOARD, 3, g, box, 16) for g in (0.0, 1.0)]
    assert tilted_tv(own.x[own.labels == 3], coarse[1], box) < 0.04
    assert tilted_tv(own.x, coarse[0], box) < 0.04
    assert tilted_tv(own.x, coarse[1], box) > 0.8
    assert np.allclose(p5, p1)  # p(y | x) is 0 or 1 on the board: any γ > 0 is the class
    # on a mixture, γ = 1 is p(x | y) and γ = 0 is p(x) in closed form
    g0, g1 = tilted_grid(GAUSS8, 1, 0.0, GAUSS8.box), tilted_grid(GAUSS8, 1, 1.0, GAUSS8.box)
    mix = GAUSS8.sample(400_000, seed=3)
    assert g0 is not None and g1 is not None
    assert tilted_tv(mix.x, g0, GAUSS8.box) < 0.04
    assert tilted_tv(mix.x[mix.labels == 1], g1, GAUSS8.box) < 0.06
    assert tilted_tv(mix.x[mix.labels == 2], g1, GAUSS8.box) > 0.9
    assert tilted_grid(get_density("2spirals"), 0, 1.0, (-4, 4, -4, 4)) is None


def test_the_sweep_of_an_exact_model_trades_diversity_for_the_class() -> None:
    data = GAUSS8.sample(50_000, seed=0).x
    model = exact_model(GAUSS8, VPSchedule(1000), data.mean(0), float(data.std()))
    points = {p.gamma: p for p in sweep(model, GAUSS8, 2, (-1.0, 0.0, 1.0, 4.0), n=1500, steps=15)}
    assert points[0.0].in_class == pytest.approx(1 / 8, abs=0.03)  # unconditional
    assert points[1.0].in_class > 0.99 and points[1.0].recall > 0.9  # the class itself
    assert points[-1.0].in_class < 0.02
    assert points[4.0].in_class > 0.99 and points[4.0].coverage < points[1.0].coverage - 0.2
    # the sample follows the tilted target exactly where theory says it does, γ = 0 and γ = 1: as
    # close as an exact sample of as many points is
    for gamma, exact in ((0.0, GAUSS8.sample(1500, seed=8).x), (1.0, reference(GAUSS8, 2, 1500, seed=8).matched)):
        cells = tilted_grid(GAUSS8, 2, gamma, GAUSS8.box)
        assert cells is not None
        floor = tilted_tv(exact, cells, GAUSS8.box)
        assert points[gamma].tilted < 1.3 * floor + 0.03, (gamma, points[gamma].tilted, floor)
    assert points[4.0].tilted > 0.3
    with pytest.raises(InputError, match="finite"):
        next(sweep(model, GAUSS8, 2, (float("nan"),)))
    with pytest.raises(InputError, match="out of range"):
        next(sweep(model, GAUSS8, 8, (1.0,)))


@pytest.fixture(scope="module")
def conditional(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("sweep") / "m.pt")
    assert main(["train", "--density", "8gaussians", "--model", "ddpm", "--conditional", "--steps", "30",
                 "--batch", "64", "--timesteps", "50", "--out", path, "--quiet"]) == 0
    return path


def test_guidance_sweep_writes_json_and_csv(conditional: str, tmp_path: object) -> None:
    base = ["guidance-sweep", conditional, "--label", "1", "--gammas", "0,3", "-n", "200", "--steps", "8"]
    assert main([*base, "--out", f"{tmp_path}/s.json"]) == 0
    with open(f"{tmp_path}/s.json") as f:
        report = json.load(f)
    assert [p["gamma"] for p in report["points"]] == [0.0, 3.0] and report["label"] == 1
    assert all(0 <= p["in_class"] <= 1 and p["tilted"] is not None for p in report["points"])
    assert main([*base, "--kind", "classifier", "--interval", "0.2,0.7", "--out", f"{tmp_path}/s.csv"]) == 0
    with open(f"{tmp_path}/s.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["gamma"]) for r in rows] == [0.0, 3.0] and set(rows[0]) >= {"recall", "coverage", "tilted"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--label", "9"], "out of range"),
        (["--label", "1", "--gammas", "1,x"], "commas"),
        (["--label", "1", "--interval", "0.9,0.1"], "LO <= HI"),
        (["--label", "1", "-n", "3"], "-n"),
        (["--label", "1", "--out", "x.txt"], ".json or .csv"),
    ],
)
def test_impossible_sweeps_exit_2(conditional: str, args: list[str], message: str, tmp_path: object,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = [] if "--out" in args else ["--out", f"{tmp_path}/s.json"]
    assert main(["guidance-sweep", conditional, *args, *out]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_reference_draws_only_the_class() -> None:
    ref = reference(BOARD, 6, 500)
    assert (BOARD.classify(ref.fine) == 6).all() and len(ref.matched) == 500
    assert torch.isfinite(torch.as_tensor(ref.tv_floor))


def test_sweep_steps_pause_between_sampler_steps_and_agree_with_the_sweep() -> None:
    data = GAUSS8.sample(50_000, seed=0).x
    model = exact_model(GAUSS8, VPSchedule(1000), data.mean(0), float(data.std()))
    ref = reference(GAUSS8, 4, 500)
    out = list(sweep_steps(model, GAUSS8, ref, (0.0, 2.0), n=500))
    points = [p for p in out if p is not None]
    steps = SWEEP_STEPS["cfg"]
    assert len(out) == 2 * steps + 2 and [p.gamma for p in points] == [0.0, 2.0]  # the steps of each, then the figures
    whole = list(sweep(model, GAUSS8, 4, (0.0, 2.0), n=500))
    assert [p.in_class for p in points] == [p.in_class for p in whole]
    assert smallest_gamma(points, 0.97) is points[1] and smallest_gamma(points[:1], 0.97) is None
