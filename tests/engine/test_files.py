"""Atomic writes, bounded reads and checkpoint validation: what fails leaves nothing behind."""

from __future__ import annotations

import copy
import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.checkpoint import TrainedModel, density_record, load_trained, save_checkpoint, validate_checkpoint
from engine.cnf import CNF, VectorField
from engine.densities import get_density
from engine.errors import InputError
from engine.files import TEMP_PREFIX, atomic_write, check_regular, clean_stale_temporaries, read_bytes


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "prev.npy"
    np.save(target, np.arange(5.0))
    old = target.read_bytes()

    def full_disk(path: str, _x: object) -> None:
        with open(path, "wb") as fh:
            fh.write(b"\x93NUMPY half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(InputError, match="No space left"), atomic_write(str(target)) as tmp:
        full_disk(tmp, None)
    assert target.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prev.npy"]


def test_a_write_replaces_through_a_link_and_keeps_the_link(tmp_path: Path) -> None:
    real, link = tmp_path / "real.npy", tmp_path / "link.npy"
    np.save(real, np.zeros(3))
    link.symlink_to(real.name)
    with atomic_write(str(link)) as tmp:
        np.save(tmp, np.ones(3))
    assert link.is_symlink() and np.array_equal(np.load(real), np.ones(3))


def test_temporaries_of_a_killed_writer_are_removed_by_the_next_write(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f"{TEMP_PREFIX}{int(dead.stdout)}-0000.npy"
    stale.write_bytes(b"half a file")
    mine = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-1111.npy"  # a live writer's temporary stays
    mine.write_bytes(b"in progress")
    with atomic_write(str(tmp_path / "x.npy")) as tmp:
        np.save(tmp, np.zeros(2))
    assert not stale.exists() and mine.exists()
    assert clean_stale_temporaries(str(tmp_path)) == 0


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "missing", "large"])
def test_only_regular_files_of_bounded_size_are_read(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x.csv"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "folder":
        path.mkdir()
    elif kind == "large":
        path.write_bytes(bytes(2000))
    expected = {"fifo": "named pipe", "device": "device", "folder": "folder", "missing": "no such",
                "large": "too large"}[kind]
    with pytest.raises(InputError, match=expected):
        read_bytes(str(path), 1000)
    with pytest.raises(InputError, match=expected):
        check_regular(str(path), 1000)


def _checkpoint() -> dict:  # type: ignore[type-arg]
    torch.manual_seed(0)
    flow = CNF(VectorField(2, 8, 1))
    return {**flow.to_checkpoint(), "density": density_record(get_density("moons")), "metrics": {}}


CKPT = _checkpoint()
_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                    st.text(max_size=8), st.lists(st.integers(-3, 3), max_size=3))
_KEYS = st.sampled_from(["dim", "width", "depth", "activation", "end_time", "atol", "rtol"])


def _loaded_or_refused(ckpt: dict, path: Path) -> TrainedModel | None:  # type: ignore[type-arg]
    """Save ``ckpt`` to ``path`` and load it: the model, or None when it was refused in one
    sentence that names the file."""
    torch.save({"format": "flowscope", "version": 1, **ckpt}, path)
    try:
        return load_trained(str(path))
    except InputError as e:
        assert "\n" not in str(e) and str(e).startswith(str(path))
        return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(_KEYS, _VALUES, min_size=1, max_size=3),
       record=st.dictionaries(st.sampled_from(["num_classes", "box", "entropy"]), _VALUES, max_size=2))
def test_any_configuration_is_refused_in_one_sentence_or_loads(tmp_path_factory: pytest.TempPathFactory,
                                                               changes: dict, record: dict) -> None:  # type: ignore[type-arg]
    ckpt = copy.deepcopy(CKPT)
    ckpt["config"].update(changes)
    ckpt["density"].update(record)
    tm = _loaded_or_refused(ckpt, tmp_path_factory.mktemp("c") / "m.pt")
    if tm is None:
        return
    validate_checkpoint({**ckpt, "kind": "cnf"})  # what loaded passed every check
    assert np.isfinite(tm.sample_user(4, seed=0)).all()


def test_non_finite_weights_are_never_saved(tmp_path: Path) -> None:
    ckpt = copy.deepcopy(CKPT)
    key = next(iter(ckpt["state_dict"]))
    ckpt["state_dict"][key] = ckpt["state_dict"][key] * float("inf")
    with pytest.raises(InputError, match="NaN or infinite"):
        save_checkpoint(str(tmp_path / "m.pt"), ckpt)
    assert list(tmp_path.iterdir()) == []


def _ddpm_checkpoint() -> dict:  # type: ignore[type-arg]
    from engine.api import make_trainer

    density = get_density("moons")
    trainer = make_trainer("ddpm", density, {"width": 8, "depth": 1, "batch": 32}, torch.device("cpu"), 0)
    for _ in trainer.run(steps=1):
        pass
    return {**trainer.best_model().to_checkpoint(), "density": density_record(density), "metrics": {}}


_DDPM: list[dict] = []  # type: ignore[type-arg]
_PLACES = st.sampled_from([("net", "width"), ("net", "depth"), ("net", "num_classes"), ("net", "emb_dim"),
                           ("net", "fourier"), ("process", "timesteps"), ("process", "schedule"), (None, "scale"),
                           (None, "shift"), (None, "box"), (None, "sampler"), ("sampler_options", "variance")])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(st.tuples(_PLACES, _VALUES), min_size=1, max_size=3))
def test_any_diffusion_configuration_is_refused_in_one_sentence_or_loads(
        tmp_path_factory: pytest.TempPathFactory, changes: list) -> None:  # type: ignore[type-arg]
    if not _DDPM:
        _DDPM.append(_ddpm_checkpoint())
    ckpt = copy.deepcopy(_DDPM[0])
    for (section, key), value in changes:
        (ckpt["config"] if section is None else ckpt["config"][section])[key] = value
    tm = _loaded_or_refused(ckpt, tmp_path_factory.mktemp("d") / "m.pt")
    if tm is not None:
        assert np.isfinite(tm.sample_user(4, seed=0, steps=5)).all()
