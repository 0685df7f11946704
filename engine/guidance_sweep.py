r"""The guidance trade-off: what a guidance scale γ buys and costs, measured over a range of γ.

For a class y and each γ, a guided sample x_1 … x_n (one seed for every γ) is scored by

* **in class** — the share of points that the density's own classifier puts in class y;
* **fidelity** — the histogram total variation to the true class-conditional density
  p(x | y), drawn as an exact sample of the class (small is faithful);
* **precision / recall** — k-NN precision and recall against an exact sample of p(x | y)
  (Kynkäänniemi et al., 2019): each point owns a ball reaching its k-th nearest neighbour
  in its own set; precision is the share of generated points inside some real ball (the
  samples look like the class), recall the share of real points inside some generated
  ball (the class is covered: a sample collapsed on one spot covers little). A few stray
  points near the class own wide balls, so where almost nothing lands in the class (γ < 0)
  recall still reads high; **coverage** (Naeem et al., 2020), the share of real points whose
  own k-NN ball holds a generated point, has no such blind spot (≈ 1 − 2^−k for an exact
  sample: 0.97 at k = 5);
* **tilted** — where p(x) and p(y | x) are closed forms, the histogram TV to the naive
  tilted target p(x) p(y | x)^γ / Z, normalised on a grid; guidance samples it exactly only
  at γ = 0 and γ = 1 (guiding the noisy marginals is not tilting the data).

The smallest γ that keeps most of the class in it while recall stays high is what a person
tuning γ looks for.

References:
    | Improved Precision and Recall Metric for Assessing Generative Models (Kynkäänniemi et al., 2019)
    |   https://arxiv.org/abs/1904.06991
    | Reliable Fidelity and Diversity Metrics for Generative Models (Naeem et al., 2020)
    |   https://arxiv.org/abs/2002.09797
    | Classifier-Free Diffusion Guidance (Ho & Salimans, 2022) https://arxiv.org/abs/2207.12598
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from .densities import Box, Density, grid_points
from .errors import InputError
from .metrics import histogram_tv, knn_radii

__all__ = ["DEFAULT_GAMMAS", "SWEEP_FM", "SWEEP_SAMPLER", "SWEEP_STEPS", "Reference", "SweepPoint", "precision_recall",
           "coverage", "in_class_share", "tilted_grid", "tilted_tv", "reference", "score_sample", "sweep",
           "sweep_steps", "smallest_gamma"]

DEFAULT_GAMMAS = tuple(float(g) for g in range(-2, 11))  # 13 values, −2 … 10
SWEEP_SAMPLER = "dpm++"  # the probability-flow ODE, deterministic: one seed gives one sample per γ
# steps by guidance kind: what the guidance lab samples at display rate (a classifier gradient costs
# twice an ε), so the curve scores exactly the samples the lab shows
SWEEP_STEPS = {"cfg": 20, "classifier": 12}
# flow-matching models: classical RK4 on the guided velocity, the same noise for every γ
SWEEP_FM = ("rk4", 4)
K_NEIGHBOURS = 3  # Kynkäänniemi et al.'s k
K_COVERAGE = 5  # Naeem et al.'s k
BINS = 32  # histogram cells a side: at 2,000 points an exact sample's TV floor is ~0.2 over all of 8gaussians
_LOG_FLOOR = -30.0  # log p(y | x) where the class is impossible: keeps p(y | x)^γ finite for γ ≤ 0
_FINE = 4  # the tilted target is evaluated on a grid 4x finer and summed into each histogram cell


def in_class_share(x: np.ndarray, density: Density, label: int) -> float:
    """The share of points (n, 2) that the density's classifier puts in class ``label``."""
    return float(np.mean(density.classify(np.asarray(x, np.float32)) == int(label))) if len(x) else 0.0


