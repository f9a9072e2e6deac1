"""A sweep's results on disk: a Parquet dataset written as runs complete, safe to kill and resume.

Layout of a sweep folder::

    sweep.json                     the manifest: scenario, design, root seed, versions (written first)
    points.parquet                 one row per point: point_id, seed_index, param:<key> columns
    summaries/part-000001.parquet  one row per completed run (the commit marker of its part)
    timeseries/part-000001.parquet one row per run and step
    failures/part-000001.parquet   one row per failed run: the error and its traceback
    points_summary.parquet         per point and measure: mean, sd, 95% interval, n (after each session)

A folder is a sweep's own only when it is new, empty, or holds a sweep manifest: the store
refuses any other folder before it creates, deletes or locks anything in it (and the manifest is
written before anything else of a new sweep). Only the parent process writes (a single writer,
holding ``.lock``). Each
batch of finished runs is written as ``timeseries/part-N`` and then
``summaries/part-N``, each under a temporary name and renamed into place
(``os.replace``), so a file under a real name is always whole. The summary
part is written last: a run is committed when its summary row is on disk.
Readers ignore time-series parts whose summary part does not exist (the
process died between the two), and a resumed sweep deletes them, and its own
temporary files (``.<name>.tmp-<pid>.<ext>`` in the folder and its three part
folders), nothing else. A run is
therefore either committed once or not at all, whenever the process is killed
(SIGKILL included); runs that finished in a worker but were not yet committed
are simply run again on resume.
"""

from __future__ import annotations

import fcntl
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import SimError
from sim.stats import group_intervals
from sim.storage.files import temp_target, write_parquet

FORMAT = "newpower-sweep"
FORMAT_VERSION = 1
MANIFEST = "sweep.json"
POINTS = "points.parquet"
POINTS_SUMMARY = "points_summary.parquet"
LOCK = ".lock"
SUMMARIES, TIMESERIES, FAILURES = "summaries", "timeseries", "failures"
PARAM = "param:"
#: Columns that identify a run (not measures).
ID_COLUMNS = ("run_id", "point_id", "replicate", "seed", "run_seconds")
#: Population measures a sweep's tables and figures lead with, then these per organization.
HEADLINE = ("final_active_fraction", "peak_active_fraction", "largest_desertion_cascade")
ORG_HEADLINE = ("desertion_share", "final_members", "final_current", "final_stock")
_PART = re.compile(r"^part-(\d+)\.parquet$")


class SweepFolderError(SimError):
    """A folder cannot hold this sweep (another sweep's results, another writer, not a sweep folder)."""


# ------------------------------------------------------------------ writing


def write_table(table: pa.Table | pd.DataFrame, path: Path) -> Path:
    """Write one Parquet file of a sweep folder (:func:`~sim.storage.files.write_parquet`, floats
    with ``BYTE_STREAM_SPLIT``)."""
    return write_parquet(table, path, byte_stream_split=True)


def measure_table(rows: Sequence[Mapping[str, Any]], typed: Mapping[str, pa.DataType]) -> pa.Table:
    """A table from row dicts: columns in ``typed`` get that type; numbers float64, text string.

    Every measure is stored as float64 (counts included) so parts written at
    different times always share one schema; booleans become 0/1.
    """
    columns: dict[str, list[Any]] = {}
    for i, row in enumerate(rows):
        for key, value in row.items():
            columns.setdefault(key, [None] * i).append(value)
        for key, values in columns.items():
            if len(values) < i + 1:
                values.append(None)
    arrays, names = [], []
    for key, values in columns.items():
        names.append(key)
        if key in typed:
            arrays.append(pa.array(values, type=typed[key]))
        elif all(v is None or isinstance(v, str) for v in values):
            arrays.append(pa.array(values, type=pa.string()))
        else:
            arrays.append(pa.array([_number(v) for v in values], type=pa.float64()))
    return pa.table(arrays, names=names)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


# ------------------------------------------------------------------ the store


