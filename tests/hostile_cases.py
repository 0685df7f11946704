"""The hostile-input table: command lines a careless or hostile user might type, with what must happen.

Each :class:`Case` is one command line (``{d}`` is a scratch folder that :func:`prepare` has filled
with the files below, ``{cnf}``/``{ddpm}`` two small trained checkpoints in it), the exit code it
must end with, a fragment of its one-line message, and its family. Every input file in the folder
is hashed before and after: no command may change one. tests/app/test_hostile_table.py runs the
fast rows in-process; tests/bench/hostile.py runs all of them as subprocesses under a timeout and
a memory cap.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Case", "CASES", "prepare", "hashes", "expand"]


@dataclass(frozen=True)
class Case:
    family: str
    argv: tuple[str, ...]
    code: int
    fragment: str
    slow: bool = False  # trains, samples or solves for more than a second or two

    @property
    def name(self) -> str:
        return " ".join(self.argv).replace("{d}/", "")[:90]


def expand(case: Case, folder: str) -> list[str]:
    return [a.replace("{d}", folder).replace("{cnf}", f"{folder}/cnf.pt").replace("{ddpm}", f"{folder}/ddpm.pt")
            for a in case.argv]


def hashes(folder: str, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """sha256 of every regular file in ``folder`` (links followed only to regular files)."""
    out = {}
    for name in sorted(os.listdir(folder)):
        full = os.path.join(folder, name)
        if name in skip or not os.path.isfile(full) or os.path.islink(full) and not os.path.isfile(full):
            continue
        with open(full, "rb") as fh:
            out[name] = hashlib.sha256(fh.read()).hexdigest()
    return out


def _tamper(src: str, dst: str, change: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
    import torch

    ckpt = torch.load(src, weights_only=True)
    ckpt = copy.deepcopy(ckpt)
    change(ckpt)
    torch.save(ckpt, dst)


def _nest(depth: int) -> dict:  # type: ignore[type-arg]
    root: dict = {}  # type: ignore[type-arg]
    cur = root
    for _ in range(depth):
        cur["a"] = {}
        cur = cur["a"]
    return root


def _scale(ckpt: dict, factor: float) -> None:  # type: ignore[type-arg]
    ckpt["state_dict"] = {k: v * factor for k, v in ckpt["state_dict"].items()}


def _nan_first(ckpt: dict) -> None:  # type: ignore[type-arg]
    k = next(iter(ckpt["state_dict"]))
    ckpt["state_dict"][k] = ckpt["state_dict"][k] * float("nan")


TAMPERED: dict[str, tuple[str, Callable[[dict], None]]] = {  # type: ignore[type-arg]
    "t_depth.pt": ("cnf", lambda c: c["config"].update(depth=10**6)),
    "t_width_str.pt": ("cnf", lambda c: c["config"].update(width="64")),
    "t_width_neg.pt": ("cnf", lambda c: c["config"].update(width=-3)),
    "t_atol.pt": ("cnf", lambda c: c["config"].update(atol=0.0)),
    "t_end.pt": ("cnf", lambda c: c["config"].update(end_time=float("inf"))),
    "t_act.pt": ("cnf", lambda c: c["config"].update(activation="os.system")),
    "t_nan.pt": ("cnf", _nan_first),
    "t_big.pt": ("cnf", lambda c: _scale(c, 1e6)),
    "t_box.pt": ("cnf", lambda c: c["density"].update(box=[float("nan")] * 4)),
    "t_box_order.pt": ("cnf", lambda c: c["density"].update(box=[4.0, -4.0, -4.0, 4.0])),
    "t_map.pt": ("cnf", lambda c: c["density"]["data_map"].update(scale=1e-300)),
    "t_map_str.pt": ("cnf", lambda c: c["density"].update(data_map={"scale": "x", "shift": [0, 0]})),
    "t_shape.pt": ("cnf", lambda c: c["config"].update(width=32)),
    "t_missing.pt": ("cnf", lambda c: c["state_dict"].pop(next(iter(c["state_dict"])))),
    "t_extra_key.pt": ("cnf", lambda c: c["state_dict"].update(junk=c["state_dict"][next(iter(c["state_dict"]))])),
    "t_classes.pt": ("cnf", lambda c: c["density"].update(num_classes=10**9)),
    "t_classes_str.pt": ("cnf", lambda c: c["density"].update(num_classes="3")),
    "t_kind.pt": ("cnf", lambda c: c.update(kind="gan")),
    "t_kind_type.pt": ("cnf", lambda c: c.update(kind=3)),
    "t_metrics.pt": ("cnf", lambda c: c.update(metrics=[1, 2])),
    "t_deep.pt": ("cnf", lambda c: c.update(metrics=_nest(200))),
    "t_config_list.pt": ("cnf", lambda c: c.update(config=[1, 2])),
    "t_version.pt": ("cnf", lambda c: c.update(version=99)),
    "t_state_str.pt": ("cnf", lambda c: c["state_dict"].update({next(iter(c["state_dict"])): "weights"})),
    "t_spl.pt": ("ddpm", lambda c: c["config"].update(sampler_options={"steps_per_level": 10**9})),
    "t_ts.pt": ("ddpm", lambda c: c["config"]["process"].update(timesteps=10**9)),
    "t_ts_float.pt": ("ddpm", lambda c: c["config"]["process"].update(timesteps=1.5)),
    "t_sched.pt": ("ddpm", lambda c: c["config"]["process"].update(schedule="exp")),
    "t_dscale.pt": ("ddpm", lambda c: c["config"].update(scale=0.0)),
    "t_dshift.pt": ("ddpm", lambda c: c["config"].update(shift=[float("nan"), 0.0])),
    "t_dsampler.pt": ("ddpm", lambda c: c["config"].update(sampler="magic")),
    "t_dvariance.pt": ("ddpm", lambda c: c["config"].update(sampler_options={"variance": 3})),
    "t_dwidth.pt": ("ddpm", lambda c: c["config"]["net"].update(width=10**7)),
    "t_dnan.pt": ("ddpm", _nan_first),
    "t_dbig.pt": ("ddpm", lambda c: _scale(c, 1e6)),
    "t_dclassifier.pt": ("ddpm", lambda c: c["config"].update(classifier={"width": 8, "depth": 1})),
    "t_dprocess.pt": ("ddpm", lambda c: c["config"].update(process={"process": "ve", "levels": 10,
                                                                     "sigma_min": 2.0, "sigma_max": 1.0})),
}


def _npz_bomb(path: Path) -> None:
    """A 1 MB .npz whose array inflates to 1 GB (zeros compress ~1000:1)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open("x.npy", "w", force_zip64=True) as fh:
        header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 2)))
        header["shape"] = (64 * 2**20, 2)
        np.lib.format.write_array_header_1_0(fh, header)
        block = bytes(1 << 20)
        for _ in range(1024):
            fh.write(block)


