"""Files written atomically: a temporary name in the same folder, then one rename.

A reader (or a crash) never sees half a file: either the old file or the new one. The temporary
name is ``.<stem>.tmp-<pid><suffix>`` (:func:`temp_path`); :func:`temp_target` recognises such a
name, so a command can clean up exactly its own temporary files and nothing else.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: ``.<stem>.tmp-<pid><suffix>``: the name :func:`atomic_write` writes under before renaming.
_TEMP = re.compile(r"^\.(?P<stem>[^/]+?)\.tmp-(?P<pid>\d+)(?P<suffix>\.[A-Za-z0-9]+)?$")


def temp_path(path: Path) -> Path:
    """The temporary name of ``path`` for this process: ``.<stem>.tmp-<pid><suffix>`` beside it.

    The suffix is kept, so writers that infer the format from it (matplotlib, Pillow) work.
    """
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


def temp_target(name: str) -> str | None:
    """The final file name a temporary name of :func:`atomic_write` stands for, or None if it is not one."""
    match = _TEMP.match(name)
    if match is None:
        return None
    return match["stem"] + (match["suffix"] or "")


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Write a file under a temporary name in its folder, then rename it into place.

    Args:
        path: the final file name.
        write: called with the temporary path; must create that file.

    Returns:
        The final path.

    Raises:
        OSError: the file could not be written (a full disk, no permission); the error's
            ``filename`` is the final path, so the message says which file (writers such as
            pyarrow and matplotlib raise it without one).
    """
    path = Path(path)
    tmp = temp_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename is not None and Path(exc.filename) not in (path, tmp):
            raise
        raise OSError(exc.errno, _reason(exc), str(path)) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _reason(exc: OSError) -> str:
    if exc.strerror:
        return exc.strerror
    if exc.errno:
        return os.strerror(exc.errno)
    return str(exc) or type(exc).__name__


def write_parquet(
    data: pd.DataFrame | pa.Table, path: str | Path, *, byte_stream_split: bool = False
) -> Path:
    """Write a DataFrame (without its index) or an Arrow table as Parquet, atomically.

    Float columns are never dictionary-encoded (their values rarely repeat); other columns are.

    Args:
        data: the table.
        path: the final file name.
        byte_stream_split: encode float columns with ``BYTE_STREAM_SPLIT`` (smaller files of
            measures; the sweep store's parts use it).
    """
    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    others = [name for name in table.column_names if name not in floats]
    options: dict[str, Any] = {"use_dictionary": others or False}
    if byte_stream_split:
        options["use_byte_stream_split"] = floats or False
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp, **options))


def jsonable(value: Any) -> Any:
    """Plain JSON data: NumPy scalars to Python, NaN and infinities to None, tuples and sets to lists."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(data: Any, path: str | Path) -> Path:
    """Write strict JSON (NaN written as null), indented, atomically; other objects as their text."""
    text = json.dumps(jsonable(data), indent=2, allow_nan=False, default=str) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


# ------------------------------------------------------------------ folders


def slug(name: str) -> str:
    """A scenario name made safe for a folder name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "run"
