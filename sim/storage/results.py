"""Results folders: one folder per run, written atomically, marked complete by its manifest.

Every file is written to a temporary name in the same folder and then renamed
over its final name (``os.replace``), so a killed run never leaves a
half-written file under a real name. ``manifest.json`` is written last: a
folder without it is incomplete, and :func:`load_results` refuses it. A new
run never overwrites an existing folder unless asked to (``force``). The
layout of a folder is documented in docs/results.md.
"""

from __future__ import annotations

import json
import math
import platform
import re
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from sim.errors import SimError
from sim.figures.layout import Layout, network_layout
from sim.runs import replicate
from sim.runs.runner import RunResult
from sim.storage.files import jsonable, slug, write_json, write_parquet

FORMAT = "newpower-results"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TIMESERIES = "timeseries.parquet"
SUMMARY = "summary.json"
AGGREGATE = "aggregate.parquet"
CAMPAIGNS = "campaigns.parquet"
EVENTS = "events.parquet"
NETWORK = "network.parquet"
LAYOUT = "layout.parquet"
SNAPSHOTS = "snapshots.parquet"
AUDIT = "audit.json"
AUDIT_CSV = "audit.csv"
ANIMATION = "animation"
FIGURES = "figures"
#: Every file a results folder may hold (besides figures), removed by ``--force``.
KNOWN_FILES = (
    MANIFEST,
    TIMESERIES,
    SUMMARY,
    AGGREGATE,
    CAMPAIGNS,
    EVENTS,
    NETWORK,
    LAYOUT,
    SNAPSHOTS,
    AUDIT,
    AUDIT_CSV,
    f"{ANIMATION}.gif",
    f"{ANIMATION}.mp4",
)
#: Packages whose versions go into the manifest.
PACKAGES = (
    "newpower",
    "mesa",
    "numpy",
    "scipy",
    "pandas",
    "networkx",
    "pyarrow",
    "matplotlib",
    "pillow",
    "tqdm",
)
#: Snapshots kept per run for the network figure and the animation (about).
N_SNAPSHOTS = 40
_TEMP = re.compile(r"^\..+\.tmp-\d+")


class ResultsError(SimError):
    """A results folder cannot be created, or is not a (complete) results folder."""


# ------------------------------------------------------------------ writing files


