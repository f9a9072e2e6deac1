"""Ten million participants, 100 steps, on one machine: build time, step time, memory.

Builds the flagship benchmark scenario (``scenarios/castle_vs_crowd.toml``, Watts-Strogatz
network, mean degree 10, trigger about 1% of N) at N = 10,000,000 with the vectorized driver
(igraph generates the graph straight into CSR; no NetworkX graph, Mesa cells or agents), runs
100 steps, and prints

* the build time (wall clock and CPU);
* the per-step time (median, mean, slowest) and the whole run's time;
* step / bare ``A @ x``: after every step one bare float64 product on the same graph is timed,
  so both medians come from the same minutes of the same process (a busy machine slows both);
* the peak resident memory of the process (``VmHWM``), including the float64 copy of the
  matrix that the bare product needs (so the checked number is conservative), and before it.

Targets (project issue): 10,000,000 participants, 100 steps, within 16 GB peak and 15 minutes
in all (imports, build, steps), and step / bare ``A @ x`` at most 2.5. CPU times are printed
beside wall-clock times: on a machine whose cores other processes share, the wall clock
measures the load as much as the run. Check ``free -g`` first:
the run needs about 6 GB. ``--n 1m`` runs the same at a smaller size.
Run from the repository root: ``.venv/bin/python benchmarks/bench_10m.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

START = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import GB, MIB, benchmark_scenario, parse_n, peak_memory

TARGET_BYTES, TARGET_SECONDS, TARGET_RATIO = 16e9, 15 * 60, 2.5


def bare_product(adj):
    """A float64 copy of the 0/1 matrix sharing its index arrays, and one ``A @ x`` timer on it."""
    import numpy as np
    import scipy.sparse as sp

    a = sp.csr_array((np.ones(adj.nnz), adj.indices, adj.indptr), shape=adj.shape)
    x = np.random.default_rng(0).random(adj.shape[0])

    def timed() -> float:
        t = time.perf_counter()
        a @ x
        return time.perf_counter() - t

    return timed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=parse_n, default=10_000_000, help="participants (default 10m)")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    from sim.model.power_model import PowerModel

    imports = time.perf_counter() - START
    scenario = benchmark_scenario(args.n)
    wall, cpu = time.perf_counter(), time.process_time()
    model = PowerModel(scenario, rng=args.seed, driver="vectorized")
    build, build_cpu = time.perf_counter() - wall, time.process_time() - cpu
    after_build = peak_memory()
    print(
        f"N = {args.n:,} ({model.adjacency.nnz // 2:,} ties, {model.generator}), seed {args.seed}; "
        f"imports {imports:.1f} s; build {build:.1f} s (CPU {build_cpu:.1f} s); "
        f"resident {after_build['rss'] / MIB:,.0f} MiB, peak so far {after_build['peak'] / MIB:,.0f} MiB",
        flush=True,
    )
    product = None
    steps, products, steps_cpu = [], [], []
    for i in range(args.steps):
        t, c = time.perf_counter(), time.process_time()
        model.step()
        steps.append(time.perf_counter() - t)
        steps_cpu.append(time.process_time() - c)
        if i == 0:
            run_peak = peak_memory()["peak"]  # the model's own peak, before the benchmark's copy
            product = bare_product(model.adjacency)
        products.append(product())
        if (i + 1) % 10 == 0:
            print(f"  step {i + 1:>4}: {1e3 * steps[-1]:,.0f} ms", file=sys.stderr, flush=True)
    peak = peak_memory()["peak"]  # with the copy: the conservative number, checked below
    total = time.perf_counter() - START
    step, bare = statistics.median(steps), statistics.median(products)
    ratio = step / bare
    checks = [
        (f"peak memory {peak / GB:.2f} GB <= {TARGET_BYTES / GB:g} GB", peak <= TARGET_BYTES),
        (f"all in {total / 60:.1f} min <= {TARGET_SECONDS / 60:g} min", total <= TARGET_SECONDS),
        (f"step / bare A@x {ratio:.2f} <= {TARGET_RATIO}", ratio <= TARGET_RATIO),
    ]
    print(
        f"build {build:.1f} s (CPU {build_cpu:.1f} s)\n"
        f"per step: median {1e3 * step:,.0f} ms, mean {1e3 * statistics.mean(steps):,.0f} ms, "
        f"slowest {1e3 * max(steps):,.0f} ms; {len(steps)} steps in {sum(steps):.1f} s "
        f"(CPU: median {1e3 * statistics.median(steps_cpu):,.0f} ms, {sum(steps_cpu):.1f} s in all)\n"
        f"bare A @ x (float64, same graph, after each step): median {1e3 * bare:,.0f} ms\n"
        f"step / bare A @ x: {ratio:.2f}\n"
        f"peak resident memory: {peak / GB:.2f} GB (build and first step alone: {run_peak / GB:.2f} GB; "
        f"the rest is the bare product's float64 copy of the matrix)\n"
        f"whole run (imports, build, steps): {total:.0f} s, CPU {time.process_time():.0f} s; load average at the end: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
    )
    for what, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