def _covered(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """For each point, whether some centre's ball (radius ``radii``) holds it.

    Blocks of the full distance matrix (a few million entries at a time): a tree query with the
    largest radius hands every point most of the centres once a few balls are wide.
    """
    from scipy.spatial.distance import cdist

    out = np.zeros(len(points), bool)
    rows = max(1, 4_000_000 // max(len(centres), 1))
    for start in range(0, len(points), rows):
        d = cdist(points[start:start + rows], centres)
        out[start:start + rows] = (d <= radii[None, :]).any(1)
    return out


def precision_recall(fake: np.ndarray, real: np.ndarray, k: int = K_NEIGHBOURS) -> tuple[float, float]:
    """k-NN (precision, recall) of points ``fake`` (n, 2) against ``real`` (m, 2) (Kynkäänniemi et al., 2019)."""
    fake, real = np.asarray(fake, np.float64), np.asarray(real, np.float64)
    if len(fake) <= k or len(real) <= k:
        raise InputError(f"precision and recall need more than k = {k} points in each set")
    real_r, fake_r = knn_radii(real, k), knn_radii(fake, k)
    precision = float(_covered(fake, real, real_r).mean())
    recall = float(_covered(real, fake, fake_r).mean())
    return precision, recall


def coverage(fake: np.ndarray, real: np.ndarray, k: int = K_COVERAGE) -> float:
    """Share of ``real`` points (m, 2) whose k-NN ball among the real points holds a point of ``fake`` (n, 2)."""
    fake, real = np.asarray(fake, np.float64), np.asarray(real, np.float64)
    if len(fake) < 1 or len(real) <= k:
        raise InputError(f"coverage needs a sample and more than k = {k} real points")
    from scipy.spatial import cKDTree

    radii = knn_radii(real, k)
    nearest, _ = cKDTree(fake).query(real, k=1)
    return float(np.mean(nearest <= radii))


def tilted_grid(density: Density, label: int, gamma: float, box: Box, bins: int = BINS) -> np.ndarray | None:
    """Cell probabilities (bins, bins) of p(x) p(y | x)^γ / Z over ``box`` (rows = y), or None without closed forms."""
    if not density.analytic:
        return None
    n = bins * _FINE
    _, _, pts = grid_points(box, n)
    try:
        with torch.no_grad():
            x = torch.from_numpy(pts).double()
            log_px = density.log_prob(x).numpy()
            log_py = density.class_log_prob(x)[:, int(label)].numpy()
    except NotImplementedError:
        return None
    log_py = np.maximum(np.nan_to_num(log_py, nan=_LOG_FLOOR, neginf=_LOG_FLOOR), _LOG_FLOOR)
    log = log_px + float(gamma) * log_py
    finite = np.isfinite(log)
    if not finite.any():
        return None
    p = np.where(finite, np.exp(log - log[finite].max()), 0.0).reshape(n, n)
    cells = p.reshape(bins, _FINE, bins, _FINE).sum((1, 3))
    return cells / cells.sum()


def tilted_tv(x: np.ndarray, cells: np.ndarray, box: Box) -> float:
    """TV between the histogram of points (n, 2) and cell probabilities (B, B); points off the box count in full."""
    bins = cells.shape[0]
    x0, x1, y0, y1 = box
    h, _, _ = np.histogram2d(x[:, 1], x[:, 0], bins=bins, range=[[y0, y1], [x0, x1]])
    h = h / max(len(x), 1)
    return float(0.5 * (np.abs(h - cells).sum() + (1.0 - h.sum())))


@dataclass(frozen=True)
class Reference:
    """Exact samples of p(x | y): ``fine`` (many points, for histograms) and ``matched`` (n points, for recall)."""

    label: int
    fine: np.ndarray
    matched: np.ndarray
    tv_floor: float  # TV between two exact class samples of n points: the fidelity of a perfect sampler


def reference(density: Density, label: int, n: int, seed: int = 4321) -> Reference:
    """Exact samples of class ``label`` of ``density`` (rejection on the labels of its sampler)."""
    if density.num_classes < 2:
        raise InputError(f"density '{density.name}' has no classes to guide towards")
    if not 0 <= int(label) < density.num_classes:
        raise InputError(f"label {label} is out of range: '{density.name}' has classes 0..{density.num_classes - 1}")
    rng = np.random.default_rng(seed)
    want = max(50_000, 3 * n)
    parts, have = [], 0
    for _ in range(200):
        s = density.sample(max(want, 10_000), seed=rng)
        pts = s.x[s.labels == int(label)] if s.labels is not None else s.x[density.classify(s.x) == int(label)]
        parts.append(pts)
        have += len(pts)
        if have >= want + 2 * n:
            break
    pool = np.concatenate(parts)
    if len(pool) < 2 * n + 10:
        raise InputError(f"class {label} of '{density.name}' is too rare to draw an exact sample of it")
    matched, other, fine = pool[:n], pool[n:2 * n], pool[2 * n:]
    return Reference(int(label), fine, matched, histogram_tv(matched, other, density.box, BINS))


@dataclass(frozen=True)
class SweepPoint:
    """The figures of one γ (see the module docstring); ``tilted`` is None where p(x) p(y|x)^γ is not exact."""

    gamma: float
    in_class: float
    fidelity: float
    precision: float
    recall: float
    coverage: float
    tilted: float | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_sample(x: np.ndarray, density: Density, ref: Reference, gamma: float, seconds: float = 0.0) -> SweepPoint:
    """The trade-off figures of one guided sample x (n, 2) (model coordinates)."""
    x = np.asarray(x, np.float32)
    precision, recall = precision_recall(x, ref.matched)
    cells = tilted_grid(density, ref.label, gamma, density.box)
    tilted = None if cells is None else tilted_tv(x, cells, density.box)
    return SweepPoint(float(gamma), in_class_share(x, density, ref.label), histogram_tv(x, ref.fine, density.box, BINS),
                      precision, recall, coverage(x, ref.matched), tilted, seconds)


def _sweep_options(model: Any, label: int, kind: str, interval: tuple[float, float] | None, sampler: str | None,
                   steps: int | None) -> dict[str, Any]:
    options: dict[str, Any] = {"label": int(label), "guidance_kind": kind}
    if sampler is None and getattr(model, "process", None) is not None:  # a diffusion model
        sampler, steps = SWEEP_SAMPLER, SWEEP_STEPS.get(kind, SWEEP_STEPS["cfg"]) if steps is None else steps
    if sampler is not None:
        options["sampler"] = sampler
    if steps is not None:
        options["steps"] = int(steps)
    if interval is not None:
        options["guidance_interval"] = interval
    return options


def _check_gammas(gammas: Sequence[float]) -> None:
    if not gammas:
        raise InputError("give at least one guidance scale")
    bad = [g for g in gammas if not math.isfinite(float(g))]
    if bad:
        raise InputError(f"guidance scales must be finite numbers, not {bad[0]}")


def sweep(model: Any, density: Density, label: int, gammas: Sequence[float] = DEFAULT_GAMMAS, *,
          kind: str = "cfg", interval: tuple[float, float] | None = None, n: int = 2000, seed: int = 0,
          sampler: str | None = None, steps: int | None = None) -> Iterator[SweepPoint]:
    """The figures for each γ in turn (lazily, so that a worker can stop between two γ).

    ``model.sample(n, seed=…, label=…, guidance=…, guidance_kind=…, sampler=…, steps=…)`` draws
    the guided sample in model coordinates; every γ starts from the same noise (``seed``).
    A guidance interval (τ_lo, τ_hi) is passed on as ``guidance_interval``. Diffusion models
    sample with :data:`SWEEP_SAMPLER` at :data:`SWEEP_STEPS` unless told otherwise,
    flow-matching models with :data:`SWEEP_FM`.
    """
    _check_gammas(gammas)
    ref = reference(density, label, n)
    for point in _points(model, density, ref, gammas, kind, interval, n, seed, sampler, steps):
        if point is not None:
            yield point


def sweep_steps(model: Any, density: Density, ref: Reference, gammas: Sequence[float], *, kind: str = "cfg",
                interval: tuple[float, float] | None = None, n: int = 2000,
                seed: int = 0) -> Iterator[SweepPoint | None]:
    """Like :func:`sweep` with a ready reference, and a None after every sampler step of a diffusion or
    flow-matching model: a worker can stop the sweep within one step when something more urgent comes."""
    _check_gammas(gammas)
    yield from _points(model, density, ref, gammas, kind, interval, n, seed, None, None)


def _points(model: Any, density: Density, ref: Reference, gammas: Sequence[float], kind: str,
            interval: tuple[float, float] | None, n: int, seed: int, sampler: str | None,
            steps: int | None) -> Iterator[SweepPoint | None]:
    if getattr(model, "kind", None) == "fm":
        model.check_guidance(ref.label, 1.0, kind)
        solver, fm_steps = sampler or SWEEP_FM[0], steps or SWEEP_FM[1]
        for gamma in gammas:
            start, last = time.perf_counter(), None
            for _t, state in model.states(int(n), seed=seed, solver=solver, steps=fm_steps, label=ref.label,
                                          guidance=float(gamma), guidance_interval=interval, box=density.box):
                last = state
                yield None
            assert last is not None
            yield score_sample(last.float().cpu().numpy(), density, ref, float(gamma), time.perf_counter() - start)
        return
    options = _sweep_options(model, ref.label, kind, interval, sampler, steps)
    for gamma in gammas:
        start = time.perf_counter()
        if hasattr(model, "frames"):
            final = None
            for frame in model.frames(int(n), seed=seed, guidance=float(gamma), track=False, **options):
                final = frame
                yield None
            assert final is not None
            x = model.from_z(final.x)
        else:
            x = model.sample(int(n), seed=seed, guidance=float(gamma), **options)
        yield score_sample(x, density, ref, float(gamma), time.perf_counter() - start)


def smallest_gamma(points: Sequence[SweepPoint], share: float = 0.97) -> SweepPoint | None:
    """The point of smallest γ with at least ``share`` of its samples in the class (None if none has)."""
    good = [p for p in points if p.in_class >= share]
    return min(good, key=lambda p: p.gamma) if good else None
