"""Writing a results folder: run, save the data, draw the figures, write the manifest, move into place.

:func:`write_results` is the one transaction behind ``newpower run`` and ``newpower audit``, and
the Python API for a notebook::

    >>> from sim import load_scenario, write_results
    >>> folder = write_results(load_scenario("watts_cascade"), out="my-run")  # doctest: +SKIP

Everything is written into a staging folder beside the final one and moved into place only when
complete (:mod:`sim.storage.folders`), so a killed or failed call leaves earlier results as they
were. The layout of a folder is documented in docs/results.md.
"""

from __future__ import annotations

import json
import math
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sim.config.scenario import Scenario
from sim.errors import SimError
from sim.figures.layout import Layout, network_layout
from sim.model.network_files import network_source
from sim.model.shocks import SHOCKS
from sim.runs import replicate
from sim.runs.runner import RunResult
from sim.storage import results
from sim.storage.files import atomic_write, jsonable, write_json, write_parquet
from sim.storage.folders import Notify, create_folder

#: Snapshots kept per run for the network figure and the animation (about).
N_SNAPSHOTS = 40
#: What a folder holds: a run (data, network, every figure) or an audit (the audit table, the compass).
KINDS = ("run", "audit")
#: Table formats: Parquet is always written; CSV copies on request.
FORMATS = ("parquet", "csv")
SPAWNED = "numpy.random.SeedSequence(seed).spawn(replications), each child's first 64-bit word >> 1"


def write_results(
    scenario: Scenario,
    runs: Sequence[RunResult] | Sequence[int] | None = None,
    out: str | Path | None = None,
    force: bool = False,
    figures: bool = True,
    *,
    seed: int | None = None,
    replications: int | None = None,
    steps: int | None = None,
    driver: str = "vectorized",
    kind: str = "run",
    network_steps: Sequence[int] | None = None,
    progress: Callable[[int], None] | None = None,
    base: str | Path = "results",
    record: Mapping[str, Any] | None = None,
    notify: Notify | None = None,
    formats: Sequence[str] = ("parquet",),
    stage: Callable[[str], None] | None = None,
    svg: bool = False,
    extra: Callable[[results.Results], Mapping[str, Any]] | None = None,
) -> Path:
    """Run a scenario (or take finished runs) and write a complete results folder.

    Args:
        scenario: the validated scenario.
        runs: finished runs of ``scenario`` (replication order), or the seeds to run; None runs
            ``replications`` seeds spawned from ``seed`` (see :func:`~sim.runs.replicate.replication_seeds`).
        out: the folder; None makes ``<base>/<scenario>-<YYYYmmdd-HHMMSS>``. It must be new or
            empty, or hold results and ``force`` be given.
        force: replace the results in ``out``, once the new ones are complete.
        figures: draw the figures (PNG, and SVG with ``svg``) into ``figures/``.
        seed: the root seed (default: the scenario's).
        replications: runs when ``runs`` is None (default: the scenario's; an audit runs once).
        steps: steps per run (default: the scenario's).
        driver: ``"vectorized"`` or ``"agents"``.
        kind: ``"run"`` (data, network, figures) or ``"audit"`` (one run, the audit table, the compass).
        network_steps: the steps the network figure shows (default: chosen from the run).
        progress: called after every step of every run.
        base: where default folders go.
        record: more manifest entries, e.g. ``{"command": ..., "overrides": ...}``.
        notify: called with a line of text for each leftover of an interrupted command cleaned up.
        formats: the tables' formats: Parquet always (``plot`` and ``animate`` read it), and with
            ``"csv"`` a CSV copy of every table (:func:`export_csv`).
        stage: called with a few words before each slow part after the runs (saving, the network
            layout, the story, each figure), for a progress display.
        svg: also write each figure as SVG (a second render: only on request).
        extra: writes more files into the folder (given the saved results, in their staging
            folder) after the figures and before the manifest; what it returns is added to the
            manifest (class mode's tables).

    Returns:
        The results folder.

    Raises:
        ResultsError: ``out`` cannot take the results (see :func:`sim.storage.folders.check_target`).
        SimError: a bad kind, format, seed or number of replications.
    """
    if kind not in KINDS:
        raise SimError(f"unknown kind of results folder {kind!r}; allowed: {', '.join(KINDS)}")
    check_formats(formats)
    say = stage or _silent
    name = scenario.name if kind == "run" else f"{scenario.name}-audit"
    started, clock = results.now(), time.perf_counter()
    with create_folder(name, out, force, base, notify) as staged:
        done, root, steps = _runs(scenario, runs, seed, replications, steps, driver, kind, progress)
        say("saving the data")
        info = save_runs(staged.path, done, network=kind == "run", stage=say)
        manifest = _manifest(kind, scenario, done, root, steps, info, record)
        manifest.update(network_steps=list(network_steps) if network_steps else None, started=started)
        saved = results.load_results(staged.path, manifest=manifest)
        write_outputs(saved, formats, figures, network_steps, say, svg)
        if extra is not None:
            manifest.update(extra(saved))
        manifest.update(finished=results.now(), wall_time_s=round(time.perf_counter() - clock, 3))
        results.write_manifest(staged.path, manifest)
    return staged.final


