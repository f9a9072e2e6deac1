"""Sweeps: a design of points, R replications each, run anywhere, stored as a Parquet dataset.

One run is ``(point, replicate, seed)`` -> ``run(scenario.with_overrides(point), seed=seed)``.
Its seed is spawned from the root seed by NumPy's ``SeedSequence`` with the
spawn key ``(seed_index, replicate)``, so it depends on nothing but the root
seed and the run's place in the design: not on the executor, the number of
workers or the order in which runs finish. Its identity (``run_id``) is a hash
of the point's overrides, the replicate and the seed, which lets a resumed
sweep recognise the runs already on disk and run only the missing ones.

Designs and plans are in :mod:`sim.research.plan`; this module runs a plan (the worker,
the single writer, resume) on any executor.

>>> plan = plan_sweep(load_scenario("scenarios/sweep_fickleness.toml"))   # doctest: +SKIP
>>> run_sweep(plan, "results/fickleness", workers=2)                       # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import platform
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sim.config.scenario import Scenario
from sim.errors import SimError
from sim.model.catalog import scenario_from_dict
from sim.model.network_files import network_source
from sim.research.executors import Executor, check_options, make_executor
from sim.research.plan import RunSpec, SweepPlan, _digest, _jsonable
from sim.storage import sweep_store as store
from sim.storage.files import write_json
from sim.storage.results import package_versions
from sim.storage.sweep_store import (
    PARAM,
    SweepFolderError,
    is_sweep_dir,  # noqa: F401 - re-exported for `newpower plot`
)

PACKAGES = (
    "newpower",
    "mesa",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "dask",
    "distributed",
    "SALib",
    "ema_workbench",
    "scikit-learn",
)

# ------------------------------------------------------------------ the worker


@dataclass(frozen=True)
class Batch:
    """A task: several runs of one base scenario (runs are short; tasks amortize overhead)."""

    base_raw: Mapping[str, Any]
    base_key: str
    source: str
    every: int
    runs: Sequence[RunSpec]
    #: the user's decision to run code named by the scenario, carried to the worker processes
    allow_code: bool = False


_BASES: dict[str, Scenario] = {}


def run_batch(batch: Batch) -> list[dict[str, Any]]:
    """Worker: run every run of a batch; an exception fails that run only.

    Returns:
        One outcome per run: ``{"run": RunSpec, "ok": bool, "summary": dict,
        "timeseries": pa.Table | None, "error": str, "traceback": str, "seconds": float}``.
    """
    from sim.runs.runner import run

    base = _BASES.get(batch.base_key)
    if base is None:
        base = _BASES[batch.base_key] = scenario_from_dict(
            batch.base_raw, source=batch.source, allow_code=batch.allow_code
        )
    outcomes = []
    for spec in batch.runs:
        start = time.perf_counter()
        try:
            scenario = base.with_overrides(spec.overrides) if spec.overrides else base
            result = run(scenario, seed=spec.seed)
            outcome = {
                "ok": True,
                "summary": result.summary,
                "timeseries": _timeseries_table(result.timeseries, spec, batch.every),
            }
        except Exception as exc:  # noqa: BLE001 - a failing run is recorded, and the sweep goes on
            outcome = {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=20)[-8000:],
            }
        finally:
            _clear_mesa_caches()
        outcome.update(run=spec, seconds=time.perf_counter() - start)
        outcomes.append(outcome)
    return outcomes


def _timeseries_table(frame, spec: RunSpec, every: int) -> pa.Table | None:
    if every <= 0 or frame.empty:
        return None
    step = frame["step"].to_numpy()
    frame = frame[(step % every == 0) | (step == step.max())]
    n = len(frame)
    columns: dict[str, pa.Array] = {
        "run_id": pa.array([spec.run_id] * n, pa.string()),
        "point_id": pa.array(np.full(n, spec.point_id, dtype=np.int64)),
        "replicate": pa.array(np.full(n, spec.replicate, dtype=np.int64)),
        "step": pa.array(frame["step"].to_numpy(dtype=np.int64)),
    }
    for name in frame.columns:
        if name == "step":
            continue
        col = frame[name]
        if col.dtype.kind in "biuf":
            columns[name] = pa.array(col.to_numpy(dtype=np.float64))
        else:
            columns[name] = pa.array(col.astype(str).to_list(), pa.string())
    return pa.table(columns)


def _clear_mesa_caches() -> None:
    """Mesa's class-level neighbourhood caches keep finished models alive (docs: NOTES-ENV)."""
    try:
        from mesa.discrete_space.cell import Cell
    except ImportError:  # pragma: no cover
        return
    for name in ("get_neighborhood", "_neighborhood"):
        fn = getattr(Cell, name, None)
        if hasattr(fn, "cache_clear"):
            fn.cache_clear()