def create_folder(
    name: str, out: str | Path | None = None, force: bool = False, base: str | Path = "results"
) -> Path:
    """Create the folder for a new run (never reusing one silently).

    Args:
        name: the scenario name (used for the default folder name).
        out: an explicit folder; refused if it exists and is not empty, unless ``force``.
        force: replace the results in ``out`` (only files a results folder holds are removed).
        base: where default folders go: ``<base>/<name>-<YYYYmmdd-HHMMSS>[-2, -3, ...]``.

    Raises:
        ResultsError: ``out`` is a file, or a non-empty folder without ``force``.
    """
    if out is None:
        stem = Path(base) / f"{slug(name)}-{time.strftime('%Y%m%d-%H%M%S')}"
        folder, suffix = stem, 1
        Path(base).mkdir(parents=True, exist_ok=True)
        while True:
            try:
                folder.mkdir()
                return folder
            except FileExistsError:
                suffix += 1
                folder = stem.with_name(f"{stem.name}-{suffix}")
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ResultsError(f"{folder}: --out names an existing file; allowed: a new or empty folder")
    if folder.is_dir() and any(folder.iterdir()):
        if not force:
            raise ResultsError(
                f"{folder}: folder exists and is not empty; results are never overwritten: "
                "choose a new --out folder, or add --force to replace its results"
            )
        clear_results(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsError(f"{folder}: cannot create the results folder ({exc.strerror})") from None
    return folder


def clear_results(folder: Path) -> None:
    """Remove the files a results folder holds (manifest first), leaving anything else alone."""
    for name in KNOWN_FILES:
        (folder / name).unlink(missing_ok=True)
    figures = folder / FIGURES
    if figures.is_dir():
        for path in figures.iterdir():
            if path.suffix in (".png", ".svg") or _TEMP.match(path.name):
                path.unlink()
    for path in folder.iterdir():
        if path.is_file() and _TEMP.match(path.name):
            path.unlink()


def remove_if_empty(folder: Path) -> None:
    """Remove a folder this run created if nothing was written into it."""
    try:
        folder.rmdir()
    except OSError:
        pass


# ------------------------------------------------------------------ what a run leaves


def snapshot_period(steps: int, n_snapshots: int = N_SNAPSHOTS) -> int:
    """A snapshot period giving about ``n_snapshots`` evenly spaced snapshots (plus the last step)."""
    return max(1, math.ceil(steps / n_snapshots))


def save_runs(folder: Path, runs: Sequence[RunResult], network: bool = True) -> dict[str, Any]:
    """Write the data files of one or more runs of the same scenario.

    Args:
        folder: the results folder.
        runs: the runs, in replication order; the first keeps its model.
        network: also write the first run's network, layout and snapshots.

    Returns:
        What the manifest records about the data: organizations, layout, snapshot steps.
    """
    seeds = [r.seed for r in runs]
    stacked = replicate.stack([r.timeseries for r in runs], seeds)
    write_parquet(stacked, folder / TIMESERIES)
    summary: dict[str, Any] = {"runs": [{"run": i, "seed": r.seed, **r.summary} for i, r in enumerate(runs)]}
    if len(runs) > 1:
        summary["aggregate"] = replicate.aggregate_summaries([r.summary for r in runs])
        write_parquet(replicate.aggregate_timeseries(stacked), folder / AGGREGATE)
    write_json(summary, folder / SUMMARY)
    for name, frames in ((CAMPAIGNS, [r.campaigns for r in runs]), (EVENTS, [r.events for r in runs])):
        table = replicate.stack(frames, seeds)
        if len(table):
            write_parquet(_flat_columns(table), folder / name)
    first = runs[0]
    info: dict[str, Any] = {"organizations": _organizations(first)}
    if network and first.model is not None:
        info.update(save_network(folder, first))
    return info


def save_network(folder: Path, result: RunResult) -> dict[str, Any]:
    """Write the first run's ties, a fixed-seed layout, and the snapshots of the drawn participants."""
    adjacency = result.model.adjacency
    upper = sp.triu(adjacency, k=1).tocoo()
    write_parquet(
        pd.DataFrame({"source": upper.row.astype(np.int32), "target": upper.col.astype(np.int32)}),
        folder / NETWORK,
    )
    layout: Layout = network_layout(adjacency)
    write_parquet(
        pd.DataFrame({"participant": layout.nodes.astype(np.int32), "x": layout.x, "y": layout.y}),
        folder / LAYOUT,
    )
    steps = sorted(result.snapshots)
    if steps:
        nodes = layout.nodes
        frame = pd.DataFrame(
            {
                "step": np.repeat(np.asarray(steps, dtype=np.int32), nodes.size),
                "participant": np.tile(nodes.astype(np.int32), len(steps)),
                "level": np.concatenate([result.snapshots[s]["level"][nodes] for s in steps]).astype(np.int8),
                "group": np.concatenate([result.snapshots[s]["group"][nodes] for s in steps]).astype(
                    np.int16
                ),
            }
        )
        write_parquet(frame, folder / SNAPSHOTS)
    return {"layout": layout.describe(), "snapshot_steps": steps}


def _organizations(result: RunResult) -> list[dict[str, Any]]:
    if result.model is not None:
        return [{"name": o.name, "kind": o.kind.value, "group": o.group} for o in result.model.organizations]
    names = [c[: -len(".members")] for c in result.timeseries.columns if c.endswith(".members")]
    return [{"name": name, "kind": "", "group": i + 1} for i, name in enumerate(names)]


def _flat_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Event records may hold nested values; store those as JSON text."""
    out = frame.copy()
    for column in out.columns:
        nested = out[column].map(lambda v: isinstance(v, (dict, list, tuple)))
        if out[column].dtype == object and nested.any():
            out[column] = out[column].map(lambda v: json.dumps(jsonable(v)) if v is not None else None)
    return out


# ------------------------------------------------------------------ the manifest


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Versions of Python and of the packages a run depends on (None: not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def git_state(root: Path | None = None) -> dict[str, Any] | None:
    """The git commit of the source tree newpower runs from, and whether it has changes (None outside git)."""
    root = (root or Path(__file__).resolve().parents[2]).resolve()

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=False
        )

    try:
        head = git("rev-parse", "--show-toplevel", "HEAD")
        if head.returncode != 0:
            return None
        top, commit = head.stdout.split()[:2]
        if Path(top).resolve() != root:
            return None
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").stdout.strip())
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}


def now() -> str:
    """The local time, ISO 8601 with offset, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    """Write ``manifest.json`` (last), listing the data files with their sizes and the figures."""
    files = {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST and not _TEMP.match(p.name)
    }
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **manifest,
        "files": {k: v for k, v in files.items() if not k.startswith(FIGURES + "/")},
        "figures": [k for k in files if k.startswith(FIGURES + "/")],
    }
    return write_json(manifest, folder / MANIFEST)


# ------------------------------------------------------------------ reading back


