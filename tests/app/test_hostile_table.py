"""The hostile-input table (tests/hostile_cases.py), run in-process: each row ends with its exit code and
one line naming the problem, and no input file changes. The slow rows run in tests/bench/hostile.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from tests.hostile_cases import CASES, Case, expand, hashes, prepare

OUTPUTS = ("o.npy", "r.png", "r.gif", "m.pt", "s_new.csv", "lp_new.npy")
FAST = [c for c in CASES if not c.slow]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    prepare(str(d), main)
    return d


def test_the_table_covers_every_family() -> None:
    families = {c.family for c in CASES}
    assert families == {"arguments", "data", "checkpoints", "scenes", "outputs"}
    assert len(CASES) >= 120


@pytest.mark.parametrize("case", FAST, ids=[c.name for c in FAST])
def test_hostile_input(case: Case, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = hashes(str(folder), OUTPUTS)
    code = main(expand(case, str(folder)))
    err = capsys.readouterr().err
    assert code == case.code, err
    if case.code == 2:
        assert err.count("\n") == 1 and "Traceback" not in err and "internal error" not in err, err
        assert case.fragment in err, err
    after = hashes(str(folder), OUTPUTS)
    assert {k: after.get(k) for k in before} == before, "an input file changed"
    assert not any(n.startswith(".flowscope-tmp-") for n in (p.name for p in folder.iterdir())), "a temporary stayed"
