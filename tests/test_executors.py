"""Executors: this process, local processes and a Dask LocalCluster take one code path and agree exactly."""

from __future__ import annotations

import pandas as pd
import pytest
from research_toys import toy
from test_sweep import comparable

from sim import scenario_from_dict
from sim.research.executors import (
    DaskExecutor,
    ExecutorError,
    InlineExecutor,
    LocalExecutor,
    check_dask_address,
    make_executor,
    usable_cpus,
)
from sim.research.plan import plan_sweep
from sim.research.sweep import _batches, run_sweep

SWEEP = {
    "design": "latin_hypercube",
    "samples": 5,
    "replications": 2,
    "ranges": {"shocks.0.size": [0.0, 0.4]},
}


def _square(x: int) -> int:
    return x * x


def test_same_root_seed_same_results_whatever_the_executor(tmp_path):
    """1 worker, 2 workers, 2 workers with other task sizes, and a Dask LocalCluster write identical datasets."""
    plan = plan_sweep(scenario_from_dict(toy(sweep=SWEEP, steps=10)))
    runs = [
        ("one", {"workers": 1}),
        ("two", {"workers": 2, "runs_per_task": 3}),
        ("dask", {"dask": "local", "workers": 2}),
    ]
    folders = {}
    for name, options in runs:
        report = run_sweep(plan, tmp_path / name, progress=False, **options)
        assert (report.n_done, report.n_failed) == (10, 0), name
        folders[name] = comparable(tmp_path / name)
    assert "Dask LocalCluster of 2" in report.executor
    for name in ("two", "dask"):
        for a, b in zip(folders[name], folders["one"], strict=True):
            pd.testing.assert_frame_equal(a, b)


def test_an_existing_dask_scheduler_is_reached_by_its_address(tmp_path):
    """``--dask tcp://...`` takes the same path: a scheduler started elsewhere (here in-process) runs the sweep."""
    from distributed import LocalCluster

    plan = plan_sweep(scenario_from_dict(toy(sweep={**SWEEP, "samples": 2, "replications": 1}, steps=5)))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        report = run_sweep(plan, tmp_path / "remote", dask=cluster.scheduler_address, progress=False)
    assert report.n_done == 2 and cluster.scheduler_address in report.executor
    reference = run_sweep(plan, tmp_path / "here", workers=0, progress=False)
    assert reference.n_done == 2
    for a, b in zip(comparable(tmp_path / "remote"), comparable(tmp_path / "here"), strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_executors_yield_every_result():
    """``map_unordered`` yields one result per item, in any order, for each local executor."""
    for executor in (InlineExecutor(), LocalExecutor(2)):
        with executor:
            assert sorted(executor.map_unordered(_square, range(9))) == [i * i for i in range(9)]


def _where(x: int) -> tuple[int, int]:
    import os

    return x * x, os.getpid()


@pytest.mark.skipif(usable_cpus() < 2, reason="needs two usable CPUs")
def test_this_process_runs_tasks_until_a_worker_is_up():
    """While the fork server warms the model, this process runs tasks itself (the first at least);
    every item still gives one result, and without help every task runs in a worker."""
    import os

    with LocalExecutor(1) as executor:
        results = list(executor.map_unordered(_where, range(12)))
    assert sorted(r for r, _ in results) == [i * i for i in range(12)]
    assert results[0][1] == os.getpid()  # a worker needs a second or more to start
    with LocalExecutor(1, help_while_starting=False) as executor:
        assert os.getpid() not in {pid for _, pid in executor.map_unordered(_where, range(4))}


def _worker_state(_: int) -> tuple[bool, list[str]]:
    """In a worker, before it ran anything: is the model imported, and which kernels are loaded?"""
    import sys

    kernels = sys.modules.get("sim.model.kernels")
    loaded = [name for name in ("update_participants", "tally_groups") if getattr(kernels, name).overloads]
    return "sim.runs.runner" in sys.modules, loaded


def test_local_workers_start_warm():
    """A local worker starts with the model imported and its kernels loaded (done once, in the fork server),
    so no run of a sweep pays for them."""
    with LocalExecutor(2, help_while_starting=False) as executor:  # every task in a worker
        states = list(executor.map_unordered(_worker_state, range(2)))
    assert states == [(True, ["update_participants", "tally_groups"])] * 2


def test_make_executor_chooses_from_the_options():
    """0 workers: this process; N: local processes; --dask: Dask; a negative count is refused."""
    assert isinstance(make_executor(0), InlineExecutor)
    with make_executor(1) as executor:
        assert isinstance(executor, LocalExecutor) and executor.workers == 1
    with pytest.raises(ExecutorError, match="--workers"):
        make_executor(-1)
    assert DaskExecutor.runs_per_task == (10, 50)


def test_task_sizes_batch_short_runs():
    """Local tasks hold 1-8 runs (about 8 tasks per worker); Dask tasks 10-50 runs when there are enough."""
    local = InlineExecutor()
    local.workers = 2
    assert local.task_size(10) == 1 and local.task_size(1000) == 8
    dask = DaskExecutor.__new__(DaskExecutor)
    dask.workers = 2
    assert dask.task_size(6) == 3 and dask.task_size(100) == 13 and dask.task_size(10_000) == 50


def test_tasks_shrink_toward_the_end_and_hold_every_run_once():
    """Tasks hold at most the task size, then fewer, down to one run each at the end (no worker is left
    alone on a long last task); together they hold every run once, in design order."""
    plan = plan_sweep(scenario_from_dict(toy(sweep={**SWEEP, "samples": 20, "replications": 2}, steps=3)))
    todo = list(plan.runs())
    sizes = {}
    for workers in (1, 2, 4):
        batches = list(_batches(plan, todo, 8, workers))
        assert [spec for batch in batches for spec in batch.runs] == todo
        sizes[workers] = [len(batch.runs) for batch in batches]
        assert sizes[workers] == sorted(sizes[workers], reverse=True) and sizes[workers][-2:] == [1, 1]
    assert sizes[1][0] == 8 and sizes[4][0] == 5  # 40 runs: half of a worker's share is 20 for 1, 5 for 4


@pytest.mark.parametrize("address", ["foo", "tls://x", "tcp://host", "tcp://:8786", "bogus://host:8786"])
def test_a_dask_value_that_is_not_an_address_is_refused_before_the_folder_is_made(tmp_path, address):
    """``--dask foo`` or an address without a port is one error naming the value; the folder is not touched."""
    plan = plan_sweep(scenario_from_dict(toy(sweep={**SWEEP, "samples": 2, "replications": 1}, steps=3)))
    with pytest.raises(ExecutorError, match=f"--dask '{address}': not a scheduler address.*allowed: 'local'"):
        run_sweep(plan, tmp_path / "out", dask=address, progress=False)
    assert not (tmp_path / "out").exists()
    check_dask_address("tcp://10.0.0.5:8786")
    check_dask_address("local")


def test_negative_runs_per_task_is_refused_not_silently_empty(tmp_path):
    """A sweep asked to run -1 runs per task used to run nothing and report success."""
    plan = plan_sweep(scenario_from_dict(toy(sweep={**SWEEP, "samples": 2, "replications": 1}, steps=3)))
    with pytest.raises(ExecutorError, match="--runs-per-task -1"):
        run_sweep(plan, tmp_path / "out", workers=0, runs_per_task=-1, progress=False)
    assert not (tmp_path / "out").exists()
