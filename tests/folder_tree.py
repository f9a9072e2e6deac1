"""Snapshots of folder trees, and a folder of someone else's files, for the tests that check that a
command touches nothing that is not its own (issue 10)."""

from __future__ import annotations

from pathlib import Path

#: The repro of issue 10: temporary-looking files, a part file, results-looking files and notes.
FOREIGN_FILES = (
    "deep/nested/.draft.tmp-2024.txt",
    ".config.tmp-1",
    ".timeseries.tmp-1.parquet",
    "timeseries/part-000001.parquet",
    "figures/power.png",
    "manifest.json",
    "notes.txt",
)


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every entry under ``root``: (size, mtime in ns) by relative path (-1: a folder)."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_size if p.is_file() else -1, p.stat().st_mtime_ns)
        for p in root.rglob("*")
    }


def foreign_folder(folder: Path) -> Path:
    """A folder holding :data:`FOREIGN_FILES`: someone else's, that no command may touch."""
    for name in FOREIGN_FILES:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("mine")
    return folder
