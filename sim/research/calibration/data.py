"""The observed series: a CSV file read and checked before any simulation runs.

The file has a step column (whole numbers, strictly increasing, from 0) and one
or more value columns. Each value column is fitted to one per-step measure the
model reports (a column of ``sim.run(...).timeseries``, such as
``active_fraction`` or ``Hive.members``). Every problem is one line naming the
file, the column, the CSV line and the value.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError

#: Summary statistics need a start, a peak and an end.
MIN_ROWS = 2


@dataclass(frozen=True)
class Observed:
    """An observed series, checked.

    Attributes:
        path: the CSV file.
        sha256: hex digest of the file's bytes (for the manifest and for resuming).
        steps: the observed steps, strictly increasing.
        columns: the fitted CSV columns, in order.
        measures: the model measure each column is fitted to (same order).
        values: one array per column, aligned with ``steps``.
    """

    path: Path
    sha256: str
    steps: np.ndarray
    columns: tuple[str, ...]
    measures: tuple[str, ...]
    values: dict[str, np.ndarray]

    @property
    def last_step(self) -> int:
        """The last observed step (simulations run this many steps)."""
        return int(self.steps[-1])

    def frame(self) -> pd.DataFrame:
        """The series as a table: ``step`` then one column per fitted column."""
        return pd.DataFrame({"step": self.steps, **self.values})


def read_observed(
    path: str | Path,
    columns: Sequence[str],
    measures: Sequence[str] = (),
    step_column: str = "step",
) -> Observed:
    """Read and check the observed CSV.

    Args:
        path: the CSV file.
        columns: the value columns to fit (at least one).
        measures: the model measure for each column (default: the column's own name).
        step_column: the name of the step column.

    Raises:
        InputError: a missing file or column, a non-numeric or missing value, steps
            that are not whole, increasing and non-negative, or too few rows.
    """
    path = Path(path)
    columns = tuple(dict.fromkeys(columns))
    if not columns:
        raise InputError(f"{path}: no column to fit; allowed: --column NAME (one or more)")
    measures = tuple(measures) or columns
    if len(measures) != len(columns):
        raise InputError(
            f"{path}: {len(columns)} column(s) ({', '.join(columns)}) but {len(measures)} --measure name(s); "
            "allowed: one --measure per --column, or none (each column is then the measure of the same name)"
        )
    raw = _read_csv(path)
    missing = [c for c in (step_column, *columns) if c not in raw.columns]
    if missing:
        what = "step column" if missing[0] == step_column else "column"
        raise InputError(
            f"{path}: no {what} {missing[0]!r}; allowed: {', '.join(map(str, raw.columns)) or '(no columns)'}"
        )
    if len(raw) < MIN_ROWS:
        raise InputError(f"{path}: {len(raw)} data row(s); allowed: at least {MIN_ROWS} observed steps")
    steps = _steps(path, raw[step_column], step_column)
    values = {c: _numbers(path, raw[c], c) for c in columns}
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Observed(path, digest, steps, columns, measures, values)


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"{path}: data file not found; allowed: an existing CSV file")
    try:
        # everything as text: the checks below say which cell is not a number
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: not a readable CSV file ({first})") from None


def _numbers(path: Path, cells: pd.Series, column: str) -> np.ndarray:
    """The column as floats; the first empty, non-numeric or infinite cell is an error."""
    out = np.empty(len(cells))
    for row, text in enumerate(cells):
        line = row + 2  # line 1 is the header
        text = text.strip()
        try:
            value = float(text)
        except ValueError:
            value = math.nan
            if text and text.lower() not in ("nan", "na", "n/a", "null", "none"):
                raise InputError(
                    f"{path}: column {column!r}, line {line}: {text!r} is not a number; allowed: numbers only"
                ) from None
        if math.isnan(value):
            raise InputError(
                f"{path}: column {column!r}, line {line}: missing value ({text or 'empty'!r}); "
                "allowed: a number on every line (drop the step instead)"
            )
        if math.isinf(value):
            raise InputError(f"{path}: column {column!r}, line {line}: {text!r}; allowed: finite numbers")
        out[row] = value
    return out


def _steps(path: Path, cells: pd.Series, column: str) -> np.ndarray:
    """The step column as integers, non-negative and strictly increasing."""
    steps = _numbers(path, cells, column)
    for row, value in enumerate(steps):
        if value < 0 or not float(value).is_integer():
            raise InputError(
                f"{path}: column {column!r}, line {row + 2}: step {cells.iloc[row].strip()!r}; "
                "allowed: whole numbers >= 0"
            )
        if row and value <= steps[row - 1]:
            raise InputError(
                f"{path}: column {column!r}, line {row + 2}: step {int(value)} after step "
                f"{int(steps[row - 1])}; allowed: strictly increasing steps"
            )
    return steps.astype(np.int64)
