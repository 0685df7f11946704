"""Hostile and odd data files: every loader either gives a density or one clear InputError."""

import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from engine.densities import data, get_density
from engine.errors import InputError

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def load_or_refuse(spec: str) -> None:
    try:
        d = get_density(spec)
    except InputError as e:
        assert "\n" not in str(e) and str(e).startswith(spec.split(":", 1)[1])
        return
    s = d.sample(100, seed=0)
    assert s.x.shape == (100, 2) and np.isfinite(s.x).all()


@FUZZ
@given(blob=st.binary(max_size=4096), ext=st.sampled_from([".npy", ".npz", ".csv", ".png"]))
def test_random_bytes_never_crash_a_loader(tmp_path, blob: bytes, ext: str) -> None:
    path = tmp_path / f"f{ext}"
    path.write_bytes(blob)
    load_or_refuse(("image:" if ext == ".png" else "file:") + str(path))


@FUZZ
@given(cut=st.integers(min_value=0, max_value=400))
def test_truncated_numpy_files(tmp_path, cut: int) -> None:
    pts = np.random.default_rng(0).normal(size=(40, 2))
    buf = io.BytesIO()
    np.save(buf, pts)
    (tmp_path / "t.npy").write_bytes(buf.getvalue()[:cut])
    load_or_refuse(f"file:{tmp_path / 't.npy'}")
    zbuf = io.BytesIO()
    np.savez(zbuf, x=pts)
    (tmp_path / "t.npz").write_bytes(zbuf.getvalue()[: cut * 2])
    load_or_refuse(f"file:{tmp_path / 't.npz'}")


@FUZZ
@given(rows=st.lists(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
                                        st.integers(-5, 5)), min_size=1, max_size=4), min_size=1, max_size=30),
       sep=st.sampled_from([",", ";", "\t", " ", "|", ", "]), encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_csv_with_odd_cells_delimiters_and_encodings(tmp_path, rows, sep: str, encoding: str) -> None:
    text = "\n".join(sep.join(str(c) for c in r) for r in rows)
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        return
    (tmp_path / "c.csv").write_bytes(raw)
    load_or_refuse(f"file:{tmp_path / 'c.csv'}")


def test_a_huge_csv_line_is_refused_or_read(tmp_path) -> None:
    (tmp_path / "wide.csv").write_text("1," * 200_000 + "2\n3,4\n")
    load_or_refuse(f"file:{tmp_path / 'wide.csv'}")


def test_constant_columns_and_non_finite_values(tmp_path) -> None:
    np.save(tmp_path / "c.npy", np.stack([np.arange(50.0), np.zeros(50)], 1))
    with pytest.raises(InputError, match="zero spread"):
        get_density(f"file:{tmp_path / 'c.npy'}")
    np.save(tmp_path / "n.npy", np.array([[1.0, np.inf], [2.0, 3.0], [4.0, 1.0]]))
    with pytest.raises(InputError, match="NaN or infinite"):
        get_density(f"file:{tmp_path / 'n.npy'}")


def test_ten_million_points_are_subsampled_from_a_memory_map(tmp_path) -> None:
    big = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.float32, shape=(10_000_000, 2))
    big[:, 0] = np.arange(10_000_000, dtype=np.float32) % 1000
    big[:, 1] = np.arange(10_000_000, dtype=np.float32) % 777
    big.flush()
    del big
    d = get_density(f"file:{tmp_path / 'big.npy'}")
    assert d.points is not None and len(d.points) == data.MAX_POINTS
    assert d.notice and "10,000,000" in d.notice


def test_csv_beyond_the_text_limit_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(data, "MAX_CSV_BYTES", 100)
    (tmp_path / "long.csv").write_text("1,2\n" * 100)
    with pytest.raises(InputError, match="too large"):
        get_density(f"file:{tmp_path / 'long.csv'}")


def test_giant_images_are_refused_before_decoding(tmp_path, monkeypatch) -> None:
    Image.new("L", (300, 300), 0).save(tmp_path / "big.png")
    monkeypatch.setattr(data, "MAX_IMAGE_PIXELS", 10_000)
    with pytest.raises(InputError, match="too large"):
        get_density(f"image:{tmp_path / 'big.png'}")


def test_large_images_are_downscaled(tmp_path) -> None:
    Image.new("L", (1500, 900), 0).save(tmp_path / "wide.png")
    d = get_density(f"image:{tmp_path / 'wide.png'}")
    assert max(d.weights.shape) <= data.IMAGE_SIDE


def test_npz_with_a_pickled_member_is_refused(tmp_path) -> None:
    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(tmp_path / "evil.npz", "w") as z:
        z.writestr("x.npy", buf.getvalue())
    with pytest.raises(InputError, match="refused|not a readable"):
        get_density(f"file:{tmp_path / 'evil.npz'}")