def _silent(_text: str) -> None:
    """No progress display."""


def check_formats(formats: Sequence[str]) -> None:
    """Refuse a table format other than Parquet and CSV."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise SimError(f"unknown table format {unknown[0]!r}; allowed: {', '.join(FORMATS)}")


def write_outputs(
    saved: results.Results,
    formats: Sequence[str] = ("parquet",),
    figures: bool = True,
    network_steps: Sequence[int] | None = None,
    stage: Callable[[str], None] = _silent,
    svg: bool = False,
) -> None:
    """Write what is drawn from the saved data: the audit table, ``summary.md``, CSV copies, the figures."""
    from sim.figures.story import write_summary

    if saved.manifest.get("kind") == "audit":
        saved.audit = write_audit(saved)
    stage("telling the story")
    write_summary(saved)
    if "csv" in formats:
        stage("writing CSV files")
        export_csv(saved)
    if figures:
        from sim.figures.plotting import draw_all  # matplotlib (half a second): only to draw

        draw_all(saved, network_steps, on_figure=lambda stem: stage(f"drawing {stem}"), svg=svg)


def _runs(
    scenario: Scenario,
    runs: Sequence[RunResult] | Sequence[int] | None,
    seed: int | None,
    replications: int | None,
    steps: int | None,
    driver: str,
    kind: str,
    progress: Callable[[int], None] | None,
) -> tuple[list[RunResult], int | None, int]:
    """The finished runs, the root seed (None: seeds given without one) and the steps run."""
    if runs and all(isinstance(r, RunResult) for r in runs):
        done = list(runs)
        return done, seed if seed is not None else _single_seed(done), int(done[0].summary["steps"])
    steps = scenario.steps if steps is None else steps
    root, seeds = _seeds(scenario, runs, seed, 1 if kind == "audit" else replications)
    every = snapshot_period(steps) if kind == "run" else None
    done = replicate.run_replications(scenario, seeds, steps, driver, progress=progress, snapshot_every=every)
    return done, root, steps


def _seeds(
    scenario: Scenario, seeds: Sequence[int] | None, root: int | None, replications: int | None
) -> tuple[int | None, list[int]]:
    """The root seed and the seeds to run: as given, or ``replications`` spawned from the root."""
    if seeds:
        return root if root is not None else _single_seed(seeds), [int(s) for s in seeds]
    root = scenario.seed if root is None else root
    count = scenario.replications if replications is None else replications
    if not isinstance(count, int) or count < 1:
        raise SimError(f"replications must be an integer >= 1, got {count!r}")
    return root, replicate.replication_seeds(root, count)


def _single_seed(runs: Sequence[RunResult] | Sequence[int]) -> int | None:
    seeds = [r.seed if isinstance(r, RunResult) else r for r in runs]
    return seeds[0] if len(seeds) == 1 else None


def _manifest(
    kind: str,
    scenario: Scenario,
    runs: Sequence[RunResult],
    root: int | None,
    steps: int,
    info: dict[str, Any],
    record: Mapping[str, Any] | None,
) -> dict[str, Any]:
    seeds = [r.seed for r in runs]
    return {
        "kind": kind,
        "command": None,
        "scenario_file": scenario.source,
        "overrides": {},
        **(record or {}),
        "scenario": scenario.to_dict(),
        # Where a graph file was read from, and whether it lies outside the scenario's folder.
        "network_file": network_source(scenario.network, scenario.source),
        "seed": root,
        "replications": len(seeds),
        "seeds": seeds,
        "seeding": _seeding(root, seeds),
        "steps": steps,
        "driver": runs[0].driver,
        **info,
        "versions": results.package_versions(),
        "git": results.git_state(),
    }


def _seeding(root: int | None, seeds: list[int]) -> str:
    if root is not None and seeds == replicate.replication_seeds(root, len(seeds)):
        return "the root seed" if len(seeds) == 1 else SPAWNED
    return "as given"


def command_line(argv: Sequence[str]) -> str:
    """The command as typed, for the manifest's ``command``."""
    return shlex.join(["newpower", *argv])


