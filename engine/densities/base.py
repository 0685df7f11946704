"""The density interface, the data map, and grid helpers shared by every density.

Grid convention (used by every view and by ``flowscope kfp``): ``grid[i, j]`` is the
value at the centre of cell row ``i`` (y, bottom to top) and column ``j`` (x, left to
right) of a uniform ``n x n`` grid over ``box = (x_min, x_max, y_min, y_max)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = [
    "Box",
    "DEFAULT_BOX",
    "DataMap",
    "Density",
    "Sample",
    "grid_points",
    "histogram_density",
    "smooth",
]

Box = tuple[float, float, float, float]
DEFAULT_BOX: Box = (-4.0, 4.0, -4.0, 4.0)
FILL_CELLS = 3  # classify(): an empty cell of the label table takes the class of cells up to 3 away


@dataclass(frozen=True)
class DataMap:
    """Affine map from the user's coordinates to the model's: ``x_model = (x_user - shift) * scale``.

    Log-densities move between the two with the map's Jacobian: in 2D,
    ``log p_user(x) = log p_model(map(x)) + 2 log(scale)``.
    """

    shift: tuple[float, float] = (0.0, 0.0)
    scale: float = 1.0

    def to_model(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, np.float64) - np.asarray(self.shift)) * self.scale).astype(np.float32)

    def to_user(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, np.float64) / self.scale + np.asarray(self.shift)).astype(np.float32)

    @property
    def log_det(self) -> float:
        """log |det| of the user -> model map (add it to a model log-density)."""
        return 2.0 * math.log(self.scale)

    def to_dict(self) -> dict[str, object]:
        return {"shift": [float(v) for v in self.shift], "scale": float(self.scale)}

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> DataMap:
        shift = d.get("shift", (0.0, 0.0))
        scale = float(d.get("scale", 1.0))  # type: ignore[arg-type]
        sx, sy = (float(v) for v in shift)  # type: ignore[attr-defined]  # a bad shift is refused below
        if not (math.isfinite(scale) and scale > 0 and math.isfinite(sx) and math.isfinite(sy)):
            raise ValueError("data map must have a positive finite scale and a finite shift")
        return cls((sx, sy), scale)

    @property
    def is_identity(self) -> bool:
        return self.shift == (0.0, 0.0) and self.scale == 1.0


@dataclass(frozen=True)
class Sample:
    """Points ``x`` (n, 2) float32 in model coordinates and labels (n,) int64 or None."""

    x: np.ndarray
    labels: np.ndarray | None = None


def grid_points(box: Box, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell centres of an n x n grid: returns xs (n,), ys (n,) and points (n*n, 2), row-major in y."""
    x0, x1, y0, y1 = box
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y0 + (np.arange(n) + 0.5) * (y1 - y0) / n
    gx, gy = np.meshgrid(xs, ys)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    return xs.astype(np.float32), ys.astype(np.float32), pts


