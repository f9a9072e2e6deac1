"""Sweeps: designs, seeds, the Parquet dataset, resume (after a real SIGKILL), failed runs, figures, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from folder_tree import foreign_folder, tree
from helpers import ROOT
from research_toys import toy, write_toml

from sim import load_scenario, run, scenario_from_dict
from sim.errors import ScenarioError, SimError
from sim.faces.cli.research import main, parse_factors, parse_ranges
from sim.figures.sweep import is_sweep_dir, plot_sweep
from sim.research.plan import plan_sweep, run_id, run_seed
from sim.research.sweep import run_sweep
from sim.storage import sweep_store as store

FACTORIAL = {
    "design": "factorial",
    "replications": 2,
    "factors": {"shocks.0.size": [0.1, 0.3], "dynamics.fickleness": [0.02, 0.1]},
}


def toy_scenario(tmp_path: Path, **tables) -> Path:
    return write_toml(toy(**tables), tmp_path / "toy.toml")


def comparable(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Summaries and time series sorted by run (and step), without the wall-clock column."""
    summaries = store.read_summaries(folder).drop(columns="run_seconds")
    series = store.read_timeseries(folder)
    return (
        summaries.sort_values("run_id").reset_index(drop=True),
        series.sort_values(["run_id", "step"]).reset_index(drop=True),
    )


def raw_run_ids(folder: Path) -> list[str]:
    """Every run id in every summary part on disk, duplicates included."""
    return [
        rid
        for path in sorted((folder / "summaries").glob("part-*.parquet"))
        for rid in pq.read_table(path, columns=["run_id"])["run_id"].to_pylist()
    ]


# ------------------------------------------------------------------ designs and seeds


def test_factorial_design_expands_lists_with_independent_recorded_seeds():
    """2 x 2 factors x 2 replications: 8 runs, distinct seeds, each a pure function of (root, point, replicate)."""
    plan = plan_sweep(scenario_from_dict(toy(sweep=FACTORIAL)))
    assert len(plan.points) == 4 and plan.n_runs == 8
    assert {tuple(sorted(p.overrides.items())) for p in plan.points} == {
        (("dynamics.fickleness", f), ("shocks.0.size", s)) for s in (0.1, 0.3) for f in (0.02, 0.1)
    }
    runs = list(plan.runs())
    assert len({r.seed for r in runs}) == 8 and len({r.run_id for r in runs}) == 8
    for r in runs:
        assert r.seed == run_seed(plan.root_seed, r.point_id, r.replicate)
        assert r.run_id == run_id(r.point_id, r.overrides, r.replicate, r.seed)
    other_root = plan_sweep(scenario_from_dict(toy(sweep=FACTORIAL)), root_seed=99)
    assert not {r.seed for r in runs} & {r.seed for r in other_root.runs()}


@pytest.mark.parametrize("design", ["latin_hypercube", "sobol"])
def test_sampled_designs_are_seeded_within_ranges_and_round_integer_keys(design):
    """Sampled points stay in their ranges, repeat for the same root seed, and integer keys are ints."""
    sweep = {
        "design": design,
        "samples": 16,
        "ranges": {"shocks.0.step": [1, 10], "shocks.0.size": [0.0, 0.4], "steps": [10, 20]},
    }
    sc = scenario_from_dict(toy(sweep=sweep))
    plan = plan_sweep(sc)
    assert len(plan.points) == 16
    for p in plan.points:
        assert isinstance(p.overrides["shocks.0.step"], int) and 1 <= p.overrides["shocks.0.step"] <= 10
        assert isinstance(p.overrides["steps"], int)
        assert isinstance(p.overrides["shocks.0.size"], float) and 0 <= p.overrides["shocks.0.size"] <= 0.4
    assert [p.overrides for p in plan_sweep(sc).points] == [p.overrides for p in plan.points]
    assert [p.overrides for p in plan_sweep(sc, root_seed=5).points] != [p.overrides for p in plan.points]
    sizes = sorted(p.overrides["shocks.0.size"] for p in plan.points)
    assert np.histogram(sizes, bins=4, range=(0, 0.4))[0].min() >= 2  # space-filling, not clumped


