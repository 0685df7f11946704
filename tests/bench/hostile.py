"""Hostile inputs: every row of tests/hostile_cases.py as its own process, under a timeout and a memory cap.

    .venv/bin/python tests/bench/hostile.py [--timeout 30] [--cap-gb 4] [--only FAMILY]

Each command runs in a child (forked from this process once torch is imported, or with ``--spawn`` a fresh
interpreter) with an address-space limit (RLIMIT_AS, ``--cap-gb``) and is killed
after ``--timeout`` seconds; its peak resident memory comes from ``wait4``'s resource usage. Every
input file is hashed before and after. Prints JSON: inputs, hangs (past the timeout), over_2gb
(peak resident memory above 2 GB), exit_1 (internal errors), inputs_changed, and — beside those four,
which must all be zero — wrong_code (an exit other than the table's), extra_lines (a refusal that
printed more than one line), the slowest rows and the highest peak memory.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.hostile_cases import CASES, Case, expand, hashes, prepare  # noqa: E402

OUTPUTS = ("o.npy", "r.png", "r.gif", "m.pt", "s_new.csv", "lp_new.npy")
RUN = "import sys; from app.cli import main; sys.exit(main(sys.argv[1:]))"


def _spawn(argv: list[str], folder: str, cap: int, err_path: str) -> int:
    """A fresh interpreter per case (slow: each imports torch)."""
    def limit() -> None:
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FLOWSCOPE_THREADS": "1", "PYTHONPATH": str(ROOT)}
    with open(err_path, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-c", RUN, *argv], cwd=folder, env=env,
                                stdout=subprocess.DEVNULL, stderr=err, preexec_fn=limit)
    return proc.pid


def _fork(argv: list[str], folder: str, cap: int, err_path: str) -> int:
    """A child forked from this warm process (torch already imported), with its own limit and stderr."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 2)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        sys.stderr = os.fdopen(2, "w", buffering=1)
        sys.stdout = os.fdopen(1, "w")
        os.chdir(folder)
        from app.cli import main as cli

        code = cli(argv)
    except BaseException:  # noqa: BLE001 - the child must never return into the parent's loop
        code = 1
    finally:
        sys.stderr.flush()
        os._exit(code)


def run_case(case: Case, folder: str, timeout: float, cap: int, fork: bool = True) -> dict[str, object]:
    err_path = os.path.join(os.path.dirname(folder), "stderr.txt")
    started = time.monotonic()
    pid = (_fork if fork else _spawn)(expand(case, folder), folder, cap, err_path)
    hung = False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - started > timeout:
            hung = True
            os.killpg(pid, signal.SIGKILL)
            done, status, usage = os.wait4(pid, 0)
            break
        time.sleep(0.02)
    code = os.waitstatus_to_exitcode(status)
    with open(err_path, encoding="utf-8", errors="replace") as fh:
        err = fh.read()
    return {"case": case.name, "family": case.family, "code": code, "expected": case.code,
            "seconds": round(time.monotonic() - started, 2), "peak_mb": round(usage.ru_maxrss / 1024, 1),
            "hung": hung, "lines": err.count("\n"),
            "message": err.strip().splitlines()[-1][:200] if err.strip() else "",
            "fragment_ok": case.fragment in err}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--cap-gb", type=float, default=4.0)
    p.add_argument("--only", default=None, help="run one family only")
    p.add_argument("--spawn", action="store_true", help="a fresh interpreter per case instead of a fork of a warm "
                   "one (each then imports torch: minutes more)")
    args = p.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.cli import main as cli

    cases = [c for c in CASES if args.only in (None, c.family)]
    rows = []
    changed = 0
    with tempfile.TemporaryDirectory(prefix="hostile-") as top:
        folder = os.path.join(top, "inputs")
        os.mkdir(folder)
        with contextlib.redirect_stdout(io.StringIO()):  # the trained fixtures' own JSON lines
            prepare(folder, cli)
        for case in cases:
            before = hashes(folder, OUTPUTS)
            row = run_case(case, folder, args.timeout, int(args.cap_gb * 2**30), fork=not args.spawn)
            after = hashes(folder, OUTPUTS)
            row["input_changed"] = {k: after.get(k) for k in before} != before
            changed += bool(row["input_changed"])
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    bad_code = [r for r in rows if r["code"] != r["expected"] and not r["hung"]]
    summary = {
        "inputs": len(rows),
        "hangs": sum(bool(r["hung"]) for r in rows),
        "over_2gb": sum(float(r["peak_mb"]) > 2048 for r in rows),  # type: ignore[arg-type]
        "exit_1": sum(r["code"] == 1 for r in rows),
        "inputs_changed": changed,
        "wrong_code": [f"{r['case']} -> {r['code']}: {r['message']}" for r in bad_code],
        "extra_lines": [r["case"] for r in rows if r["code"] == 2 and r["lines"] != 1],
        "missing_fragment": [r["case"] for r in rows if r["code"] == 2 and not r["fragment_ok"]],
        "families": {f: sum(r["family"] == f for r in rows) for f in sorted({str(r["family"]) for r in rows})},
        "max_peak_mb": max((float(r["peak_mb"]) for r in rows), default=0.0),  # type: ignore[arg-type]
        "slowest": sorted(((r["seconds"], r["case"]) for r in rows), reverse=True)[:5],  # type: ignore[arg-type]
        "timeout_s": args.timeout, "cap_gb": args.cap_gb, "load_average": os.getloadavg()[0],
    }
    print(json.dumps(summary, indent=1))
    return 0 if not (summary["hangs"] or summary["over_2gb"] or summary["exit_1"] or changed) else 1


if __name__ == "__main__":
    sys.exit(main())
