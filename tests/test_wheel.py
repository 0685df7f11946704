"""The wheel installs the usual way: built from the project, installed into a fresh virtual
environment away from the source tree, it renders a shipped scene headless."""

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"app", "engine", "widgets"}


def _build_wheel(out: Path) -> Path:
    """From a clean copy of the project (a build/ folder left in the checkout by an earlier build
    would add its stale modules); offline: the build backend (setuptools, in the test extras)
    comes from this environment."""
    src = out.parent / "src"
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("app", "engine", "widgets", "assets"):
        shutil.copytree(ROOT / name, src / name, ignore=junk)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(out)], check=True, capture_output=True, text=True)
    (wheel,) = out.glob("flowscope-*.whl")
    return wheel


def _fresh_venv(where: Path, wheel: Path) -> Path:
    """A virtual environment holding only the wheel; torch, Qt and the other dependencies are
    borrowed from this environment's site-packages through a .pth line (after its own)."""
    venv.EnvBuilder(with_pip=False).create(where)
    python = where / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "-q", str(wheel)], check=True, capture_output=True, text=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return where / "bin"


@pytest.mark.slow
def test_wheel_installs_and_renders_a_shipped_scene(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == PACKAGES, f"the wheel installs {sorted(top)} at site-packages' top level"
    source = {str(p.parent.relative_to(ROOT)) for top in PACKAGES for p in (ROOT / top).rglob("__init__.py")}
    assert source <= {n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py")}, "a package is missing"
    shipped = {f"app/assets/{p.relative_to(ROOT / 'assets')}" for p in (ROOT / "assets").glob("*/*.*")}
    assert shipped and shipped <= set(names), f"missing assets: {sorted(shipped - set(names))}"

    bin_dir = _fresh_venv(tmp_path / "venv", wheel)
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    where = subprocess.run([str(bin_dir / "python"), "-c", "import app.scenes as s; print(s.__file__); "
                            "print(s.SCENES_DIR)"], cwd=run_dir, env=env, check=True, capture_output=True, text=True)
    for line in where.stdout.split():
        assert Path(line).is_relative_to(tmp_path / "venv"), f"{line} is not inside the installed environment"

    out = run_dir / "x.png"
    done = subprocess.run([str(bin_dir / "flowscope"), "render", "--scene", "score_field", "--frames", "2",
                           "--size", "320x240", "--quiet", "--out", str(out)], cwd=run_dir, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape == (240, 320, 3)
    assert image.reshape(-1, 3).std(axis=0).max() > 10, "the rendered scene is a blank image"
