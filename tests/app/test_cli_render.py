"""``flowscope render``: GIF, MP4 and PNG files of a view, and clean refusals."""

import subprocess

import imageio.v2 as imageio
import imageio_ffmpeg
import numpy as np
import pytest

from app.cli import main


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> str:  # type: ignore[no-untyped-def]
    path = str(tmp_path_factory.mktemp("render") / "cnf.pt")
    assert main(["train", "--model", "cnf", "--density", "8gaussians", "--steps", "5", "--width", "16",
                 "--batch", "64", "--out", path, "--quiet"]) == 0
    return path


def test_gif_has_the_requested_frames_and_size(ckpt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = str(tmp_path / "path.gif")
    assert main(["render", ckpt, "--view", "path", "--frames", "3", "--size", "320x240", "--out", out, "--quiet"]) == 0
    frames = imageio.mimread(out)
    assert len(frames) == 3 and frames[0].shape[:2] == (240, 320)
    assert not np.array_equal(frames[0], frames[-1])  # the time bar moved: t = 0 is noise, t = 1 data


def test_mp4_and_png(ckpt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    mp4, png = str(tmp_path / "f.mp4"), str(tmp_path / "f.png")
    assert main(["render", ckpt, "--view", "field", "--frames", "2", "--size", "321x240", "--out", mp4, "--quiet"]) == 0
    raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", mp4, "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    assert len(raw) == 2 * 320 * 240 * 3  # two decodable frames, sized even for the encoder
    assert main(["render", ckpt, "--view", "trajectories", "--frames", "1", "--out", png, "--quiet"]) == 0
    assert imageio.imread(png).shape[2] in (3, 4)


def test_bad_requests_exit_2_with_one_line(ckpt, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["render", ckpt, "--out", str(tmp_path / "x.avi")]) == 2
    assert main(["render", ckpt, "--size", "big", "--out", str(tmp_path / "x.gif")]) == 2
    assert main(["render", ckpt, "--view", "nope", "--out", str(tmp_path / "x.gif")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all("error" in line for line in err)


def test_frames_of_slightly_different_sizes_are_cropped_to_one_even_size() -> None:
    from app.frames import same_size

    out = same_size([np.zeros((101, 203, 3), np.uint8), np.zeros((100, 205, 3), np.uint8)])
    assert {f.shape for f in out} == {(100, 202, 3)}
