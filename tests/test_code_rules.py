"""House rules checked by tools: ruff is clean, the layer contracts hold (import-linter), the types check
(mypy, configured in pyproject.toml)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: install the test extras (bash .ci/setup --test)")
    return found


def test_ruff_is_clean() -> None:
    out = subprocess.run([tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_layer_contracts_hold() -> None:
    out = subprocess.run([tool("lint-imports")], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "broken" not in out.stdout.lower().replace("0 broken", "")


def test_types_check() -> None:
    """mypy over the packages named in pyproject.toml ([tool.mypy] files), cached in .mypy_cache."""
    out = subprocess.run([tool("mypy")], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr

