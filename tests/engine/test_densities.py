"""Built-in densities: samplers, labels, exact log-densities, scores, entropies."""

import math

import numpy as np
import pytest
import torch

from engine.densities import DENSITIES, get_density, grid_points
from engine.errors import InputError

ANALYTIC = [n for n in DENSITIES if get_density(n).analytic]


def test_at_least_twelve_builtins_and_the_required_ones() -> None:
    required = {"8gaussians", "25gaussians", "moons", "circles", "rings", "checkerboard", "pinwheel", "2spirals",
                "swissroll", "banana", "funnel", "twomodes", "gaussian"}
    assert required <= set(DENSITIES)
    assert set(ANALYTIC) >= {"8gaussians", "25gaussians", "checkerboard", "banana", "funnel", "twomodes", "gaussian"}


@pytest.mark.parametrize("name", list(DENSITIES))
def test_sampler_shape_dtype_and_seeding(name: str) -> None:
    d = get_density(name)
    a, b, c = d.sample(500, seed=3), d.sample(500, seed=3), d.sample(500, seed=4)
    assert a.x.shape == (500, 2) and a.x.dtype == np.float32 and a.x.flags.c_contiguous
    assert np.array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)
    assert np.isfinite(a.x).all()
    x0, x1, y0, y1 = d.box
    inside = (a.x[:, 0] > x0) & (a.x[:, 0] < x1) & (a.x[:, 1] > y0) & (a.x[:, 1] < y1)
    assert inside.mean() > 0.9, "the view box should hold most of the mass"


@pytest.mark.parametrize("name", list(DENSITIES))
def test_labels_cover_every_class(name: str) -> None:
    d = get_density(name)
    s = d.sample(4000, seed=0)
    if d.num_classes == 0:
        assert s.labels is None
        return
    assert s.labels is not None and s.labels.dtype == np.int64
    assert set(np.unique(s.labels)) == set(range(d.num_classes))


@pytest.mark.parametrize("name", [n for n in ANALYTIC if n != "funnel"])
def test_analytic_density_integrates_to_one(name: str) -> None:
    d = get_density(name)
    n = 1600
    box = (-8.0, 8.0, -8.0, 8.0)
    _, _, pts = grid_points(box, n)
    with torch.no_grad():
        p = torch.exp(d.log_prob(torch.from_numpy(pts).double())).numpy()
    total = p.sum() * (16.0 / n) ** 2
    assert abs(total - 1.0) < 1e-2


def test_funnel_integrates_to_one_row_by_row() -> None:
    d = get_density("funnel")
    total = 0.0
    ys = np.linspace(-9, 9, 721)
    for y in ys:
        half = 12 * math.exp(y / 2)
        xs = np.linspace(-half, half, 801)
        pts = torch.tensor(np.stack([xs, np.full_like(xs, y)], 1))
        total += np.trapezoid(torch.exp(d.log_prob(pts)).numpy(), xs) * (ys[1] - ys[0])
    assert abs(total - 1.0) < 1e-2


@pytest.mark.parametrize("name", [n for n in ANALYTIC if n != "checkerboard"])
def test_closed_form_score_equals_autograd(name: str) -> None:
    d = get_density(name)
    x = torch.from_numpy(d.sample(300, seed=1).x).double().requires_grad_(True)
    (auto,) = torch.autograd.grad(d.log_prob(x).sum(), x)
    torch.testing.assert_close(d.score(x.detach()), auto, rtol=1e-6, atol=1e-8)


def test_checkerboard_score_is_zero_inside_cells_and_density_piecewise_constant() -> None:
    d = get_density("checkerboard")
    x = torch.from_numpy(d.sample(100, seed=0).x).double()
    assert torch.all(d.score(x) == 0)
    assert torch.allclose(d.log_prob(x), torch.full((100,), -math.log(32.0), dtype=torch.float64))
    assert d.log_prob(torch.tensor([[-3.0, -1.0]], dtype=torch.float64)).item() == -math.inf


def test_entropies_match_independent_values() -> None:
    # values computed independently of this code (FFJORD's scaling); MC error ~0.003
    assert get_density("8gaussians").entropy() == pytest.approx(2.8331, abs=0.01)
    assert get_density("checkerboard").entropy() == pytest.approx(math.log(32), abs=1e-9)
    assert get_density("gaussian").entropy() == pytest.approx(math.log(2 * math.pi * math.e), abs=0.01)


def test_entropy_if_known_never_estimates() -> None:
    """What a GUI thread may ask: a closed form at once, an estimate only once it has been made."""
    assert get_density("checkerboard").entropy_if_known() == pytest.approx(math.log(32), abs=1e-12)
    d = get_density("8gaussians")
    assert d.entropy_if_known() is None
    estimate = d.entropy()
    assert d.entropy_if_known() == estimate
    assert get_density("moons").entropy_if_known() is None  # no exact log-density


def test_mixture_classify_recovers_component_labels() -> None:
    d = get_density("8gaussians")
    s = d.sample(2000, seed=5)
    assert (d.classify(s.x) == s.labels).mean() > 0.99


