"""User data: file and image densities, their coordinate map, and every refusal."""

import math
import os

import numpy as np
import pytest
import torch
from PIL import Image

from engine.densities import get_density, grid_points, read_points
from engine.errors import InputError


def write(tmp_path, name: str, content: str | bytes) -> str:  # type: ignore[no-untyped-def]
    p = tmp_path / name
    (p.write_bytes if isinstance(content, bytes) else p.write_text)(content)  # type: ignore[operator]
    return str(p)


def refuse(spec: str, *fragments: str) -> str:
    with pytest.raises(InputError) as info:
        get_density(spec)
    msg = str(info.value)
    assert "\n" not in msg
    for f in fragments:
        assert f in msg, msg
    return msg


# -- accepted files -----------------------------------------------------------------
def test_csv_with_header_and_labels(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = "\n".join(f"{i * 0.5},{(i % 3) * 2.0},{i % 2}" for i in range(20))
    path = write(tmp_path, "a.csv", "x,y,label\n" + rows)
    d = get_density(f"file:{path}")
    assert d.num_classes == 2 and not d.analytic
    s = d.sample(100, seed=0)
    assert s.labels is not None and set(s.labels) <= {0, 1}


@pytest.mark.parametrize("sep", [",", ";", "\t", " "])
def test_csv_delimiters_without_header(tmp_path, sep: str) -> None:  # type: ignore[no-untyped-def]
    text = "\n".join(f"{i}{sep}{i * i % 7}" for i in range(10))
    x, labels = read_points(write(tmp_path, "b.csv", text))
    assert x.shape == (10, 2) and labels is None
    assert x[3, 1] == 9 % 7


def test_npy_and_npz(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pts = np.random.default_rng(0).normal(size=(50, 2))
    np.save(tmp_path / "p.npy", pts)
    np.savez(tmp_path / "p.npz", x=pts, labels=np.arange(50) % 3)
    assert get_density(f"file:{tmp_path / 'p.npy'}").num_classes == 0
    assert get_density(f"file:{tmp_path / 'p.npz'}").num_classes == 3


def test_data_map_sends_user_data_into_the_view_box_and_back(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pts = np.random.default_rng(1).normal(loc=[1000.0, -50.0], scale=[200.0, 20.0], size=(400, 2))
    np.save(tmp_path / "far.npy", pts)
    d = get_density(f"file:{tmp_path / 'far.npy'}")
    model = d.sample(4000, seed=0).x
    assert np.abs(model.mean(0)).max() < 0.3 and model.std(0).max() < 2.5
    back = d.data_map.to_user(model)
    assert back[:, 0].mean() == pytest.approx(1000.0, rel=0.05)
    assert d.data_map.log_det == pytest.approx(2 * math.log(d.data_map.scale))


def test_image_darker_pixels_get_more_mass_and_density_is_exact(tmp_path) -> None:  # type: ignore[no-untyped-def]
    img = np.full((40, 60), 255, np.uint8)
    img[5:15, 5:20] = 0      # black block (top-left in the picture)
    img[25:35, 40:55] = 128  # grey block (bottom-right)
    path = str(tmp_path / "pic.png")
    Image.fromarray(img).save(path)
    d = get_density(f"image:{path}")
    assert d.analytic
    user = d.data_map.to_user(d.sample(20000, seed=0).x)
    top_left = (user[:, 1] > 40 - 15) & (user[:, 0] < 20)
    bottom_right = (user[:, 1] < 40 - 25) & (user[:, 0] > 40)
    assert top_left.sum() > 1.5 * bottom_right.sum() > 0
    assert (top_left | bottom_right).all()  # white carries no mass; jitter stays inside pixels
    # exact density integrates to one in model and user coordinates
    _, _, pts = grid_points(d.box, 400)
    with torch.no_grad():
        p = torch.exp(d.log_prob(torch.from_numpy(pts).double())).numpy()
    x0, x1, y0, y1 = d.box
    assert p.sum() * (x1 - x0) * (y1 - y0) / 400**2 == pytest.approx(1.0, abs=0.01)
    ux, uy = np.meshgrid(np.arange(0, 60, 0.25) + 0.125, np.arange(0, 40, 0.25) + 0.125)
    pu = np.exp(d.log_prob_user(np.stack([ux.ravel(), uy.ravel()], 1)))
    assert pu.sum() * 0.25**2 == pytest.approx(1.0, abs=1e-3)


# -- refusals: one sentence naming the file and the problem -----------------------------
def test_missing_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    refuse(f"file:{tmp_path / 'nope.csv'}", "nope.csv", "no such file")


def test_folder_is_not_a_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    refuse(f"file:{tmp_path}", "folder")


def test_non_numeric_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "t.csv", "x,y\n1,2\n3,banana\n5,6\n")
    refuse(f"file:{path}", "t.csv", "non-numeric", "row 2")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nan_and_inf(tmp_path, value: str) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "n.csv", f"1,2\n3,{value}\n5,6\n")
    refuse(f"file:{path}", "n.csv", "NaN or infinite")


def test_wrong_shape(tmp_path) -> None:  # type: ignore[no-untyped-def]
    np.save(tmp_path / "w.npy", np.zeros((10, 3)))
    refuse(f"file:{tmp_path / 'w.npy'}", "w.npy", "shape (10, 3)")
    write(tmp_path, "w.csv", "1,2,3,4\n5,6,7,8\n")
    refuse(f"file:{tmp_path / 'w.csv'}", "4 columns")


def test_fewer_than_two_distinct_points(tmp_path) -> None:  # type: ignore[no-untyped-def]
    np.save(tmp_path / "one.npy", np.ones((30, 2)))
    refuse(f"file:{tmp_path / 'one.npy'}", "one.npy", "2 distinct points")


def test_zero_spread(tmp_path) -> None:  # type: ignore[no-untyped-def]
    np.save(tmp_path / "line.npy", np.stack([np.arange(10.0), np.full(10, 3.0)], 1))
    refuse(f"file:{tmp_path / 'line.npy'}", "line.npy", "zero spread")


def test_labels_of_wrong_length(tmp_path) -> None:  # type: ignore[no-untyped-def]
    np.savez(tmp_path / "l.npz", x=np.random.default_rng(0).normal(size=(10, 2)), labels=np.arange(7))
    refuse(f"file:{tmp_path / 'l.npz'}", "l.npz", "7 labels for 10 points")


def test_npz_without_x_and_pickled_objects(tmp_path) -> None:  # type: ignore[no-untyped-def]
    np.savez(tmp_path / "nox.npz", y=np.zeros((3, 2)))
    refuse(f"file:{tmp_path / 'nox.npz'}", "no array named 'x'")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    refuse(f"file:{tmp_path / 'obj.npy'}", "obj.npy", "refused")


def test_truncated_npy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    np.save(tmp_path / "full.npy", np.zeros((100, 2)))
    raw = (tmp_path / "full.npy").read_bytes()
    path = write(tmp_path, "cut.npy", raw[: len(raw) // 2])
    refuse(f"file:{path}", "cut.npy", "not a readable NumPy file")


def test_not_an_image(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "fake.png", b"this is not a picture at all")
    refuse(f"image:{path}", "fake.png", "not an image")


def test_blank_image(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "white.png")
    Image.fromarray(np.full((10, 10), 255, np.uint8)).save(path)
    refuse(f"image:{path}", "white.png", "blank")


def test_empty_and_binary_csv(tmp_path) -> None:  # type: ignore[no-untyped-def]
    refuse(f"file:{write(tmp_path, 'e.csv', '')}", "e.csv", "no data rows")
    refuse(f"file:{write(tmp_path, 'b.csv', bytes(range(256)) * 4)}", "b.csv")


def test_unknown_extension(tmp_path) -> None:  # type: ignore[no-untyped-def]
    refuse(f"file:{write(tmp_path, 'x.xlsx', 'abc')}", "x.xlsx", "unknown data file type")


def test_large_files_are_subsampled_with_a_notice(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from engine.densities import data

    np.save(tmp_path / "big.npy", np.random.default_rng(0).normal(size=(5000, 2)))
    monkeypatch.setattr(data, "MAX_POINTS", 1000)
    d = data.load_points(str(tmp_path / "big.npy"), max_points=1000)
    assert d.points is not None and len(d.points) == 1000
    assert d.notice and "1,000 of 5,000" in d.notice
    assert os.path.exists(tmp_path / "big.npy")