# ------------------------------------------------------------------ running


@dataclass
class SweepReport:
    """What one ``run_sweep`` session did.

    Attributes:
        folder: the sweep folder.
        n_runs: runs in the design.
        n_skipped: runs already on disk (resumed).
        n_done: runs completed in this session.
        n_failed: runs that raised in this session (recorded in ``failures/``).
        seconds: wall time of this session.
        executor: where the runs ran.
    """

    folder: Path
    n_runs: int
    n_skipped: int
    n_done: int
    n_failed: int
    seconds: float
    executor: str

    @property
    def runs_per_second(self) -> float:
        """Runs completed or failed per second of this session."""
        return (self.n_done + self.n_failed) / self.seconds if self.seconds > 0 else math.nan


def run_sweep(
    plan: SweepPlan,
    folder: str | Path,
    *,
    executor: Executor | None = None,
    workers: int | None = None,
    dask: str | None = None,
    runs_per_task: int | None = None,
    progress: bool = True,
    commit_seconds: float = 1.0,
    commit_runs: int = 256,
) -> SweepReport:
    """Run a plan into a folder, resuming whatever is already there.

    Runs already committed in ``folder`` are skipped. Runs are written as
    they complete (at least every ``commit_seconds``), never all held in
    memory. A run that raises is recorded in ``failures/`` and retried by the
    next session into the same folder.

    Args:
        plan: the sweep.
        folder: its folder (new, or holding this same sweep).
        executor: where to run (default: made from ``workers`` and ``dask``).
        workers: local processes (None: all CPUs; 0: this process).
        dask: ``"local"`` or a scheduler address, for Dask.
        runs_per_task: runs per task (default: chosen by the executor).
        progress: show a progress bar (runs done, failed, ETA) on stderr.
        commit_seconds: commit finished runs at least this often.
        commit_runs: commit when this many finished runs wait.

    Raises:
        SweepFolderError: the folder holds another sweep's results, another process writes into it,
            or it holds files that are not a sweep's.
    """
    check_options(workers, dask, runs_per_task)  # before the folder is touched
    folder = Path(folder)
    start = time.perf_counter()
    with store.SweepStore(folder) as writer:
        prepare_folder(plan, folder)
        done = store.committed_run_ids(folder)
        todo = [spec for spec in plan.runs() if spec.run_id not in done]
        n_skipped = plan.n_runs - len(todo)
        n_done = n_failed = 0
        name = "nothing to run"
        if todo:
            own = executor is None
            executor = executor or make_executor(workers, dask)
            name = executor.name
            try:
                size = runs_per_task or executor.task_size(len(todo))
                n_done, n_failed = _execute(
                    executor,
                    _batches(plan, todo, size, executor.workers),
                    writer,
                    plan,
                    n_skipped=n_skipped,
                    progress=progress,
                    label=folder.name,
                    commit_seconds=commit_seconds,
                    commit_runs=commit_runs,
                )
            finally:
                if own:
                    executor.close()
        store.write_point_statistics(folder)
    return SweepReport(folder, plan.n_runs, n_skipped, n_done, n_failed, time.perf_counter() - start, name)


