"""``newpower run``, ``plot``, ``animate``, ``audit`` and ``list`` end to end on a tiny scenario.

Every results file exists and reads back; replications carry a correct 95%
interval; nothing is overwritten silently; every user mistake is one
``newpower: error:`` line with exit code 2 and no traceback.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from folder_tree import tree
from helpers import CASTLE, ROOT, WATTS
from scipy import stats

from sim import load_scenario, run
from sim.faces.cli.main import main
from sim.model.metrics import ORGANIZATION_REPORTERS, SUMMARY_MEASURES
from sim.model.shocks import SHOCKS
from sim.model.strategies import STRATEGIES
from sim.runs.replicate import replication_seeds
from sim.storage.files import jsonable

TINY = ["--set", "network.n=200", "--steps", "10"]
ORGS = ("Gazette", "Commons")
POPULATION_COLUMNS = [
    "run",
    "seed",
    "step",
    "n_consuming",
    "n_sharing",
    "n_shaping",
    "n_funding",
    "n_producing",
    "n_co_owning",
    "active_fraction",
    "n_unaffiliated",
]
FIGURES = ("participation", "compass", "power", "community", "network")


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Call ``main`` in-process; return (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str, *parts: str) -> None:
    """Exit code 2, one stderr line starting ``newpower: error:`` that names every part, no traceback."""
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("newpower: error: "), err
    assert "Traceback" not in err
    for part in parts:
        assert part in lines[0], f"{part!r} not in {lines[0]!r}"


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Path:
    """The folder of one tiny run of the flagship scenario with seed 7."""
    folder = tmp_path_factory.mktemp("single") / "out"
    assert main(["run", str(CASTLE), *TINY, "--seed", "7", "--out", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def replicated(tmp_path_factory) -> Path:
    """Three tiny replications of the flagship scenario from root seed 11."""
    folder = tmp_path_factory.mktemp("replicated") / "out"
    assert main(["run", str(CASTLE), *TINY, "--seed", "11", "--replications", "3", "--out", str(folder)]) == 0
    return folder


# ------------------------------------------------------------------ run: the files


def test_every_file_exists(single):
    """A run leaves its data files, a manifest and every figure as PNG and SVG; no temporary files."""
    folder = single
    for name in (
        "timeseries.parquet",
        "summary.json",
        "manifest.json",
        "network.parquet",
        "layout.parquet",
        "snapshots.parquet",
    ):
        assert (folder / name).is_file() and (folder / name).stat().st_size > 0, name
    for stem in FIGURES:
        path = folder / "figures" / f"{stem}.png"
        assert path.is_file() and path.stat().st_size > 1000, path
        assert not (folder / "figures" / f"{stem}.svg").exists()  # SVG only with --svg
    assert not (folder / "aggregate.parquet").exists()  # one run: nothing to aggregate
    assert not [p for p in folder.rglob(".*") if "tmp" in p.name]


def test_timeseries_reads_back_with_documented_columns(single):
    """The Parquet time series has run, seed, step, the population and every organization column."""
    folder = single
    frame = pd.read_parquet(folder / "timeseries.parquet")
    assert list(frame.columns[: len(POPULATION_COLUMNS)]) == POPULATION_COLUMNS
    for org in ORGS:
        for measure in ORGANIZATION_REPORTERS:
            assert f"{org}.{measure}" in frame.columns
    assert len(frame) == 11 and frame["step"].tolist() == list(range(11))
    assert (frame["run"] == 0).all() and (frame["seed"] == 7).all()
    levels = frame[POPULATION_COLUMNS[3:9]].sum(axis=1)
    assert (levels == 200).all()
    assert frame["active_fraction"].dtype == np.float64


def test_one_replication_equals_run_with_that_seed(single):
    """``newpower run --seed 7`` saves exactly what ``run(scenario, seed=7)`` returns."""
    folder = single
    scenario = load_scenario(CASTLE, overrides={"network.n": 200})
    expected = run(scenario, seed=7, steps=10).timeseries.reset_index(drop=True)
    saved = pd.read_parquet(folder / "timeseries.parquet").drop(columns=["run", "seed"])
    pd.testing.assert_frame_equal(saved, expected, check_dtype=False)


def test_summary_json(single):
    """summary.json holds one run with its seed and every headline measure, as strict JSON."""
    folder = single
    text = (folder / "summary.json").read_text()
    assert "NaN" not in text
    summary = json.loads(text)
    assert "aggregate" not in summary
    (first,) = summary["runs"]
    assert first["run"] == 0 and first["seed"] == 7
    for key in SUMMARY_MEASURES:
        key = key.replace("<org>", "Gazette")
        assert key in first, key


def test_manifest(single):
    """The manifest records the resolved scenario, the seed, versions, git, times and the files."""
    folder = single
    manifest = json.loads((folder / "manifest.json").read_text())
    scenario = load_scenario(CASTLE, overrides={"network.n": 200})
    assert manifest["format"] == "newpower-results" and manifest["kind"] == "run"
    assert manifest["scenario"] == jsonable(scenario.to_dict())
    assert manifest["overrides"] == {"network.n": 200}
    assert manifest["seed"] == 7 and manifest["seeds"] == [7] and manifest["steps"] == 10
    assert manifest["driver"] == "vectorized"
    for package in ("python", "newpower", "mesa", "numpy", "pandas", "pyarrow", "matplotlib"):
        assert manifest["versions"][package], package
    if manifest["git"] is not None:
        assert len(manifest["git"]["commit"]) == 40
    assert manifest["started"] <= manifest["finished"] and manifest["wall_time_s"] > 0
    assert set(manifest["files"]) >= {"timeseries.parquet", "summary.json", "network.parquet"}
    assert sorted(manifest["figures"]) == sorted(f"figures/{s}.png" for s in FIGURES)
    assert manifest["command"].startswith("newpower run ")
    assert [o["name"] for o in manifest["organizations"]] == list(ORGS)


def test_network_files(single):
    """The edge list is the first run's graph; the layout and snapshots cover the drawn participants."""
    folder = single
    edges = pd.read_parquet(folder / "network.parquet")
    layout = pd.read_parquet(folder / "layout.parquet")
    snapshots = pd.read_parquet(folder / "snapshots.parquet")
    assert (edges["source"] < edges["target"]).all() and len(edges) > 0
    assert sorted(layout["participant"]) == list(range(200))
    assert np.hypot(layout["x"], layout["y"]).max() <= 1.0 + 1e-9
    assert set(snapshots["step"]) == set(range(11))
    assert len(snapshots) == 11 * 200
    assert snapshots["level"].between(0, 5).all()


