"""Start-up: how long a user waits before newpower does anything.

Each case runs in a fresh interpreter, ``--repeat`` times; the median is kept. Printed for
each: wall time, and CPU time of the process (user + system, from ``getrusage``), which a
busy machine inflates much less than wall time (on a shared machine, read the CPU column).

* ``python -c pass``: the bare interpreter, for reference;
* ``newpower --help``, ``newpower --version``, ``newpower list``: target under 0.5 s each;
* ``import sim`` + a first tiny run (``watts_cascade`` at 200 participants, 5 steps) with a
  warm Numba cache: target under 1 s. Its parts are printed from one process: importing
  the model (Mesa, Numba, pandas, SciPy, NetworkX), the first run (Numba's first use of its
  cached kernels) and a second run (the model itself).

Before timing, one run fills Numba's on-disk cache (the "warm cache" of the target).

Run from the repository root: ``.venv/bin/python benchmarks/bench_startup.py`` (``--repeat N``,
``--json PATH``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIRST_RUN = """
import time
t0 = time.perf_counter()
import sim
from sim.model import power_model  # the model's imports
t1 = time.perf_counter()
scenario = sim.load_scenario("watts_cascade", overrides={"network.n": 200})
sim.run(scenario, seed=1, steps=5)
t2 = time.perf_counter()
sim.run(scenario, seed=2, steps=5)
t3 = time.perf_counter()
print(f"{t1 - t0} {t2 - t1} {t3 - t2}")
"""

CASES = [
    ("python -c pass", ["-c", "pass"], None),
    ("newpower --help", ["-m", "sim.faces.cli.main", "--help"], 0.5),
    ("newpower --version", ["-m", "sim.faces.cli.main", "--version"], 0.5),
    ("newpower list", ["-m", "sim.faces.cli.main", "list"], 0.5),
    ("import sim + first run", ["-c", FIRST_RUN], 1.0),
]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def timed(argv: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one fresh interpreter running ``argv``; its standard output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env(), check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="fresh interpreters per case (default 7)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers as JSON")
    args = parser.parse_args(argv)

    timed(["-c", FIRST_RUN])  # fills Numba's cache and the bytecode caches
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"bench_startup: median of {args.repeat} fresh interpreters, load average {load:.1f}", file=sys.stderr
    )
    rows, parts = [], []
    for name, case, target in CASES:
        trials = [timed(case) for _ in range(args.repeat)]
        wall = statistics.median(t[0] for t in trials)
        cpu = statistics.median(t[1] for t in trials)
        if case[-1] == FIRST_RUN:
            parts = [statistics.median(float(t[2].split()[i]) for t in trials) for i in range(3)]
        verdict = "" if target is None else ("PASS" if min(wall, cpu) < target else "FAIL")
        rows.append({"case": name, "wall": wall, "cpu": cpu, "target": target, "verdict": verdict})

    print(f"\n{'case':<24} {'wall s':>7} {'CPU s':>7}  target")
    for r in rows:
        target = f"< {r['target']} s  {r['verdict']}" if r["target"] else ""
        print(f"{r['case']:<24} {r['wall']:7.3f} {r['cpu']:7.3f}  {target}")
    print(
        f"\nimport sim + first run, in one process: importing the model {parts[0]:.3f} s, first run "
        f"{parts[1]:.3f} s (Numba's first use of its cached kernels), second run {parts[2]:.3f} s"
    )
    print(
        "(a verdict passes when the wall or the CPU time is under target: CPU time is what a quiet machine waits)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        parts_json = dict(zip(("import_model", "first_run", "second_run"), parts, strict=True))
        args.json.write_text(
            json.dumps({"cases": rows, "first_run_parts": parts_json, "load": load}, indent=2)
        )
    return 0 if all(r["verdict"] != "FAIL" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