class SweepStore:
    """The single writer of a sweep folder.

    Use as a context manager: it takes the folder's lock (another process
    writing into the same folder is refused), removes what a killed session
    left half-done, and knows which runs are committed.

    Args:
        folder: the sweep folder (created if missing).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._lock_fh = None
        self._next_part = 1

    def __enter__(self) -> Self:
        claim(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock_fh = open(self.folder / LOCK, "a+")
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_fh.close()
            self._lock_fh = None
            raise SweepFolderError(
                f"{self.folder}: another sweep is writing into this folder "
                "(wait for it, or choose another --out)"
            ) from None
        try:
            claim(self.folder)  # again, holding the lock: nothing changed it since
        except SweepFolderError:
            self.__exit__()
            raise
        self._clean()
        self._next_part = 1 + max(
            (n for sub in (SUMMARIES, TIMESERIES, FAILURES) for n in _part_numbers(self.folder / sub)),
            default=0,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock_fh is not None:
            fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
            self._lock_fh.close()
            self._lock_fh = None

    def _clean(self) -> None:
        """Remove own temporary files and time-series parts never committed by their summary part."""
        for path in own_temp_files(self.folder):
            path.unlink(missing_ok=True)
        committed = set(_part_numbers(self.folder / SUMMARIES))
        for number in set(_part_numbers(self.folder / TIMESERIES)) - committed:
            (self.folder / TIMESERIES / _part_name(number)).unlink(missing_ok=True)

    def commit(
        self, summaries: pa.Table | None, timeseries: pa.Table | None, failures: pa.Table | None
    ) -> None:
        """Write one batch: time series, then failures, then the summary part that commits it."""
        name = _part_name(self._next_part)
        self._next_part += 1
        if timeseries is not None and timeseries.num_rows:
            write_table(timeseries, self.folder / TIMESERIES / name)
        if failures is not None and failures.num_rows:
            write_table(failures, self.folder / FAILURES / name)
        if summaries is not None and summaries.num_rows:
            write_table(summaries, self.folder / SUMMARIES / name)


def claim(folder: Path) -> None:
    """Check that a folder is a sweep's own (new, empty, or holding a sweep manifest); touch nothing.

    Raises:
        SweepFolderError: a file, or a folder holding anything else (its entries are named).
    """
    if not folder.exists():
        return
    if not folder.is_dir():
        raise SweepFolderError(f"{folder}: not a folder; allowed: a new, empty or sweep folder")
    if read_manifest(folder) is not None:
        return
    stray = sorted(p.name for p in folder.iterdir() if not _is_empty_lock(p))
    if stray:
        shown = ", ".join(stray[:5]) + (", ..." if len(stray) > 5 else "")
        raise SweepFolderError(
            f"{folder}: folder is not empty and holds no sweep ({shown}); nothing in it was touched; "
            "results are never overwritten: choose a new --out folder"
        )


def _is_empty_lock(path: Path) -> bool:
    """The lock file a sweep creates first (empty) before it writes its manifest."""
    return path.name == LOCK and path.is_file() and not path.is_symlink() and path.stat().st_size == 0


def own_temp_files(folder: Path) -> list[Path]:
    """Temporary files a killed sweep left: named like :func:`~sim.storage.files.atomic_write`'s, in
    the folder itself or its part folders (of part files only there)."""
    found = [p for p in folder.iterdir() if p.is_file() and temp_target(p.name) is not None]
    for sub in (SUMMARIES, TIMESERIES, FAILURES):
        if (folder / sub).is_dir():
            found += [
                p for p in (folder / sub).iterdir() if p.is_file() and _PART.match(temp_target(p.name) or "")
            ]
    return sorted(found)


def _part_name(number: int) -> str:
    return f"part-{number:06d}.parquet"


def _part_numbers(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for p in folder.iterdir() if (m := _PART.match(p.name)))


# ------------------------------------------------------------------ reading


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The folder's ``sweep.json``, or None if it has none."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SweepFolderError(f"{path}: unreadable sweep manifest ({exc})") from None
    if data.get("format") != FORMAT:
        raise SweepFolderError(f"{path}: not a newpower sweep manifest")
    return data


def is_sweep_dir(path: str | Path) -> bool:
    """Whether ``path`` is a sweep folder (``newpower sweep``, ``sensitivity`` or ``stress``)."""
    try:
        return Path(path).is_dir() and read_manifest(path) is not None
    except SweepFolderError:
        return False


def _concat(paths: Iterable[Path], columns: Sequence[str] | None = None) -> pa.Table | None:
    tables = []
    for path in paths:
        if columns is None:
            tables.append(pq.read_table(path))
        else:
            present = set(pq.read_schema(path).names)
            tables.append(pq.read_table(path, columns=[c for c in columns if c in present]))
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="permissive")


def _parts(folder: Path, sub: str) -> list[Path]:
    return [folder / sub / _part_name(n) for n in _part_numbers(folder / sub)]


def read_summaries(folder: str | Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per committed run (deduplicated by ``run_id``), in design order.

    Args:
        folder: the sweep folder.
        columns: only these columns (``run_id`` is always read).
    """
    wanted = None if columns is None else ["run_id", *[c for c in columns if c != "run_id"]]
    table = _concat(_parts(Path(folder), SUMMARIES), wanted)
    if table is None:
        return pd.DataFrame({"run_id": pd.Series(dtype="str")})
    frame = table.to_pandas().drop_duplicates("run_id", keep="first")
    return design_order(frame)


