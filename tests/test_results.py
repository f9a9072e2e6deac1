"""Results folders and replications: atomic writes, Parquet and JSON, folder rules, seeds, 95% intervals."""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from folder_tree import tree
from scipy import stats

from sim import write_results
from sim.figures.layout import fit_unit_disk, induced_edges, network_layout
from sim.runs.folder import snapshot_period
from sim.runs.replicate import (
    aggregate_summaries,
    aggregate_timeseries,
    replication_seeds,
    run_replications,
    stack,
)
from sim.stats import interval
from sim.storage import folders, results
from sim.storage.files import atomic_write, temp_target, write_json, write_parquet
from sim.storage.folders import ResultsError, check_target, create_folder
from sim.storage.results import load_results

#: t(0.975, 2), the 95% two-sided quantile of Student's t with 2 degrees of freedom (tables: 4.303).
T_975_2 = 4.302652729911275


# ------------------------------------------------------------------ atomic writes


def test_atomic_write_replaces_whole_files(tmp_path):
    """The final name appears only once the file is complete; the temporary name is gone."""
    path = tmp_path / "data.txt"
    atomic_write(path, lambda tmp: tmp.write_text("first"))
    atomic_write(path, lambda tmp: tmp.write_text("second"))
    assert path.read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["data.txt"]


def test_killed_writer_leaves_no_file_that_looks_complete(tmp_path):
    """A writer that dies half way leaves neither a final file nor its temporary file."""
    path = tmp_path / "timeseries.parquet"

    def dies(tmp):
        tmp.write_bytes(b"PAR1 half a file")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, dies)
    assert list(tmp_path.iterdir()) == []


def test_failed_rewrite_keeps_the_old_file(tmp_path):
    """When a rewrite fails, the previous complete file is still there, unchanged."""
    path = tmp_path / "summary.json"
    write_json({"a": 1}, path)
    with pytest.raises(RuntimeError):
        atomic_write(path, lambda tmp: (tmp.write_text("{"), (_ for _ in ()).throw(RuntimeError("disk"))))
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_parquet_round_trip_without_float_dictionaries(tmp_path):
    """Parquet reads back equal; float columns are not dictionary-encoded, text columns are."""
    frame = pd.DataFrame({"step": np.arange(50), "x": np.linspace(0, 1, 50), "quadrant": ["Castle"] * 50})
    path = write_parquet(frame, tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame, check_dtype=False)
    meta = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
    assert not any("DICTIONARY" in e for e in encodings["x"])
    assert any("DICTIONARY" in e for e in encodings["quadrant"])


def test_json_is_strict(tmp_path):
    """NaN and infinities are written as null; NumPy scalars and tuples as plain JSON."""
    path = write_json(
        {"a": math.nan, "b": np.int64(3), "c": (1.5, math.inf), "d": np.float32(0.5)}, tmp_path / "x.json"
    )
    assert json.loads(path.read_text()) == {"a": None, "b": 3, "c": [1.5, None], "d": 0.5}


def test_a_full_disk_names_the_file(tmp_path):
    """A writer failing without a file name (pyarrow, matplotlib on a full disk) is reported with the path."""

    def full(tmp):
        tmp.write_bytes(b"PAR1")
        raise OSError(errno.ENOSPC, "Error writing bytes to file")

    with pytest.raises(OSError) as info:
        atomic_write(tmp_path / "timeseries.parquet", full)
    assert info.value.filename == str(tmp_path / "timeseries.parquet") and info.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_temporary_names_are_recognised_exactly():
    """Only names shaped like atomic_write's temporary files count as such (with their final name)."""
    assert temp_target(".power.tmp-123.svg") == "power.svg"
    assert temp_target(".part-000001.tmp-9.parquet") == "part-000001.parquet"
    for name in ("power.svg", "notes.tmp-1.txt", ".power.tmp-x.svg", ".hidden"):
        assert temp_target(name) is None, name


def test_parquet_byte_stream_split_option(tmp_path):
    """The one Parquet writer also writes the sweep store's encoding (floats with BYTE_STREAM_SPLIT)."""
    frame = pd.DataFrame({"x": np.linspace(0, 1, 20), "k": ["a"] * 20})
    path = write_parquet(frame, tmp_path / "t.parquet", byte_stream_split=True)
    meta = pq.ParquetFile(path).metadata.row_group(0)
    assert "BYTE_STREAM_SPLIT" in meta.column(0).encodings
    pd.testing.assert_frame_equal(pd.read_parquet(path), frame)