@dataclass
class Results:
    """A results folder read back from disk (figures are drawn from this, never from a model).

    Attributes:
        folder: where it is.
        manifest: the manifest (scenario, seeds, versions, times, files).
        timeseries: all runs stacked, with ``run`` and ``seed`` columns.
        summary: ``{"runs": [...], "aggregate": {...}}`` (aggregate only with several runs).
        aggregate: per step and measure: mean, sd, ci_low, ci_high, n (several runs only).
        campaigns, events: one row per campaign / shock fired, with ``run`` and ``seed``.
        edges: the first run's ties (``source``, ``target``).
        layout: drawn participants' positions (``participant``, ``x``, ``y``).
        snapshots: drawn participants' ``level`` and ``group`` at the snapshot steps.
        audit: the audit table (audit folders only).
    """

    folder: Path
    manifest: dict[str, Any]
    timeseries: pd.DataFrame
    summary: dict[str, Any]
    aggregate: pd.DataFrame | None = None
    campaigns: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    edges: pd.DataFrame | None = None
    layout: pd.DataFrame | None = None
    snapshots: pd.DataFrame | None = None
    audit: dict[str, Any] | None = None
    _bands: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def n_runs(self) -> int:
        """Number of replications."""
        return int(self.timeseries["run"].nunique()) if "run" in self.timeseries else 1

    @property
    def name(self) -> str:
        """The scenario's name."""
        return str(self.manifest.get("scenario", {}).get("name", self.folder.name))

    @property
    def organizations(self) -> list[str]:
        """Organization names, in creation order (entrants last)."""
        listed = [o["name"] for o in self.manifest.get("organizations", [])]
        found = [c[: -len(".members")] for c in self.timeseries.columns if c.endswith(".members")]
        return listed + [n for n in found if n not in listed]

    def organization_kind(self, name: str) -> str:
        """``"institution"``, ``"platform"`` or ``""`` if unknown."""
        listed = self.manifest.get("organizations", [])
        return next((o.get("kind", "") for o in listed if o["name"] == name), "")

    def first_run(self) -> pd.DataFrame:
        """The first run's time series."""
        frame = self.timeseries
        return frame[frame["run"] == frame["run"].min()] if "run" in frame else frame

    def band(self, measure: str) -> pd.DataFrame:
        """Per step: ``mean``, ``ci_low``, ``ci_high`` of a measure (one run: its values, no band)."""
        if measure not in self._bands:
            if self.aggregate is not None and self.n_runs > 1:
                rows = self.aggregate[self.aggregate["measure"] == measure]
                out = rows.set_index("step")[["mean", "ci_low", "ci_high"]]
            else:
                run = self.first_run().set_index("step")
                values = (
                    pd.to_numeric(run[measure], errors="coerce")
                    if measure in run
                    else pd.Series(np.nan, index=run.index)
                )
                out = pd.DataFrame({"mean": values, "ci_low": np.nan, "ci_high": np.nan})
            self._bands[measure] = out.astype(float)
        return self._bands[measure]


def load_results(folder: str | Path, manifest: dict[str, Any] | None = None) -> Results:
    """Read a results folder.

    Args:
        folder: the folder a run wrote.
        manifest: use this instead of ``manifest.json`` (while a run is still
            writing its folder); by default the manifest must exist.

    Raises:
        ResultsError: the folder does not exist, has no manifest (not a
            results folder, or an interrupted run), or a file is unreadable.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultsError(f"{folder}: no such results folder; allowed: a folder written by `newpower run`")
    if manifest is None:
        path = folder / MANIFEST
        if not path.is_file():
            raise ResultsError(
                f"{folder}: not a complete results folder (no {MANIFEST}; an interrupted "
                "run leaves none); allowed: a folder written by `newpower run` or "
                "`newpower audit`"
            )
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ResultsError(f"{path}: unreadable manifest ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ResultsError(f"{path}: not a newpower results manifest (format {FORMAT!r} expected)")
    if not (folder / TIMESERIES).is_file():
        raise ResultsError(f"{folder}: {TIMESERIES} is missing; allowed: a folder written by `newpower run`")
    try:
        summary = _read_json(folder / SUMMARY) or {}
        audit = _read_json(folder / AUDIT)
        tables = {
            name: _read_parquet(folder / name)
            for name in (TIMESERIES, AGGREGATE, CAMPAIGNS, EVENTS, NETWORK, LAYOUT, SNAPSHOTS)
        }
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise ResultsError(f"{folder}: a results file is unreadable ({exc})") from None
    return Results(
        folder,
        manifest,
        tables[TIMESERIES],
        summary,
        tables[AGGREGATE],
        tables[CAMPAIGNS],
        tables[EVENTS],
        tables[NETWORK],
        tables[LAYOUT],
        tables[SNAPSHOTS],
        audit,
    )


def _read_parquet(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.is_file() else None


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
