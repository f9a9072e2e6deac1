"""``newpower validate``: the stylized facts, the classic limits and the knock-outs, as a report.

``sim/faces/cli/main.py`` adds this sub-command with :func:`register`; the checks are in
:mod:`sim.research.validation`. ``--quick`` runs fewer replications on smaller networks (about
40 s on two cores); the full report states its run time in CPU seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sim.errors import SimError

ROOT = Path(__file__).resolve().parents[3]


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``validate`` sub-command to ``newpower``'s sub-parsers; return its parser."""
    parser = subparsers.add_parser(
        "validate",
        help="check the stylized facts, the classic limits and the knock-outs; write validation.md",
        description="Run every validation check with replications on held-out seeds and write "
        "validation.md (PASS/FAIL with numbers and intervals, one figure per check) and validation.json.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer replications, smaller networks (about 40 s on two cores)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "docs",
        metavar="DIR",
        help="folder for validation.md (default docs/)",
    )
    parser.add_argument(
        "--only",
        default="",
        metavar="WORDS",
        help="comma-separated words: run only the checks whose name has one",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local worker processes that run checks side by side (default: all CPUs; 0: this process); "
        "the numbers do not depend on it",
    )
    parser.set_defaults(handler=cmd_validate)
    return parser


def cmd_validate(args: argparse.Namespace) -> int:
    """Run the checks, save their numbers, draw the figures and write the report."""
    from sim.research import validation

    plan = validation.QUICK if args.quick else validation.FULL
    only = tuple(filter(None, args.only.split(",")))
    if args.out.exists() and not args.out.is_dir():
        raise SimError(f"--out {args.out}: not a folder")
    from sim.research.executors import make_executor

    start = time.perf_counter()
    with make_executor(args.workers) as executor:
        rows, cpu = validation.run_checks(
            plan, only, progress=lambda name: print(f"  {name} done", file=sys.stderr), executor=executor
        )
        workers = executor.workers
    wall = time.perf_counter() - start
    if not rows:
        raise SimError(f"--only {args.only}: no check has these words in its name")
    args.out.mkdir(parents=True, exist_ok=True)
    data = validation.save(rows, args.out / "validation.json")
    path = validation.write_report(data, args.out, plan, cpu, wall, workers)
    for row in rows:
        print(f"{row.status:<8} {row.name}: {row.detail}")
    print(f"wrote {path}")
    return 0 if all(r.status != "FAIL" for r in rows) else 1