def test_a_sampled_design_crosses_its_listed_factors():
    """Ranges sampled, lists crossed: every sampled point at every listed value."""
    sweep = {
        "design": "latin_hypercube",
        "samples": 3,
        "ranges": {"shocks.0.size": [0.0, 0.4]},
        "factors": {"organizations.Hub.strategy": ["status_quo", "respect_community"]},
    }
    plan = plan_sweep(scenario_from_dict(toy(sweep=sweep)))
    assert len(plan.points) == 6
    assert len({p.overrides["shocks.0.size"] for p in plan.points}) == 3


def test_design_errors_are_clear():
    """A factorial design with ranges, or with nothing to vary, is refused naming the key."""
    with pytest.raises(ScenarioError, match="sweep.ranges"):
        plan_sweep(
            scenario_from_dict(toy(sweep={"design": "factorial", "ranges": {"shocks.0.size": [0, 1]}}))
        )
    with pytest.raises(ScenarioError, match="nothing to vary"):
        plan_sweep(scenario_from_dict(toy()))


def test_cli_factor_and_range_parsing():
    """--factor takes comma lists or TOML arrays; --range takes LOW:HIGH or [LOW, HIGH]."""
    assert parse_factors(["a.b=0.1,0.2", 'c.d=["x", "y"]', "e.f=3"]) == {
        "a.b": [0.1, 0.2],
        "c.d": ["x", "y"],
        "e.f": [3],
    }
    assert parse_ranges(["a.b=0:0.4", "c.d=[1, 2]"]) == {"a.b": [0, 0.4], "c.d": [1, 2]}
    with pytest.raises(ScenarioError):
        parse_ranges(["a.b=0.4"])


# ------------------------------------------------------------------ the dataset


def test_sweep_writes_one_row_per_run_and_per_run_step_matching_direct_runs(tmp_path):
    """Summaries and time series equal ``run(scenario.with_overrides(point), seed)`` for each recorded seed."""
    sc = scenario_from_dict(toy(sweep=FACTORIAL, steps=12))
    plan = plan_sweep(sc)
    report = run_sweep(plan, tmp_path / "out", workers=0, progress=False)
    assert (report.n_done, report.n_failed, report.n_skipped) == (8, 0, 0)
    summaries, series = comparable(tmp_path / "out")
    assert len(summaries) == 8 and len(series) == 8 * 13
    assert summaries["seed"].nunique() == 8
    row = summaries.iloc[3]
    point = {k: row[f"param:{k}"] for k in ("shocks.0.size", "dynamics.fickleness")}
    direct = run(sc.with_overrides(point), seed=int(row["seed"]))
    assert row["Hub.desertion_share"] == direct.summary["Hub.desertion_share"]
    assert row["Hub.final_quadrant"] == direct.summary["Hub.final_quadrant"]
    mine = series[series["run_id"] == row["run_id"]]
    assert np.array_equal(mine["Hub.members"].to_numpy(), direct.timeseries["Hub.members"].to_numpy())
    stats = pd.read_parquet(tmp_path / "out" / store.POINTS_SUMMARY)
    one = stats[(stats["point_id"] == row["point_id"]) & (stats["measure"] == "Hub.desertion_share")].iloc[0]
    values = summaries.loc[summaries["point_id"] == row["point_id"], "Hub.desertion_share"]
    assert one["n"] == 2 and one["mean"] == pytest.approx(values.mean())
    assert one["sd"] == pytest.approx(values.std(ddof=1))
    assert one["ci_low"] <= one["mean"] <= one["ci_high"]
    manifest = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert manifest["root_seed"] == sc.seed and manifest["n_runs"] == 8 and manifest["versions"]["numpy"]