# ------------------------------------------------------------------ the data files


def snapshot_period(steps: int, n_snapshots: int = N_SNAPSHOTS) -> int:
    """A snapshot period giving about ``n_snapshots`` evenly spaced snapshots (plus the last step)."""
    return max(1, math.ceil(steps / n_snapshots))


def save_runs(
    folder: Path, runs: Sequence[RunResult], network: bool = True, stage: Callable[[str], None] = _silent
) -> dict[str, Any]:
    """Write the data files of one or more runs of the same scenario.

    Args:
        folder: the results folder.
        runs: the runs, in replication order; the first keeps its model.
        network: also write the first run's network, layout and snapshots.
        stage: told when the (slow) network layout starts.

    Returns:
        What the manifest records about the data: organizations, layout, snapshot steps.
    """
    seeds = [r.seed for r in runs]
    stacked = replicate.stack([r.timeseries for r in runs], seeds)
    write_parquet(stacked, folder / results.TIMESERIES)
    summary: dict[str, Any] = {"runs": [{"run": i, "seed": r.seed, **r.summary} for i, r in enumerate(runs)]}
    if len(runs) > 1:
        summary["aggregate"] = replicate.aggregate_summaries([r.summary for r in runs])
        write_parquet(replicate.aggregate_timeseries(stacked), folder / results.AGGREGATE)
    write_json(summary, folder / results.SUMMARY)
    for name, frames in (
        (results.CAMPAIGNS, [r.campaigns for r in runs]),
        (results.EVENTS, [described(r.events) for r in runs]),
    ):
        table = replicate.stack(frames, seeds)
        if len(table):
            write_parquet(_flat_columns(table), folder / name)
    first = runs[0]
    info: dict[str, Any] = {"organizations": _organizations(first)}
    if network and first.model is not None:
        stage("laying out the network")
        info.update(save_network(folder, first))
    return info


def save_network(folder: Path, result: RunResult) -> dict[str, Any]:
    """Write the first run's ties, a fixed-seed layout that suits its kind, and the drawn participants' snapshots."""
    adjacency = result.model.adjacency
    upper = sp.triu(adjacency, k=1).tocoo()
    write_parquet(
        pd.DataFrame({"source": upper.row.astype(np.int32), "target": upper.col.astype(np.int32)}),
        folder / results.NETWORK,
    )
    spec = result.model.spec.network
    layout: Layout = network_layout(adjacency, kind=spec.kind, n_blocks=spec.n_blocks)
    write_parquet(
        pd.DataFrame({"participant": layout.nodes.astype(np.int32), "x": layout.x, "y": layout.y}),
        folder / results.LAYOUT,
    )
    steps = sorted(result.snapshots)
    if steps:
        write_parquet(_snapshot_frame(result, layout.nodes, steps), folder / results.SNAPSHOTS)
    return {"layout": layout.describe(), "snapshot_steps": steps}


