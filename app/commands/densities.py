"""``flowscope densities``: list the built-in densities."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("densities", help="list the built-in densities",
                       description="One line per built-in density: name, number of classes, analytic or not.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.densities import DENSITIES, builtin_density

    rows = []
    for name in DENSITIES:
        d = builtin_density(name)
        rows.append({"name": name, "classes": d.num_classes, "analytic": d.analytic, "description": d.description})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for r in rows:
        kind = "analytic" if r["analytic"] else "sampled"
        print(f"{r['name']:<14} {r['classes']:>2} classes  {kind:<9} {r['description']}")
    return 0