def test_every_thins_the_time_series_keeping_the_last_step(tmp_path):
    """``every=5`` on 12 steps keeps steps 0, 5, 10 and 12."""
    plan = plan_sweep(scenario_from_dict(toy(sweep=FACTORIAL, steps=12)), every=5)
    run_sweep(plan, tmp_path / "out", workers=0, progress=False)
    steps = store.read_timeseries(tmp_path / "out").groupby("run_id")["step"].apply(list)
    assert all(s == [0, 5, 10, 12] for s in steps)


def test_resume_runs_only_missing_runs_and_ignores_uncommitted_parts(tmp_path):
    """A half-written batch (time series without its summary part, temp files) is cleaned; only missing runs run."""
    sc = scenario_from_dict(toy(sweep=FACTORIAL, steps=8))
    plan = plan_sweep(sc)
    out = tmp_path / "out"
    run_sweep(plan, out, workers=0, progress=False, commit_seconds=0)
    reference = comparable(out)
    parts = sorted((out / "summaries").glob("part-*.parquet"))
    assert len(parts) == 8  # one commit per run with commit_seconds=0
    for path in parts[5:]:  # as if killed after 5 commits and during the 6th
        path.unlink()
    (out / "summaries" / ".part-000099.parquet.tmp-1").write_bytes(b"half")
    report = run_sweep(plan, out, workers=0, progress=False)
    assert (report.n_skipped, report.n_done) == (5, 3)
    assert sorted(raw_run_ids(out)) == sorted(set(raw_run_ids(out)))
    assert not list(out.rglob("*.tmp-*"))
    for a, b in zip(comparable(out), reference, strict=True):
        pd.testing.assert_frame_equal(a, b)
    again = run_sweep(plan, out, workers=0, progress=False)
    assert (again.n_skipped, again.n_done) == (8, 0)


def test_a_folder_with_another_sweep_or_other_files_is_refused(tmp_path, capsys):
    """Never overwrite: another design or root seed, or a non-sweep folder, exits 2 with one line."""
    path = toy_scenario(tmp_path, sweep={**FACTORIAL, "replications": 1}, steps=5)
    out = tmp_path / "out"
    base = ["sweep", str(path), "--out", str(out), "--workers", "0", "--no-progress", "--no-plot"]
    assert main(base) == 0
    capsys.readouterr()
    assert main([*base, "--seed", "123"]) == 2
    err = capsys.readouterr().err
    assert "holds a different sweep" in err and "root seed" in err and "Traceback" not in err
    assert main([*base, "--factor", "shocks.0.size=0.1,0.2,0.3"]) == 2
    assert "points" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert main(["sweep", str(path), "--out", str(other), "--workers", "0", "--no-progress"]) == 2
    assert "holds no sweep" in capsys.readouterr().err
    assert (other / "notes.txt").read_text() == "mine"


def test_a_foreign_folder_is_refused_before_anything_is_created_or_deleted(tmp_path, capsys):
    """The repro of issue 10: temporary-looking files, a part file and notes in a folder that holds no
    sweep: refused, and not one entry created, deleted or changed."""
    path = toy_scenario(tmp_path, sweep={**FACTORIAL, "replications": 1}, steps=3)
    foreign = foreign_folder(tmp_path / "v")
    before = tree(foreign)
    assert main(["sweep", str(path), "--workers", "0", "--no-progress", "--out", str(foreign)]) == 2
    err = capsys.readouterr().err
    assert "holds no sweep" in err and ".config.tmp-1" in err and "Traceback" not in err
    assert tree(foreign) == before
    lone = tmp_path / "lone"  # only a part file: still not a sweep
    (lone / "summaries").mkdir(parents=True)
    (lone / "summaries" / "part-000001.parquet").write_text("mine")
    before = tree(lone)
    assert main(["sweep", str(path), "--workers", "0", "--no-progress", "--out", str(lone)]) == 2
    assert tree(lone) == before