@pytest.mark.parametrize("name", ["moons", "rings", "pinwheel", "2spirals", "checkerboard"])
def test_classify_agrees_with_sampler_labels(name: str) -> None:
    d = get_density(name)
    s = d.sample(3000, seed=9)
    assert (d.classify(s.x) == s.labels).mean() > 0.9


@pytest.mark.parametrize("name", ["rings", "circles"])
def test_classify_gives_an_exact_sample_its_own_class(name: str) -> None:
    # the label share of guided samples is measured with classify(): an exact sample of a class
    # must score ~1 (with empty table cells left unknown, circles' outer circle scored 0.982)
    d = get_density(name)
    s = d.sample(100_000, seed=31)
    for k in range(d.num_classes):
        assert (d.classify(s.x[s.labels == k]) == k).mean() > 0.997


def test_classify_leaves_points_far_from_the_data_unknown() -> None:
    d = get_density("rings")  # radii 3, 2.25, 1.5, 0.75 with noise 0.08
    r = np.array([0.0, 2.625, 3.27, 3.6])  # the centre, between two rings, just outside, far outside
    labels = d.classify(np.stack([r, np.zeros_like(r)], 1))
    assert labels.tolist() == [-1, -1, 0, -1]


def test_checkerboard_board_is_closed_on_every_side() -> None:
    # the samplers clip to the box [-4, 4]^2, so a sample pushed past the right edge lands on x = 4
    d = get_density("checkerboard")
    x = np.array([[4.0, -1.0], [-4.0, -4.0], [4.0, 4.0], [4.0, 1.0], [4.001, -1.0], [-1.0, 4.001]])
    assert d.classify(x).tolist() == [3, 0, 7, -1, -1, -1]
    lp = d.log_prob(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(lp[:3], -math.log(32.0))
    assert np.isneginf(lp[3:]).all()


def test_twomodes_weights_are_one_fifth_and_four_fifths() -> None:
    s = get_density("twomodes").sample(20000, seed=0)
    assert (s.labels == 0).mean() == pytest.approx(0.2, abs=0.01)


@pytest.mark.parametrize("name", ["moons", "8gaussians"])
def test_density_grid_is_normalised_over_its_box(name: str) -> None:
    d = get_density(name)
    g = d.density_grid(128)
    x0, x1, y0, y1 = d.box
    assert g.shape == (128, 128) and g.dtype == np.float32
    assert g.sum() * (x1 - x0) * (y1 - y0) / 128**2 == pytest.approx(1.0, abs=0.02)


def test_grid_rows_are_y() -> None:
    d = get_density("banana")  # mass concentrated at low y in the middle, rising at the sides
    g = d.density_grid(64)
    xs, ys, _ = grid_points(d.box, 64)
    i, j = np.unravel_index(np.argmax(g), g.shape)
    assert ys[i] < -1.0 and abs(xs[j]) < 1.0


def test_unknown_density_names_the_choices() -> None:
    with pytest.raises(InputError, match="8gaussians"):
        get_density("nine-gaussians")


@pytest.mark.parametrize("name", ["8gaussians", "twomodes"])
def test_the_fast_mixture_layout_gives_the_mixtures_closed_forms(name: str) -> None:
    d = get_density(name)
    fast, x = d.fast, torch.from_numpy(d.sample(3000, seed=0).x) * 1.7  # out into the tails too
    assert d.fast is fast  # built once per mixture
    torch.testing.assert_close(fast.score(x), d.score(x.double()).float(), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(fast.log_prob(x), d.log_prob(x.double()).float(), atol=1e-4, rtol=1e-4)
    labels = fast.classify(x.numpy())
    np.testing.assert_array_equal(labels, d.class_log_prob(x.double()).argmax(1).numpy())
    np.testing.assert_allclose(fast.shares(labels), np.bincount(labels, minlength=len(d.means)) / len(x))
    far = np.array([[np.nan, 0.0], [np.inf, 1.0], [0.0, -np.inf], [2.0, np.nan]], np.float32)
    assert (fast.classify(far) == -1).all()


def test_a_histogram_estimate_draws_one_reference_sample_for_every_grid_size(monkeypatch) -> None:
    from engine.densities import get_density

    d = get_density("moons")
    assert not d.analytic
    draws = []
    sample = d.sample
    monkeypatch.setattr(d, "sample", lambda n, seed=0: draws.append((n, seed)) or sample(n, seed=seed))
    fine, coarse = d.density_grid(128), d.density_grid(32)
    assert draws == [(400_000, 12345)]
    # the coarse grid is the fine one's estimate at a coarser resolution: mass in the same places
    lump = fine.reshape(32, 4, 32, 4).sum((1, 3))
    assert np.corrcoef(lump.ravel(), coarse.ravel())[0, 1] > 0.95


def test_the_names_a_command_line_checks_are_the_built_in_densities() -> None:
    """``engine.density_names`` lists them without torch, for the window's command line."""
    import subprocess
    import sys

    from engine.density_names import BUILTIN_NAMES

    assert BUILTIN_NAMES == tuple(DENSITIES)
    code = "import sys, engine.density_names; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"