def _scene(path: Path, **changes: object) -> None:
    scene: dict[str, object] = {"flowscope_scene": 1, "title": "t", "density": "moons",
                                "model": {"kind": "cnf", "checkpoint": "cnf.pt"}, "view": {"name": "path", "t": 0.5}}
    scene.update(changes)
    path.write_text(json.dumps(scene))


def prepare(folder: str, train: Callable[[list[str]], int]) -> None:
    """Fill ``folder`` with the inputs of :data:`CASES`; ``train(argv)`` runs the command line."""
    d = Path(folder)
    rng = np.random.default_rng(0)
    np.save(d / "data.npy", rng.normal(size=(500, 2)))
    np.savetxt(d / "data.csv", rng.normal(size=(200, 2)), delimiter=",")
    np.savez(d / "data.npz", x=rng.normal(size=(300, 2)))
    np.save(d / "pts.npy", rng.normal(size=(50, 2)))
    np.save(d / "huge.npy", np.array([[1e308, -1e308], [-1e308, 1e308], [0.0, 1.0]]))
    np.save(d / "nan.npy", np.array([[0.0, 1.0], [np.nan, 2.0], [3.0, 4.0]]))
    np.save(d / "tiny.npy", rng.normal(size=(100, 2)) * 1e-300)
    np.save(d / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    np.save(d / "labels3.npy", rng.normal(size=(100, 3)))
    (d / "one_col.csv").write_text("1\n2\n3\n")
    (d / "text.csv").write_text("x,y\n1,2\nhello,world\n")
    (d / "binary.csv").write_bytes(bytes(range(256)) * 10)
    (d / "empty.csv").write_text("")
    (d / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    from PIL import Image

    Image.fromarray((rng.random((32, 32)) * 255).astype(np.uint8)).save(d / "pic.png")
    _npz_bomb(d / "bomb.npz")
    os.mkfifo(d / "fifo.csv")
    os.mkfifo(d / "fifo.json")
    os.mkfifo(d / "fifo.pt")
    os.symlink("/dev/urandom", d / "urandom.csv")
    os.symlink("/dev/zero", d / "zero.npy")
    os.symlink("data.npy", d / "link.npy")
    os.symlink("pts.npy", d / "pts_link.npy")
    os.symlink("/dev/null", d / "null.npy")
    os.mkdir(d / "folder.npy")
    (d / "afile").write_text("not a folder")
    assert train(["train", "--model", "cnf", "--density", "moons", "--steps", "3", "--out", str(d / "cnf.pt"),
                  "--quiet"]) == 0
    assert train(["train", "--model", "ddpm", "--density", "moons", "--steps", "3", "--out", str(d / "ddpm.pt"),
                  "--quiet"]) == 0
    for name, (base, change) in TAMPERED.items():
        _tamper(str(d / f"{base}.pt"), str(d / name), change)
    (d / "not_a_ckpt.pt").write_bytes(b"PK\x03\x04" + bytes(200))
    _scene(d / "scene.json")
    (d / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (d / "deep_obj.json").write_text('{"a":' * 5000 + "1" + "}" * 5000)
    _scene(d / "nan_settings.json", view={"name": "path", "t": 0.5, "settings": {"contours": float("nan")}})
    _scene(d / "type_settings.json", view={"name": "trajectories", "t": 0.5, "settings": {"steps": "many"}})
    _scene(d / "range_settings.json", view={"name": "trajectories", "t": 0.5, "settings": {"particles": 10**12}})
    _scene(d / "unknown_settings.json", view={"name": "path", "t": 0.5, "settings": {"eval": "__import__('os')"}})
    _scene(d / "nan_t.json", view={"name": "path", "t": float("nan")})
    _scene(d / "escape.json", model={"kind": "cnf", "checkpoint": "../../etc/passwd"})
    _scene(d / "abs.json", model={"kind": "cnf", "checkpoint": "/etc/passwd"})
    _scene(d / "fifo_ckpt.json", model={"kind": "cnf", "checkpoint": "fifo.pt"})
    _scene(d / "tampered_ckpt.json", model={"kind": "cnf", "checkpoint": "t_nan.pt"})
    (d / "not_json.json").write_text("{flowscope")
    (d / "big.json").write_text(" " * (21 << 20) + "{}")


def _c(family: str, code: int, fragment: str, *argv: str, slow: bool = False) -> Case:
    return Case(family, tuple(argv), code, fragment, slow)


OUT = ("--out", "{d}/o.npy")
SAMPLE = ("sample", "{cnf}", "-n", "10")
TRAIN = ("train", "--model", "cnf", "--density", "moons", "--out", "{d}/m.pt")
KFP = ("kfp", "--sde", "ou", "--density", "moons")
RENDER = ("render", "{cnf}", "--out", "{d}/r.png")

ARGUMENTS = [
    _c("arguments", 2, "--seed", *SAMPLE, *OUT, "--seed", "-1"),
    _c("arguments", 2, "--seed", *SAMPLE, *OUT, "--seed", str(2**70)),
    _c("arguments", 2, "--seed", *SAMPLE, *OUT, "--seed", "1.5"),
    _c("arguments", 2, "-n", "sample", "{cnf}", "-n", "1e12", *OUT),
    _c("arguments", 2, "-n", "sample", "{cnf}", "-n", "0", *OUT),
    _c("arguments", 2, "-n", "sample", "{cnf}", "-n", str(10**30), *OUT),
    _c("arguments", 2, "--steps", *SAMPLE, *OUT, "--steps", "1000000000"),
    _c("arguments", 2, "--steps", *SAMPLE, *OUT, "--steps", "0"),
    _c("arguments", 2, "--threads", *SAMPLE, *OUT, "--threads", "0"),
    _c("arguments", 2, "--threads", *SAMPLE, *OUT, "--threads", "100000"),
    _c("arguments", 2, "--label", "sample", "{ddpm}", "-n", "10", *OUT, "--label", "1000000000"),
    _c("arguments", 2, "--label", "sample", "{ddpm}", "-n", "10", *OUT, "--label", "-1"),
    _c("arguments", 2, "--guidance", "sample", "{ddpm}", "-n", "10", *OUT, "--label", "0", "--guidance", "nan"),
    _c("arguments", 2, "--guidance", "sample", "{ddpm}", "-n", "10", *OUT, "--label", "0", "--guidance", "inf"),
    _c("arguments", 2, "--guidance", "sample", "{ddpm}", "-n", "10", *OUT, "--label", "0", "--guidance", "1e300"),
    _c("arguments", 2, "unconditional", "sample", "{ddpm}", "-n", "10", *OUT, "--label", "1"),
    _c("arguments", 2, "-n", "eval", "{cnf}", "-n", "-5"),
    _c("arguments", 2, "--seed", "eval", "{cnf}", "--seed", str(2**64)),
    _c("arguments", 2, "--seconds", *TRAIN, "--seconds", "inf"),
    _c("arguments", 2, "--seconds", *TRAIN, "--seconds", "nan"),
    _c("arguments", 2, "--seconds", *TRAIN, "--seconds", "-1"),
    _c("arguments", 2, "--seconds", *TRAIN, "--seconds", "1e300"),
    _c("arguments", 2, "--steps", *TRAIN, "--steps", "0"),
    _c("arguments", 2, "--steps", *TRAIN, "--steps", str(2**63)),
    _c("arguments", 2, "--lr", *TRAIN, "--lr", "nan"),
    _c("arguments", 2, "--lr", *TRAIN, "--lr", "5"),
    _c("arguments", 2, "--lr", *TRAIN, "--lr", "0"),
    _c("arguments", 2, "--batch", *TRAIN, "--batch", "0"),
    _c("arguments", 2, "--batch", *TRAIN, "--batch", str(10**12)),
    _c("arguments", 2, "--width", *TRAIN, "--width", "100000"),
    _c("arguments", 2, "--depth", *TRAIN, "--depth", "1000000"),
    _c("arguments", 2, "--solver-steps", *TRAIN, "--solver-steps", "1000000000"),
    _c("arguments", 2, "--timesteps", "train", "--model", "ddpm", "--density", "moons", "--out", "{d}/m.pt",
       "--timesteps", "1000000000"),
    _c("arguments", 2, "--seed", *TRAIN, "--seed", str(2**32)),
    _c("arguments", 2, "solver", *TRAIN, "--solver", "rk45", "--steps", "1"),
    _c("arguments", 2, "memory", "train", "--model", "cnf", "--density", "moons", "--out", "{d}/m.pt",
       "--batch", "200000", "--width", "2048", "--depth", "32", "--steps", "1"),
    _c("arguments", 2, "--frames", *RENDER, "--frames", "10000000"),
    _c("arguments", 2, "--frames", *RENDER, "--frames", "0"),
    _c("arguments", 2, "memory", "render", "{cnf}", "--out", "{d}/r.gif", "--frames", "2000", "--size", "4096x4096"),
    _c("arguments", 2, "--fps", *RENDER, "--fps", "0"),
    _c("arguments", 2, "--fps", *RENDER, "--fps", "nan"),
    _c("arguments", 2, "--size", *RENDER, "--size", "100000x100000"),
    _c("arguments", 2, "--size", *RENDER, "--size", "axb"),
    _c("arguments", 2, "--guidance", *RENDER, "--guidance", "-inf"),
    _c("arguments", 2, "--label", *RENDER, "--label", str(10**9)),
    _c("arguments", 2, "memory", *KFP, "--grid", "1024", "--frames", "2000"),
    _c("arguments", 2, "--grid", *KFP, "--grid", "100000"),
    _c("arguments", 2, "--grid", *KFP, "--grid", "4"),
    _c("arguments", 2, "--frames", *KFP, "--frames", "10000000"),
    _c("arguments", 2, "--particles", *KFP, "--particles", str(10**12)),
    _c("arguments", 2, "--particles", *KFP, "--particles", "0"),
    _c("arguments", 2, "--t-end", *KFP, "--t-end", "inf"),
    _c("arguments", 2, "--t-end", *KFP, "--t-end", "-1"),
    _c("arguments", 2, "--theta", *KFP, "--theta", "nan"),
    _c("arguments", 2, "--theta", *KFP, "--theta", "1e300"),
    _c("arguments", 2, "--sigma", *KFP, "--sigma", "0"),
    _c("arguments", 2, "--seed", *KFP, "--seed", "-5"),
    _c("arguments", 2, "does not apply", "kfp", "--sde", "brownian", "--density", "moons", "--theta", "2"),
    _c("arguments", 2, "formula", "kfp", "--sde", "custom", "--density", "moons", "--drift-x=__import__('os')"),
    _c("arguments", 2, "", "kfp", "--sde", "custom", "--density", "moons", "--diffusion", "exp(exp(exp(9)))",
       "--grid", "16"),
    _c("arguments", 0, "", "kfp", "--sde", "custom", "--density", "moons", "--diffusion", "0", "--grid", "16",
       "--frames", "2", "--particles", "100", slow=True),
]

DATA = [
    _c("data", 2, "device", *TRAIN, "--density", "file:/dev/zero", "--steps", "1"),
    _c("data", 2, "device", *TRAIN, "--density", "file:{d}/urandom.csv", "--steps", "1"),
    _c("data", 2, "device", *TRAIN, "--density", "file:{d}/zero.npy", "--steps", "1"),
    _c("data", 2, "named pipe", *TRAIN, "--density", "file:{d}/fifo.csv", "--steps", "1"),
    _c("data", 2, "named pipe", *TRAIN, "--density", "image:{d}/fifo.csv", "--steps", "1"),
    _c("data", 2, "device", *TRAIN, "--density", "image:/dev/zero", "--steps", "1"),
    _c("data", 2, "unpacked", *TRAIN, "--density", "file:{d}/bomb.npz", "--steps", "1"),
    _c("data", 2, "too large", *TRAIN, "--density", "file:{d}/huge.npy", "--steps", "1"),
    _c("data", 2, "spread", *TRAIN, "--density", "file:{d}/tiny.npy", "--steps", "1"),
    _c("data", 2, "NaN", *TRAIN, "--density", "file:{d}/nan.npy", "--steps", "1"),
    _c("data", 2, "pickled", *TRAIN, "--density", "file:{d}/obj.npy", "--steps", "1"),
    _c("data", 2, "shape", *TRAIN, "--density", "file:{d}/labels3.npy", "--steps", "1"),
    _c("data", 2, "columns", *TRAIN, "--density", "file:{d}/one_col.csv", "--steps", "1"),
    _c("data", 2, "non-numeric", *TRAIN, "--density", "file:{d}/text.csv", "--steps", "1"),
    _c("data", 2, "binary", *TRAIN, "--density", "file:{d}/binary.csv", "--steps", "1"),
    _c("data", 2, "no data", *TRAIN, "--density", "file:{d}/empty.csv", "--steps", "1"),
    _c("data", 2, "folder", *TRAIN, "--density", "file:{d}/folder.npy", "--steps", "1"),
    _c("data", 2, "no such", *TRAIN, "--density", "file:{d}/missing.npy", "--steps", "1"),
    _c("data", 2, "image", *TRAIN, "--density", "image:{d}/bad.png", "--steps", "1"),
    _c("data", 2, "unknown density", *TRAIN, "--density", "nosuchthing", "--steps", "1"),
    _c("data", 2, "named pipe", "logprob", "{cnf}", "--points", "{d}/fifo.csv", *OUT),
    _c("data", 2, "device", "logprob", "{cnf}", "--points", "{d}/zero.npy", *OUT),
    _c("data", 2, "unpacked", "logprob", "{cnf}", "--points", "{d}/bomb.npz", *OUT),
    _c("data", 2, "NaN", "logprob", "{cnf}", "--points", "{d}/nan.npy", *OUT),
    _c("data", 2, "named pipe", *KFP, "--density", "file:{d}/fifo.csv"),
    _c("data", 2, "device", *KFP, "--density", "file:/dev/urandom"),
    _c("data", 2, "named pipe", "render", "{cnf}", "--density", "file:{d}/fifo.csv", "--out", "{d}/r.png"),
    _c("data", 0, "", *TRAIN, "--density", "file:{d}/data.csv", "--steps", "2", "--quiet", slow=True),
    _c("data", 0, "", *TRAIN, "--density", "file:{d}/link.npy", "--steps", "2", "--quiet", slow=True),
    _c("data", 0, "", *TRAIN, "--density", "image:{d}/pic.png", "--steps", "2", "--quiet", slow=True),
]

CHECKPOINTS = [
    _c("checkpoints", 2, "config.depth", "sample", "{d}/t_depth.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "config.width", "sample", "{d}/t_width_str.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "config.width", "sample", "{d}/t_width_neg.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "config.atol", "sample", "{d}/t_atol.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "config.end_time", "sample", "{d}/t_end.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "config.activation", "sample", "{d}/t_act.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "NaN or infinite weights", "sample", "{d}/t_nan.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "NaN or infinite weights", "logprob", "{d}/t_nan.pt", "--points", "{d}/pts.npy", *OUT),
    _c("checkpoints", 2, "", "logprob", "{d}/t_big.pt", "--points", "{d}/pts.npy", *OUT, slow=True),
    _c("checkpoints", 2, "", "sample", "{d}/t_big.pt", "-n", "10", *OUT, slow=True),
    _c("checkpoints", 2, "", "eval", "{d}/t_big.pt", "-n", "100", slow=True),
    _c("checkpoints", 2, "density.box", "sample", "{d}/t_box.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "density.box", "sample", "{d}/t_box_order.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "data_map.scale", "sample", "{d}/t_map.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "data_map.scale", "logprob", "{d}/t_map.pt", "--points", "{d}/pts.npy", *OUT),
    _c("checkpoints", 2, "data_map.scale", "sample", "{d}/t_map_str.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "layers.0.linear.weight", "sample", "{d}/t_shape.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "lacks the weights", "sample", "{d}/t_missing.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "junk", "sample", "{d}/t_extra_key.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "num_classes", "sample", "{d}/t_classes.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "num_classes", "sample", "{d}/t_classes_str.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "unknown model", "sample", "{d}/t_kind.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "kind", "sample", "{d}/t_kind_type.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "metrics", "eval", "{d}/t_metrics.pt", "-n", "10"),
    _c("checkpoints", 2, "levels deep", "eval", "{d}/t_deep.pt", "-n", "10"),
    _c("checkpoints", 2, "config", "sample", "{d}/t_config_list.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "version", "sample", "{d}/t_version.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "must be a tensor", "sample", "{d}/t_state_str.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "steps_per_level", "sample", "{d}/t_spl.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "timesteps", "sample", "{d}/t_ts.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "timesteps", "sample", "{d}/t_ts_float.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "schedule", "sample", "{d}/t_sched.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "config.scale", "sample", "{d}/t_dscale.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "config.shift", "sample", "{d}/t_dshift.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "config.sampler", "sample", "{d}/t_dsampler.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "variance", "sample", "{d}/t_dvariance.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "config.net.width", "sample", "{d}/t_dwidth.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "NaN or infinite weights", "sample", "{d}/t_dnan.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "", "logprob", "{d}/t_dbig.pt", "--points", "{d}/pts.npy", *OUT, slow=True),
    _c("checkpoints", 2, "classifier", "sample", "{d}/t_dclassifier.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "sigma_min", "sample", "{d}/t_dprocess.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "named pipe", "sample", "{d}/fifo.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "device", "sample", "/dev/zero", "-n", "10", *OUT),
    _c("checkpoints", 2, "not a readable", "sample", "{d}/not_a_ckpt.pt", "-n", "10", *OUT),
    _c("checkpoints", 2, "not a readable", "sample", "{d}/data.npy", "-n", "10", *OUT),
    _c("checkpoints", 2, "folder", "eval", "{d}/folder.npy"),
]

SCENES = [
    _c("scenes", 2, "levels deep", "render", "--scene", "{d}/deep.json", "--out", "{d}/r.png"),
    _c("scenes", 2, "levels deep", "render", "--scene", "{d}/deep_obj.json", "--out", "{d}/r.png"),
    _c("scenes", 2, "view.settings.contours", "render", "--scene", "{d}/nan_settings.json", "--out", "{d}/r.png"),
    _c("scenes", 2, "view.settings.steps", "render", "--scene", "{d}/type_settings.json", "--out", "{d}/r.png"),
    _c("scenes", 2, "view.settings.particles", "render", "--scene", "{d}/range_settings.json", "--out", "{d}/r.png"),
    _c("scenes", 2, "unknown key 'eval'", "render", "--scene", "{d}/unknown_settings.json", "--out", "{d}/r.png"),
    _c("scenes", 2, "view.t", "render", "--scene", "{d}/nan_t.json", "--out", "{d}/r.png"),
    _c("scenes", 2, "outside", "render", "--scene", "{d}/escape.json", "--out", "{d}/r.png"),
    _c("scenes", 2, "relative", "render", "--scene", "{d}/abs.json", "--out", "{d}/r.png"),
    _c("scenes", 2, "", "render", "--scene", "{d}/fifo_ckpt.json", "--out", "{d}/r.png"),
    _c("scenes", 2, "NaN or infinite weights", "render", "--scene", "{d}/tampered_ckpt.json", "--out", "{d}/r.png"),
    _c("scenes", 2, "named pipe", "render", "--scene", "{d}/fifo.json", "--out", "{d}/r.png"),
    _c("scenes", 2, "not valid JSON", "render", "--scene", "{d}/not_json.json", "--out", "{d}/r.png"),
    _c("scenes", 2, "too large", "render", "--scene", "{d}/big.json", "--out", "{d}/r.png"),
    _c("scenes", 2, "no such", "render", "--scene", "{d}/missing.json", "--out", "{d}/r.png"),
]

OUTPUTS = [
    _c("outputs", 2, "must end in .pt", "train", "--model", "ddpm", "--density", "file:{d}/data.npy", "--steps", "5",
       "--out", "{d}/data.npy"),
    _c("outputs", 2, "must end in .pt", "train", "--model", "ddpm", "--density", "file:{d}/data.csv", "--steps", "5",
       "--out", "{d}/data.csv"),
    _c("outputs", 2, "must end in .pt", "train", "--model", "cnf", "--density", "image:{d}/pic.png", "--steps", "5",
       "--out", "{d}/pic.png"),
    _c("outputs", 2, "must end in .npy or .csv", "sample", "{cnf}", "-n", "10", "--out", "{cnf}"),
    _c("outputs", 2, "must end in .npy", "logprob", "{cnf}", "--points", "{d}/pts.npy", "--out", "{cnf}"),
    _c("outputs", 2, "over an input", "logprob", "{cnf}", "--points", "{d}/pts.npy", "--out", "{d}/pts.npy"),
    _c("outputs", 2, "over an input", "logprob", "{cnf}", "--points", "{d}/pts.npy", "--out", "{d}/pts_link.npy"),
    _c("outputs", 2, "over an input", "kfp", "--sde", "ou", "--density", "file:{d}/data.npz", "--out", "{d}/data.npz"),
    _c("outputs", 2, "over an input", "render", "{cnf}", "--density", "image:{d}/pic.png", "--out", "{d}/pic.png"),
    _c("outputs", 2, "over an input", "reflow", "{cnf}", "--out", "{cnf}"),
    _c("outputs", 2, "must end in", "sample", "{cnf}", "-n", "10", "--out", "{d}/s.txt"),
    _c("outputs", 2, "must end in", "render", "{cnf}", "--out", "{d}/r.avi"),
    _c("outputs", 2, "does not exist", "sample", "{cnf}", "-n", "10", "--out", "{d}/nofolder/s.npy"),
    _c("outputs", 2, "cannot write", "train", "--model", "cnf", "--density", "moons", "--steps", "5",
       "--out", "/proc/x.pt"),
    _c("outputs", 2, "", "train", "--model", "cnf", "--density", "moons", "--steps", "5", "--out", "{d}/afile/x.pt"),
    _c("outputs", 2, "folder", "sample", "{cnf}", "-n", "10", "--out", "{d}/folder.npy"),
    _c("outputs", 2, "named pipe", "sample", "{cnf}", "-n", "10", "--out", "{d}/fifo.csv"),
    _c("outputs", 2, "device", "sample", "{cnf}", "-n", "10", "--out", "{d}/null.npy"),
    _c("outputs", 0, "", "sample", "{cnf}", "-n", "20", "--out", "{d}/s_new.csv", slow=True),
    _c("outputs", 0, "", "logprob", "{cnf}", "--points", "{d}/pts.npy", "--out", "{d}/lp_new.npy", slow=True),
]

CASES: list[Case] = ARGUMENTS + DATA + CHECKPOINTS + SCENES + OUTPUTS
