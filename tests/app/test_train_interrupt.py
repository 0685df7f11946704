"""train keeps the work: Ctrl+C or SIGTERM saves the best model so far; a save that fails at the end
goes to a fallback path that the message names."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from engine.checkpoint import load_trained
from engine.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_training_saves_the_best_model(tmp_path: Path, sig: int, code: int) -> None:
    out = tmp_path / "m.pt"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FLOWSCOPE_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())",
                             "train", "--model", "ddpm", "--density", "moons", "--seconds", "600", "--out", str(out)],
                            stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    ready, _, _ = select.select([proc.stderr], [], [], 120)  # the first progress line: training has begun
    assert ready, "no progress within two minutes"
    proc.stderr.readline()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code
    assert "saved the best model so far" in err.decode() and "Traceback" not in err.decode()
    assert load_trained(str(out)).kind == "ddpm"


def test_a_failing_final_save_goes_to_the_named_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    import engine.checkpoint as checkpoint

    out = str(tmp_path / "m.pt")
    real = checkpoint.save_checkpoint

    def refuse_there(path: str, ckpt: dict) -> None:  # type: ignore[type-arg]
        if path == out:
            raise InputError(f"{path}: cannot write (No space left on device)")
        real(path, ckpt)

    monkeypatch.setattr(checkpoint, "save_checkpoint", refuse_there)
    assert main(["train", "--model", "cnf", "--density", "moons", "--steps", "2", "--out", out, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left" in err
    rescued = err.rsplit("saved to ", 1)[1].split(" instead")[0]
    try:
        assert load_trained(rescued).kind == "cnf"
    finally:
        os.remove(rescued)


def test_an_unwritable_output_is_refused_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["train", "--model", "cnf", "--density", "moons", "--steps", "2000000",
                 "--out", str(blocker / "m.pt")]) == 2
    assert "m.pt" in capsys.readouterr().err
