"""Where a calibration keeps its work until its results folder is complete.

The results folder is written like every newpower results folder
(:mod:`sim.storage.folders`): staged beside its final place, moved there when
complete (``manifest.json`` last), never over anything. A calibration is long,
so its work must outlive an interruption, which discards the staging folder:
pyabc's history (every finished generation, SQLite), ``calibration.json`` (what
defines the calibration, checked on ``--resume``) and the adaptive distance's
weights live in the *checkpoint* folder ``.<name>.calibration`` beside the
target. When the results are in place, the checkpoint's files are in them too
(copied into the staging folder before the commit) and the checkpoint is
removed: its own files only; a folder holding anything else is left alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from sim.figures.calibration import DATABASE, MANIFEST, SCALE_WEIGHTS, SETTINGS
from sim.storage.files import write_json
from sim.storage.folders import ResultsError

FORMAT = "newpower-calibration"
#: The files of a checkpoint folder.
FILES = (SETTINGS, DATABASE, SCALE_WEIGHTS)
#: Parts of the settings that may differ on resume (where the files are, not what they hold).
_FREE_ON_RESUME = ("scenario_file",)


def checkpoint_of(target: Path) -> Path:
    """The checkpoint folder of the results folder ``target``."""
    target = target.absolute()  # "--out ." names the current folder
    return target.parent / f".{target.name}.calibration"


def refuse_finished(target: Path) -> None:
    """A finished calibration is never overwritten (said before the storage layer's generic refusal).

    Raises:
        ResultsError: ``target`` holds a calibration's manifest.
    """
    if (_read(target / MANIFEST) or {}).get("format") == FORMAT:
        raise ResultsError(
            f"{target}: holds a finished calibration; results are never overwritten: choose a new --out "
            "folder (to fit with more generations, run again with a larger --populations)"
        )


def open_checkpoint(target: Path, settings: dict[str, Any], resume: bool) -> tuple[Path, bool]:
    """The checkpoint of this calibration, and whether it resumes one.

    Raises:
        ResultsError: a checkpoint exists without ``resume``, none exists with it, or it
            holds a different calibration.
    """
    folder = checkpoint_of(target)
    if folder.exists():
        if not resume:
            raise ResultsError(
                f"{target}: an interrupted calibration into this folder is kept in {folder}; add --resume to "
                f"continue it (or remove {folder} to start over)"
            )
        _check_same(folder, settings)
        return folder, True
    if resume:
        raise ResultsError(
            f"{target}: nothing to resume (no {folder.name} beside it); allowed: --resume after an "
            "interrupted `newpower calibrate` with the same --out"
        )
    folder.mkdir(parents=True)
    write_json(settings, folder / SETTINGS)
    return folder, False


def copy_into(checkpoint: Path, staging: Path) -> None:
    """Copy the checkpoint's files into the staging folder (the results keep pyabc's history)."""
    for name in FILES:
        if (checkpoint / name).is_file():
            shutil.copy2(checkpoint / name, staging / name)


def remove(checkpoint: Path) -> None:
    """Delete the checkpoint's own files, then the folder if nothing else is in it."""
    for name in FILES:
        (checkpoint / name).unlink(missing_ok=True)
    try:
        checkpoint.rmdir()
    except OSError:
        pass  # someone put something else there: not ours to delete


def _check_same(folder: Path, settings: dict[str, Any]) -> None:
    saved = _read(folder / SETTINGS) or {}
    if saved.get("format") != FORMAT:
        raise ResultsError(
            f"{folder}: not a calibration checkpoint (no readable {SETTINGS}); nothing in it is touched"
        )
    differ = _differences(saved, settings)
    if differ:
        raise ResultsError(
            f"{folder}: holds a different calibration ({', '.join(differ)} differ); allowed: --resume with the "
            "same scenario, data, priors and options (only --populations may change), or a new --out folder"
        )


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _differences(saved: dict[str, Any], settings: dict[str, Any]) -> list[str]:
    """The settings that differ; inside ``data`` and ``options``, which of their entries (the data file may move)."""
    out = []
    for key in sorted(set(saved) | set(settings)):
        old, new = saved.get(key), settings.get(key)
        if key in _FREE_ON_RESUME or old == new:
            continue
        if key in ("data", "options") and isinstance(old, dict) and isinstance(new, dict):
            out += [
                f"{key}.{k}" for k in sorted(set(old) | set(new)) if k != "file" and old.get(k) != new.get(k)
            ]
        else:
            out.append(key)
    return out
