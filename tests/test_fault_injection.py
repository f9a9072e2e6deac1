"""Fault injection: kills, read-only and full disks, two writers, foreign folders (issue 10).

Each test snapshots the folder tree (names, sizes, modification times) before the fault and checks
afterwards that nothing outside the command's own files was touched and that earlier results are
intact. Kill moments are drawn from seeded generators, at events (a number of files written) rather
than wall-clock times alone, so they land in the same phases on a fast or a busy machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from folder_tree import foreign_folder, tree
from helpers import ROOT, WATTS
from research_toys import toy, write_toml

from sim.faces.cli import research
from sim.faces.cli.main import main
from sim.storage import sweep_store as store
from sim.storage.results import load_results

TINY = ["--set", "network.n=100", "--steps", "3"]
SWEEP = {
    "design": "latin_hypercube",
    "samples": 20,
    "replications": 2,
    "ranges": {"shocks.0.size": [0.0, 0.4]},
}


def visible(snapshot: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """A snapshot without the command's own hidden staging folders (``.<name>.incoming-<pid>``)."""
    return {k: v for k, v in snapshot.items() if ".incoming-" not in k.split("/")[0]}


def cli(*argv: object, cwd: Path, **popen) -> subprocess.Popen:
    """Start ``newpower`` in a child process (its own session, so its group can be killed)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, "-m", "sim.faces.cli.main", *map(str, argv)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        **popen,
    )


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float = 180) -> bool:
    """SIGKILL ``proc`` (and its group) once ``ready()``; False if it ended first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and not ready() and time.monotonic() < deadline:
        time.sleep(0.005)
    ended = proc.poll() is not None
    with_group(proc, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    return not ended


def with_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def files_under(parent: Path, pattern: str) -> int:
    """Files inside the folders of ``parent`` matching ``pattern`` (a staging folder being written)."""
    return sum(1 for folder in parent.glob(pattern) for p in folder.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def old_results(tmp_path_factory) -> Path:
    """A complete results folder of an earlier run (seed 1)."""
    folder = tmp_path_factory.mktemp("old") / "out"
    assert main(["run", str(WATTS), *TINY, "--seed", "1", "--out", str(folder)]) == 0
    return folder


# ------------------------------------------------------------------ SIGKILL


def test_sigkill_of_a_forced_run_leaves_the_old_results_intact(tmp_path, old_results):
    """``run --force`` killed at seeded random moments (while loading, and with k files of the new
    results written) never changes the old folder or its neighbours; the next run cleans up and replaces."""
    rng = np.random.default_rng(2024)
    parent = tmp_path / "parent"
    shutil.copytree(old_results, parent / "out")
    (parent / "neighbour.txt").write_text("mine")
    before = tree(parent)
    moments = [("seconds", float(rng.uniform(0.1, 1.5)))] + [
        ("files", int(k)) for k in sorted(rng.choice(np.arange(1, 8), size=2, replace=False))
    ]
    for kind, value in moments:
        proc = cli("run", WATTS, *TINY, "--seed", "2", "--out", parent / "out", "--force", cwd=tmp_path)
        start = time.monotonic()
        if kind == "seconds":
            killed = kill_when(proc, lambda start=start, value=value: time.monotonic() - start >= value)
        else:
            killed = kill_when(proc, lambda value=value: files_under(parent, ".out.incoming-*") >= value)
        assert killed, f"the run ended before it was killed ({kind} {value})"
        assert visible(tree(parent)) == before, f"killed at {kind} {value}"
    assert main(["run", str(WATTS), *TINY, "--seed", "2", "--out", str(parent / "out"), "--force"]) == 0
    assert sorted(p.name for p in parent.iterdir()) == ["neighbour.txt", "out"]
    assert load_results(parent / "out").manifest["seed"] == 2
    assert (parent / "neighbour.txt").stat().st_mtime_ns == before["neighbour.txt"][1]


def sweep_scenario(tmp_path: Path) -> Path:
    return write_toml(toy(steps=20, sweep=SWEEP), tmp_path / "toy.toml")


def comparable(folder: Path) -> list[pd.DataFrame]:
    """The committed runs (without wall-clock times), their time series and the aggregate table."""
    return [
        store.read_summaries(folder).drop(columns="run_seconds"),
        store.read_timeseries(folder),
        pd.read_parquet(folder / store.POINTS_SUMMARY),
    ]


def test_sigkill_of_a_sweep_and_a_second_sweep_on_its_folder(tmp_path):
    """A second sweep into a folder another sweep is writing is refused and touches nothing; the first,
    killed at a seeded random moment, resumes to tables bit-identical to an uninterrupted sweep."""
    path = sweep_scenario(tmp_path)
    out = tmp_path / "killed"
    k = int(np.random.default_rng(7).integers(3, 20))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    argv = ["sweep", str(path), "--out", str(out), "--workers", "0", "--commit-every", "0", "--no-progress"]
    argv += ["--runs-per-task", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.faces.cli.research", *argv, "--no-plot"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while proc.poll() is None and time.monotonic() < deadline:
            if len(list((out / "summaries").glob("part-*.parquet"))) >= k:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the sweep ended before it could be stopped"
        with_group(proc, signal.SIGSTOP)  # frozen, holding its lock, so the tree stays still
        before = tree(out)
        assert research.main([*argv, "--no-plot"]) == 2
        assert tree(out) == before
    finally:
        with_group(proc, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stderr.close()
    assert research.main([*argv, "--no-plot"]) == 0
    reference = tmp_path / "reference"
    assert (
        research.main(
            ["sweep", str(path), "--out", str(reference), "--workers", "0", "--no-progress", "--no-plot"]
        )
        == 0
    )
    for a, b in zip(comparable(out), comparable(reference), strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


# ------------------------------------------------------------------ disks


@pytest.fixture
def tmpfs(tmp_path) -> Iterator[Callable[[str, str], Path]]:
    """Mount tiny tmpfs file systems under ``tmp_path`` (root only; skipped where ``mount`` fails)."""
    mounted: list[Path] = []

    def mount(name: str, options: str) -> Path:
        point = tmp_path / name
        point.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True, check=False
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


def test_a_full_disk_names_the_file_and_keeps_the_old_results(tmp_path, tmpfs, old_results, capsys):
    """On a full disk a forced run fails with one line naming the file it could not write; the old
    results are intact and nothing of the new run is left behind."""
    if can_mount():
        pages = sum(-(-p.stat().st_size // 4096) * 4096 for p in old_results.rglob("*") if p.is_file())
        disk = tmpfs(
            "disk", f"size={(pages + pages // 2) // 1024}k"
        )  # room for the old results, not two copies
        shutil.copytree(old_results, disk / "out")
        before = tree(disk)
        code = main(["run", str(WATTS), *TINY, "--seed", "2", "--out", str(disk / "out"), "--force"])
        err = capsys.readouterr().err
        reason = "No space left on device"
    else:  # no tmpfs: a limit on the size of any file the child writes
        import resource

        disk = tmp_path / "disk"
        shutil.copytree(old_results, disk / "out")
        before = tree(disk)

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))

        proc = cli(
            "run",
            WATTS,
            *TINY,
            "--seed",
            "2",
            "--out",
            disk / "out",
            "--force",
            cwd=tmp_path,
            preexec_fn=limit,
        )
        code, err = proc.wait(timeout=300), proc.stderr.read().decode()
        proc.stderr.close()
        reason = "File too large"
    assert code == 2, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("newpower: error: ") and reason in line and str(disk) in line, err
    named = Path(line.split(": ")[2])
    assert named.is_relative_to(disk / "out") and named.suffix, line  # the file, in its final place
    assert tree(disk) == before


def test_a_read_only_folder_is_refused_and_untouched(tmp_path, tmpfs, old_results, capsys):
    """A read-only results folder (and a read-only parent for a new one): one line, nothing touched."""
    if can_mount():
        disk = tmpfs("ro", "size=4m")
        shutil.copytree(old_results, disk / "out")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True, capture_output=True)
    else:
        disk = tmp_path / "ro"
        shutil.copytree(old_results, disk / "out")
        for folder in (disk / "out", disk):
            folder.chmod(0o555)
    before = tree(disk)
    try:
        for target, force in ((disk / "out", ["--force"]), (disk / "new", [])):
            code = main(["run", str(WATTS), *TINY, "--out", str(target), *force])
            err = capsys.readouterr().err
            assert code == 2 and err.startswith("newpower: error: ") and len(err.strip().splitlines()) == 1, (
                err
            )
            assert str(target) in err and ("read-only" in err.lower() or "Permission denied" in err), err
        assert tree(disk) == before
    finally:
        if not can_mount():
            for folder in (disk, disk / "out"):
                folder.chmod(0o755)


# ------------------------------------------------------------------ folders that are not the command's


def test_out_into_a_foreign_folder_touches_nothing(tmp_path, capsys):
    """``run``, ``run --force``, ``audit`` and ``sweep`` into a folder of someone else's files: refused,
    and not one entry created, deleted or changed (temporary-looking files and part files included)."""
    foreign = foreign_folder(tmp_path / "v")
    before = tree(tmp_path)
    path = sweep_scenario(tmp_path)
    before[path.name] = (path.stat().st_size, path.stat().st_mtime_ns)
    commands = [
        lambda: main(["run", str(WATTS), *TINY, "--out", str(foreign)]),
        lambda: main(["run", str(WATTS), *TINY, "--out", str(foreign), "--force"]),
        lambda: main(
            ["audit", str(ROOT / "scenarios" / "castle_vs_crowd.toml"), *TINY, "--out", str(foreign)]
        ),
        lambda: research.main(["sweep", str(path), "--workers", "0", "--no-progress", "--out", str(foreign)]),
    ]
    for command in commands:
        assert command() == 2
        err = capsys.readouterr().err
        line = err.strip().splitlines()[-1]
        assert line.startswith("newpower: error: ") and str(foreign) in line and "Traceback" not in err, err
        assert tree(tmp_path) == before
