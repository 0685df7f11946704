"""The command-line contract: exit codes, one-line messages, help on every subcommand."""

import subprocess
import sys

import numpy as np
import pytest

from app import cli
from app.cli import main


def test_densities_lists_at_least_twelve(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["densities"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) >= 12
    first = lines[0].split()
    assert first[0] == "8gaussians" and first[1] == "8" and "analytic" in lines[0]
    assert any(ln.split()[0] == "moons" and "sampled" in ln for ln in lines)


def test_version(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("flowscope ")


@pytest.mark.parametrize("command", ["densities", "train", "sample", "logprob", "eval"])
def test_help_on_every_subcommand(command: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main([command, "--help"]) == 0
    assert "usage: flowscope " + command in capsys.readouterr().out


def test_every_registered_subcommand_has_help(capsys) -> None:  # type: ignore[no-untyped-def]
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:  # type: ignore[union-attr]
        assert main([name, "--help"]) == 0
    capsys.readouterr()


def one_line_error(capsys, *fragments: str) -> str:  # type: ignore[no-untyped-def]
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for f in fragments:
        assert f in err, err
    return err


def test_malformed_data_file_given_to_train_exits_2_with_one_line(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\nthree,4\n")
    out = str(tmp_path / "m.pt")
    code = main(["train", "--model", "cnf", "--density", f"file:{bad}", "--steps", "5", "--out", out])
    assert code == 2
    one_line_error(capsys, "bad.csv", "non-numeric")
    assert not (tmp_path / "m.pt").exists()


def test_nan_data_file_exits_2(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    np.save(tmp_path / "n.npy", np.array([[0.0, 1.0], [np.nan, 2.0], [3.0, 1.0]]))
    spec = f"file:{tmp_path / 'n.npy'}"
    code = main(["train", "--model", "ddpm", "--density", spec, "--out", str(tmp_path / "m.pt")])
    assert code == 2
    one_line_error(capsys, "n.npy", "NaN")


def test_unknown_density_and_bad_usage_exit_2(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["train", "--model", "cnf", "--density", "nope", "--out", str(tmp_path / "m.pt")]) == 2
    one_line_error(capsys, "unknown density 'nope'")
    assert main(["train", "--model", "gan", "--density", "moons", "--out", "m.pt"]) == 2
    one_line_error(capsys, "invalid choice")
    assert main(["frobnicate"]) == 2
    one_line_error(capsys, "invalid choice")
    assert main(["train", "--model", "cnf", "--density", "moons", "--steps", "0", "--out", str(tmp_path / "m.pt")]) == 2
    one_line_error(capsys, "--steps")


def test_missing_checkpoint_exits_2(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["sample", str(tmp_path / "none.pt"), "-n", "5", "--out", str(tmp_path / "s.npy")]) == 2
    one_line_error(capsys, "none.pt", "no such checkpoint")


def test_checkpoint_that_is_not_one_exits_2(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00\x01 not a checkpoint")
    assert main(["eval", str(junk)]) == 2
    one_line_error(capsys, "junk.pt", "not a readable flowscope checkpoint")


def test_pickle_payload_in_checkpoint_is_refused_without_running(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import torch

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (open, (str(marker), "w"))

    torch.save({"format": "flowscope", "payload": Evil()}, tmp_path / "evil.pt")
    assert main(["eval", str(tmp_path / "evil.pt")]) == 2
    one_line_error(capsys, "evil.pt", "refused")
    assert not marker.exists()


def test_internal_error_exits_1_with_short_message_and_traceback_only_with_debug(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from app.commands import densities

    def boom(args):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("something broke")

    monkeypatch.setattr(densities, "run", boom)
    assert main(["densities"]) == 1
    err = capsys.readouterr().err
    assert "internal error" in err and "ZeroDivisionError" in err and "Traceback" not in err
    assert main(["--debug", "densities"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_console_script_runs_as_a_process() -> None:
    out = subprocess.run([sys.executable, "-m", "app", "densities"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "checkerboard" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "app", "train", "--model", "cnf", "--density", "file:/no/such.csv",
                          "--out", "x.pt"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "no such file" in bad.stderr
