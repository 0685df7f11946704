"""User data as densities: point files (``file:PATH``) and pictures (``image:PATH``).

Every problem with a file is raised as :class:`~engine.errors.InputError` with one
sentence naming the file and what is wrong with it.
"""

from __future__ import annotations

import io
import math
import os
import zipfile
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from ..files import check_npz, check_regular, read_bytes
from .base import Box, DataMap, Density, histogram_density

__all__ = [
    "PointData", "ImageDensity", "load_points", "load_image", "read_points", "points_density", "image_from_bytes",
    "darkness_density", "MAX_POINTS", "MAX_IMAGE_PIXELS",
]

MAX_POINTS = 2_000_000
MAX_FILE_BYTES = 1 << 30
MAX_CSV_BYTES = 64 << 20  # parsing text is slow and takes ~20x its size in memory: beyond this, ask for .npy
MAX_IMAGE_PIXELS = 40_000_000
MAX_IMAGE_BYTES = 256 << 20
MAX_UNPACKED_BYTES = 512 << 20  # an .npz's arrays once inflated: 2,000,000 labelled points take 48 MB
MAX_COORDINATE = 1e15  # beyond this, the float32 model coordinates cannot hold the data's spread
IMAGE_SIDE = 256
TARGET_STD = 1.6


def _fail(path: str, problem: str) -> InputError:
    return InputError(f"{path}: {problem}")


def _check_file(path: str, limit: int = MAX_FILE_BYTES) -> None:
    check_regular(path, limit)


def _read_bytes(path: str, limit: int = MAX_FILE_BYTES) -> bytes:
    return read_bytes(path, limit)


def _load_npy(path: str, max_points: int) -> tuple[np.ndarray, str | None]:
    """A .npy through a memory map, so a huge file is subsampled without being read whole."""
    _check_file(path)
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e).lower() or "object" in str(e).lower():
            raise _fail(path, "holds Python objects (pickled data), which are refused") from None
        raise _fail(path, f"is not a readable NumPy file ({e})") from None
    except (OSError, EOFError) as e:
        raise _fail(path, f"is not a readable NumPy file ({type(e).__name__})") from None
    if arr.ndim == 2 and len(arr) > max_points:
        idx = np.sort(np.random.default_rng(0).choice(len(arr), max_points, replace=False))
        note = f"{os.path.basename(path)}: using a random subset of {max_points:,} of {len(arr):,} points"
        return np.asarray(arr[idx]), note
    return np.array(arr), None


def _is_number(tok: str) -> bool:
    try:
        float(tok)
        return True
    except ValueError:
        return False


def _split(line: str, delim: str | None) -> list[str]:
    return [t.strip().strip('"').strip("'") for t in (line.split(delim) if delim else line.split())]