def _batches(plan: SweepPlan, todo: list[RunSpec], size: int, workers: int) -> Iterator[Batch]:
    """The runs to do, ``size`` per task, then fewer toward the end.

    A task never holds more than half a worker's share of the runs left, so the last tasks
    hold one run each and no worker runs a long task alone while the others wait (a run's
    result does not depend on the task it is in).
    """
    key = _digest(plan.base_raw)
    i = 0
    while i < len(todo):
        n = max(1, min(size, (len(todo) - i) // (2 * max(1, workers))))
        yield Batch(
            plan.base_raw, key, plan.scenario.source, plan.every, todo[i : i + n], plan.scenario.allow_code
        )
        i += n


def _execute(
    executor: Executor,
    batches: Iterator[Batch],
    writer: store.SweepStore,
    plan: SweepPlan,
    *,
    n_skipped: int,
    progress: bool,
    label: str,
    commit_seconds: float,
    commit_runs: int,
) -> tuple[int, int]:
    """Run the batches, committing outcomes as they come; return (runs done, runs failed).

    Whatever finished is committed, also when the executor fails or the user interrupts.
    """
    from tqdm.auto import tqdm

    bar = tqdm(
        total=plan.n_runs,
        initial=n_skipped,
        unit="run",
        disable=not progress,
        desc=f"{plan.kind} {label}",
        dynamic_ncols=True,
        smoothing=0.1,
    )
    bar.set_postfix(failed=0)
    n_done = n_failed = 0
    buffer: list[dict[str, Any]] = []
    last = time.monotonic()
    try:
        for outcomes in executor.map_unordered(run_batch, batches):
            buffer.extend(outcomes)
            failed = sum(not o["ok"] for o in outcomes)
            n_failed += failed
            n_done += len(outcomes) - failed
            bar.update(len(outcomes))
            bar.set_postfix(failed=n_failed, refresh=False)
            if len(buffer) >= commit_runs or time.monotonic() - last >= commit_seconds:
                _commit(writer, plan, buffer)
                buffer, last = [], time.monotonic()
    finally:
        _commit(writer, plan, buffer)
        bar.close()
    return n_done, n_failed


def _commit(writer: store.SweepStore, plan: SweepPlan, outcomes: list[dict[str, Any]]) -> None:
    if not outcomes:
        return
    kinds = param_kinds(plan)
    typed = {
        "run_id": pa.string(),
        "point_id": pa.int64(),
        "replicate": pa.int64(),
        "seed": pa.int64(),
        "run_seconds": pa.float64(),
        "error": pa.string(),
        "traceback": pa.string(),
        **{PARAM + k: ARROW_TYPES[kind] for k, kind in kinds.items()},
    }
    rows, failures, series = [], [], []
    for outcome in outcomes:
        spec: RunSpec = outcome["run"]
        head = {
            "run_id": spec.run_id,
            "point_id": spec.point_id,
            "replicate": spec.replicate,
            "seed": spec.seed,
            "run_seconds": outcome["seconds"],
            **{PARAM + k: param_value(spec.overrides.get(k), kinds[k]) for k in kinds},
        }
        if outcome["ok"]:
            rows.append({**head, **outcome["summary"]})
            if outcome["timeseries"] is not None:
                series.append(outcome["timeseries"])
        else:
            failures.append({**head, "error": outcome["error"], "traceback": outcome["traceback"]})
    writer.commit(
        store.measure_table(rows, typed) if rows else None,
        pa.concat_tables(series, promote_options="permissive") if series else None,
        store.measure_table(failures, typed) if failures else None,
    )


ARROW_TYPES = {
    "bool": pa.bool_(),
    "int": pa.int64(),
    "float": pa.float64(),
    "str": pa.string(),
    "json": pa.string(),
}


#: Storage kinds of a varied key, tried in order: the first that holds every value of the key is used.
_KINDS: tuple[tuple[str, Any], ...] = (
    ("bool", lambda v: isinstance(v, bool)),
    ("int", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    ("float", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    ("str", lambda v: isinstance(v, str)),
)


def param_kinds(plan: SweepPlan) -> dict[str, str]:
    """How each varied key is stored: bool, int, float, str, or json (lists, tables, mixed types)."""
    kinds: dict[str, str] = {}
    for key in plan.keys:
        values = [p.overrides[key] for p in plan.points if key in p.overrides]
        kinds[key] = next((kind for kind, holds in _KINDS if all(map(holds, values))), "json")
    return kinds


def param_value(value: Any, kind: str) -> Any:
    """A varied key's value as stored in its ``param:`` column."""
    if value is None:
        return None
    if kind == "json":
        return json.dumps(value, sort_keys=True, default=_jsonable)
    return float(value) if kind == "float" else value


# ------------------------------------------------------------------ the folder


def prepare_folder(plan: SweepPlan, folder: Path) -> dict[str, Any]:
    """Write the manifest and the design of a new sweep, or check that the folder holds this sweep.

    A folder is this sweep's own only if it is new or empty (a fresh sweep: the manifest is
    written first, then the design) or holds a sweep manifest with this sweep's identity; any
    other folder is refused before anything in it is created or deleted.

    Raises:
        SweepFolderError: another sweep's folder, or a folder with other files in it.
    """
    store.claim(folder)
    manifest = store.read_manifest(folder)
    identity = plan.identity()
    if manifest is None:
        manifest = _manifest(plan, identity)
        write_json(manifest, folder / store.MANIFEST)
        _write_points(plan, folder)
        return manifest
    theirs = manifest.get("identity", {})
    if theirs != identity:
        differs = [name.replace("_", " ") for name in identity if theirs.get(name) != identity[name]]
        raise SweepFolderError(
            f"{folder}: holds a different {manifest.get('kind', 'sweep')} "
            f"(it differs in: {', '.join(differs) or 'format'}); results are never overwritten: "
            "choose another --out folder, or delete this one to start over"
        )
    if not (folder / store.POINTS).is_file():  # killed between the manifest and the design
        _write_points(plan, folder)
    return manifest


def _write_points(plan: SweepPlan, folder: Path) -> None:
    kinds = param_kinds(plan)
    rows = [
        {
            "point_id": p.point_id,
            "seed_index": p.seed_index,
            **{PARAM + k: param_value(p.overrides.get(k), kinds[k]) for k in kinds},
        }
        for p in plan.points
    ]
    typed = {
        "point_id": pa.int64(),
        "seed_index": pa.int64(),
        **{PARAM + k: ARROW_TYPES[kind] for k, kind in kinds.items()},
    }
    store.write_table(store.measure_table(rows, typed), folder / store.POINTS)


def _manifest(plan: SweepPlan, identity: dict[str, Any]) -> dict[str, Any]:
    sc = plan.scenario
    return {
        "format": store.FORMAT,
        "format_version": store.FORMAT_VERSION,
        "kind": plan.kind,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "scenario": {
            "name": sc.name,
            "description": sc.description,
            "source": sc.source,
            "steps": sc.steps,
            "n": sc.network.n,
            "network_file": network_source(sc.network, sc.source),
        },
        "design": plan.design,
        "params": plan.keys,
        "param_kinds": param_kinds(plan),
        "root_seed": plan.root_seed,
        "replications": plan.replications,
        "every": plan.every,
        "n_points": len(plan.points),
        "n_runs": plan.n_runs,
        "seeds": "numpy.random.SeedSequence(root_seed, spawn_key=(seed_index, replicate)), "
        "first 64-bit word >> 1",
        "extra": plan.extra,
        "identity": identity,
        "base_scenario": plan.base_raw,
        "python": platform.python_version(),
        "versions": package_versions(PACKAGES),
    }


def load_sweep(folder: str | Path) -> dict[str, Any]:
    """A sweep folder's manifest, after checking it is one.

    Raises:
        SimError: not a sweep folder.
    """
    manifest = store.read_manifest(folder)
    if manifest is None:
        raise SimError(
            f"{folder}: not a sweep folder (no {store.MANIFEST}); allowed: a folder written by "
            "newpower sweep, sensitivity or stress"
        )
    return manifest