def test_json_takes_mappings_and_sets(tmp_path):
    """The one JSON writer also takes read-only mappings, sets and any object (as its text)."""
    from types import MappingProxyType

    path = write_json({"m": MappingProxyType({"a": 1}), "s": {2}, "o": object}, tmp_path / "x.json")
    data = json.loads(path.read_text())
    assert data["m"] == {"a": 1} and data["s"] == [2] and data["o"].startswith("<class")


# ------------------------------------------------------------------ folders


def fake_results(folder, text="old"):
    """A small complete results folder."""
    (folder / "figures").mkdir(parents=True)
    for name in ("timeseries.parquet", "figures/power.png", "manifest.json"):
        (folder / name).write_text(text)
    return folder


def test_default_folders_never_collide(tmp_path, monkeypatch):
    """Default folders are results/<name>-<stamp>, then -2, -3 when the stamp repeats (an empty one too)."""
    monkeypatch.setattr("sim.storage.folders.time.strftime", lambda fmt, *a: "20250101-000000")
    (tmp_path / "my_scenario_x-20250101-000000-2").mkdir()
    made = []
    for _ in range(3):
        with create_folder("my scenario/x", base=tmp_path) as staged:
            (staged.path / "manifest.json").write_text("{}")
        made.append(staged.final.name)
    assert made == [
        "my_scenario_x-20250101-000000",
        "my_scenario_x-20250101-000000-3",
        "my_scenario_x-20250101-000000-4",
    ]
    assert not any((tmp_path / "my_scenario_x-20250101-000000-2").iterdir())


def test_out_folder_rules(tmp_path):
    """--out: new or empty folders are fine; results need force; other files or a file never work."""
    check_target(tmp_path / "new", force=False)
    (tmp_path / "empty").mkdir()
    check_target(tmp_path / "empty", force=False)
    full = fake_results(tmp_path / "full")
    with pytest.raises(ResultsError, match="--force"):
        check_target(full, force=False)
    check_target(full, force=True)
    (full / "keep.txt").write_text("mine")
    before = tree(tmp_path)
    with pytest.raises(ResultsError, match=r"not newpower results \(keep.txt\)"):
        check_target(full, force=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ResultsError, match="file"):
        check_target(tmp_path / "file", force=True)
    assert tree(tmp_path) == {**before, "file": (1, (tmp_path / "file").stat().st_mtime_ns)}


def test_out_through_a_link_or_dot_writes_into_the_folder_it_names(tmp_path, monkeypatch):
    """``--out link`` (a symbolic link to an empty folder) and ``--out .`` write into the folder itself."""
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with create_folder("s", tmp_path / "link") as staged:
        (staged.path / "manifest.json").write_text("{}")
    assert (tmp_path / "link").is_symlink() and (tmp_path / "real" / "manifest.json").is_file()
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    inode = os.stat(".").st_ino
    with create_folder("s", ".") as staged:
        assert staged.path.parent == tmp_path / "here"  # an empty folder keeps itself: staged inside
        (staged.path / "figures").mkdir()
        (staged.path / "manifest.json").write_text("{}")
    assert staged.final == tmp_path / "here" and sorted(os.listdir(".")) == ["figures", "manifest.json"]
    assert os.stat(".").st_ino == inode == os.stat(tmp_path / "here").st_ino