def test_printed_summary(capsys, tmp_path):
    """The run prints the scenario, the run line, every measure, the folder and the figure list."""
    code, out, err = cli(capsys, "run", WATTS, *TINY, "--seed", "3", "--out", tmp_path / "w")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("watts_cascade: ")
    assert lines[1] == "seed 3, 10 steps, 200 participants, driver vectorized"
    assert any(line.split()[:1] == ["final_active_fraction"] for line in lines)
    assert f"Results in {tmp_path / 'w'}" in out
    assert "participation" in lines[-1] and "network" in lines[-1]
    assert err == ""  # no progress bar when stderr is not a terminal


# ------------------------------------------------------------------ replications


def test_replications_keep_every_run(replicated):
    """Three runs, each with its spawned seed, all kept in the time series and the summary."""
    frame = pd.read_parquet(replicated / "timeseries.parquet")
    seeds = replication_seeds(11, 3)
    assert len(set(seeds)) == 3
    assert sorted(frame["run"].unique()) == [0, 1, 2]
    assert frame.groupby("run")["seed"].first().tolist() == seeds
    summary = json.loads((replicated / "summary.json").read_text())
    assert [r["seed"] for r in summary["runs"]] == seeds
    assert json.loads((replicated / "manifest.json").read_text())["seeds"] == seeds
    scenario = load_scenario(CASTLE, overrides={"network.n": 200})  # a later run is run(scenario, its seed)
    expected = run(scenario, seed=seeds[1], steps=10).timeseries["active_fraction"].to_numpy()
    assert np.array_equal(frame.loc[frame["run"] == 1, "active_fraction"].to_numpy(), expected)