def smooth(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur with reflecting edges (sigma in cells)."""
    if sigma <= 0:
        return img
    r = max(1, int(math.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    out = img.astype(np.float64)
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (r, r)
        padded = np.pad(out, pad, mode="reflect")
        out = np.apply_along_axis(lambda v: np.convolve(v, k, mode="valid"), axis, padded)
    return out


def histogram_density(x: np.ndarray, box: Box, n: int, sigma: float = 0.0) -> np.ndarray:
    """Histogram estimate of a density on the grid of ``box`` (float32, (n, n), rows = y).

    Normalised by the total number of points, so mass outside the box is simply absent.
    """
    x0, x1, y0, y1 = box
    h, _, _ = np.histogram2d(x[:, 1], x[:, 0], bins=n, range=[[y0, y1], [x0, x1]])
    cell = (x1 - x0) * (y1 - y0) / (n * n)
    h = smooth(h, sigma) / (max(len(x), 1) * cell)
    return h.astype(np.float32)


@dataclass
class Density:
    """A 2D probability density that can be sampled, and evaluated where it has a closed form.

    Arguments:
        name: the name a user types (``8gaussians``, ``file:data.csv``).
        description: one line for lists and tooltips.
        num_classes: number of natural parts (mixture components, arms...), 0 if none.
        box: the view box in model coordinates.
        data_map: the user -> model affine map (identity for built-in densities).
    """

    name: str
    description: str = ""
    num_classes: int = 0
    box: Box = DEFAULT_BOX
    data_map: DataMap = field(default_factory=DataMap)
    notice: str | None = None
    _cache: dict[object, Any] = field(default_factory=dict, repr=False, compare=False)

    analytic = False

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (a training job for a child process) without the cache: pictures and reference samples
        are derived and made again where needed, and a moons density's view had made its pickle 3.4 MB."""
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    # -- sampling ---------------------------------------------------------------
    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> Sample:
        """Draw ``n`` points (and labels) in model coordinates."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        x, labels = self._sample(int(n), rng)
        return Sample(np.ascontiguousarray(x, np.float32), None if labels is None else labels.astype(np.int64))

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    # -- closed forms (analytic densities override) -------------------------------
    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Exact log-density (nats) at model-coordinate points ``x`` (n, 2) -> (n,)."""
        raise NotImplementedError(f"density '{self.name}' has no closed-form log-density")

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """Exact score ``grad_x log p(x)`` (n, 2); by autograd unless a subclass has a closed form."""
        with torch.enable_grad():
            xr = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.log_prob(xr).sum(), xr)
        return g.detach()

    def class_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(y | x) for each class, (n, num_classes); mixtures override with the posterior."""
        raise NotImplementedError(f"density '{self.name}' has no closed-form class posterior")

    # -- estimates every density offers -----------------------------------------
    def density_grid(self, n: int = 128, box: Box | None = None) -> np.ndarray:
        """p(x) on the grid of ``box`` (float32 (n, n)): exact when analytic, else a smoothed histogram."""
        box = box or self.box
        key = ("grid", n, box)
        if key not in self._cache:
            if self.analytic:
                _, _, pts = grid_points(box, n)
                with torch.no_grad():
                    lp = self.log_prob(torch.from_numpy(pts).double()).numpy()
                self._cache[key] = np.exp(lp).reshape(n, n).astype(np.float32)
            else:
                if "reference" not in self._cache:  # one sample for every grid size (~0.06 s each)
                    self._cache["reference"] = self.sample(400_000, seed=12345).x
                self._cache[key] = histogram_density(self._cache["reference"], box, n, sigma=0.6 * n / 128)
        return self._cache[key]

    def entropy(self) -> float | None:
        """True differential entropy in nats (model coordinates), when the log-density is exact."""
        if not self.analytic:
            return None
        if "entropy" not in self._cache:
            ref = self.sample(400_000, seed=2024).x
            with torch.no_grad():
                lp = self.log_prob(torch.from_numpy(ref).double())
            self._cache["entropy"] = float(-lp.mean())
        return self._cache["entropy"]

    def entropy_if_known(self) -> float | None:
        """The entropy where it costs nothing now (a closed form, or the estimate already made), else None:
        for a GUI thread, which must not wait ~0.2-0.4 s for :meth:`entropy`'s 400k-point estimate."""
        if type(self).entropy is not Density.entropy:  # a subclass's closed form
            return self.entropy()
        return self._cache.get("entropy")

    def classify(self, x: np.ndarray) -> np.ndarray:
        """Most probable class of each point (n,), -1 where unknown; needs num_classes > 0."""
        if self.num_classes == 0:
            return np.full(len(x), -1, np.int64)
        try:
            with torch.no_grad():
                lp = self.class_log_prob(torch.from_numpy(np.asarray(x, np.float64)))
            undecided = (lp.max(1).values - lp.min(1).values) < 1e-9
            return torch.where(undecided, -1, lp.argmax(1)).numpy()
        except NotImplementedError:
            return self._classify_by_table(np.asarray(x, np.float32))

    def _classify_by_table(self, x: np.ndarray) -> np.ndarray:
        n = 256
        if "label_table" not in self._cache:
            ref = self.sample(400_000, seed=777)
            x0, x1, y0, y1 = self.box
            counts = np.zeros((self.num_classes, n, n))
            for k in range(self.num_classes):
                pts = ref.x[ref.labels == k]
                counts[k], _, _ = np.histogram2d(pts[:, 1], pts[:, 0], bins=n, range=[[y0, y1], [x0, x1]])
            # 400k points leave cells empty a couple of noise widths off a thin ring, where the class
            # is still plain: 1-2 % of an exact sample of circles or rings fell there. An empty cell
            # takes the class of the nearest cells with two points or more (not a stray point far
            # out), up to FILL_CELLS away (Chebyshev); farther from the data it stays unknown (-1)
            total = counts.sum(0)
            grown = np.where(total >= 2, counts, 0)
            for _ in range(FILL_CELLS):
                padded = np.pad(grown, ((0, 0), (1, 1), (1, 1)))
                near = sum(padded[:, 1 + a:n + 1 + a, 1 + b:n + 1 + b] for a in (-1, 0, 1) for b in (-1, 0, 1))
                grown = np.where(grown.sum(0) == 0, near, grown)
            counts = np.where(total > 0, counts, grown)
            table = np.where(counts.sum(0) > 0, counts.argmax(0), -1)
            self._cache["label_table"] = table
        table = self._cache["label_table"]
        x0, x1, y0, y1 = self.box
        j = np.floor((x[:, 0] - x0) / (x1 - x0) * n).astype(np.int64)
        i = np.floor((x[:, 1] - y0) / (y1 - y0) * n).astype(np.int64)
        inside = (i >= 0) & (i < n) & (j >= 0) & (j < n)
        out = np.full(len(x), -1, np.int64)
        out[inside] = table[i[inside], j[inside]]
        return out

    # -- user coordinates --------------------------------------------------------
    def log_prob_user(self, x_user: np.ndarray) -> np.ndarray:
        """Exact log-density in the user's own coordinates (Jacobian of the data map included)."""
        xm = torch.from_numpy(self.data_map.to_model(x_user)).double()
        with torch.no_grad():
            return (self.log_prob(xm) + self.data_map.log_det).numpy()