def design_order(frame: pd.DataFrame, then: Sequence[str] = ()) -> pd.DataFrame:
    """Rows sorted by point, replicate and run id (then by ``then``), whatever order runs completed in."""
    keys = [c for c in ("point_id", "replicate", "run_id", *then) if c in frame.columns]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True) if keys else frame


def committed_run_ids(folder: str | Path) -> set[str]:
    """The run ids whose summary rows are on disk."""
    return set(read_summaries(folder, columns=["run_id"])["run_id"])


def read_timeseries(
    folder: str | Path, columns: Sequence[str] | None = None, run_ids: Iterable[str] | None = None
) -> pd.DataFrame:
    """One row per committed run and step (rows of uncommitted parts are ignored).

    Args:
        folder: the sweep folder.
        columns: measures to read (the id columns ``run_id, point_id, replicate, step`` always are).
        run_ids: only these runs.
    """
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    folder = Path(folder)
    committed = set(_part_numbers(folder / SUMMARIES))
    paths = [
        p
        for n in _part_numbers(folder / TIMESERIES)
        if n in committed
        for p in [folder / TIMESERIES / _part_name(n)]
    ]
    if not paths:
        return pd.DataFrame()
    schema = pa.unify_schemas([pq.read_schema(p) for p in paths], promote_options="permissive")
    dataset = ds.dataset([str(p) for p in paths], schema=schema, format="parquet")
    keep = None
    if columns is not None:
        ids = ["run_id", "point_id", "replicate", "step"]
        keep = ids + [c for c in columns if c not in ids and c in schema.names]
    filt = None if run_ids is None else pc.field("run_id").isin(list(run_ids))
    frame = dataset.to_table(columns=keep, filter=filt).to_pandas()
    return design_order(frame.drop_duplicates(["run_id", "step"], keep="first"), then=("step",))


def read_failures(folder: str | Path) -> pd.DataFrame:
    """Failed runs that have not succeeded since (latest record per run)."""
    table = _concat(_parts(Path(folder), FAILURES))
    if table is None:
        return pd.DataFrame(columns=["run_id", "point_id", "replicate", "seed", "error", "traceback"])
    frame = table.to_pandas().drop_duplicates("run_id", keep="last")
    done = committed_run_ids(folder)
    return frame[~frame["run_id"].isin(done)].reset_index(drop=True)


def read_points(folder: str | Path) -> pd.DataFrame:
    """The design: one row per point."""
    return pd.read_parquet(Path(folder) / POINTS)


def headline_measures(columns: list[str] | pd.Index) -> list[str]:
    """The headline measures present among summary columns: population first, then each organization."""
    columns = list(columns)
    orgs = [c[: -len(".desertion_share")] for c in columns if c.endswith(".desertion_share")]
    wanted = list(HEADLINE) + [f"{org}.{m}" for org in orgs for m in ORG_HEADLINE]
    return [m for m in wanted if m in columns]


def param_columns(frame: pd.DataFrame) -> list[str]:
    """The ``param:<key>`` columns of a frame, in order."""
    return [c for c in frame.columns if c.startswith(PARAM)]


def measure_columns(frame: pd.DataFrame) -> list[str]:
    """The numeric measure columns of a summaries frame (not ids, params or text)."""
    return [
        c
        for c in frame.columns
        if c not in ID_COLUMNS
        and not c.startswith(PARAM)
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]


def point_statistics(summaries: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per point and numeric measure: mean, sd, 95% t-interval and n over its runs (long format).

    NaN values (a measure a run does not define) are left out; sd and the
    interval are NaN when fewer than two runs define the value. Runs are taken in design order
    (:func:`design_order`), so the table does not depend on the order they completed in.
    """
    measures = measure_columns(summaries)
    params = param_columns(summaries)
    if summaries.empty or not measures:
        return pd.DataFrame(columns=["point_id", *params, "measure", "mean", "sd", "ci_low", "ci_high", "n"])
    ordered = design_order(summaries)
    long = ordered.melt(id_vars=["point_id"], value_vars=measures, var_name="measure")
    out = group_intervals(long, ["point_id", "measure"], confidence)
    design = ordered[["point_id", *params]].drop_duplicates("point_id")
    out = design.merge(out, on="point_id", how="right")
    return out[["point_id", *params, "measure", "mean", "sd", "ci_low", "ci_high", "n"]]


def write_point_statistics(folder: str | Path) -> pd.DataFrame:
    """Recompute ``points_summary.parquet`` from the committed runs and return it."""
    folder = Path(folder)
    stats_frame = point_statistics(read_summaries(folder))
    write_table(pa.Table.from_pandas(stats_frame, preserve_index=False), folder / POINTS_SUMMARY)
    return stats_frame
