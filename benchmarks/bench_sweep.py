"""Sweep throughput: runs per second with 1 and 2 local workers and through a Dask LocalCluster.

One sweep (a Latin hypercube over the Uber fee-hike case, ``scenarios/uber_fee_hike.toml``
with ``network.n`` and ``steps`` scaled down so a run takes a fraction of a second)
is run into a fresh folder by each executor, through the same code path
(:func:`sim.research.sweep.run_sweep`, which also writes the Parquet dataset as runs complete):

* ``local-1``: a process pool of 1 worker;
* ``local-2``: a process pool of 2 workers;
* ``dask-2``: a Dask ``LocalCluster`` of 2 single-threaded worker processes.

Each executor is started and warmed up (every worker imports ``sim`` and runs one tiny
model) before the clock starts, so the rate is the sweep's steady throughput; the start-up
time is reported separately. The machine may be shared and noisy: each executor is measured
``--repeat`` times (interleaved) and its best rate is kept. The script also checks that the three datasets are
identical (same root seed, same results whatever the executor).

Target (from the project issue): 2 local workers are at least 1.7 times as fast as 1
on a 2-core machine. The script first checks that this process gets two cores (the CPUs it
may run on, and a short calibration: the same busy loop in 1 and in 2 processes at once);
when it does not, the verdict is NOT MEASURABLE instead of a FAIL from a machine that is busy.

Run from the repository root: ``.venv/bin/python benchmarks/bench_sweep.py``
(``--runs``, ``--n``, ``--steps``, ``--json PATH``; ``--help`` for all options).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: import this checkout's sim

TARGET_RATIO = 1.7
#: Two processes must do at least this multiple of one process's work for "2 cores" to hold.
TWO_CORES = 1.7


def _spin(seconds: float) -> int:
    """Busy work for about ``seconds`` of one core; returns the iterations done."""
    end = time.perf_counter() + seconds
    count = 0
    while time.perf_counter() < end:
        for _ in range(2000):
            count += 1
    return count


def calibrate(seconds: float = 0.5) -> dict:
    """CPUs this process may use, and how much work 2 processes do at once against 1.

    Returns:
        ``{"affinity": n, "parallel": x}``: ``x`` is about 2.0 when two cores are free, about
        1.0 when the processes share one.
    """
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_spin, [0.05, 0.05]))  # both workers started
        one = pool.submit(_spin, seconds).result()
        two = sum(pool.map(_spin, [seconds, seconds]))
    return {"affinity": affinity, "parallel": two / one}


def warm_up(executor, workers: int) -> None:
    """Make every worker import ``sim`` and run one tiny model."""
    from sim import load_scenario
    from sim.research.plan import RunSpec
    from sim.research.sweep import Batch, run_batch
    from sim.scenarios import LIBRARY

    tiny = load_scenario(LIBRARY / "uber_fee_hike.toml", {"network.n": 100, "steps": 3})
    raw = dict(tiny.raw)
    batches = [
        Batch(raw, f"warm-{i}", tiny.source, 1, [RunSpec(f"w{i}", 0, 0, i, {})]) for i in range(2 * workers)
    ]
    list(executor.map_unordered(run_batch, batches))


def measure(name: str, plan, make, workers: int, folder: Path) -> dict:
    """Start and warm an executor, then time the sweep into ``folder``."""
    from sim.research.sweep import run_sweep

    start = time.perf_counter()
    executor = make()
    warm_up(executor, workers)
    startup = time.perf_counter() - start
    try:
        report = run_sweep(plan, folder, executor=executor, progress=False)
    finally:
        executor.close()
    assert report.n_failed == 0 and report.n_done == plan.n_runs, report
    rate = report.n_done / report.seconds
    print(
        f"  {name:<8} {report.n_done} runs in {report.seconds:6.2f} s = {rate:6.2f} runs/s "
        f"(start-up and warm-up {startup:.2f} s; {report.executor})",
        file=sys.stderr,
    )
    return {
        "name": name,
        "runs": report.n_done,
        "seconds": report.seconds,
        "runs_per_second": rate,
        "startup_seconds": startup,
        "executor": report.executor,
    }


def identical(folders: list[Path]) -> bool:
    """Whether the datasets hold the same summaries and time series (sorted by run)."""
    import pandas as pd

    from sim.storage import sweep_store as store

    def load(folder: Path):
        s = (
            store.read_summaries(folder)
            .drop(columns="run_seconds")
            .sort_values("run_id")
            .reset_index(drop=True)
        )
        t = store.read_timeseries(folder).sort_values(["run_id", "step"]).reset_index(drop=True)
        return s, t

    first = load(folders[0])
    for folder in folders[1:]:
        for a, b in zip(load(folder), first, strict=True):
            try:
                pd.testing.assert_frame_equal(a, b)
            except AssertionError:
                return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=64, help="runs in the sweep (default 64)")
    parser.add_argument("--n", type=int, default=1500, help="participants per run (default 1500)")
    parser.add_argument("--steps", type=int, default=100, help="steps per run (default 100)")
    parser.add_argument("--seed", type=int, default=1, help="root seed (default 1)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="measurements per executor, interleaved; the best is kept (default 2)",
    )
    parser.add_argument("--skip-dask", action="store_true", help="measure local workers only")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers as JSON")
    args = parser.parse_args(argv)

    from sim import load_scenario
    from sim.research.executors import DaskExecutor, LocalExecutor
    from sim.research.plan import plan_sweep
    from sim.scenarios import LIBRARY

    scenario = load_scenario(
        LIBRARY / "uber_fee_hike.toml",
        {
            "network.n": args.n,
            "steps": args.steps,
            "shocks.0.step": args.steps // 3,
            "sweep.design": "latin_hypercube",
            "sweep.samples": args.runs,
            "sweep.ranges": {"shocks.0.size": [0.0, 0.3], "dynamics.fickleness": [0.02, 0.3]},
        },
    )
    plan = plan_sweep(scenario, root_seed=args.seed)
    cores = calibrate()
    print(
        f"bench_sweep: {plan.n_runs} runs of uber_fee_hike (n={args.n}, {args.steps} steps), "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
        file=sys.stderr,
    )
    configs = [("local-1", lambda: LocalExecutor(1), 1), ("local-2", lambda: LocalExecutor(2), 2)]
    if not args.skip_dask:
        configs.append(("dask-2", lambda: DaskExecutor("local", 2), 2))
    trials: dict[str, list[dict]] = {name: [] for name, _, _ in configs}
    with tempfile.TemporaryDirectory(prefix="bench_sweep-") as tmp:
        folders = []
        for repeat in range(args.repeat):  # interleaved, so a burst of load elsewhere hits every executor
            for name, make, workers in configs:
                folder = Path(tmp) / f"{name}-{repeat}"
                trials[name].append(measure(name, plan, make, workers, folder))
                folders.append(folder)
        same = identical(folders)
    results = [
        max(runs, key=lambda r: r["runs_per_second"])
        | {"all_runs_per_second": [r["runs_per_second"] for r in runs]}
        for runs in trials.values()
    ]
    by_name = {r["name"]: r for r in results}
    ratio = by_name["local-2"]["runs_per_second"] / by_name["local-1"]["runs_per_second"]
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    if not (cores["affinity"] >= 2 and cores["parallel"] >= TWO_CORES):
        verdict = "NOT MEASURABLE"  # the machine did not give two cores: a low ratio says nothing
    print(f"\n{'executor':<10} {'runs/s':>8} {'seconds':>8} {'start-up s':>11}   every trial (runs/s)")
    for r in results:
        print(
            f"{r['name']:<10} {r['runs_per_second']:8.2f} {r['seconds']:8.2f} {r['startup_seconds']:11.2f}   "
            + ", ".join(f"{x:.2f}" for x in r["all_runs_per_second"])
        )
    print(f"\nspeed-up of 2 local workers over 1: {ratio:.2f}x (target >= {TARGET_RATIO}x): {verdict}")
    print(
        f"(cores: {cores['affinity']} CPUs available, 2 processes at once did {cores['parallel']:.2f}x the work of 1)"
    )
    if "dask-2" in by_name:
        print(
            f"Dask LocalCluster (2 workers) over 1 local worker: "
            f"{by_name['dask-2']['runs_per_second'] / by_name['local-1']['runs_per_second']:.2f}x"
        )
    print(f"identical datasets from every executor: {'yes' if same else 'NO'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "results": results,
                    "ratio_2_over_1": ratio,
                    "target": TARGET_RATIO,
                    "verdict": verdict,
                    "identical": same,
                    "runs": plan.n_runs,
                    "n": args.n,
                    "steps": args.steps,
                    "cpus": os.cpu_count(),
                    "cores": cores,
                },
                indent=2,
            )
        )
    return 0 if verdict != "FAIL" and same else 1


if __name__ == "__main__":
    sys.exit(main())