def test_results_are_written_beside_and_moved_in_only_when_complete(tmp_path):
    """While a forced run writes, the old folder is untouched; after the commit it is the new one, whole."""
    old = fake_results(tmp_path / "out")
    before = tree(old)
    with create_folder("s", old, force=True) as staged:
        assert staged.path.parent == tmp_path and staged.path.name.startswith(".out.incoming-")
        (staged.path / "manifest.json").write_text("new")
        assert tree(old) == before
    assert staged.final == old
    assert sorted(tree(old)) == ["manifest.json"] and (old / "manifest.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failed_run_leaves_the_old_results_and_nothing_else(tmp_path):
    """An exception while writing discards the staging folder; the old results stay as they were."""
    old = fake_results(tmp_path / "out")
    before = tree(tmp_path)
    with pytest.raises(RuntimeError), create_folder("s", old, force=True) as staged:
        (staged.path / "manifest.json").write_text("new")
        raise RuntimeError("disk")
    assert tree(tmp_path) == before
    with pytest.raises(RuntimeError), create_folder("s", tmp_path / "a" / "b" / "c") as staged:
        raise RuntimeError("disk")
    assert tree(tmp_path) == before  # the parents it made are gone too
    full = r"out/figures/x.png: cannot be written \(No space left on device\); .*out is as it was"
    with pytest.raises(ResultsError, match=full), create_folder("s", old, force=True) as staged:
        raise OSError(errno.ENOSPC, "No space left on device", str(staged.path / "figures" / "x.png"))
    assert tree(tmp_path) == before


def test_leftovers_of_a_killed_run_are_settled(tmp_path):
    """A staging folder whose process died is removed; one a live process holds, or one with other
    files in it, is left alone (and a live one for the same target refuses the new run)."""
    stale = fake_results(tmp_path / ".out.incoming-999999", "half")
    notes = []
    check_target(tmp_path / "out", force=False, notify=notes.append)
    assert not stale.exists() and len(notes) == 1 and "interrupted run" in notes[0]
    live = fake_results(tmp_path / ".out.incoming-999998", "half")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        check_target(tmp_path / "out", force=False)
        assert live.exists()
        with pytest.raises(ResultsError, match="another newpower run"):
            create_folder("s", tmp_path / "out")
    finally:
        os.close(fd)
    (live / "notes.txt").write_text("mine")
    check_target(tmp_path / "out", force=False)
    assert (live / "notes.txt").exists()
    empty = tmp_path / "empty"  # a run staged inside an empty folder, killed
    fake_results(empty / ".empty.incoming-999997", "half")
    check_target(empty, force=False)
    assert list(empty.iterdir()) == []


def test_an_interrupted_swap_is_undone_or_finished(tmp_path):
    """Killed between its two renames: the old results are renamed back; killed after: the aside is removed."""
    aside = fake_results(tmp_path / ".out.replaced-999999", "old")
    with pytest.raises(ResultsError, match="out.replaced-999999"):
        load_results(tmp_path / "out")  # says where the results are
    with pytest.raises(ResultsError, match="holds results"):
        check_target(tmp_path / "out", force=False)  # the old results are back, and refused as such
    assert (tmp_path / "out" / "manifest.json").read_text() == "old" and not aside.exists()
    aside = fake_results(tmp_path / ".out.replaced-999999", "older")
    check_target(tmp_path / "out", force=True)
    assert not aside.exists() and (tmp_path / "out" / "manifest.json").read_text() == "old"


def test_a_read_only_folder_is_refused(tmp_path, monkeypatch):
    """A folder the user cannot write is refused before anything is created."""
    fake_results(tmp_path / "out")
    monkeypatch.setattr(folders.os, "access", lambda path, mode: False)
    with pytest.raises(ResultsError, match="read-only"):
        check_target(tmp_path / "out", force=True)


def test_load_results_refuses_what_is_not_a_results_folder(tmp_path):
    """No folder, no manifest, or a foreign manifest: a clear ResultsError (a SimError)."""
    with pytest.raises(ResultsError, match="no such results folder"):
        load_results(tmp_path / "missing")
    with pytest.raises(ResultsError, match="manifest.json"):
        load_results(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "something else"}')
    with pytest.raises(ResultsError, match="not a newpower results manifest"):
        load_results(tmp_path)
    (tmp_path / "manifest.json").write_text("{broken")
    with pytest.raises(ResultsError, match="unreadable"):
        load_results(tmp_path)


def test_write_and_load_round_trip(tmp_path):
    """A hand-made results folder reads back: manifest, time series, bands for one run."""
    frame = pd.DataFrame({"run": 0, "seed": 5, "step": [0, 1, 2], "active_fraction": [0.1, 0.2, 0.3]})
    write_parquet(frame, tmp_path / results.TIMESERIES)
    write_json({"runs": [{"run": 0, "seed": 5}]}, tmp_path / results.SUMMARY)
    results.write_manifest(tmp_path, {"kind": "run", "seeds": [5]})
    loaded = load_results(tmp_path)
    assert loaded.n_runs == 1 and loaded.manifest["files"]["timeseries.parquet"] > 0
    band = loaded.band("active_fraction")
    assert band["mean"].tolist() == [0.1, 0.2, 0.3] and band["ci_low"].isna().all()


def test_git_state_outside_a_repository(tmp_path):
    """Outside a git work tree there is no commit to record."""
    assert results.git_state(tmp_path) is None


def test_snapshot_period():
    """About 40 evenly spaced snapshots, at least every step for short runs."""
    assert snapshot_period(10) == 1
    assert snapshot_period(150) == 4
    assert snapshot_period(0) == 1


def test_write_results_from_python(tmp_path, watts_small):
    """The Python API writes a complete folder from seeds or from finished runs; the same runs give the
    same files; an audit folder has its table and compass."""
    a = write_results(watts_small, [5, 6], tmp_path / "a", steps=4)
    runs = run_replications(watts_small, [5, 6], steps=4, snapshot_every=snapshot_period(4))
    b = write_results(watts_small, runs, tmp_path / "b", figures=False)
    first, second = load_results(a), load_results(b)
    assert (
        first.manifest["seeds"] == second.manifest["seeds"] == [5, 6]
        and first.manifest["seeding"] == "as given"
    )
    pd.testing.assert_frame_equal(first.timeseries, second.timeseries)
    pd.testing.assert_frame_equal(first.aggregate, second.aggregate)
    assert first.manifest["figures"] and not second.manifest["figures"]
    assert first.manifest["command"] is None and first.manifest["steps"] == 4
    with pytest.raises(ResultsError, match="--force"):
        write_results(watts_small, [5], tmp_path / "a", steps=2)
    assert load_results(a).manifest["seeds"] == [5, 6]


# ------------------------------------------------------------------ seeds and intervals


def test_replication_seeds():
    """One run uses the root seed; several use distinct, reproducible, non-negative 63-bit seeds."""
    assert replication_seeds(42, 1) == [42]
    seeds = replication_seeds(42, 5)
    assert seeds == replication_seeds(42, 5)
    assert len(set(seeds)) == 5 and all(0 <= s < 2**63 for s in seeds)
    assert replication_seeds(43, 5) != seeds
    assert replication_seeds(42, 6)[:5] == seeds  # adding runs keeps the earlier seeds


def test_interval_known_answer():
    """Values 1, 2, 3: mean 2, sd 1, 95% interval 2 +/- t(0.975, 2) / sqrt(3)."""
    got = interval([1.0, 2.0, 3.0])
    half = T_975_2 / math.sqrt(3)
    assert stats.t.ppf(0.975, 2) == pytest.approx(T_975_2)
    assert got == pytest.approx({"mean": 2.0, "sd": 1.0, "ci_low": 2 - half, "ci_high": 2 + half, "n": 3})
    assert got["ci_low"] == pytest.approx(-0.4841, abs=1e-4)
    assert got["ci_high"] == pytest.approx(4.4841, abs=1e-4)


def test_interval_is_nan_safe():
    """NaN values are left out (n counts the rest); one value has no interval; none has no mean."""
    assert interval([1.0, math.nan, 3.0])["n"] == 2
    assert interval([1.0, math.nan, 3.0])["mean"] == 2.0
    one = interval([4.0])
    assert one["mean"] == 4.0 and math.isnan(one["sd"]) and math.isnan(one["ci_low"]) and one["n"] == 1
    none = interval([math.nan])
    assert math.isnan(none["mean"]) and none["n"] == 0


def test_aggregate_timeseries_known_answer():
    """Three runs whose values at a step are 1, 2, 3 give mean 2 and 2 +/- t/sqrt(3); NaNs are skipped."""
    frames = [
        pd.DataFrame(
            {
                "step": [0, 1],
                "x": [v, 10.0],
                "y": [v, math.nan if v == 3 else v],
                "quadrant": ["Castle", "Crowd"],
            }
        )
        for v in (1.0, 2.0, 3.0)
    ]
    stacked = stack(frames, [7, 8, 9])
    assert stacked.columns[:2].tolist() == ["run", "seed"] and stacked["seed"].tolist() == [7, 7, 8, 8, 9, 9]
    agg = aggregate_timeseries(stacked).set_index(["measure", "step"])
    assert set(agg.index.get_level_values("measure")) == {"x", "y"}
    half = T_975_2 / math.sqrt(3)
    assert agg.loc[("x", 0), "mean"] == 2.0
    assert agg.loc[("x", 0), "ci_low"] == pytest.approx(2 - half)
    assert agg.loc[("x", 0), "ci_high"] == pytest.approx(2 + half)
    assert agg.loc[("x", 1), "sd"] == 0.0 and agg.loc[("x", 1), "ci_high"] == 10.0
    assert agg.loc[("y", 1), "n"] == 2 and agg.loc[("y", 1), "mean"] == 1.5
    half2 = stats.t.ppf(0.975, 1) * np.std([1.0, 2.0], ddof=1) / math.sqrt(2)
    assert agg.loc[("y", 1), "ci_high"] == pytest.approx(1.5 + half2)


def test_aggregate_summaries_numbers_and_text():
    """Numbers get an interval; text (a quadrant) gets counts; NaN (as None) is left out."""
    runs = [
        {"a": 1.0, "q": "Crowd", "h": None},
        {"a": 2.0, "q": "Crowd", "h": 4.0},
        {"a": 3.0, "q": "Castle", "h": 6.0},
    ]
    agg = aggregate_summaries(runs)
    assert agg["a"]["mean"] == 2.0 and agg["a"]["ci_high"] == pytest.approx(2 + T_975_2 / math.sqrt(3))
    assert agg["q"] == {"counts": {"Crowd": 2, "Castle": 1}, "n": 3}
    assert agg["h"]["n"] == 2 and agg["h"]["mean"] == 5.0


# ------------------------------------------------------------------ layout


def test_layout_small_graph_whole_and_reproducible():
    """Small graphs are laid out whole, inside the unit disk, the same way every time."""
    import networkx as nx

    adjacency = nx.to_scipy_sparse_array(nx.watts_strogatz_graph(120, 4, 0.1, seed=1), format="csr")
    a, b = network_layout(adjacency), network_layout(adjacency)
    assert not a.sampled and a.nodes.tolist() == list(range(120))
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert np.hypot(a.x, a.y).max() <= 1.0 + 1e-12


def test_layout_samples_large_graphs():
    """Large graphs are drawn through a random sample and the ties among its members."""
    import networkx as nx

    adjacency = nx.to_scipy_sparse_array(nx.fast_gnp_random_graph(600, 0.02, seed=2), format="csr")
    layout = network_layout(adjacency, max_nodes=300, sample=200)
    assert layout.sampled and layout.nodes.size == 200 and layout.describe()["n_total"] == 600
    src, dst = induced_edges(adjacency, layout.nodes)
    assert np.isin(src, layout.nodes).all() and np.isin(dst, layout.nodes).all()
    assert all(adjacency[s, d] for s, d in zip(src[:20], dst[:20], strict=True))


def test_fit_unit_disk_pulls_in_stragglers():
    """One far-away node does not shrink the drawing: it is pulled onto the rim."""
    x = np.r_[np.linspace(-1, 1, 400), 100.0]
    y = np.r_[np.zeros(400), 0.0]
    fx, fy = fit_unit_disk(x, y)
    assert np.hypot(fx, fy).max() == pytest.approx(1.0)
    assert fx[:400].max() - fx[:400].min() > 1.5


def test_spring_layout_is_reproducible_keeps_ties_short_and_leaves_global_random_alone():
    """The igraph spring layout gives the same picture every time, puts tied participants near each
    other, and neither reads nor moves Python's or NumPy's global random state."""
    import random

    import networkx as nx

    adjacency = nx.to_scipy_sparse_array(nx.barabasi_albert_graph(300, 2, seed=3), format="csr")
    random.seed(7)
    np.random.seed(7)
    before = (random.random(), np.random.random())
    random.seed(7)
    np.random.seed(7)
    a, b = network_layout(adjacency, kind="barabasi_albert"), network_layout(adjacency)
    assert (random.random(), np.random.random()) == before
    assert a.method == "spring" and np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    src, dst = induced_edges(adjacency, a.nodes)
    tie = np.hypot(a.x[src] - a.x[dst], a.y[src] - a.y[dst]).mean()
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, 300, 2000), rng.integers(0, 300, 2000)
    assert tie < 0.5 * np.hypot(a.x[i] - a.x[j], a.y[i] - a.y[j]).mean()
