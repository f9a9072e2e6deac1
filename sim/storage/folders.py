"""Results folders on disk: the files they hold, and how a new one takes the place of an old one.

A new results folder is written in a *staging* folder ``.<name>.incoming-<pid>`` and moved into
place only when it is complete (its ``manifest.json`` written last). So a killed or failed run
never leaves a half-written folder under a real name, and ``--force`` never removes earlier
results before the new ones are complete:

1. **Claim.** The target must be new, an empty folder, or (with ``force``) a folder holding
   nothing but results files (:func:`foreign_entries`); anything else is refused before anything
   is created or deleted. Leftovers of earlier interrupted commands for the same target are
   settled first (:func:`settle`).
2. **Stage.** The staging folder is created beside the target, in the same parent (inside it when
   the target is an existing empty folder, which keeps that folder itself: a mount point, the
   current folder), and locked (``flock``) for as long as the run lives; everything is written
   into it.
3. **Commit.** A new target: one ``rename`` of the staging folder (which refuses a target that
   meanwhile appeared with files in it). An empty target: its entries are renamed into it, the
   manifest last. A target holding results (``force``): rename it aside to
   ``.<name>.replaced-<pid>`` (locked), rename the staging folder into place, then delete the aside.
4. **After a crash.** A staging folder whose lock is free belonged to a run that died: the next
   command for the same target removes it. An aside folder whose lock is free means a replacement
   was interrupted between its two renames: if the target is missing, the aside (the old results,
   whole) is renamed back; if the target is complete, the aside is deleted.

The protocol is documented for users in docs/results.md ("Where results go").
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from sim.errors import SimError
from sim.storage.files import slug, temp_target

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
#: The run told in words (``sim.figures.story``), and the CSV copy of the summary (one row per run).
SUMMARY_MD = "summary.md"
SUMMARY_CSV = "summary.csv"
#: Tables that may also be written as CSV (``newpower run --format csv``, ``newpower export``).
TABLES = (TIMESERIES, AGGREGATE, CAMPAIGNS, EVENTS, NETWORK, LAYOUT, SNAPSHOTS)


def csv_name(table: str) -> str:
    """The CSV copy of a Parquet table: ``timeseries.parquet`` -> ``timeseries.csv``."""
    return table.removesuffix(".parquet") + ".csv"


#: Every file a results folder may hold besides its figures.
KNOWN_FILES = frozenset(
    {
        SUMMARY_MD,
        SUMMARY_CSV,
        *(csv_name(t) for t in TABLES),
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
    }
)
FIGURE_SUFFIXES = (".png", ".svg")
STAGING, ASIDE = "incoming", "replaced"
_LEFTOVER = re.compile(rf"^\.(?P<name>.+)\.(?P<role>{STAGING}|{ASIDE})-(?P<pid>\d+)$")

Notify = Callable[[str], None]


class ResultsError(SimError):
    """A results folder cannot be created, or is not a (complete) results folder."""


# ------------------------------------------------------------------ what a results folder holds


def foreign_entries(folder: Path) -> list[str]:
    """The entries of ``folder`` that a results folder never holds (empty: only results files).

    A results folder holds the files of :data:`KNOWN_FILES`, a ``figures/`` folder of PNG and SVG
    files, and the temporary files of those (a killed writer's).
    """
    foreign = []
    for entry in sorted(folder.iterdir()):
        if entry.name == FIGURES and entry.is_dir() and not entry.is_symlink():
            foreign += [f"{FIGURES}/{p.name}" for p in sorted(entry.iterdir()) if not _is_figure(p)]
        elif not (entry.is_file() and not entry.is_symlink() and _is_known(entry.name)):
            foreign.append(entry.name)
    return foreign


def _is_known(name: str) -> bool:
    return name in KNOWN_FILES or temp_target(name) in KNOWN_FILES


def _is_figure(path: Path) -> bool:
    name = temp_target(path.name) or path.name
    return path.is_file() and not path.is_symlink() and Path(name).suffix in FIGURE_SUFFIXES


def own_temp_files(folder: Path) -> list[Path]:
    """The temporary files a killed run left in a results folder (named after its own files only)."""
    found = [p for p in folder.iterdir() if p.is_file() and temp_target(p.name) in KNOWN_FILES]
    figures = folder / FIGURES
    if figures.is_dir():
        found += [p for p in figures.iterdir() if temp_target(p.name) is not None and _is_figure(p)]
    return sorted(found)


def is_complete(folder: Path) -> bool:
    """Whether a folder has its manifest (written last: the mark of a complete results folder)."""
    return (folder / MANIFEST).is_file()


def leftover_of(folder: Path) -> Path | None:
    """The earlier results of ``folder`` moved aside by an interrupted ``--force`` replacement, if any."""
    return next((p for p in _leftovers(folder.parent, folder.name) if _role(p) == ASIDE), None)


# ------------------------------------------------------------------ locks


def _lock(path: Path) -> int | None:
    """An open descriptor holding an exclusive lock on a folder, or None if another process holds it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _busy(path: Path) -> bool:
    """Whether another live process holds the lock of a folder."""
    fd = _lock(path)
    _unlock(fd)
    return fd is None


def _unlock(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


# ------------------------------------------------------------------ leftovers of interrupted commands


def _leftovers(parent: Path, name: str | None, roles: tuple[str, ...] = (STAGING, ASIDE)) -> list[Path]:
    """Staging and aside folders in ``parent`` (for the target ``name``, or for any target)."""
    if not parent.is_dir():
        return []
    found = []
    for entry in sorted(parent.iterdir()):
        match = _LEFTOVER.match(entry.name)
        if not match or match["role"] not in roles or name not in (None, match["name"]):
            continue
        if entry.is_dir() and not entry.is_symlink():
            found.append(entry)
    return found


def _role(path: Path) -> str:
    return _LEFTOVER.match(path.name)["role"]


def _target_of(path: Path) -> Path:
    return path.parent / _LEFTOVER.match(path.name)["name"]


def settle(
    parent: Path,
    name: str | None = None,
    notify: Notify | None = None,
    roles: tuple[str, ...] = (STAGING, ASIDE),
) -> None:
    """Finish what interrupted commands left for the target ``parent/name`` (or for every target).

    A staging folder whose process died is removed; an interrupted replacement is undone (the old
    results renamed back) or finished (the aside removed). Folders another live process holds,
    and folders holding anything that is not a results file, are left alone.
    """
    say = notify or (lambda _text: None)
    for path in _leftovers(parent, name, roles):
        fd = _lock(path)
        if fd is None:  # a live command is using it
            continue
        try:
            if foreign_entries(path):
                continue
            text = _settle_one(path)
        finally:
            _unlock(fd)
        if text:
            say(text)


def _settle_one(path: Path) -> str | None:
    target = _target_of(path)
    if _role(path) == STAGING:
        shutil.rmtree(path)
        return f"removed the unfinished results of an interrupted run ({path})"
    if not target.exists():
        os.rename(path, target)
        return f"{target}: restored the previous results after an interrupted replacement"
    if is_complete(target):
        shutil.rmtree(path)
        return f"{target}: removed the previous results left aside by a completed replacement ({path.name})"
    return None


# ------------------------------------------------------------------ claiming a target


def check_target(folder: Path, force: bool, notify: Notify | None = None) -> None:
    """Check that a new run may write its results to ``folder``; create and delete nothing of others'.

    Leftovers of interrupted commands for this folder are settled first (:func:`settle`); a
    folder holding an interrupted run loses its temporary files (named after results files).

    Raises:
        ResultsError: ``folder`` is a file, read-only, being written by another run, holds files
            that are not results, or holds results (complete or not) and ``force`` is not given.
    """
    settle(folder.parent, folder.name, notify)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise ResultsError(f"{folder}: --out names an existing file; allowed: a new or empty folder")
    if not os.access(folder, os.W_OK):
        raise ResultsError(
            f"{folder}: folder is read-only; allowed: a new, empty or results folder you can write"
        )
    settle(folder, folder.name, notify, roles=(STAGING,))  # staged inside a folder that was empty
    if any(_busy(p) for p in _stagings(folder)):
        raise ResultsError(f"{folder}: another newpower run is writing its results there; wait for it to end")
    if not any(folder.iterdir()):
        return
    _check_contents(folder, force)


def _check_contents(folder: Path, force: bool) -> None:
    """Refuse a non-empty folder unless it holds only results and ``force`` replaces them."""
    foreign = foreign_entries(folder)
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise ResultsError(
            f"{folder}: folder is not empty and holds files that are not newpower results ({shown}); "
            "nothing in it was touched: choose a new or empty --out folder"
            + ("; --force replaces only a results folder" if force else "")
        )
    if force and os.path.ismount(folder):
        raise ResultsError(
            f"{folder}: is a mount point, which --force cannot replace; empty it, or choose another --out"
        )
    if force:
        return
    if is_complete(folder):
        raise ResultsError(
            f"{folder}: folder holds results; results are never overwritten: choose a new --out folder, "
            "or add --force to replace them"
        )
    removed = own_temp_files(folder)
    for path in removed:
        path.unlink(missing_ok=True)
    raise ResultsError(
        f"{folder}: folder holds an incomplete run (no {MANIFEST}: the run that wrote it was interrupted"
        + (f"; its {len(removed)} temporary files were removed" if removed else "")
        + "): add --force to replace it, or choose another --out folder"
    )


def _stagings(target: Path) -> list[Path]:
    """The staging folders of runs writing to ``target``: beside it, or inside it (it was empty)."""
    return _leftovers(target.parent, target.name, (STAGING,)) + _leftovers(target, target.name, (STAGING,))


def create_folder(
    name: str,
    out: str | Path | None = None,
    force: bool = False,
    base: str | Path = "results",
    notify: Notify | None = None,
) -> StagedFolder:
    """Claim the folder of a new run and create its staging folder.

    Args:
        name: the scenario name (used for the default folder name).
        out: an explicit folder: new, empty, or (with ``force``) a results folder.
        force: replace the results in ``out`` once the new ones are complete.
        base: where default folders go: ``<base>/<name>-<YYYYmmdd-HHMMSS>[-2, -3, ...]``.
        notify: called with a line of text for each leftover of an interrupted command settled.

    Returns:
        The staging folder: write into its ``path``, then :meth:`StagedFolder.commit` (or use it as
        a context manager, which commits on success and discards on an exception).

    Raises:
        ResultsError: see :func:`check_target`; or the staging folder cannot be created.
    """
    target, inside = None, False
    if out is None:
        parent = Path(base)
        stem = f"{slug(name)}-{time.strftime('%Y%m%d-%H%M%S')}"
        made = _make_parents(parent, parent)
        settle(parent, None, notify)
    else:
        target = Path(out)
        if target.name in ("", ".", "..") or target.is_symlink():  # "--out .", a link: the folder itself
            target = target.resolve()
        parent, stem = target.parent, target.name
        check_target(target, force, notify)
        inside = target.is_dir() and not any(target.iterdir())
        made = None if inside else _make_parents(parent, target)
    staging = (target if inside else parent) / f".{stem}.{STAGING}-{os.getpid()}"
    try:
        staging.mkdir()
    except OSError as exc:
        _remove_made(made, parent)
        raise ResultsError(
            f"{target or parent}: cannot write the results in {staging.parent} ({exc.strerror})"
        ) from None
    folder = StagedFolder(parent, stem, staging, target, force, inside, _lock(staging), made)
    if target is not None and any(_busy(p) for p in _stagings(target) if p != staging):
        folder.discard()
        raise ResultsError(f"{target}: another newpower run is writing its results there; wait for it to end")
    return folder


def _make_parents(parent: Path, target: Path) -> Path | None:
    """Create ``parent`` and its missing ancestors; return the topmost one created (None: none)."""
    missing = [p for p in (parent, *parent.parents) if not p.exists()]
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsError(
            f"{target}: cannot create the folder {exc.filename or parent} ({exc.strerror})"
        ) from None
    return missing[-1] if missing else None


def _remove_made(top: Path | None, below: Path | None = None) -> None:
    """Remove the (empty) folders :func:`_make_parents` created, deepest first."""
    if top is None:
        return
    path = below
    while path is not None and path != top.parent:
        try:
            path.rmdir()
        except OSError:
            return
        path = path.parent


@dataclass
class StagedFolder:
    """A results folder being written beside its final place (see the module docstring).

    Attributes:
        parent: the folder it will be moved into.
        stem: the final name (without the ``-2, -3`` a default folder may get).
        path: the staging folder: write everything here.
        target: the final folder (``--out``), or None for a new default folder.
        force: replace a target that holds results.
        inside: the staging folder is inside the (empty) target.
        final: where the results are once committed.
    """

    parent: Path
    stem: str
    path: Path
    target: Path | None
    force: bool
    inside: bool = False
    _fd: int | None = field(default=None, repr=False)
    _made: Path | None = field(default=None, repr=False)
    final: Path | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
            return
        self.discard()
        if isinstance(exc, OSError) and exc.filename and Path(exc.filename).is_relative_to(self.path):
            raise self._failed_write(exc) from None

    def _failed_write(self, exc: OSError) -> ResultsError:
        """A file of the staging folder could not be written (a full disk): named as in its final place."""
        final = (self.target or self.parent / self.stem) / Path(exc.filename).relative_to(self.path)
        kept = f"{self.target} is as it was" if self.target and self.target.exists() else "nothing was kept"
        return ResultsError(f"{final}: cannot be written ({exc.strerror or exc}); {kept}")

    def commit(self) -> Path:
        """Move the complete results into place (replacing the old ones with ``force``)."""
        try:
            if self.target is None:
                self.final = self._commit_new()
            elif self.inside:
                self.final = self._commit_inside(self.target)
            else:
                self.final = self._commit_target(self.target)
        except BaseException:
            self.discard()
            raise
        _unlock(self._fd)
        self._fd = None
        return self.final

    def discard(self) -> None:
        """Remove the staging folder (the run failed or was interrupted); earlier results stay as they were."""
        shutil.rmtree(self.path, ignore_errors=True)
        _unlock(self._fd)
        self._fd = None
        _remove_made(self._made, self.parent)

    def _commit_new(self) -> Path:
        suffix = 1
        while True:
            candidate = self.parent / (self.stem if suffix == 1 else f"{self.stem}-{suffix}")
            suffix += 1
            try:
                candidate.mkdir()  # an existing folder, even an empty one, is never reused
            except FileExistsError:
                continue
            try:
                moved = _rename_into(self.path, candidate)
            except BaseException:
                candidate.rmdir()  # the name reserved above, still empty
                raise
            if moved:
                return candidate

    def _commit_inside(self, target: Path) -> Path:
        if any(p != self.path for p in target.iterdir()):
            raise _written_meanwhile(target)
        for entry in sorted(self.path.iterdir(), key=lambda p: p.name == MANIFEST):  # the manifest last
            os.rename(entry, target / entry.name)
        self.path.rmdir()
        return target

    def _commit_target(self, target: Path) -> Path:
        if _rename_into(self.path, target):
            return target
        if not self.force or foreign_entries(target):
            raise _written_meanwhile(target)
        held = _lock(target)
        if held is None:
            raise ResultsError(f"{target}: another newpower command is replacing these results; wait for it")
        aside = self.parent / f".{self.stem}.{ASIDE}-{os.getpid()}"
        try:
            os.rename(target, aside)  # the old results, whole, under the aside name (still locked)
            try:
                os.rename(self.path, target)  # the new results, whole, under the final name
            except OSError:
                os.rename(aside, target)
                raise
            shutil.rmtree(aside, ignore_errors=True)
        finally:
            _unlock(held)
        return target


def _written_meanwhile(target: Path) -> ResultsError:
    return ResultsError(
        f"{target}: another process wrote into this folder while the run went on; nothing was "
        "overwritten and the new results were discarded: choose a new --out folder"
    )


def _rename_into(source: Path, target: Path) -> bool:
    """Rename a folder onto ``target`` if that is missing or empty; False if it holds something."""
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return False
        raise ResultsError(f"{target}: cannot move the new results into place ({exc.strerror})") from None
    return True
