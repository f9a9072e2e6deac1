"""Results folders: the manifest, and reading a folder back.

A results folder holds one run or several replications of one scenario (docs/results.md).
Every file in it is written atomically, and ``manifest.json`` last: a folder without it is
incomplete, and :func:`load_results` refuses it. Writing a folder from runs is
:func:`sim.runs.folder.write_results`; where a folder goes and how a new one replaces an old one
is :mod:`sim.storage.folders`.
"""

from __future__ import annotations

import json
import platform
import subprocess
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.storage.files import temp_target, write_json
from sim.storage.folders import (  # noqa: F401 - the layout of a folder, used with Results
    AGGREGATE,
    ANIMATION,
    AUDIT,
    AUDIT_CSV,
    CAMPAIGNS,
    EVENTS,
    FIGURES,
    FORMAT,
    FORMAT_VERSION,
    KNOWN_FILES,
    LAYOUT,
    MANIFEST,
    NETWORK,
    SNAPSHOTS,
    SUMMARY,
    SUMMARY_CSV,
    SUMMARY_MD,
    TABLES,
    TIMESERIES,
    ResultsError,
    csv_name,
    leftover_of,
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
#: Column suffix of an organization's member count: ``<name>.members`` names every organization.
MEMBERS = ".members"


def organization_names(columns: Any) -> list[str]:
    """Organization names found in time-series columns (``<name>.members``), in column order."""
    return [c[: -len(MEMBERS)] for c in columns if c.endswith(MEMBERS)]


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
        if p.is_file() and p.name != MANIFEST and temp_target(p.name) is None
    }
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **manifest,
        "files": {k: v for k, v in files.items() if not k.startswith(FIGURES + "/")},
        "figures": [k for k in files if k.startswith(FIGURES + "/")],
    }
    return write_json(manifest, folder / MANIFEST)


def refresh_manifest(results: Results) -> Path:
    """List a folder's files anew in its manifest after a command added or rewrote some (plot, export)."""
    kept = {k: v for k, v in results.manifest.items() if k not in ("files", "figures")}
    return write_manifest(results.folder, kept)


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
        return listed + [n for n in organization_names(self.timeseries.columns) if n not in listed]

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
        aside = leftover_of(folder)
        if aside is not None:
            raise ResultsError(
                f"{folder}: its results are in {aside.name} (a replacement by --force was interrupted); "
                f"the next `newpower run --out {folder}` puts them back, or rename that folder yourself"
            )
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
