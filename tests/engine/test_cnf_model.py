"""The trained CNF as a Model: sampling options, checkpoints, the views' generators."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.checkpoint import density_record, load_trained, save_checkpoint
from engine.cnf import CNF, CNFTrainer, load_model
from engine.cnf.views import divergence_estimates, probability_path, trajectories, vector_field
from engine.densities import get_density
from engine.device import configure_threads
from engine.errors import InputError

configure_threads()


@pytest.fixture(scope="module")
def trained() -> CNF:
    trainer = CNFTrainer(get_density("8gaussians"), {"batch": 128, "heldout": 256, "width": 32,
                                                     "sample_every": 0.0}, "cpu", seed=0)
    list(trainer.run(steps=25))
    return trainer.best_model()


def test_checkpoint_round_trip_gives_identical_log_probs_and_samples(trained: CNF, tmp_path: object) -> None:
    path = f"{tmp_path}/m.pt"
    density = get_density("8gaussians")
    save_checkpoint(path, {**trained.to_checkpoint(), "density": density_record(density), "metrics": {}})
    loaded = load_trained(path)
    x = density.sample(300, seed=5).x
    np.testing.assert_array_equal(loaded.log_prob_user(x), trained.log_prob(x))
    np.testing.assert_array_equal(loaded.sample_user(50, seed=3), trained.sample(50, seed=3))
    ckpt = trained.to_checkpoint()
    ckpt["state_dict"] = {k: v[..., :1] for k, v in ckpt["state_dict"].items()}
    with pytest.raises(InputError, match=r"'state_dict\.[\w.]+' has shape \(32, 1\) but the configuration implies"):
        load_model(ckpt, torch.device("cpu"))


def test_sampling_options(trained: CNF) -> None:
    a = trained.sample(200, seed=1)
    assert a.shape == (200, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, trained.sample(200, seed=1))
    assert not np.array_equal(a, trained.sample(200, seed=2))
    coarse = trained.sample(200, seed=1, steps=2)
    assert 0 < np.abs(coarse - a).max() < 1.0  # a coarse RK4 solve lands close, not on the same points
    np.testing.assert_allclose(trained.sample(200, seed=1, sampler="ode"), a)
    for bad in ({"label": 1}, {"guidance": 2.0}, {"guidance_kind": "cfg"}):
        with pytest.raises(InputError, match="CNF models are unconditional"):
            trained.sample(5, seed=0, **bad)
    with pytest.raises(InputError, match="sampler 'ddim'"):
        trained.sample(5, seed=0, sampler="ddim")
    with pytest.raises(InputError, match="unknown ODE solver"):
        trained.sample(5, seed=0, solver="leapfrog")


def test_unseeded_sampling_varies_and_leaves_the_global_rng_alone(trained: CNF) -> None:
    torch.manual_seed(3)
    expected = torch.rand(1)
    torch.manual_seed(3)
    a, b = trained.sample(3, steps=2), trained.sample(3, steps=2)
    assert not np.array_equal(a, b)
    assert torch.equal(torch.rand(1), expected)


def test_velocity_is_the_field(trained: CNF) -> None:
    x = torch.randn(7, 2)
    v = trained.velocity(x, 0.25)
    assert v.shape == (7, 2) and not v.requires_grad
    torch.testing.assert_close(v, trained.field(torch.tensor(0.25), x))
    assert not torch.allclose(v, trained.velocity(x, 0.75))  # it depends on time


def test_forward_trajectories_end_where_sampling_ends_with_the_model_density(trained: CNF) -> None:
    frames = list(trajectories(trained, 64, direction="forward", seed=4, solver="dopri5", frames=5))
    assert [f.t for f in frames] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert all(f.x.shape == (64, 2) and f.x.dtype == np.float32 and f.log_density.shape == (64,) for f in frames)
    x1 = frames[-1].x
    np.testing.assert_allclose(x1, trained.sample(64, seed=4), atol=2e-3)
    np.testing.assert_allclose(frames[-1].log_density, trained.log_prob(x1), atol=5e-3)
    mid = frames[2]
    np.testing.assert_allclose(mid.log_density, trained.log_prob_at(torch.from_numpy(mid.x), 0.5).numpy(), atol=5e-3)


def test_backward_trajectories_from_data_carry_log_p_t(trained: CNF) -> None:
    x = get_density("8gaussians").sample(40, seed=9).x
    frames = list(trajectories(trained, direction="backward", points=x, solver="rk4", steps=8))
    assert len(frames) == 9 and frames[0].t == 1.0 and frames[-1].t == 0.0
    assert all(f.nfe == 4 for f in frames[1:])
    np.testing.assert_array_equal(frames[0].x, x)
    np.testing.assert_allclose(frames[0].log_density, trained.log_prob(x), atol=0.05)  # coarse RK4 vs dopri5
    z0 = frames[-1].x
    np.testing.assert_allclose(frames[-1].log_density, -0.5 * (z0**2).sum(1) - np.log(2 * np.pi), atol=1e-5)
    with pytest.raises(ValueError, match="give points"):
        next(trajectories(trained, direction="backward"))


def test_vector_field_and_divergence_views(trained: CNF) -> None:
    box = (-4.0, 4.0, -4.0, 4.0)
    frames = list(vector_field(trained, box, n=10, times=[0.0, 1.0]))
    assert len(frames) == 2 and frames[0].velocity.shape == (10, 10, 2) and frames[0].divergence.shape == (10, 10)
    pts = np.stack(np.meshgrid(frames[0].xs, frames[0].ys), -1).reshape(-1, 2)
    np.testing.assert_allclose(frames[1].velocity.reshape(-1, 2),
                               trained.velocity(torch.from_numpy(pts), 1.0).numpy(), atol=1e-6)
    est = divergence_estimates(trained, box, n=12, t=0.5, probe="gaussian", k=4, repeats=64)
    assert est.exact.shape == est.estimate.shape == est.spread.shape == (12, 12)
    assert np.all(np.abs(est.estimate - est.exact) <= 5 * est.spread / np.sqrt(64) + 1e-6)
    assert est.spread.mean() > 0
    div0 = frames[1].divergence
    mid = next(vector_field(trained, box, n=12, times=[0.5]))
    np.testing.assert_allclose(mid.divergence, est.exact, atol=1e-6)
    assert np.isfinite(div0).all()


def test_probability_path_frames(trained: CNF) -> None:
    frames = list(probability_path(trained, (-5.0, 5.0, -5.0, 5.0), n=40, times=[0.0, 1.0]))
    assert [f.t for f in frames] == [0.0, 1.0] and frames[0].nfe == 0 and frames[1].nfe > 0
    assert all(f.density.dtype == np.float32 and f.density.shape == (40, 40) for f in frames)
    with pytest.raises(ValueError, match="outside"):
        next(probability_path(trained, (-1.0, 1.0, -1.0, 1.0), times=[1.5]))


def test_a_framed_featured_checkpoint_round_trips_and_a_plain_one_keeps_its_old_keys(tmp_path: object) -> None:
    density = get_density("swissroll")  # its mean is off the origin: the frame's shift matters
    trainer = CNFTrainer(density, {"batch": 64, "heldout": 128, "width": 16, "fourier": 4, "time_features": 2,
                                   "radial": 3, "normalise": True, "sample_every": 0.0}, "cpu", seed=0)
    list(trainer.run(steps=3))
    model = trainer.best_model()
    config = model.to_checkpoint()["config"]
    x = density.sample(20_000, seed=1).x
    assert config["shift"] == pytest.approx(x.mean(0), abs=0.03) and config["scale"] == pytest.approx(x.std(), rel=0.02)
    assert (config["fourier"], config["time_features"], config["radial"]) == (4, 2, 3)
    path = f"{tmp_path}/framed.pt"
    save_checkpoint(path, {**model.to_checkpoint(), "density": density_record(density), "metrics": {}})
    loaded = load_trained(path)
    np.testing.assert_array_equal(loaded.log_prob_user(x[:200]), model.log_prob(x[:200]))
    np.testing.assert_array_equal(loaded.sample_user(50, seed=3), model.sample(50, seed=3))
    # a checkpoint written before the features and the frame has none of their keys and loads as the plain field
    plain = CNFTrainer(density, {"batch": 64, "heldout": 128, "width": 16, "fourier": 0, "fourier_flat": 0,
                                 "sample_every": 0.0}, "cpu", seed=0).best_model().to_checkpoint()
    assert not {"fourier", "fourier_scale", "time_features", "radial", "shift", "scale"} & set(plain["config"])
    field = load_model(plain, torch.device("cpu")).field
    assert (field.fourier, field.time_features, field.radial, field.framed) == (0, 0, 0, False)
    bad = {**config, "scale": -1.0}
    with pytest.raises(InputError, match="config.scale"):
        load_model({**model.to_checkpoint(), "config": bad}, torch.device("cpu"))
