"""Scene files: the schema refuses what it does not know, paths stay where the user put them."""

import json
import os

import pytest

from app.cli import main
from app.scenes import SCENES_DIR, load_scene, parse_scene
from engine.errors import InputError


def scene(**over):  # type: ignore[no-untyped-def]
    base = {"flowscope_scene": 1, "title": "t", "density": "moons", "view": {"name": "path", "t": 0.5}}
    base.update(over)
    return base


def refuse(tmp_path, data, *fragments):  # type: ignore[no-untyped-def]
    path = tmp_path / "s.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    with pytest.raises(InputError) as info:
        load_scene(str(path))
    msg = str(info.value)
    assert "\n" not in msg and "s.json" in msg
    for f in fragments:
        assert f in msg, msg


def test_a_minimal_scene_loads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = parse_scene(str(tmp_path / "a.json"), scene())
    assert (s.density, s.view, s.t, s.model) == ("moons", "path", 0.5, None)


def test_unknown_keys_and_bad_values(tmp_path) -> None:  # type: ignore[no-untyped-def]
    refuse(tmp_path, scene(colour="red"), "unknown key 'colour'")
    refuse(tmp_path, scene(view={"name": "path", "zoom": 2}), "unknown key 'zoom' in view")
    refuse(tmp_path, scene(view={"name": "holograms"}), "view.name 'holograms'")
    refuse(tmp_path, scene(view={"name": "path", "t": 3}), "view.t")
    refuse(tmp_path, scene(view={"name": "path", "t": "soon"}), "view.t must be")
    refuse(tmp_path, scene(seed=True), "seed must be a number")
    refuse(tmp_path, scene(model={"kind": "gan"}), "model.kind 'gan'")
    refuse(tmp_path, scene(controls={"hidden": ["everything"]}), "controls.hidden")
    refuse(tmp_path, scene(theme="neon"), "theme")
    refuse(tmp_path, {"title": "no marker"}, "not a flowscope scene")
    refuse(tmp_path, "{not json", "not valid JSON")
    refuse(tmp_path, "[1, 2]", "the scene must be dict")


def test_scenes_embed_data_instead_of_naming_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    refuse(tmp_path, scene(density="file:/etc/passwd"), "embeds its data")
    refuse(tmp_path, scene(density={"points": [[0, 1], "x"]}), "number pairs")


def test_checkpoint_paths_cannot_leave_the_scene_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path.parent / "elsewhere.pt"
    outside.write_bytes(b"x")
    try:
        refuse(tmp_path, scene(model={"kind": "cnf", "checkpoint": "../elsewhere.pt"}), "outside the scene's folder")
        refuse(tmp_path, scene(model={"kind": "cnf", "checkpoint": str(outside)}), "relative to the scene file")
        refuse(tmp_path, scene(model={"kind": "cnf", "checkpoint": "missing.pt"}), "does not exist")
    finally:
        os.remove(outside)


def test_every_shipped_scene_is_valid() -> None:
    names = sorted(n for n in os.listdir(SCENES_DIR) if n.endswith(".json"))
    assert len(names) >= 8
    for n in names:
        s = load_scene(os.path.join(SCENES_DIR, n))
        assert s.title and s.description


def test_a_shipped_scene_is_found_by_its_name(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.scenes import shipped_scenes

    monkeypatch.chdir(tmp_path)
    assert "score_field" in shipped_scenes()
    full = load_scene(os.path.join(SCENES_DIR, "score_field.json"))
    assert load_scene("score_field") == full and load_scene("score_field.json") == full
    with pytest.raises(InputError, match="no such scene file .shipped scenes: adjoint_vs_backprop, "):
        load_scene("no_such_scene")
    (tmp_path / "score_field.json").write_text(json.dumps(scene(title="mine")))
    assert load_scene("score_field.json").title == "mine"  # a file of that name wins


def test_bad_scene_on_the_command_line_exits_2(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(scene(extra=1)))
    assert main(["--scene", str(bad)]) == 2
    assert main(["render", "--scene", str(bad), "--out", str(tmp_path / "x.gif")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("unknown key 'extra'" in line for line in err)


def test_a_start_that_ends_before_the_window_leaves_the_collector_on(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The window's start runs without the cycle collector; a start refused early switches it back on."""
    import gc

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(scene(density="nope")))
    assert gc.isenabled()
    assert main(["--scene", str(bad)]) == 2
    assert gc.isenabled()


def test_every_shipped_scene_opens_its_model_and_view() -> None:
    from app.labs.registry import available_labs
    from app.scene_data import scene_density
    from engine.checkpoint import load_trained

    for n in sorted(os.listdir(SCENES_DIR)):
        if not n.endswith(".json"):
            continue
        s = load_scene(os.path.join(SCENES_DIR, n))
        density, _ = scene_density(s)
        assert s.view == "training" or s.view in available_labs(), n
        if s.checkpoint:
            tm = load_trained(s.checkpoint)
            assert tm.kind == s.model, n
            assert tm.density["spec"] == density.name, n


def test_a_scene_computes_its_view_once_with_its_own_settings_and_time(qtbot, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The lab is set up before its tab opens: no first frame at the previous time or settings."""
    import shutil

    from PySide6 import QtCore

    import app.labs.trace.view as trace_view
    from app.main_window import MainWindow
    from app.settings import Settings

    shutil.copy(os.path.join(SCENES_DIR, "..", "pretrained", "cnf_8gaussians.pt"), tmp_path / "m.pt")
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(scene(density="8gaussians", model={"kind": "cnf", "checkpoint": "m.pt"},
                                     view={"name": "trace", "t": 0.25, "settings": {"probe": "gaussian", "k": 16}})))
    calls = []
    real = trace_view.divergence_maps

    def recorded(field, box, t, probe, k, seed):  # type: ignore[no-untyped-def]
        calls.append((t, probe, k))
        return real(field, box, t, probe, k, seed)

    monkeypatch.setattr(trace_view, "divergence_maps", recorded)
    win = MainWindow(settings=Settings(QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)))
    qtbot.addWidget(win)
    try:
        assert win.open_scene(str(path))
        assert win.lab_tabs.current_name() == "trace"
        assert calls == [(0.25, "gaussian", 16)]
    finally:
        win.close()
