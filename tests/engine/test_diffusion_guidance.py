"""Classifier-free and classifier guidance: the γ conventions, exactness at γ = 0 and 1, the classifier's pull."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.densities import get_density
from engine.device import configure_threads
from engine.diffusion.analytic import exact_model
from engine.diffusion.guidance import cfg_eps, classifier_eps
from engine.diffusion.schedules import VESchedule, VPSchedule
from engine.errors import InputError

configure_threads()  # one torch thread: two spin-wait on a busy 2-core machine

GAUSS8 = get_density("8gaussians")
_DATA = GAUSS8.sample(50_000, seed=0).x
SHIFT, SCALE = _DATA.mean(0), float(_DATA.std())


def _model(kind: str = "ddpm"):  # type: ignore[no-untyped-def]
    process = VPSchedule(200) if kind == "ddpm" else VESchedule(50, 0.01, 4.0)
    return exact_model(GAUSS8, process, SHIFT, SCALE, kind)


def test_guidance_formulas_follow_the_lecture() -> None:
    e_c, e_u, grad = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, -1.0]]), torch.tensor([[0.5, 0.25]])
    assert torch.equal(cfg_eps(e_c, e_u, 0.0), e_u)
    assert torch.equal(cfg_eps(e_c, e_u, 1.0), e_c)
    assert torch.allclose(cfg_eps(e_c, e_u, 3.0), 3 * e_c - 2 * e_u)
    assert torch.allclose(cfg_eps(e_c, e_u, -1.0), 2 * e_u - e_c)  # negative γ pushes away from y
    assert torch.allclose(classifier_eps(e_u, grad, 0.5, 2.0), e_u - 2.0 * 0.5 * grad)


@pytest.mark.parametrize("kind", ["ddpm", "ncsn"])
@pytest.mark.parametrize("guidance_kind", ["cfg", "classifier"])
def test_gamma_zero_is_unconditional_and_gamma_one_conditional_exactly(kind: str, guidance_kind: str) -> None:
    model = _model(kind)
    opts = {"sampler": "ddim", "steps": 30} if kind == "ddpm" else {"steps": 20, "steps_per_level": 2}
    plain = model.sample(300, seed=3, **opts)
    conditional = model.sample(300, seed=3, label=5, guidance_kind=guidance_kind, **opts)
    g0 = model.sample(300, seed=3, label=5, guidance=0.0, guidance_kind=guidance_kind, **opts)
    g1 = model.sample(300, seed=3, label=5, guidance=1.0, guidance_kind=guidance_kind, **opts)
    assert np.array_equal(g0, plain)
    assert np.array_equal(g1, conditional)
    assert not np.array_equal(g1, plain)


def test_guidance_sharpens_towards_the_label() -> None:
    model = _model()
    shares = []
    for gamma in (0.0, 1.0, 3.0):
        x = model.sample(2000, seed=1, sampler="ddim", steps=50, label=2, guidance=gamma)
        shares.append(float((GAUSS8.classify(x) == 2).mean()))
    assert shares[0] == pytest.approx(1 / 8, abs=0.03)
    assert shares[1] > 0.95 and shares[2] >= 0.99
    away = model.sample(2000, seed=1, sampler="ddim", steps=50, label=2, guidance=-1.0)
    assert (GAUSS8.classify(away) == 2).mean() < 0.03


def test_classifier_gradient_points_towards_its_class() -> None:
    model = _model()
    pts = GAUSS8.sample(500, seed=2).x
    z = model.to_z(pts)
    for tau in (0.05, 0.3, 0.6):
        for label in (0, 3, 6):
            g = model.classifier.grad_log_prob(z, torch.tensor(tau), label)
            centre = torch.from_numpy((GAUSS8.means[label] - SHIFT) / SCALE).float()
            towards = ((centre - z) * g).sum(1)
            assert (towards > 0).float().mean() > 0.9


def test_class_probabilities_form_a_distribution_that_sharpens_as_noise_falls() -> None:
    model = _model()
    pts = GAUSS8.sample(400, seed=5).x
    noisy, clean = model.class_probs(pts, 0.9), model.class_probs(pts, 0.01)
    assert np.allclose(noisy.sum(1), 1, atol=1e-5) and np.allclose(clean.sum(1), 1, atol=1e-5)
    assert clean.max(1).mean() > 0.99 and noisy.max(1).mean() < 0.5


def test_impossible_guidance_requests_are_input_errors() -> None:
    model = _model()
    with pytest.raises(InputError, match="out of range"):
        model.sample(5, label=8)
    with pytest.raises(InputError, match="--label"):
        model.sample(5, guidance=2.0)
    with pytest.raises(InputError, match="guidance kind"):
        model.sample(5, label=1, guidance=2.0, guidance_kind="both")
    with pytest.raises(InputError, match="finite"):
        model.sample(5, label=1, guidance=float("nan"))
    unlabelled = exact_model(get_density("gaussian"), VPSchedule(50))
    with pytest.raises(InputError, match="unconditional"):
        unlabelled.sample(5, label=0)
    model.classifier = None
    with pytest.raises(InputError, match="no noisy classifier"):
        model.sample(5, label=1, guidance=2.0, guidance_kind="classifier")
