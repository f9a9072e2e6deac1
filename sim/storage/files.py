"""Files written atomically: a temporary name in the same folder, then one rename.

A reader (or a crash) never sees half a file: either the old file or the new one.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Write a file under a temporary name in its folder, then rename it into place.

    Args:
        path: the final file name. The temporary name keeps its suffix, so
            writers that infer the format from it (matplotlib, Pillow) work.
        write: called with the temporary path; must create that file.

    Returns:
        The final path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_parquet(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as Parquet (no index; no dictionary encoding for float columns)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    floats = {f.name for f in table.schema if pa.types.is_floating(f.type)}
    dictionary = [name for name in table.column_names if name not in floats] or False
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp, use_dictionary=dictionary))


def jsonable(value: Any) -> Any:
    """Plain JSON data: NumPy scalars to Python, NaN and infinities to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(data: Any, path: str | Path) -> Path:
    """Write strict JSON (NaN written as null), indented."""
    text = json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


# ------------------------------------------------------------------ folders


def slug(name: str) -> str:
    """A scenario name made safe for a folder name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "run"