def test_summary_intervals(replicated):
    """Per summary measure: mean, sd and mean +/- t(0.975, n-1) sd / sqrt(n) over the runs."""
    summary = json.loads((replicated / "summary.json").read_text())
    for key in ("final_active_fraction", "Gazette.final_members", "Commons.final_current"):
        values = np.array([r[key] for r in summary["runs"]], dtype=float)
        agg = summary["aggregate"][key]
        half = stats.t.ppf(0.975, 2) * values.std(ddof=1) / math.sqrt(3)
        assert agg["n"] == 3
        assert agg["mean"] == pytest.approx(values.mean())
        assert agg["sd"] == pytest.approx(values.std(ddof=1))
        assert agg["ci_low"] == pytest.approx(values.mean() - half)
        assert agg["ci_high"] == pytest.approx(values.mean() + half)
    assert summary["aggregate"]["Gazette.final_quadrant"]["counts"] == {"Castle": 3}


def test_per_step_intervals(replicated):
    """aggregate.parquet: per step and measure, the same t interval over the three runs."""
    frame = pd.read_parquet(replicated / "timeseries.parquet")
    agg = pd.read_parquet(replicated / "aggregate.parquet")
    assert list(agg.columns) == ["step", "measure", "mean", "sd", "ci_low", "ci_high", "n"]
    assert "Gazette.quadrant" not in set(agg["measure"])  # text columns are not averaged
    for measure in ("active_fraction", "Commons.members"):
        rows = agg[agg["measure"] == measure].set_index("step")
        by_step = frame.groupby("step")[measure]
        half = stats.t.ppf(0.975, 2) * by_step.std(ddof=1) / math.sqrt(3)
        np.testing.assert_allclose(rows["mean"], by_step.mean())
        np.testing.assert_allclose(rows["ci_low"], by_step.mean() - half)
        np.testing.assert_allclose(rows["ci_high"], by_step.mean() + half)
        assert (rows["n"] == 3).all()


def test_replications_print_mean_and_interval_and_progress(capsys, tmp_path):
    """With R > 1 the table shows mean and 95% interval; ``--progress`` forces a bar over all steps."""
    code, out, err = cli(
        capsys,
        "run",
        WATTS,
        "--set",
        "network.n=100",
        "--steps",
        "4",
        "-r",
        "2",
        "--progress",
        "--out",
        tmp_path / "r",
    )
    assert code == 0
    assert "/8" in err and "step" in err  # one tqdm bar over 2 runs x 4 steps, on stderr
    assert "2 runs" in out.splitlines()[1]
    assert "95% interval" in out
    line = next(line for line in out.splitlines() if line.split()[:1] == ["final_active_fraction"])
    assert "[" in line and "]" in line


# ------------------------------------------------------------------ never overwrite


def test_refuses_to_overwrite(capsys, single):
    """An --out folder that exists and is not empty is refused, and left untouched."""
    folder = single
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    code, out, err = cli(capsys, "run", CASTLE, *TINY, "--out", folder)
    assert_one_line_error(code, out, err, str(folder), "--force")
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before


