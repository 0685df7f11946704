"""A checkpoint carrying a pickle payload runs nothing, wherever it is opened: the command line,
the window's Open model, a scene's pretrained model."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from PySide6 import QtCore

from app.cli import main


class _Payload:
    """Unpickling this calls open(marker, "w"): the marker file existing afterwards means code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (open, (str(self.marker), "w"))


def _evil(folder: Path) -> tuple[Path, Path]:
    marker = folder / "ran"
    path = folder / "evil.pt"
    torch.save({"format": "flowscope", "kind": "cnf", "payload": _Payload(marker)}, path)
    return path, marker


def test_open_model_in_the_window_refuses_a_payload(qtbot, tmp_path, dialogs) -> None:  # type: ignore[no-untyped-def]
    from app.main_window import MainWindow
    from app.settings import Settings

    win = MainWindow(settings=Settings(QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)))
    qtbot.addWidget(win)
    path, marker = _evil(tmp_path)
    assert win.open_model(str(path)) is False
    assert len(dialogs) == 1 and "evil.pt" in dialogs[0]
    assert not marker.exists()
    assert win.panel.state == "idle", "the window is still usable and has no model"


def _evil_scene(folder: Path) -> tuple[Path, Path]:
    path, marker = _evil(folder)
    scene = {"flowscope_scene": 1, "title": "t", "density": "moons", "model": {"kind": "cnf", "checkpoint": path.name},
             "view": {"name": "path", "t": 0.5}}
    (folder / "s.json").write_text(json.dumps(scene))
    return folder / "s.json", marker


def test_a_scene_whose_checkpoint_carries_a_payload_is_refused(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    _, marker = _evil_scene(tmp_path)
    assert main(["render", "--scene", str(tmp_path / "s.json"), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not marker.exists() and not (tmp_path / "x.png").exists()


def test_opening_that_scene_in_the_window_shows_one_message(qtbot, tmp_path, dialogs) -> None:  # type: ignore[no-untyped-def]
    from app.main_window import MainWindow
    from app.settings import Settings

    win = MainWindow(settings=Settings(QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)))
    qtbot.addWidget(win)
    scene, marker = _evil_scene(tmp_path)
    assert win.open_scene(str(scene)) is False
    assert len(dialogs) == 1 and not marker.exists()
    assert win.state is not None and win.state.spec == "8gaussians", "the window keeps what it showed"