def _snapshot_frame(result: RunResult, nodes: np.ndarray, steps: list[int]) -> pd.DataFrame:
    """The drawn participants' level and affiliation at each snapshot step (long format)."""
    return pd.DataFrame(
        {
            "step": np.repeat(np.asarray(steps, dtype=np.int32), nodes.size),
            "participant": np.tile(nodes.astype(np.int32), len(steps)),
            "level": np.concatenate([result.snapshots[s]["level"][nodes] for s in steps]).astype(np.int8),
            "group": np.concatenate([result.snapshots[s]["group"][nodes] for s in steps]).astype(np.int16),
        }
    )


def described(events: pd.DataFrame) -> pd.DataFrame:
    """The events with a ``description`` column: each shock's own sentence about what it did.

    The words come from the shock's class (``page_event``, also shown on the teaching page), so the
    story told from saved results says what the model meant; a record the class cannot describe
    (a shock since removed, a missing field) gets no sentence, and the story words its record instead.
    """
    if not len(events) or "kind" not in events:
        return events

    def sentence(record: dict[str, Any]) -> str | None:
        kind = str(record.get("kind"))
        try:
            return SHOCKS[kind].page_event(_own_fields(record)) if kind in SHOCKS else None
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    return events.assign(description=[sentence(r) for r in events.to_dict("records")])


def _own_fields(record: dict[str, Any]) -> dict[str, Any]:
    """A shock's record as it made it: without the other kinds' empty columns, whole numbers as integers.

    (One table holds every kind of shock, so a count shares its column with missing values and
    comes back as a float.)
    """
    out = {}
    for key, value in record.items():
        if isinstance(value, float) and math.isnan(value):
            continue
        out[key] = int(value) if isinstance(value, float) and value.is_integer() else value
    return out


def _organizations(result: RunResult) -> list[dict[str, Any]]:
    if result.model is not None:
        return [{"name": o.name, "kind": o.kind.value, "group": o.group} for o in result.model.organizations]
    names = results.organization_names(result.timeseries.columns)
    return [{"name": name, "kind": "", "group": i + 1} for i, name in enumerate(names)]


def _flat_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Event records may hold nested values; store those as JSON text."""
    out = frame.copy()
    for column in out.columns:
        nested = out[column].map(lambda v: isinstance(v, (dict, list, tuple)))
        if out[column].dtype == object and nested.any():
            out[column] = out[column].map(lambda v: json.dumps(jsonable(v)) if v is not None else None)
    return out


def write_audit(saved: results.Results) -> dict[str, Any]:
    """Write ``audit.json`` and ``audit.csv``: every organization's compass position, trend and behaviours.

    Returns:
        What ``audit.json`` holds.
    """
    from sim.figures import audit

    rows = audit.audit_rows(saved)
    manifest = saved.manifest
    record = {
        "scenario": saved.name,
        "seed": manifest["seed"],
        "steps": manifest["steps"],
        "organizations": [vars(r) for r in rows],
    }
    write_json(record, saved.folder / results.AUDIT)
    frame = audit.audit_frame(rows)
    atomic_write(saved.folder / results.AUDIT_CSV, lambda tmp: frame.to_csv(tmp, index=False))
    return record


def csv_tables(saved: results.Results) -> dict[str, pd.DataFrame]:
    """The folder's tables by CSV file name: the time series, one summary row per run, and the rest present."""
    frames = (saved.timeseries, saved.aggregate, saved.campaigns, saved.events, saved.edges, saved.layout)
    tables = dict(zip(results.TABLES, (*frames, saved.snapshots), strict=True))
    out = {results.csv_name(name): frame for name, frame in tables.items() if frame is not None}
    runs = saved.summary.get("runs") or []
    if runs:
        out[results.SUMMARY_CSV] = pd.DataFrame(runs)
    return out


def export_csv(saved: results.Results) -> list[Path]:
    """Write a CSV copy of every table of a results folder (UTF-8, comma-separated, no index), atomically.

    For a spreadsheet or R without Parquet; the Parquet files stay (``plot`` and ``animate`` read them).
    ``summary.csv`` has one row per run (``summary.json``'s ``runs``).

    Returns:
        The files written.
    """
    return [
        atomic_write(saved.folder / name, lambda tmp, frame=frame: frame.to_csv(tmp, index=False))
        for name, frame in csv_tables(saved).items()
    ]
