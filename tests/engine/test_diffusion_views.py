"""Snapshots for the views: frozen float32 arrays, the grid convention, and agreement with sampling."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from engine.densities import get_density
from engine.device import configure_threads
from engine.diffusion.analytic import exact_model
from engine.diffusion.schedules import VESchedule, VPSchedule
from engine.diffusion.views import classifier_map, field, fields, noising_frames, sampling_frames
from engine.errors import InputError

configure_threads()  # one torch thread: two spin-wait on a busy 2-core machine

GAUSS8 = get_density("8gaussians")
_DATA = GAUSS8.sample(50_000, seed=0).x
SHIFT, SCALE = _DATA.mean(0), float(_DATA.std())


def _model(kind: str = "ddpm"):  # type: ignore[no-untyped-def]
    process = VPSchedule(100) if kind == "ddpm" else VESchedule(30, 0.01, 4.0)
    return exact_model(GAUSS8, process, SHIFT, SCALE, kind)


@pytest.mark.parametrize(("kind", "opts"), [
    ("ddpm", {"sampler": "ancestral", "steps": 40}),
    ("ddpm", {"sampler": "ode", "steps": 10}),
    ("ncsn", {"steps": 10, "steps_per_level": 2}),
    ("ddpm", {"sampler": "ddim", "steps": 12, "label": 2, "guidance": 3.0, "guidance_kind": "classifier"}),
])
def test_sampling_frames_end_where_sampling_ends(kind: str, opts: dict[str, object]) -> None:
    model = _model(kind)
    frames = list(sampling_frames(model, 300, seed=4, **opts))
    first, last = frames[0], frames[-1]
    assert first.step == 0 and last.step == last.total == len(frames) - 1
    # (the ODE is solved interval by interval when watched, in one call otherwise: same grid, rounding apart)
    assert np.allclose(last.x, model.sample(300, seed=4, **opts), atol=3e-3)
    for f in frames:
        assert f.x.dtype == np.float32 and f.x0.dtype == np.float32 and f.x.shape == f.x0.shape == (300, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.step = 3  # type: ignore[misc]
    # the predicted clean points sharpen as the noise falls
    assert frames[-2].noise_std < frames[1].noise_std


def test_sampling_frames_every_k_steps_keep_the_last() -> None:
    frames = list(sampling_frames(_model(), 50, seed=0, every=7, sampler="ancestral", steps=30))
    assert [f.step for f in frames] == [0, 7, 14, 21, 28, 30]
    with pytest.raises(InputError, match="unknown sampler"):
        next(sampling_frames(_model(), 5, sampler="heun"))
    with pytest.raises(InputError, match="every"):
        next(sampling_frames(_model(), 5, every=0))


def test_noising_frames_have_the_closed_form_marginals() -> None:
    model = _model()
    x0 = GAUSS8.sample(20_000, seed=1).x
    frames = list(noising_frames(model, x0, seed=2, every=25))
    assert [f.level for f in frames] == [0, 25, 50, 75, 100]
    assert np.array_equal(frames[0].x, x0)
    z0 = (x0 - SHIFT) / SCALE
    for f in frames[1:]:
        a, s = (float(v) for v in model.process.marginal(torch.tensor(f.tau, dtype=torch.float64)))
        z = (f.x - SHIFT) / SCALE
        assert np.allclose(z.mean(0), a * z0.mean(0), atol=0.03)
        assert np.allclose(z.var(0), a**2 * z0.var(0) + s**2, rtol=0.04)
        assert f.noise_std == pytest.approx(s * SCALE)


def test_field_follows_the_grid_convention() -> None:
    model = _model()
    ff = field(model, 0.3, grid=9)
    assert ff.vectors.shape == (9, 9, 2) and ff.vectors.dtype == np.float32
    i, j = 2, 6  # row i is y, column j is x
    point = np.array([[ff.xs[j], ff.ys[i]]], np.float32)
    assert np.allclose(ff.vectors[i, j], model.score(point, 0.3)[0], rtol=1e-5)
    eps = field(model, 0.3, grid=9, kind="eps")
    assert np.allclose(eps.vectors[i, j], model.eps(point, 0.3)[0], rtol=1e-5)
    assert [f.tau for f in fields(model, [0.9, 0.5, 0.1], grid=4)] == [0.9, 0.5, 0.1]


def test_classifier_map_is_a_distribution_with_the_right_layout() -> None:
    model = _model()
    cm = classifier_map(model, 0.02, grid=32)
    assert cm.probs.shape == (8, 32, 32) and np.allclose(cm.probs.sum(0), 1, atol=1e-5)
    for k in (0, 2, 5):
        mx, my = GAUSS8.means[k]
        i, j = np.argmin(np.abs(cm.ys - my)), np.argmin(np.abs(cm.xs - mx))
        assert cm.probs[:, i, j].argmax() == k