def test_resume_removes_only_its_own_temporary_files(tmp_path):
    """In a sweep folder, only temporary files named like its own writer's, in the folder and its part
    folders, are removed on resume; a file of the user's in a folder of theirs stays."""
    plan = plan_sweep(scenario_from_dict(toy(sweep={**FACTORIAL, "replications": 1}, steps=3)))
    out = tmp_path / "out"
    run_sweep(plan, out, workers=0, progress=False)
    (out / "mine").mkdir()
    keep = [out / "mine" / ".draft.tmp-2024.txt", out / "summaries" / "notes.txt"]
    drop = [out / ".points_summary.tmp-77.parquet", out / "summaries" / ".part-000009.tmp-77.parquet"]
    for path in keep + drop:
        path.write_text("x")
    run_sweep(plan, out, workers=0, progress=False)
    assert all(p.exists() for p in keep) and not any(p.exists() for p in drop)


def test_a_sweep_killed_before_its_design_was_written_resumes(tmp_path):
    """The manifest is written first; a sweep killed before the design (points.parquet) writes it on resume."""
    plan = plan_sweep(scenario_from_dict(toy(sweep={**FACTORIAL, "replications": 1}, steps=3)))
    out = tmp_path / "out"
    run_sweep(plan, out, workers=0, progress=False)
    reference = comparable(out)
    for sub in ("summaries", "timeseries"):
        for part in (out / sub).glob("part-*"):
            part.unlink()
    (out / store.POINTS).unlink()
    report = run_sweep(plan, out, workers=0, progress=False)
    assert report.n_done == 4 and (out / store.POINTS).is_file()
    for a, b in zip(comparable(out), reference, strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_aggregates_do_not_depend_on_the_order_runs_completed_in(tmp_path):
    """The same runs committed in two different orders and batches read back, and aggregate, bit-identically."""
    rng = np.random.default_rng(5)
    scales = np.array([1.0, 1e3, 1e-3, 7.0, 1e5, 3.0])
    rows = [
        {
            "run_id": f"run-{point}-{rep}",
            "point_id": point,
            "replicate": rep,
            "seed": 1000 * point + rep,
            "run_seconds": float(rng.random()),
            "param:x": float(point),
            "a": float(rng.random() * scales[rep]),
            "b": float(rng.normal() * scales[::-1][rep]),
        }
        for point in range(3)
        for rep in range(6)
    ]
    typed = {"run_id": pa.string(), "point_id": pa.int64(), "replicate": pa.int64(), "seed": pa.int64()}
    tables = []
    for name, order, size in (("first", range(18), 1), ("second", rng.permutation(18), 4)):
        with store.SweepStore(tmp_path / name) as writer:
            shuffled = [rows[i] for i in order]
            for start in range(0, 18, size):
                writer.commit(store.measure_table(shuffled[start : start + size], typed), None, None)
        summaries = store.read_summaries(tmp_path / name).drop(columns="run_seconds")
        tables.append((summaries, store.write_point_statistics(tmp_path / name)))
    for a, b in zip(*tables, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert tables[0][0]["run_id"].tolist() == [r["run_id"] for r in rows]  # design order


def test_a_run_that_raises_is_recorded_and_the_sweep_goes_on(tmp_path):
    """A user strategy that raises at take rate 0.5 fails those runs only, with their error; retried on resume."""
    data = toy(steps=6)
    data["organizations"][0]["strategy"] = "research_toys:RaiseAboveTakeRate"
    data["sweep"] = {
        "design": "factorial",
        "replications": 2,
        "factors": {"organizations.Hub.take_rate": [0.1, 0.5]},
    }
    plan = plan_sweep(load_scenario(write_toml(data, tmp_path / "fails.toml")))
    out = tmp_path / "out"
    report = run_sweep(plan, out, workers=2, progress=False)
    assert (report.n_done, report.n_failed) == (2, 2)
    failures = store.read_failures(out)
    assert len(failures) == 2
    assert set(failures["param:organizations.Hub.take_rate"]) == {0.5}
    assert all("RuntimeError: take rate 0.5 is above 0.3 (test failure)" in e for e in failures["error"])
    assert all("decide" in tb for tb in failures["traceback"])
    summaries = store.read_summaries(out)
    assert set(summaries["param:organizations.Hub.take_rate"]) == {0.1}
    again = run_sweep(plan, out, workers=0, progress=False)
    assert (again.n_skipped, again.n_failed) == (2, 2)
    assert len(store.read_failures(out)) == 2


def test_response_curves_are_drawn_for_each_factor(tmp_path):
    """``plot_sweep`` writes one PNG per varied factor; ``is_sweep_dir`` recognises the folder."""
    plan = plan_sweep(scenario_from_dict(toy(sweep=FACTORIAL, steps=8)))
    run_sweep(plan, tmp_path / "out", workers=0, progress=False)
    assert is_sweep_dir(tmp_path / "out") and not is_sweep_dir(tmp_path)
    paths = plot_sweep(tmp_path / "out", measures=["Hub.desertion_share"])
    assert sorted(p.name for p in paths) == ["sweep_dynamics.fickleness.png", "sweep_shocks.0.size.png"]
    assert all(p.stat().st_size > 5000 and p.read_bytes()[:4] == b"\x89PNG" for p in paths)


# ------------------------------------------------------------------ SIGKILL


def test_sigkill_midway_then_resume_loses_nothing_and_duplicates_nothing(tmp_path):
    """Kill a running 2-worker sweep process with SIGKILL, rerun it: same results as an uninterrupted sweep."""
    path = toy_scenario(
        tmp_path,
        steps=40,
        network={"kind": "erdos_renyi", "n": 400, "mean_degree": 8},
        sweep={
            "design": "latin_hypercube",
            "samples": 24,
            "replications": 2,
            "ranges": {"shocks.0.size": [0.0, 0.4]},
        },
    )
    out = tmp_path / "killed"
    argv = [
        sys.executable,
        "-m",
        "sim.faces.cli.research",
        "sweep",
        str(path),
        "--out",
        str(out),
        "--workers",
        "2",
        "--runs-per-task",
        "1",
        "--commit-every",
        "0",
        "--no-progress",
        "--no-plot",
    ]
    proc = subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list((out / "summaries").glob("part-*.parquet"))) >= 4:
                break
            time.sleep(0.005)
        assert proc.poll() is None, f"the sweep ended before it could be killed: {proc.stderr.read()}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its worker processes, started in its own session
        except ProcessLookupError:
            pass
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    before = set(raw_run_ids(out))
    assert 4 <= len(before) < 48
    assert main(["sweep", str(path), "--out", str(out), "--workers", "2", "--no-progress", "--no-plot"]) == 0
    ids = raw_run_ids(out)
    assert len(ids) == len(set(ids)) == 48
    assert before <= set(ids)
    reference = tmp_path / "reference"
    assert (
        main(["sweep", str(path), "--out", str(reference), "--workers", "0", "--no-progress", "--no-plot"])
        == 0
    )
    for a, b in zip(comparable(out), comparable(reference), strict=True):
        pd.testing.assert_frame_equal(a, b)


# ------------------------------------------------------------------ options refused before any run


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--dask", "foo"], "--dask 'foo'"),
        (["--dask", "tls://x"], "--dask 'tls://x'"),
        (["--dask", "bogus://host:8786"], "--dask 'bogus://host:8786'"),
        (["--seed", "-1"], "--seed -1"),
        (["--seed", str(2**64)], f"--seed {2**64}"),
        (["--runs-per-task", "-1"], "--runs-per-task -1"),
        (["--runs-per-task", "0"], "--runs-per-task 0"),
        (["--workers", "100000"], "--workers 100000"),
        (["--workers", "-2"], "--workers -2"),
        (["--every", "-1"], "--every -1"),
        (["--commit-every", "nan"], "--commit-every nan"),
        (["--samples", "0"], "--samples 0"),
    ],
)
def test_sweep_options_that_cannot_work_are_one_line_before_anything_runs(
    tmp_path, capsys, options, expected
):
    """Each bad option exits 2 with one line naming the option and its value; no folder is made."""
    path = toy_scenario(tmp_path, sweep=FACTORIAL, steps=3)
    out = tmp_path / "out"
    code = main(["sweep", str(path), "--out", str(out), "--no-progress", "--no-plot", *options])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and expected in err and "allowed" in err, err
    assert not out.exists()