def test_force_replaces_a_results_folder_whole(capsys, tmp_path):
    """--force replaces every file of a results folder (none of the old ones stays), and nothing beside it."""
    folder = tmp_path / "forced"
    (folder / "figures").mkdir(parents=True)
    for name in ("manifest.json", "aggregate.parquet", "figures/power.png"):  # an earlier two-run result
        (folder / name).write_text("old")
    (tmp_path / "neighbour.txt").write_text("mine")
    code, _, err = cli(
        capsys, "run", WATTS, "--set", "network.n=100", "--steps", "3", "--out", folder, "--force"
    )
    assert code == 0, err
    assert not (folder / "aggregate.parquet").exists() and not (folder / "figures" / "power.png").exists()
    assert json.loads((folder / "manifest.json").read_text())["steps"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forced", "neighbour.txt"]  # no staging left


def test_force_refuses_a_folder_with_other_files(capsys, tmp_path):
    """--force never replaces a folder holding files that are not results: refused, nothing touched."""
    folder = tmp_path / "forced"
    (folder / "figures").mkdir(parents=True)
    (folder / "manifest.json").write_text("old")
    (folder / "notes.txt").write_text("mine")
    (folder / "figures" / "sketch.pdf").write_text("mine")
    before = tree(tmp_path)
    code, out, err = cli(capsys, "run", WATTS, *TINY, "--out", folder, "--force")
    assert_one_line_error(
        code, out, err, str(folder), "notes.txt", "figures/sketch.pdf", "not newpower results"
    )
    assert tree(tmp_path) == before


def test_incomplete_run_is_named_and_its_temporary_files_removed(capsys, tmp_path):
    """A folder a killed run left (data, a temporary figure, no manifest): the next run says it is an
    incomplete run and what to do, removes only its own temporary files, and --force replaces it."""
    folder = tmp_path / "killed"
    (folder / "figures").mkdir(parents=True)
    (folder / "timeseries.parquet").write_bytes(b"PAR1")
    (folder / "figures" / ".power.tmp-4242.svg").write_text("<svg")
    (folder / ".summary.tmp-4242.json").write_text("{")
    code, out, err = cli(capsys, "run", WATTS, *TINY, "--out", folder)
    assert_one_line_error(code, out, err, str(folder), "incomplete run", "2 temporary files", "--force")
    assert sorted(tree(folder)) == ["figures", "timeseries.parquet"]
    code, _, err = cli(capsys, "run", WATTS, *TINY, "--out", folder, "--force")
    assert code == 0, err
    assert (folder / "manifest.json").is_file()


def test_default_folder_is_new_each_time(capsys, tmp_path, monkeypatch):
    """Without --out a run gets a new results/<scenario>-<time> folder (-2 if that name is taken)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sim.storage.folders.time.strftime", lambda fmt, *a: "20250101-120000")
    (tmp_path / "results" / "watts_cascade-20250101-120000").mkdir(parents=True)
    code, out, _ = cli(capsys, "run", WATTS, "--set", "network.n=60", "--steps", "1")
    assert code == 0
    made = tmp_path / "results" / "watts_cascade-20250101-120000-2"
    assert (made / "manifest.json").is_file()
    assert f"Results in {Path('results') / made.name}" in out
    assert not any((tmp_path / "results" / "watts_cascade-20250101-120000").iterdir())


# ------------------------------------------------------------------ plot, animate, list


def test_plot_redraws_from_files_alone(capsys, single, tmp_path, monkeypatch):
    """Delete the figures, forbid running the model, ``plot``: every figure comes back."""
    folder = tmp_path / "copy"
    shutil.copytree(single, folder)
    shutil.rmtree(folder / "figures")

    def forbidden(*args, **kwargs):
        raise AssertionError("plot must not run the model")

    monkeypatch.setattr("sim.runs.runner.run", forbidden)
    monkeypatch.setattr("sim.runs.replicate.run", forbidden)
    monkeypatch.setattr("sim.model.power_model.PowerModel.__init__", forbidden)
    code, out, err = cli(capsys, "plot", folder, "--svg")
    assert code == 0, err
    for stem in FIGURES:
        assert (folder / "figures" / f"{stem}.png").stat().st_size > 1000
        assert (folder / "figures" / f"{stem}.svg").stat().st_size > 1000
    assert "Redrew 5 figures" in out and ".png and .svg" in out
    drawn = {stem: (folder / "figures" / f"{stem}.svg").stat().st_mtime_ns for stem in FIGURES}
    code, out, err = cli(capsys, "plot", folder)  # without --svg, the SVGs there are redrawn, never deleted
    assert code == 0, err
    for stem in FIGURES:
        assert (folder / "figures" / f"{stem}.svg").stat().st_mtime_ns > drawn[
            stem
        ]  # redrawn to match the PNG
    assert ".png and .svg" in out


def test_animate_writes_gif(capsys, single, tmp_path, monkeypatch):
    """``animate`` writes a looping GIF with one frame per snapshot (and no MP4 without ffmpeg)."""
    from PIL import Image

    folder = tmp_path / "anim"
    shutil.copytree(single, folder)
    monkeypatch.setattr("sim.figures.animate.shutil.which", lambda name: None)
    code, out, err = cli(capsys, "animate", folder, "--fps", "8")
    assert code == 0, err
    gif = folder / "animation.gif"
    assert gif.stat().st_size > 1000
    with Image.open(gif) as image:
        assert image.format == "GIF" and image.n_frames == 11
    assert not (folder / "animation.mp4").exists()
    assert "ffmpeg" in out


def test_list(capsys):
    """``list`` shows the scenarios with their descriptions, every strategy, shock and metric."""
    code, out, _ = cli(capsys, "list")
    assert code == 0
    assert "castle_vs_crowd.toml" in out
    assert "A Castle with a large, shallow audience" in out
    for name in (*STRATEGIES, *SHOCKS, "final_active_fraction", "active_fraction", "<org>.members"):
        assert name in out, name
    code, verbose, _ = cli(capsys, "list", "-v")
    assert code == 0 and "severity" in verbose  # a shock parameter


# ------------------------------------------------------------------ user mistakes


@pytest.mark.parametrize(
    "argv, parts",
    [
        (["run", "no/such/file.toml"], ["no/such/file.toml", "not found"]),
        (["run", WATTS, "--set", "network.nodes=5"], ["network.nodes", "unknown key", "allowed"]),
        (["run", WATTS, "--set", "network.n=1"], ["network.n", "2 to 1e+07"]),
        (["run", WATTS, "--set", "network.n"], ["--set", "key=value"]),
        (["run", CASTLE, "--set", "organizations.Herald.openness=0.5"], ["Herald", "Gazette, Commons"]),
        (["run", WATTS, "--replications", "0"], ["--replications", ">= 1", "0"]),
        (["run", WATTS, "--steps", "-1"], ["steps", "-1"]),
        (["run", WATTS, "--seed", "-3"], ["seed", "-3"]),
        (["plot", ROOT / "scenarios"], ["scenarios", "manifest.json"]),
        (["plot", "no/such/results"], ["no/such/results", "no such results folder"]),
        (["animate", ROOT], ["manifest.json"]),
        (["audit", WATTS], ["watts_cascade.toml", "organizations"]),
        (["audit", "missing.toml"], ["missing.toml", "not found"]),
        (["list", "--scenarios", "no/such/dir"], ["no/such/dir"]),
    ],
    ids=[
        "missing_file",
        "bad_key",
        "bad_value",
        "bad_override",
        "unknown_org",
        "zero_replications",
        "negative_steps",
        "negative_seed",
        "not_results_dir",
        "missing_results_dir",
        "animate_not_results",
        "audit_no_orgs",
        "audit_missing_file",
        "list_missing_dir",
    ],
)
def test_user_errors(capsys, argv, parts):
    """Each mistake: exit code 2, one ``newpower: error:`` line naming what is wrong."""
    code, out, err = cli(capsys, *argv)
    assert_one_line_error(code, out, err, *map(str, parts))


def test_interrupted_folder_is_refused(capsys, tmp_path):
    """A folder with data but no manifest (a killed run) is not a results folder for plot or animate."""
    (tmp_path / "timeseries.parquet").write_bytes(b"half")
    for command in ("plot", "animate"):
        code, out, err = cli(capsys, command, tmp_path)
        assert_one_line_error(code, out, err, str(tmp_path), "manifest.json")


def test_seed_too_big_is_refused_before_running(capsys, tmp_path, monkeypatch):
    """A seed beyond 64 bits is one error line before anything runs (not an overflow while saving)."""

    def forbidden(*args, **kwargs):
        raise AssertionError("must not run")

    monkeypatch.setattr("sim.runs.replicate.run", forbidden)
    code, out, err = cli(
        capsys, "run", WATTS, *TINY, "--seed", "99999999999999999999999", "--out", tmp_path / "o"
    )
    assert_one_line_error(code, out, err, "--seed", "99999999999999999999999", "9223372036854775807")
    assert not (tmp_path / "o").exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["run", "audit"])
def test_user_code_runs_only_with_allow_code(capsys, tmp_path, monkeypatch, command):
    """A scenario naming a strategy by module path: refused (exit 2, nothing imported) without
    ``--allow-code``; run with it."""
    import uuid

    module = f"np_cli_user_{uuid.uuid4().hex}"
    marker = tmp_path / "imported.marker"
    (tmp_path / f"{module}.py").write_text(
        "from pathlib import Path\n"
        "from sim.model.strategies import StatusQuo\n"
        f"Path({str(marker)!r}).write_text('imported')\n"
        "class Mine(StatusQuo):\n"
        "    pass\n"
    )
    scenario = tmp_path / "uses_code.toml"
    scenario.write_text(f'[network]\nn = 60\n[[organizations]]\nname = "A"\nstrategy = "{module}:Mine"\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    code, out, err = cli(capsys, command, scenario, "--steps", "1", "--out", tmp_path / "without")
    assert_one_line_error(code, out, err, str(scenario), "--allow-code")
    assert not marker.exists() and not (tmp_path / "without").exists()
    code, _, err = cli(capsys, command, scenario, "--steps", "1", "--allow-code", "--out", tmp_path / "with")
    assert code == 0, err
    assert marker.exists()
    sys.modules.pop(module, None)


def test_out_is_a_file(capsys, tmp_path):
    """--out naming an existing file is refused."""
    target = tmp_path / "file.txt"
    target.write_text("x")
    code, out, err = cli(capsys, "run", WATTS, *TINY, "--out", target)
    assert_one_line_error(code, out, err, str(target))


def test_animate_refuses_an_audit_folder(capsys, tmp_path):
    """An audit folder has no network snapshots: ``animate`` says so."""
    folder = tmp_path / "audit"
    assert cli(capsys, "audit", CASTLE, *TINY, "--out", folder)[0] == 0
    code, out, err = cli(capsys, "animate", folder)
    assert_one_line_error(code, out, err, "snapshots")


@pytest.mark.parametrize(
    "argv",
    [
        ["run", str(WATTS), "--steps", "abc"],
        ["run", str(WATTS), "--replications", "many"],
        ["run", str(WATTS), "--driver", "turbo"],
        ["plot"],
    ],
)
def test_bad_option_values_are_one_line(capsys, argv):
    """Option values argparse rejects are also one ``newpower: error:`` line with exit code 2."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newpower: error: ") and "Traceback" not in captured.err


