"""Sweep overhead: how much of a small sweep's wall time is spent running the model.

The sweep is ``scenarios/sweep_fickleness.toml`` as shipped: a factorial of 8 points x 5
replications = 40 runs of 1,000 participants for 100 steps (a fraction of a second each).
"Model time" is the sum of every run's own ``run_seconds`` (what the worker spent in
``run()`` and turning its time series into a table), as saved in the dataset. The model
share is::

    share = sum(run_seconds) / (workers x wall seconds)

i.e. the part of the workers' available time that went into the model (1.0: no overhead at
all). Two settings are measured for each executor (1 local worker, 2 local workers, a Dask
``LocalCluster`` of 2):

* **warm**: in one process, the executor is started once and reused (as scripts and
  notebooks that run several sweeps can do): it first runs a sweep of 2 runs per worker
  (printed as its start-up), then the clock covers one ``run_sweep`` of the 40 runs
  (planning is done; writing the Parquet dataset and the point statistics are included);
* **cold** (``newpower sweep ... --no-plot``, end to end): a fresh interpreter, its imports,
  the executor's start-up, the sweep and its printed table: what a user waits for. Also on a
  Dask cluster of 2 warm workers started once beforehand (``dask-up``: ``--dask tcp://...``),
  the way to start workers once for many ``newpower sweep`` commands.

Target (issue 13): at least 70% of the wall time running the model, keeping the speed-up
of 2 workers over 1. That speed-up only means something when the machine gives this
process two cores: the script first reads the CPUs it may run on
(``os.sched_getaffinity``) and runs a short parallel calibration (the same busy loop in 1
and then in 2 processes at once). When two processes do not get about twice the work of one
(another job is running, or the container has one core), it says so and reports the
2-over-1 ratio against what the machine gave, instead of a wrong ratio.

The datasets of every executor (and a resumed sweep) are checked to be identical.

Run from the repository root: ``.venv/bin/python benchmarks/bench_sweep_overhead.py``
(``--repeat``, ``--skip-dask``, ``--skip-cold``, ``--json PATH``; ``--help`` for all).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: import this checkout's sim

from bench_sweep import TWO_CORES, calibrate, identical  # a script beside this one

TARGET_SHARE = 0.70
SCENARIO = ROOT / "scenarios" / "sweep_fickleness.toml"


# ------------------------------------------------------------------ measurements


def plan(n: int | None, steps: int | None):
    from sim import load_scenario
    from sim.research.plan import plan_sweep

    overrides = {k: v for k, v in (("network.n", n), ("steps", steps)) if v is not None}
    return plan_sweep(load_scenario(SCENARIO, overrides), root_seed=7)


def model_seconds(folder: Path) -> float:
    from sim.storage import sweep_store as store

    return float(store.read_summaries(folder)["run_seconds"].sum())


def warm(name: str, make, workers: int, the_plan, folders: list[Path], tmp: Path, repeat: int) -> dict:
    """Start an executor once, then time ``repeat`` sweeps on it; the best share is kept."""
    from sim.research.sweep import run_sweep

    start = time.perf_counter()
    executor = make()
    first = dataclasses.replace(the_plan, points=the_plan.points[:1], replications=2 * workers)
    run_sweep(first, tmp / f"first-{name}", executor=executor, progress=False)  # every worker has started
    startup = time.perf_counter() - start
    trials = []
    try:
        for r in range(repeat):
            folder = tmp / f"warm-{name}-{r}"
            report = run_sweep(the_plan, folder, executor=executor, progress=False)
            assert report.n_failed == 0 and report.n_done == the_plan.n_runs, report
            folders.append(folder)
            model = model_seconds(folder)
            trials.append(
                {"wall": report.seconds, "model": model, "share": model / (workers * report.seconds)}
            )
    finally:
        executor.close()
    best = max(trials, key=lambda t: t["share"])
    print(
        f"  warm {name:<8} start-up {startup:5.2f} s; sweep {best['wall']:5.2f} s, model {best['model']:5.2f} s, "
        f"share {best['share']:.0%} (trials: {', '.join(f'{t["share"]:.0%}' for t in trials)})",
        file=sys.stderr,
    )
    return {"name": name, "setting": "warm", "workers": workers, "startup": startup, **best, "trials": trials}


def cold(name: str, options: list[str], workers: int, n, steps, folders: list[Path], tmp: Path, repeat: int):
    """``newpower sweep`` end to end in a fresh interpreter; the best share is kept."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    sets = [f"--set=network.n={n}"] if n else []
    sets += [f"--steps={steps}"] if steps else []
    trials = []
    for r in range(repeat):
        folder = tmp / f"cold-{name}-{r}"
        argv = [sys.executable, "-m", "sim.faces.cli.main", "sweep", str(SCENARIO), "--seed=7", "--no-plot"]
        argv += ["--no-progress", f"--out={folder}", *sets, *options]
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True, cwd=tmp)
        wall = time.perf_counter() - start
        folders.append(folder)
        model = model_seconds(folder)
        trials.append({"wall": wall, "model": model, "share": model / (workers * wall)})
    best = max(trials, key=lambda t: t["share"])
    print(
        f"  cold {name:<8} newpower sweep {best['wall']:5.2f} s, model {best['model']:5.2f} s, "
        f"share {best['share']:.0%} (trials: {', '.join(f'{t["share"]:.0%}' for t in trials)})",
        file=sys.stderr,
    )
    return {"name": name, "setting": "cold", "workers": workers, **best, "trials": trials}