def test_the_worker_cap_is_four_per_cpu():
    """--workers up to 4 per CPU is accepted, one more is refused with the reason."""
    from sim.research.executors import ExecutorError, check_options, max_workers

    check_options(workers=max_workers())
    with pytest.raises(
        ExecutorError, match=f"--workers {max_workers() + 1}: .* to {max_workers()} .*CPU-bound"
    ):
        check_options(workers=max_workers() + 1)


def test_allow_code_is_needed_to_sweep_a_scenario_naming_user_code(tmp_path):
    """A scenario naming a strategy by import path is refused without ``--allow-code``, loaded with it."""
    import uuid

    from sim.faces.cli import research

    module = f"np_sweep_user_{uuid.uuid4().hex}"
    marker = tmp_path / "imported.marker"
    (tmp_path / f"{module}.py").write_text(
        "from pathlib import Path\n"
        "from sim.model.strategies import StatusQuo\n"
        f"Path({str(marker)!r}).write_text('imported')\n"
        "class Mine(StatusQuo):\n"
        "    pass\n"
    )
    data = toy(sweep=FACTORIAL)
    data["organizations"][0]["strategy"] = f"{module}:Mine"
    path = write_toml(data, tmp_path / "toy.toml")
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(ScenarioError, match="--allow-code"):
            research._load(research_parser().parse_args(["sweep", str(path)]), {})
        assert not marker.exists()
        scenario = research._load(research_parser().parse_args(["sweep", str(path), "--allow-code"]), {})
        assert scenario.allow_code and marker.exists()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(module, None)


