"""How long building a model takes, and how much memory it needs, by network route.

Each measurement runs in a fresh child process, so its peak memory is its own: the child
imports ``sim``, builds ``PowerModel`` on the flagship benchmark scenario
(``scenarios/castle_vs_crowd.toml`` with a Watts-Strogatz network of N participants, mean
degree 10, trigger about 1% of N) and reports

* the build's wall-clock and CPU time (CPU time is what the build costs on a busy machine);
* the peak resident memory of the whole process (``VmHWM``: imports, build and, with
  ``--steps``, the steps), and the resident memory after the imports alone;
* with ``--steps S``, the median time of S vectorized steps;
* apart, the time of castle_vs_crowd's 50 burn-in steps (unrecorded steps that ``PowerModel``
  runs after building when a scenario asks for them: model steps, not building, so the
  benchmark scenario has none and they are timed after the build).

Routes (``--routes``, any of):

* ``lazy``: the default vectorized build: igraph from 100,000 participants on
  (``network.generator = "auto"``), NetworkX graph, Mesa cells and agents not built;
* ``networkx``: ``network.generator = "networkx"``, still lazy;
* ``eager``: NetworkX graph, Mesa ``Network`` cells and ``Participant`` agents built as
  well (what the per-agent driver needs, and what every build did before they became lazy).

Target (project issue): at 1,000,000 participants a vectorized run builds in at most
5 s with at most 1.2 GB peak. Run from the repository root:
``.venv/bin/python benchmarks/bench_build.py --sizes 100k 1m``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from common import GB, MIB, benchmark_scenario, parse_n, peak_memory

TARGET_N, TARGET_SECONDS, TARGET_BYTES = 1_000_000, 5.0, 1.2e9
ROUTES = ("lazy", "networkx", "eager")
#: castle_vs_crowd's burn-in (unrecorded steps that PowerModel(...) runs after building), timed apart.
BURN_IN = 50


def child(n: int, route: str, seed: int, steps: int) -> dict:
    """Build (and step) one model in this process; return the measurements."""
    imports = peak_memory()["rss"]
    from sim.model.power_model import PowerModel

    imports = peak_memory()["rss"]
    generator = "networkx" if route in ("networkx", "eager") else "auto"
    scenario = benchmark_scenario(n, generator=generator)
    wall, cpu = time.perf_counter(), time.process_time()
    model = PowerModel(scenario, rng=seed, driver="vectorized")
    if route == "eager":
        model.participants  # noqa: B018 - builds the NetworkX graph, Mesa cells and agents
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after_build = peak_memory()
    burn_in = time.perf_counter()
    model.burn_in(BURN_IN)  # what the scenario's own burn-in adds to PowerModel(...): 50 steps
    burn_in = time.perf_counter() - burn_in
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        model.step()
        times.append(time.perf_counter() - t)
    return {
        "n": n,
        "route": route,
        "generator": model.generator,
        "build_s": wall,
        "build_cpu_s": cpu,
        "burn_in_s": burn_in,
        "imports_rss": imports,
        "build_peak": after_build["peak"],
        "peak": peak_memory()["peak"],
        "step_s": statistics.median(times) if times else None,
        "steps": steps,
    }


def measure(n: int, route: str, seed: int, steps: int) -> dict:
    """Run :func:`child` in a fresh process."""
    cmd = [sys.executable, __file__, "--_child", str(n), route, str(seed), str(steps)]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=REPO)
    if out.returncode:
        return {"n": n, "route": route, "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(rows: list[dict]) -> str:
    header = (
        f"{'N':>11}  {'route':<9} {'generator':<9} {'build s':>8} {'CPU s':>7} {'imports':>9} {'peak':>9}"
    )
    lines = [f"{header}  {'step ms':>8}  {'burn-in s':>9}"]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['n']:>11,}  {r['route']:<9} failed: {r['error']}")
            continue
        step = f"{1e3 * r['step_s']:.1f}" if r["step_s"] is not None else "-"
        lines.append(
            f"{r['n']:>11,}  {r['route']:<9} {r['generator']:<9} {r['build_s']:>8.2f} {r['build_cpu_s']:>7.2f} "
            f"{r['imports_rss'] / MIB:>6,.0f} MiB {r['peak'] / GB:>7.2f} GB  {step:>8}  {r['burn_in_s']:>9.2f}"
        )
    lines.append("")
    for r in rows:
        if r.get("n") == TARGET_N and r.get("route") == "lazy" and "error" not in r:

            def verdict(ok: bool) -> str:
                return "PASS" if ok else "FAIL"

            lines.append(
                f"target at 1,000,000 (lazy): build <= {TARGET_SECONDS:g} s: wall {r['build_s']:.2f} s "
                f"{verdict(r['build_s'] <= TARGET_SECONDS)}, CPU {r['build_cpu_s']:.2f} s "
                f"{verdict(r['build_cpu_s'] <= TARGET_SECONDS)}; "
                f"peak {r['peak'] / GB:.2f} GB <= 1.2 GB {verdict(r['peak'] <= TARGET_BYTES)}"
            )
    lines.append(
        f"burn-in s: castle_vs_crowd's {BURN_IN} unrecorded steps, which PowerModel(...) runs after building "
        "when the scenario asks for them (model steps, so not in the build time)"
    )
    lines.append(
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores: "
        "where it exceeds the cores, wall-clock times measure the load as much as the build"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", type=parse_n, default=[100_000, 1_000_000], metavar="N")
    ap.add_argument("--routes", nargs="+", choices=ROUTES, default=["lazy", "eager"])
    ap.add_argument("--steps", type=int, default=0, help="also time this many vectorized steps")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--_child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._child:
        n, route, seed, steps = args._child
        print(json.dumps(child(int(n), route, int(seed), int(steps))))
        return 0
    rows = []
    for n in args.sizes:
        for route in args.routes:
            print(f"[N={n:,}] {route} ...", file=sys.stderr, flush=True)
            rows.append(measure(n, route, args.seed, args.steps))
    print(report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
