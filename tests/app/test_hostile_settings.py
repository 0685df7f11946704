"""Whatever the settings file holds, the window starts: bad values fall back to their defaults with a
status-bar note, and a remembered density file is read off the GUI thread with the same checks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore

from app.settings import Settings

BAD = [("geometry", "12345"), ("window_state", "hello"), ("font_pt", "1e23"), ("font_pt", "nan"),
       ("font_pt", "-4"), ("theme", "neon"), ("model", "gan"), ("log_scale", "maybe"), ("density", "x" * 5000)]


def _settings(folder: Path, lines: list[str]) -> Settings:
    ini = folder / "s.ini"
    ini.write_text("[General]\n" + "\n".join(lines) + "\n")
    return Settings(QtCore.QSettings(str(ini), QtCore.QSettings.Format.IniFormat))


@pytest.mark.parametrize(("key", "value"), BAD)
def test_an_unusable_value_falls_back_with_a_note(tmp_path: Path, key: str, value: str) -> None:
    s = _settings(tmp_path, [f"{key}={value}"])
    default = {"geometry": None, "window_state": None, "font_pt": 11, "theme": "dark", "model": "cnf",
               "log_scale": False, "density": "8gaussians"}[key]
    assert s.get(key, default) == default
    assert len(s.notes) == 1 and key in s.notes[0]


def test_good_values_pass_unchanged(tmp_path: Path) -> None:
    s = _settings(tmp_path, ["font_pt=14", "theme=light", "model=ddpm", "log_scale=true"])
    assert (s.get("font_pt", 11), s.get("theme", "dark"), s.get("model", "cnf"), s.get("log_scale", False)) == \
        (14, "light", "ddpm", True)
    assert s.notes == []


def _window(qtbot, settings: Settings):  # type: ignore[no-untyped-def]
    from app.main_window import MainWindow

    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    return win


@pytest.mark.parametrize("remembered", ["fifo", "/dev/zero", "missing"])
def test_the_window_starts_with_a_hostile_settings_file(qtbot, tmp_path: Path, fake_models, remembered: str) -> None:  # type: ignore[no-untyped-def]
    fifo = tmp_path / "data.csv"
    os.mkfifo(fifo)
    target = {"fifo": str(fifo), "/dev/zero": "/dev/zero", "missing": str(tmp_path / "gone.npy")}[remembered]
    win = _window(qtbot, _settings(tmp_path, ["geometry=12345", "font_pt=1e23", f"density=file:{target}"]))
    assert win.state is not None and win.state.spec == "8gaussians"
    assert "geometry" in win.statusBar().currentMessage()
    qtbot.waitUntil(lambda: "Could not reopen" in win.statusBar().currentMessage(), timeout=20_000)
    assert win.state.spec == "8gaussians"


def test_a_remembered_file_arrives_from_the_background(qtbot, tmp_path: Path, fake_models) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "pts.npy"
    np.save(data, np.random.default_rng(0).normal(size=(400, 2)))
    win = _window(qtbot, _settings(tmp_path, [f"density=file:{data}"]))
    qtbot.waitUntil(lambda: win.state is not None and win.state.spec == f"file:{data}", timeout=20_000)