def test_console_script_error_has_no_traceback(tmp_path):
    """Through the installed console script: exit status 2, one line, no traceback."""
    script = Path(sys.executable).parent / "newpower"
    proc = subprocess.run(
        [str(script), "plot", str(tmp_path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("newpower: error: ") and len(proc.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------ fast runs, CSV, progress


def test_no_figures_and_csv_copies_for_a_spreadsheet(capsys, tmp_path):
    """``--no-figures --format csv``: data, story and a CSV copy of every table, no figure; the copies
    hold what the Parquet files hold, and the summary is one row per run."""
    folder = tmp_path / "csv"
    code, out, err = cli(
        capsys, "run", CASTLE, *TINY, "-r", "2", "--no-figures", "--format", "csv", "--out", folder
    )
    assert code == 0, err
    assert not list(folder.glob("figures/*.png")) and "Figures in" not in out
    assert (folder / "summary.md").read_text().startswith("# ")
    series = pd.read_csv(folder / "timeseries.csv")
    pd.testing.assert_frame_equal(series, pd.read_parquet(folder / "timeseries.parquet"), check_dtype=False)
    summary = pd.read_csv(folder / "summary.csv")
    assert len(summary) == 2 and {"run", "seed", "final_active_fraction"} <= set(summary.columns)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {"timeseries.csv", "summary.csv", "summary.md"} <= set(manifest["files"])


def test_export_writes_csv_copies_of_an_existing_folder(capsys, single, tmp_path):
    """``newpower export`` adds the CSV copies to a folder written earlier, and lists them in its manifest."""
    folder = tmp_path / "copy"
    shutil.copytree(single, folder)
    code, out, err = cli(capsys, "export", folder)
    assert code == 0, err
    assert "timeseries.csv" in out and (folder / "network.csv").is_file()
    assert len(pd.read_csv(folder / "summary.csv")) == 1
    assert "timeseries.csv" in json.loads((folder / "manifest.json").read_text())["files"]


def test_progress_names_the_slow_parts_after_the_steps(capsys, tmp_path):
    """The progress display goes on after the steps: saving, the network layout, the story, each figure."""
    code, _, err = cli(capsys, "run", WATTS, *TINY, "--progress", "--out", tmp_path / "p")
    assert code == 0
    for part in ("saving the data", "laying out the network", "telling the story", "drawing network"):
        assert part in err, part
