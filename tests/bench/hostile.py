"""Hostile inputs: every row of tests/hostile_cases.py as its own process, under a timeout and a memory cap.

    .venv/bin/python tests/bench/hostile.py [--timeout 30] [--cap-gb 4] [--only FAMILY]

Each command runs in a child with an address-space limit (RLIMIT_AS, ``--cap-gb``) and is killed
after ``--timeout`` seconds; its peak resident memory comes from ``wait4``'s resource usage. Every
input file is hashed before and after. Prints JSON: inputs, hangs (past the timeout), over_2gb
(peak resident memory above 2 GB), exit_1 (internal errors), inputs_changed, and — beside those four,
which must all be zero — wrong_code (an exit other than the table's), extra_lines (a refusal that
printed more than one line), the slowest rows and the highest peak memory.
"""

from __future__ import annotations

import argparse
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


def run_case(case: Case, folder: str, timeout: float, cap: int) -> dict[str, object]:
    def limit() -> None:
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "FLOWSCOPE_THREADS": "1", "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", RUN, *expand(case, folder)], cwd=folder, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=limit)
    hung = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - started > timeout:
            hung = True
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    return {"case": case.name, "family": case.family, "code": proc.returncode, "expected": case.code,
            "seconds": round(time.monotonic() - started, 2), "peak_mb": round(usage.ru_maxrss / 1024, 1),
            "hung": hung, "lines": err.count("\n"),
            "message": err.strip().splitlines()[-1][:200] if err.strip() else "",
            "fragment_ok": case.fragment in err}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--cap-gb", type=float, default=4.0)
    p.add_argument("--only", default=None, help="run one family only")
    args = p.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.cli import main as cli

    cases = [c for c in CASES if args.only in (None, c.family)]
    rows = []
    changed = 0
    with tempfile.TemporaryDirectory(prefix="hostile-") as folder:
        prepare(folder, cli)
        for case in cases:
            before = hashes(folder, OUTPUTS)
            row = run_case(case, folder, args.timeout, int(args.cap_gb * 2**30))
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