def cold_on_running_cluster(args, folders: list[Path], tmp: Path) -> dict:
    """``newpower sweep --dask tcp://...`` end to end, on a cluster of 2 warm workers started once before."""
    from distributed import LocalCluster

    from sim.research import executors

    preload = list(getattr(executors, "PRELOAD", ()))  # what its workers import as they start
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, preload=preload) as cluster:
        address = [f"--dask={cluster.scheduler_address}"]
        return cold("dask-up", address, 2, args.n, args.steps, folders, tmp, args.repeat)


class _StopAfterFirst:
    """Wraps an executor: yields its first task's runs, then stops as Ctrl-C would."""

    def __init__(self, executor) -> None:
        self.executor, self.name, self.workers = executor, executor.name, executor.workers

    def task_size(self, n_runs: int) -> int:
        return self.executor.task_size(n_runs)

    def map_unordered(self, fn, items):
        for result in self.executor.map_unordered(fn, items):
            yield result
            raise KeyboardInterrupt


def resumed(the_plan, tmp: Path) -> Path:
    """The same sweep in two sessions: the first stopped after its first task, the second resuming it."""
    from sim.research.executors import LocalExecutor
    from sim.research.sweep import run_sweep

    folder = tmp / "resumed"
    with LocalExecutor(1) as executor:
        try:
            run_sweep(the_plan, folder, executor=_StopAfterFirst(executor), progress=False)
        except KeyboardInterrupt:
            pass
    report = run_sweep(the_plan, folder, workers=1, progress=False)
    assert 0 < report.n_skipped < the_plan.n_runs, report
    return folder


# ------------------------------------------------------------------ report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None, help="participants per run (default: the scenario's)")
    parser.add_argument("--steps", type=int, default=None, help="steps per run (default: the scenario's)")
    parser.add_argument(
        "--repeat", type=int, default=2, help="sweeps per setting; the best is kept (default 2)"
    )
    parser.add_argument("--skip-dask", action="store_true", help="local workers only")
    parser.add_argument("--skip-cold", action="store_true", help="no end-to-end `newpower sweep` runs")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers as JSON")
    args = parser.parse_args(argv)

    cores = calibrate()
    two_cores = cores["affinity"] >= 2 and cores["parallel"] >= TWO_CORES
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"bench_sweep_overhead: {cores['affinity']} CPUs available to this process; 2 processes at once did "
        f"{cores['parallel']:.2f}x the work of 1 (load average {load:.1f})",
        file=sys.stderr,
    )
    from sim.research.executors import DaskExecutor, LocalExecutor

    the_plan = plan(args.n, args.steps)
    configs = [("local-1", 1, lambda: LocalExecutor(1), ["--workers=1"])]
    configs.append(("local-2", 2, lambda: LocalExecutor(2), ["--workers=2"]))
    if not args.skip_dask:
        configs.append(("dask-2", 2, lambda: DaskExecutor("local", 2), ["--dask=local", "--workers=2"]))
    results, folders = [], []
    with tempfile.TemporaryDirectory(prefix="bench_sweep_overhead-") as name:
        tmp = Path(name)
        for label, workers, make, options in configs:
            results.append(warm(label, make, workers, the_plan, folders, tmp, args.repeat))
            if not args.skip_cold:
                results.append(cold(label, options, workers, args.n, args.steps, folders, tmp, args.repeat))
        if not (args.skip_cold or args.skip_dask):
            results.append(cold_on_running_cluster(args, folders, tmp))
        folders.append(resumed(the_plan, tmp))
        same = identical(folders)  # bench_sweep's check: same summaries and time series

    print(
        f"\n{the_plan.n_runs} runs; share = model seconds / (workers x wall seconds), target >= {TARGET_SHARE:.0%}"
    )
    print(f"{'setting':<6} {'executor':<9} {'wall s':>7} {'model s':>8} {'share':>6}  verdict")
    for r in results:
        verdict = "PASS" if r["share"] >= TARGET_SHARE else "FAIL"
        r["verdict"] = verdict
        print(
            f"{r['setting']:<6} {r['name']:<9} {r['wall']:7.2f} {r['model']:8.2f} {r['share']:6.0%}  {verdict}"
        )
    by = {(r["setting"], r["name"]): r for r in results}
    ratio = by[("warm", "local-1")]["wall"] / by[("warm", "local-2")]["wall"]
    if two_cores:
        print(f"\nspeed-up of 2 local workers over 1 (warm sweep wall time): {ratio:.2f}x")
    else:
        print(
            f"\nspeed-up of 2 local workers over 1 NOT MEASURABLE here: the machine gave this process "
            f"{cores['parallel']:.2f} cores' worth of work (affinity {cores['affinity']}); measured "
            f"{ratio:.2f}x, i.e. {ratio / cores['parallel']:.0%} of what it gave"
        )
    if ("warm", "dask-2") in by:
        dask = by[("warm", "dask-2")]["wall"] / by[("warm", "local-2")]["wall"]
        print(f"Dask LocalCluster (2 workers) wall time / 2 local workers: {dask:.2f}x")
    print(f"identical datasets from every executor and a resumed sweep: {'yes' if same else 'NO'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        record = {"cores": cores, "two_cores": two_cores, "results": results, "ratio_2_over_1": ratio}
        args.json.write_text(json.dumps(record | {"identical": same, "runs": the_plan.n_runs}, indent=2))
    return 0 if same and all(r["verdict"] == "PASS" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