def _parse_csv(path: str, raw: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        if b"\x00" in raw[:4096]:
            raise _fail(path, "is a binary file, not comma-separated text") from None
        text = raw.decode("latin-1")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise _fail(path, "contains no data rows")
    first = lines[-1] if len(lines) == 1 else lines[1]
    delim = next((d for d in (",", ";", "\t") if d in first), None)
    if not all(_is_number(t) for t in _split(lines[0], delim)):
        lines = lines[1:]  # a header row
    if not lines:
        raise _fail(path, "has a header but no data rows")
    rows = [_split(ln, delim) for ln in lines]
    width = len(rows[0])
    if width not in (2, 3):
        raise _fail(path, f"has {width} columns; expected 2 (x, y) or 3 (x, y, integer label)")
    for k, r in enumerate(rows):
        if len(r) != width:
            raise _fail(path, f"row {k + 1} has {len(r)} columns, the first data row has {width}")
    try:
        arr = np.array(rows, dtype=np.float64)
    except ValueError:
        bad = next(k for k, r in enumerate(rows) if not all(_is_number(t) for t in r))
        raise _fail(path, f"row {bad + 1} holds non-numeric text: {','.join(rows[bad])[:60]!r}") from None
    labels = None
    if width == 3:
        lab = arr[:, 2]
        if not np.all(np.isfinite(lab)) or np.any(lab != np.round(lab)):
            raise _fail(path, "third column must hold integer class labels")
        labels = lab.astype(np.int64)
    return arr[:, :2], labels


def _parse_npz(path: str, raw: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    check_npz(path, io.BytesIO(raw), MAX_UNPACKED_BYTES)
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            if "x" not in z.files:
                raise _fail(path, f"has no array named 'x' (found: {', '.join(z.files) or 'none'})")
            return z["x"], (z["labels"] if "labels" in z.files else None)
    except InputError:
        raise
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise _fail(path, "holds Python objects (pickled data), which are refused") from None
        raise _fail(path, f"is not a readable NumPy file ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise _fail(path, f"is not a readable NumPy file ({type(e).__name__})") from None


def _check_points(
    path: str, x: np.ndarray, labels: np.ndarray | None, spread: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    if x.dtype.kind not in "biuf":
        raise _fail(path, f"holds {x.dtype} values; expected numbers")
    if x.ndim != 2 or x.shape[1] != 2:
        raise _fail(path, f"has shape {x.shape}; expected (N, 2) points")
    x = x.astype(np.float64)
    bad = ~np.isfinite(x).all(1)
    if bad.any():
        k = int(np.argmax(bad))
        raise _fail(path, f"has {int(bad.sum())} rows with NaN or infinite values (first at row {k + 1})")
    if len(x) and float(np.abs(x).max()) > MAX_COORDINATE:
        raise _fail(path, f"has coordinates beyond ±{MAX_COORDINATE:g}, too large for the model's numbers")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) != len(x):
            raise _fail(path, f"has {labels.size} labels for {len(x)} points")
        if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
            raise _fail(path, "labels must be integers")
        if labels.dtype.kind not in "biuf":
            raise _fail(path, "labels must be integers")
        labels = labels.astype(np.int64)
        if labels.min() < 0:
            raise _fail(path, "labels must be non-negative integers")
    if len(x) == 0:
        raise _fail(path, "contains no points")
    if not spread:
        return x, labels
    if len(np.unique(x[: min(len(x), 100_000)], axis=0)) < 2:
        raise _fail(path, "needs at least 2 distinct points")
    if (x.std(0) == 0).any():
        raise _fail(path, "has zero spread along one axis (all points on a line x = c or y = c)")
    return x, labels


@dataclass
class PointData(Density):
    """Points from a file, resampled with replacement; the density is a histogram estimate."""

    points: np.ndarray | None = None
    labels: np.ndarray | None = None

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        assert self.points is not None
        idx = rng.integers(0, len(self.points), n)
        return self.points[idx], (None if self.labels is None else self.labels[idx])


def read_points(path: str, spread: bool = True, max_points: int | None = None,
                notes: list[str] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Read and validate (N, 2) float64 points and optional labels from .npy, .npz or .csv.

    ``spread=False`` accepts any non-empty set of finite points (for evaluating a model at them).
    A .npy larger than ``max_points`` rows is subsampled while reading (a note is appended to ``notes``).
    """
    ext = os.path.splitext(path)[1].lower()
    labels = None
    if ext == ".npy":
        x, note = _load_npy(path, max_points or 2**62)
        if note and notes is not None:
            notes.append(note)
    elif ext == ".npz":
        x, labels = _parse_npz(path, _read_bytes(path, MAX_UNPACKED_BYTES))
    elif ext in (".csv", ".txt", ".tsv", ""):
        x, labels = _parse_csv(path, _read_bytes(path, MAX_CSV_BYTES))
    else:
        raise _fail(path, f"unknown data file type '{ext}'; use .npy, .npz or .csv")
    return _check_points(path, np.asarray(x), labels, spread)


def load_points(path: str, max_points: int = MAX_POINTS) -> PointData:
    """Load ``.npy`` (N, 2), ``.npz`` (``x``, optional ``labels``) or ``.csv`` points as a density."""
    notes: list[str] = []
    x, labels = read_points(path, max_points=max_points, notes=notes)
    notice = notes[0] if notes else None
    if len(x) > max_points:
        idx = np.random.default_rng(0).choice(len(x), max_points, replace=False)
        notice = f"{os.path.basename(path)}: using a random subset of {max_points:,} of {len(x):,} points"
        x, labels = x[idx], (None if labels is None else labels[idx])
    d = points_density(x, labels, f"file:{path}", f"{len(x):,} points from {os.path.basename(path)}")
    d.notice = notice
    return d


def points_density(x: np.ndarray, labels: np.ndarray | None, name: str, description: str = "") -> PointData:
    """A density from validated points (N, 2) in the user's coordinates, mapped into the view box."""
    scale = TARGET_STD / float(x.std(0).max())
    if not 1.0 / MAX_COORDINATE <= scale <= MAX_COORDINATE:
        raise InputError(f"{name}: the points' spread ({float(x.std(0).max()):g}) is too small or too large to "
                         "train a model on")
    dmap = DataMap((float(x[:, 0].mean()), float(x[:, 1].mean())), scale)
    classes = 0 if labels is None else int(labels.max()) + 1
    return PointData(name, description or f"{len(x):,} points", num_classes=classes, data_map=dmap,
                     points=dmap.to_model(x), labels=labels)


@dataclass
class ImageDensity(Density):
    """A picture whose darkness is the density: piecewise constant on pixels, so exact.

    User coordinates are pixel units with y pointing up: pixel (row r, column c) of an
    image of height H covers x in [c, c+1], y in [H-1-r, H-r].
    """

    weights: np.ndarray | None = None  # (H, W), sums to 1, row 0 at the top

    analytic = True

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, None]:
        assert self.weights is not None
        h, w = self.weights.shape
        flat = rng.choice(h * w, size=n, p=self.weights.ravel())
        r, c = np.divmod(flat, w)
        user = np.stack([c + rng.random(n), h - 1 - r + rng.random(n)], 1)
        return self.data_map.to_model(user), None

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        assert self.weights is not None
        h, w = self.weights.shape
        u = x / self.data_map.scale + torch.as_tensor(self.data_map.shift, dtype=x.dtype, device=x.device)
        c, r = torch.floor(u[:, 0]).long(), (h - 1 - torch.floor(u[:, 1])).long()
        inside = (c >= 0) & (c < w) & (r >= 0) & (r < h)
        wt = torch.as_tensor(self.weights, dtype=x.dtype, device=x.device)
        val = wt[r.clamp(0, h - 1), c.clamp(0, w - 1)]
        # pixel mass / (pixel area in model units)
        lp = torch.log(val) - self.data_map.log_det
        return torch.where(inside & (val > 0), lp, torch.full_like(lp, -math.inf))

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)

    def density_grid(self, n: int = 128, box: Box | None = None) -> np.ndarray:
        if box is not None and box != self.box:
            return super().density_grid(n, box)
        key = ("grid", n, self.box)
        if key not in self._cache:
            ref = self.sample(400_000, seed=12345).x
            self._cache[key] = histogram_density(ref, self.box, n, sigma=0.0)
        return self._cache[key]


def load_image(path: str, side: int = IMAGE_SIDE) -> ImageDensity:
    """A picture as a density: darker pixels carry more mass; downscaled to at most ``side`` pixels."""

    return image_from_bytes(_read_bytes(path, MAX_IMAGE_BYTES), path, f"image:{path}", side)


def image_from_bytes(raw: bytes, label: str, name: str, side: int = IMAGE_SIDE) -> ImageDensity:
    """A picture (encoded bytes) as a density; ``label`` names it in messages."""
    from PIL import Image, UnidentifiedImageError

    path = label
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(raw)) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise _fail(path, f"image is too large ({im.width} x {im.height} pixels)")
            im.draft("L", (side, side))
            gray = im.convert("LA") if "A" in im.getbands() else im.convert("L")
            gray.thumbnail((side, side))
            arr = np.asarray(gray, np.float64) / 255.0
    except InputError:
        raise
    except Image.DecompressionBombError:
        raise _fail(path, "image is too large to open safely") from None
    except UnidentifiedImageError:
        raise _fail(path, "is not an image that can be read (PNG, JPEG, BMP, GIF, TIFF...)") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise _fail(path, f"image cannot be decoded ({e})") from None
    dark = 1.0 - arr[..., 0] if arr.ndim == 3 else 1.0 - arr
    if arr.ndim == 3:
        dark = dark * arr[..., 1]  # transparent pixels carry no mass
    return darkness_density(dark, name, f"picture {os.path.basename(path)}", path)


def darkness_density(dark: np.ndarray, name: str, description: str, label: str = "the picture") -> ImageDensity:
    """A density from a (H, W) array of mass per pixel (>= 0; row 0 at the top)."""
    dark = np.where(np.isfinite(dark), np.clip(dark, 0.0, None), 0.0)
    dark[dark < 0.02 * max(float(dark.max()), 1e-300)] = 0.0
    if dark.sum() <= 0:
        raise _fail(label, "image is blank: no dark pixels to use as density")
    h, w = dark.shape
    dmap = DataMap((w / 2.0, h / 2.0), 7.0 / max(h, w))
    return ImageDensity(name, f"{description} ({w} x {h})", data_map=dmap, weights=dark / dark.sum())