def research_parser():
    """The ``newpower`` parser (with the research sub-commands)."""
    from sim.faces.cli.main import build_parser

    return build_parser()


def test_allow_code_runs_a_sweep(tmp_path, capsys):
    """``--allow-code`` is an accepted option of sweep (whatever this version's loader does with it)."""
    path = toy_scenario(tmp_path, steps=3, sweep={**FACTORIAL, "replications": 1})
    out = tmp_path / "out"
    assert (
        main(
            [
                "sweep",
                str(path),
                "--allow-code",
                "--workers",
                "0",
                "--out",
                str(out),
                "--no-progress",
                "--no-plot",
            ]
        )
        == 0
    )
    assert len(store.read_summaries(out)) == 4


def test_a_script_read_on_stdin_is_told_why_workers_cannot_start(tmp_path):
    """``python - < script`` with worker processes: the real cause is named, and no folder is made."""
    path = toy_scenario(tmp_path, sweep=FACTORIAL, steps=3)
    out = tmp_path / "out"
    script = (
        "from sim import load_scenario\n"
        "from sim.research.plan import plan_sweep\n"
        "from sim.research.sweep import run_sweep\n"
        f"run_sweep(plan_sweep(load_scenario({str(path)!r})), {str(out)!r}, workers=2, progress=False)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-"],
        input=script,
        text=True,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert "cannot re-import the main script '<stdin>'" in last and "standard input" in last, proc.stderr
    assert not out.exists()


def test_plot_sweep_refuses_a_measure_that_is_not_a_number_of_the_runs(tmp_path):
    """An unknown or text measure is named, with the numeric measures allowed."""
    plan = plan_sweep(scenario_from_dict(toy(sweep=FACTORIAL, steps=3)))
    run_sweep(plan, tmp_path / "out", workers=0, progress=False)
    for measure in ("nosuch", "Hub.final_quadrant"):
        with pytest.raises(
            SimError, match=f"measure '{measure}': not a numeric measure.*Hub.desertion_share"
        ):
            plot_sweep(tmp_path / "out", measures=[measure])
