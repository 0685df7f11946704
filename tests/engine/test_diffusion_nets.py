"""The networks' fast sampling path (conditioning folded into the layers, chunks) equals the plain one."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from engine.device import configure_threads
from engine.diffusion.nets import CHUNK, EpsNet, NoisyClassifier, time_embedding

configure_threads()  # one torch thread: two spin-wait on a busy 2-core machine


@pytest.mark.parametrize("film", [False, True])
@pytest.mark.parametrize(("fourier", "radial"), [(0.0, 0), (3.0, 0), (3.0, 5)])
def test_shared_conditioning_path_equals_per_point_path(film: bool, fourier: float, radial: int) -> None:
    torch.manual_seed(0)
    net = EpsNet(32, 3, num_classes=4, fourier=fourier, film=film, radial=radial)
    with torch.no_grad():  # make the gains matter
        net.cond[-1].weight.mul_(5.0)
    n = CHUNK + 300  # crosses a chunk boundary
    x = torch.randn(n, 2)
    with torch.no_grad():
        fast = net(x, torch.tensor(0.37), torch.tensor([2]))
        plain = net(x, torch.full((n,), 0.37), torch.full((n,), 2))
    with torch.enable_grad():
        graded = net(x, torch.tensor(0.37), torch.tensor([2]))
    assert torch.allclose(fast, plain, atol=1e-5) and torch.allclose(graded, plain, atol=1e-5)


def test_null_label_is_its_own_learned_embedding() -> None:
    torch.manual_seed(1)
    net = EpsNet(16, 2, num_classes=3)
    x = torch.randn(10, 2)
    with torch.no_grad():
        none, null = net(x, torch.tensor(0.5)), net(x, torch.tensor(0.5), torch.tensor([3]))
        label0 = net(x, torch.tensor(0.5), torch.tensor([0]))
    assert torch.equal(none, null) and not torch.allclose(none, label0)
    assert net.labels is not None and net.labels.num_embeddings == 4


def test_classifier_gradient_matches_finite_differences() -> None:
    torch.manual_seed(2)
    clf = NoisyClassifier(3, 16, 2, fourier=1.0).double()
    x = torch.randn(4, 2, dtype=torch.float64)
    tau = torch.tensor(0.2)
    g = clf.grad_log_prob(x, tau, 1)
    h = 1e-6
    for d in range(2):
        e = torch.zeros(2, dtype=torch.float64)
        e[d] = h
        fd = (clf.log_probs(x + e, tau)[:, 1] - clf.log_probs(x - e, tau)[:, 1]) / (2 * h)
        assert torch.allclose(g[:, d], fd, atol=1e-6)


def test_time_embedding_shape_and_range() -> None:
    e = time_embedding(torch.linspace(0, 1, 7), 32)
    assert e.shape == (7, 32) and float(e.abs().max()) <= 1.0


def test_folded_layers_are_reused_only_while_the_weights_stay_the_same() -> None:
    net = EpsNet(width=16, depth=2, num_classes=3, fourier=1.0, film=True)
    x, tau = torch.randn(50, 2), torch.tensor(0.3)
    with torch.no_grad():
        first = net(x, tau, torch.tensor(1))
        assert len(net._fold_cache) == 1
        assert torch.equal(net(x, tau, torch.tensor(1)), first) and len(net._fold_cache) == 1
        net.layers[0].bias.add_(0.5)  # an in-place update, as an optimiser step makes
        moved = net(x, tau, torch.tensor(1))
    assert not torch.allclose(moved, first)
    with torch.enable_grad():  # the training path: per-point conditioning, nothing cached
        assert torch.allclose(net(x, tau, torch.tensor(1)), moved, atol=1e-6)
    twin = copy.deepcopy(net)
    with torch.no_grad():
        twin.out.bias.add_(1.0)
        assert torch.allclose(twin(x, tau, torch.tensor(1)), moved + 1.0, atol=1e-5)


@pytest.mark.parametrize("activation", ["silu", "hardswish", "relu"])
@pytest.mark.parametrize(("fourier", "radial"), [(0.0, 0), (2.0, 0), (2.0, 4)])
def test_classifier_gradient_by_hand_equals_autograd(activation: str, fourier: float, radial: int) -> None:
    torch.manual_seed(3)
    clf = NoisyClassifier(4, 16, 3, fourier=fourier, film=True, activation=activation, radial=radial).double()
    x = torch.randn(64, 2, dtype=torch.float64) * 2
    tau = torch.tensor(0.3)
    auto = clf.grad_log_prob(x, tau, 2)  # grad enabled: autograd
    with torch.no_grad():
        by_hand = clf.grad_log_prob(x, tau, 2)
    assert auto.abs().max() > 1e-3
    assert torch.allclose(by_hand, auto, atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize("labels", [False, True])
def test_training_path_runs_the_conditioning_once_per_distinct_time_with_the_same_values_and_gradients(
        labels: bool) -> None:
    torch.manual_seed(4)
    net = EpsNet(24, 3, num_classes=3 if labels else 0, fourier=2.0, film=True, radial=4).double()
    with torch.no_grad():
        net.cond[-1].weight.mul_(5.0)
    n = 200
    x = torch.randn(n, 2, dtype=torch.float64)
    tau = torch.tensor([0.1, 0.5, 0.9, 0.3])[torch.randint(0, 4, (n,))].double()
    y = torch.randint(0, 4, (n,)) if labels else None  # 3 is ∅

    rows: list[int] = []
    hook = net.cond.register_forward_hook(lambda _m, inputs, _out: rows.append(len(inputs[0])))
    fast = net(x, tau, y)
    hook.remove()
    assert rows == [len(torch.unique(torch.stack([tau, torch.zeros(n) if y is None else y.double()], 1), dim=0))]
    assert rows[0] < n
    shift, gain = net.conditioning(tau, y)  # every point's own row: the plain per-point network
    plain = net._per_point(net._lift(x), shift, gain)
    torch.testing.assert_close(fast, plain)
    g_fast = torch.autograd.grad(fast.square().sum(), list(net.parameters()), allow_unused=True)
    g_plain = torch.autograd.grad(plain.square().sum(), list(net.parameters()), allow_unused=True)
    for a, b in zip(g_fast, g_plain):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b)


def test_radial_units_start_as_waves_in_the_distance_from_the_centre() -> None:
    torch.manual_seed(5)
    net = EpsNet(16, 2, fourier=3.0, radial=4)
    w = net.layers[0].weight.detach()
    assert w.shape == (20, 3) and net.layers[1].in_features == 20  # added to the width
    assert torch.equal(w[16:, :2], torch.zeros(4, 2)) and bool((w[16:, 2] > 0).all())
    assert torch.equal(w[:16, 2], torch.zeros(16)) and bool((w[:16, :2] != 0).all())
    # the same frequencies for every seed (quantiles of |N(0, (2·fourier)²)|), rising
    torch.manual_seed(6)
    assert torch.equal(EpsNet(16, 2, fourier=3.0, radial=4).layers[0].weight[16:, 2], w[16:, 2])
    assert bool((w[17:, 2] > w[16:19, 2]).all())
    # those units see only the radius: the first layer's output of a rotated point is theirs unchanged
    x = torch.randn(7, 2)
    c, s = math.cos(0.8), math.sin(0.8)
    rotated = x @ torch.tensor([[c, s], [-s, c]])
    first = net.layers[0]
    torch.testing.assert_close(first(net._lift(x))[:, 16:], first(net._lift(rotated))[:, 16:])
    # and they are modulated by the time like every hidden unit
    shifts, gains = EpsNet(16, 2, fourier=3.0, radial=4, film=True).conditioning(torch.tensor([0.2, 0.7]), None)
    assert [v.shape[1] for v in shifts] == [20, 16] and gains is not None and [v.shape[1] for v in gains] == [20, 16]


def test_radial_scale_spreads_the_radial_frequencies_and_a_config_without_radial_keys_has_none() -> None:
    from engine.diffusion.model import build_model
    from engine.fourier import radial_frequencies

    wide = EpsNet(16, 2, fourier=3.0, radial=4, radial_scale=9.0).layers[0].weight[16:, 2].detach()
    torch.testing.assert_close(wide, radial_frequencies(4, 9.0))
    torch.testing.assert_close(EpsNet(16, 2, fourier=3.0, radial=4).layers[0].weight[16:, 2].detach(),
                               radial_frequencies(4, 6.0))  # 0: twice the Fourier std
    config = {"net": {"width": 8, "depth": 2, "num_classes": 0, "emb_dim": 8, "fourier": 1.0},
              "process": {"process": "vp", "timesteps": 10, "schedule": "linear"}, "shift": [0.0, 0.0],
              "scale": 1.0, "box": [-1.0, 1.0, -1.0, 1.0]}
    net = build_model("ddpm", config).net
    assert net.radial == 0 and net.layers[0].in_features == 2  # an older checkpoint's network, as it was
