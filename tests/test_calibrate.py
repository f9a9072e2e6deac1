"""``newpower calibrate``: ABC-SMC (pyabc) fits of scenario parameters to an observed series.

The data are made by the model itself at known parameters (plus noise), on a small
scenario defined here (300 participants, a surge started by 20 seeds), so the tests
hold whatever the library scenarios are tuned to: parameter recovery, reproducibility
(same seed, same posterior, whatever the workers, and after an interruption), the
results folder, and one clear error line for every bad input, before any simulation.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from sim import load_scenario, run
from sim.errors import InputError, ScenarioError, SimError
from sim.faces.cli import calibrate as cli
from sim.faces.cli.main import main
from sim.figures import calibration as layout
from sim.model.power_model import PowerModel
from sim.research.calibration import Options, calibrate, parse_prior, prepare, read_observed
from sim.research.calibration.checkpoint import checkpoint_of
from sim.research.calibration.distances import SeriesDistance, statistics, summary_statistics
from sim.research.calibration.problem import DistanceKind
from sim.research.calibration.sampler import numpy_global_seed

SMALL = """
name = "small_surge"
description = "a small surge and fade, for the calibration tests"
steps = 40
seed = 1001

[network]
kind = "watts_strogatz"
n = 300
mean_degree = 10
rewire_prob = 0.1

[population]
threshold = 0.12
threshold_sd = 0.02
values_mean = 0.6
values_sd = 0.12
initial_commitment = 0.1

[dynamics]
fickleness = 0.15
peer_influence = 1.0
renewal_rate = 0.15
commitment_per_level = 0.75
fade_floor = 0.4
model_pull = 0.03
rung_difficulty = 0.5
loyalty = 0.5
grievance_rate = 0.3
grievance_decay = 0.06
exit_contagion = 0.5
join_rate_open = 0.03
join_rate_closed = 0.005

[trigger]
n_seeds = 20
level = "FUNDING"
organization = "Hive"

[[organizations]]
name = "Hive"
kind = "platform"
openness = 0.7
values = 0.6
stock = 0.5
take_rate = 0.2
transparency = 0.3
initial_share = 0.6

[[organizations]]
name = "Gazette"
kind = "institution"
openness = 0.15
values = 0.2
stock = 2.0
take_rate = 0.2
transparency = 0.2
initial_share = 0.07
"""

TRUE = {"dynamics.fickleness": 0.15, "dynamics.peer_influence": 1.0}
PRIORS = ("dynamics.fickleness=0:0.5", "dynamics.peer_influence=0.2:2")
NOISE = 0.01


@pytest.fixture
def scenario_file(tmp_path):
    path = tmp_path / "small_surge.toml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def observe(scenario_file, path, seed=1000, steps=30, noise=NOISE):
    """The model's own series at the true values (seed ``seed``), plus Gaussian noise, as a CSV."""
    frame = run(load_scenario(scenario_file, overrides=TRUE), seed=seed, steps=steps).timeseries
    noisy = frame["active_fraction"] + np.random.default_rng([seed, 1]).normal(0, noise, len(frame))
    pd.DataFrame({"step": frame["step"], "active_fraction": noisy}).to_csv(path, index=False)
    return path


def problem_for(scenario_file, csv, priors=PRIORS):
    observed = read_observed(csv, ["active_fraction"])
    return prepare(load_scenario(scenario_file), observed, [parse_prior(p) for p in priors])


# ------------------------------------------------------------------ parameter recovery


def test_recovers_two_parameters_from_the_models_own_noisy_data(scenario_file, tmp_path):
    """Data made at known values: both fall inside their 90% credible intervals, which the data narrowed."""
    csv = observe(scenario_file, tmp_path / "observed.csv")
    options = Options(populations=4, population_size=50, noise=NOISE, predictive=30)
    result = calibrate(problem_for(scenario_file, csv), options, tmp_path / "fit", workers=0)
    table = result.parameters.set_index("parameter")
    for key, true in TRUE.items():
        row = table.loc[key]
        assert row["ci_low"] <= true <= row["ci_high"], (key, row.to_dict())
        assert row["width_share"] < 0.75, (key, row["width_share"])  # narrower than the prior: informed
    assert table.loc["dynamics.fickleness", "informed"]
    # the results folder
    folder = result.folder
    posterior = pd.read_parquet(folder / layout.POSTERIOR)
    assert list(posterior.columns) == ["particle", *TRUE, "weight", "distance"]
    assert len(posterior) == 50 and posterior["weight"].sum() == pytest.approx(1.0)
    assert (posterior["dynamics.fickleness"].between(0, 0.5)).all()
    manifest = json.loads((folder / layout.MANIFEST).read_text())
    assert (
        manifest["kind"] == "calibration" and manifest["data"]["sha256"] == result.manifest["data"]["sha256"]
    )
    assert manifest["priors"][0] == {"key": "dynamics.fickleness", "low": 0.0, "high": 0.5, "integer": False}
    assert (
        manifest["versions"]["pyabc"] and manifest["populations"]["done"] == 4 and manifest["wall_time_s"] > 0
    )
    predictive = pd.read_parquet(folder / layout.PREDICTIVE)
    assert predictive["draw"].nunique() == 30 and set(predictive["step"]) == set(range(31))
    assert result.coverage["active_fraction"] > 0.5  # the fitted model's band holds most of the data
    summary = (folder / layout.SUMMARY).read_text()
    assert "| `dynamics.fickleness` | 0 to 0.5 |" in summary and "90% credible interval" in summary
    assert "`dynamics.fickleness` is most likely about" in summary
    for figure in (layout.PAIRS, layout.PREDICTIVE_FIGURE):
        assert (folder / figure).stat().st_size > 10_000


# ------------------------------------------------------------------ reproducibility and resuming


def test_same_seed_same_posterior_after_an_interruption_and_the_callers_rng_untouched(
    scenario_file, tmp_path
):
    """Stopped in generation 3 and resumed, the fit equals an uninterrupted one (adaptive summary distance)."""
    csv = observe(scenario_file, tmp_path / "observed.csv", steps=20)
    problem = problem_for(scenario_file, csv)
    options = Options(distance="summary", populations=3, population_size=12, noise=NOISE, predictive=5)
    np.random.seed(3)
    before = np.random.get_state()[1].copy()
    whole = calibrate(problem, options, tmp_path / "whole", workers=0)
    assert (np.random.get_state()[1] == before).all()  # pyabc's global draws were seeded and restored

    def stop_in_generation_3(line):
        if line.startswith("generation 3"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        calibrate(problem, options, tmp_path / "cut", workers=0, echo=stop_in_generation_3)
    assert not (tmp_path / "cut").exists()  # nothing under the results' name until they are complete
    assert (checkpoint_of(tmp_path / "cut") / layout.DATABASE).is_file()  # the finished generations
    lines = []
    resumed = calibrate(problem, options, tmp_path / "cut", workers=0, resume=True, echo=lines.append)
    assert lines[0] == "resuming after generation 2 of 3"
    pd.testing.assert_frame_equal(resumed.posterior, whole.posterior)
    pd.testing.assert_frame_equal(
        resumed.generations.drop(columns="seconds"), whole.generations.drop(columns="seconds")
    )
    assert resumed.manifest["resumed"] and not whole.manifest["resumed"]
    assert not checkpoint_of(tmp_path / "cut").exists() and (tmp_path / "cut" / layout.DATABASE).is_file()


@pytest.mark.slow
@pytest.mark.parametrize("where", [{"workers": 2}, {"dask": "local", "workers": 1}])
def test_the_posterior_does_not_depend_on_where_it_runs(scenario_file, tmp_path, where):
    """Two local processes, or a Dask LocalCluster, give the same posterior as this process."""
    csv = observe(scenario_file, tmp_path / "observed.csv", steps=15)
    problem = problem_for(scenario_file, csv)
    options = Options(populations=2, population_size=10, predictive=4)
    here = calibrate(problem, options, tmp_path / "here", workers=0)
    there = calibrate(problem, options, tmp_path / "there", **where)
    pd.testing.assert_frame_equal(here.posterior, there.posterior)
    pd.testing.assert_frame_equal(
        pd.read_parquet(here.folder / layout.PREDICTIVE), pd.read_parquet(there.folder / layout.PREDICTIVE)
    )


# ------------------------------------------------------------------ the command line


def cli_args(scenario_file, csv, out, *extra):
    return [
        str(scenario_file),
        "--data",
        str(csv),
        "--column",
        "active_fraction",
        *(f"--param={p}" for p in PRIORS),
        "--populations",
        "2",
        "--population-size",
        "10",
        "--predictive",
        "5",
        "--workers",
        "0",
        "--out",
        str(out),
        *extra,
    ]


def test_command_line_is_interrupted_resumes_with_more_generations_and_never_overwrites(
    scenario_file, tmp_path, capsys, monkeypatch
):
    """Interrupted after its generations (exit 130), resumed with --populations 3, then refused to overwrite."""
    csv = observe(scenario_file, tmp_path / "observed.csv", steps=15)
    out = tmp_path / "fit"

    def interrupt(*args):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr("sim.research.calibration.engine.predict", interrupt)
        assert main(["calibrate", *cli_args(scenario_file, csv, out, "--noise", "0.01")]) == 130
    printed = capsys.readouterr()
    assert "generation 2 of 2: epsilon" in printed.err and "--resume" in printed.err
    assert not out.exists() and checkpoint_of(out).is_dir()
    assert cli.main(cli_args(scenario_file, csv, out, "--noise", "0.01")) == 2
    assert "add --resume to continue it" in capsys.readouterr().err
    assert cli.main(cli_args(scenario_file, csv, out, "--noise", "0.02", "--resume")) == 2
    assert "options.noise differ" in capsys.readouterr().err
    code = cli.main(cli_args(scenario_file, csv, out, "--noise", "0.01", "--resume", "--populations", "3"))
    assert code == 0
    printed = capsys.readouterr()
    assert "resuming after generation 2 of 3" in printed.err
    assert "dynamics.peer_influence" in printed.out and "90% interval" in printed.out
    assert len(pd.read_parquet(out / layout.GENERATIONS)) == 3 and not checkpoint_of(out).exists()
    manifest = json.loads((out / layout.MANIFEST).read_text())
    assert manifest["resumed"] and manifest["populations"]["done"] == 3
    assert manifest["command"].startswith("newpower calibrate ")
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert cli.main(cli_args(scenario_file, csv, out, "--noise", "0.01")) == 2
    assert "holds a finished calibration" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    # the figures are drawn from the saved files alone
    for figure in (layout.PAIRS, layout.PREDICTIVE_FIGURE):
        (out / figure).unlink()
    assert {p.name for p in layout.draw_figures(out)} == {"pairs.png", "predictive.png"}


def test_a_folder_that_is_not_a_calibration_is_refused_and_untouched(scenario_file, tmp_path, capsys):
    csv = observe(scenario_file, tmp_path / "observed.csv", steps=10)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    for extra in ((), ("--resume",)):
        assert cli.main(cli_args(scenario_file, csv, out, *extra)) == 2
        assert "not newpower results (notes.txt)" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert cli.main(cli_args(scenario_file, csv, tmp_path / "new", "--resume")) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_register_adds_calibrate_to_a_parser():
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "calibrate",
            "s.toml",
            "--data",
            "d.csv",
            "--column",
            "a",
            "b",
            "--param",
            "x=0:1",
            "--dask",
            "local",
        ]
    )
    assert args.handler is cli.cmd_calibrate and args.columns == ["a", "b"] and args.dask == "local"
    assert (args.distance, args.populations, args.population_size, args.replications) == ("series", 8, 200, 1)


BAD_INPUTS = {
    "missing column": (
        "step,active\n0,0.1\n1,0.2\n",
        [],
        "no column 'active_fraction'; allowed: step, active",
    ),
    "missing step column": ("t,active_fraction\n0,0.1\n1,0.2\n", [], "no step column 'step'"),
    "non-numeric value": ("step,active_fraction\n0,0.1\n1,lots\n", [], "line 3: 'lots' is not a number"),
    "NaN in the data": ("step,active_fraction\n0,0.1\n1,NaN\n2,0.1\n", [], "line 3: missing value"),
    "empty cell": ("step,active_fraction\n0,0.1\n1,\n", [], "line 3: missing value"),
    "steps out of order": ("step,active_fraction\n0,0.1\n2,0.2\n1,0.3\n", [], "step 1 after step 2"),
    "fractional step": ("step,active_fraction\n0,0.1\n1.5,0.2\n", [], "allowed: whole numbers >= 0"),
    "longer than the scenario": ("step,active_fraction\n0,0.1\n41,0.2\n", [], "runs to step 41, longer than"),
    "unknown key": (None, ["--param", "dynamics.fickelness=0:1"], "unknown key; allowed: ads_cost"),
    "unknown organization": (
        None,
        ["--param", "organizations.Nope.openness=0:1"],
        "no such organization (got 'Nope'); allowed: Hive, Gazette",
    ),
    "out of range": (None, ["--param", "dynamics.loyalty=0:20"], "high end 20 is not accepted"),
    "empty range": (None, ["--param", "dynamics.loyalty=1:1"], "the range is empty"),
    "reversed range": (None, ["--param", "dynamics.loyalty=2:1"], "the range is reversed"),
    "not a range": (None, ["--param", "dynamics.loyalty=2"], "KEY=LOW:HIGH"),
    "reserved key": (None, ["--param", "seed=0:9"], "cannot be fitted"),
    "unknown measure": (None, ["--measure", "activity"], "'activity', which is not reported"),
    "text measure": (None, ["--measure", "Hive.quadrant"], "'Hive.quadrant', which is not a number"),
    "bad option": (None, ["--replications", "0"], "--replications must be a whole number of at least 1"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2_before_any_simulation(
    scenario_file, tmp_path, capsys, monkeypatch, case
):
    text, extra, expected = BAD_INPUTS[case]
    csv = tmp_path / "observed.csv"
    csv.write_text(text or "step,active_fraction\n0,0.05\n1,0.2\n2,0.1\n")

    def no_step(self):
        raise AssertionError("a simulation ran before the input was checked")

    monkeypatch.setattr(PowerModel, "step", no_step)
    out = tmp_path / "fit"
    assert cli.main(cli_args(scenario_file, csv, out, *extra)) == 2
    err = capsys.readouterr().err
    assert err.startswith("newpower: error: ") and err.count("\n") == 1, err
    assert expected in err, err
    assert not out.exists()


# ------------------------------------------------------------------ the pieces


def test_integer_keys_are_found_and_rounded(scenario_file, tmp_path):
    csv = tmp_path / "observed.csv"
    csv.write_text("step,active_fraction\n0,0.05\n1,0.2\n")
    problem = problem_for(scenario_file, csv, ["trigger.n_seeds=5:40", "dynamics.loyalty=0:2"])
    seeds, loyalty = problem.priors
    assert seeds.integer and not loyalty.integer
    assert seeds.value(12.6) == 13 and isinstance(seeds.value(12.6), int) and loyalty.value(1) == 1.0
    with pytest.raises(ScenarioError, match="is not accepted"):
        problem_for(scenario_file, csv, ["trigger.n_seeds=5.5:40"])


def test_priors_that_constrain_each_other_are_checked_at_every_corner(scenario_file, tmp_path):
    """values_sd must stay below sqrt(m (1 - m)): fine alone, not at the corner (sd 0.45, mean 0.1)."""
    csv = tmp_path / "observed.csv"
    csv.write_text("step,active_fraction\n0,0.05\n1,0.2\n")
    problem_for(scenario_file, csv, ["population.values_sd=0.05:0.45"])
    with pytest.raises(ScenarioError, match="corner"):
        problem_for(scenario_file, csv, ["population.values_sd=0.05:0.45", "population.values_mean=0.1:0.6"])


def test_summary_statistics_of_a_surge():
    steps = np.arange(0, 12, 2)  # every other step
    values = np.array([0.1, 0.5, 0.9, 0.6, 0.4, 0.3])
    assert summary_statistics(steps, values) == {
        "peak": 0.9,
        "peak_step": 4.0,
        "half_life": 4.0,  # 0.5 = halfway between 0.1 and 0.9 is first reached at step 8
        "final": 0.3,
    }
    assert summary_statistics(steps, np.array([0.1, 0.5, 0.9, 0.8, 0.7, 0.6]))["half_life"] == 7.0  # censored
    assert summary_statistics(steps, np.array([0.5, 0.4, 0.3, 0.2, 0.2, 0.1]))["half_life"] == 0.0  # no rise
    both = statistics(DistanceKind.SUMMARY, steps, {"a": values, "b": values})
    assert set(both) == {f"{c}:{s}" for c in "ab" for s in ("peak", "peak_step", "half_life", "final")}


def test_series_distance_is_a_scaled_root_mean_square_gap():
    distance = SeriesDistance({"a": 0.5, "b": 10.0})
    x0 = {"a": np.array([0.0, 0.0]), "b": np.array([0.0, 0.0])}
    assert distance(x0, x0) == 0.0
    assert distance({"a": np.array([0.5, 0.5]), "b": np.array([10.0, 10.0])}, x0) == pytest.approx(1.0)
    assert distance({"a": np.array([1.0, 1.0]), "b": np.array([0.0, 0.0])}, x0) == pytest.approx(np.sqrt(2))


def test_weighted_quantiles():
    values = np.array([3.0, 1.0, 2.0, 10.0])
    assert layout.weighted_quantile(values, np.array([0, 0, 1.0, 0]), [0.05, 0.5, 0.95]) == [2.0, 2.0, 2.0]
    equal = layout.weighted_quantile(values[:3], np.ones(3), [0.5])
    assert equal == [2.0]
    lo, hi = layout.weighted_quantile(values, np.array([1.0, 1.0, 1.0, 97.0]), [0.015, 0.515])
    assert lo == pytest.approx(2.0) and hi == 10.0  # as pyabc.weighted_statistics.weighted_quantile


def test_numpy_global_seed_is_reproducible_and_restores_the_callers_state():
    np.random.seed(5)
    expected_next = np.random.random()
    np.random.seed(5)
    with numpy_global_seed([1, 2, 3]):
        a = np.random.random(3)
    with numpy_global_seed([1, 2, 3]):
        b = np.random.random(3)
    assert (a == b).all()
    assert np.random.random() == expected_next


def test_options_are_checked():
    with pytest.raises(SimError, match="--distance 'pnorm' is not known"):
        Options(distance="pnorm")
    with pytest.raises(SimError, match="--noise"):
        Options(noise=-1)
    with pytest.raises(SimError, match="--min-acceptance"):
        Options(min_acceptance=1.0)
    assert Options(distance="summary").distance is DistanceKind.SUMMARY


def test_measures_map_columns_to_model_measures(scenario_file, tmp_path):
    csv = tmp_path / "observed.csv"
    csv.write_text("step,hive,share\n0,180,0.05\n1,170,0.2\n")
    observed = read_observed(csv, ["hive", "share"], ["Hive.members", "active_fraction"])
    assert observed.measures == ("Hive.members", "active_fraction")
    prepare(load_scenario(scenario_file), observed, [parse_prior(PRIORS[0])])
    with pytest.raises(InputError, match="2 column"):
        read_observed(csv, ["hive", "share"], ["Hive.members"])


def test_without_pyabc_the_command_says_how_to_install_it(scenario_file, tmp_path, capsys, monkeypatch):
    real = cli.importlib.util.find_spec
    monkeypatch.setattr(cli.importlib.util, "find_spec", lambda name: None if name == "pyabc" else real(name))
    csv = tmp_path / "observed.csv"
    csv.write_text("step,active_fraction\n0,0.05\n1,0.2\n")
    assert cli.main(cli_args(scenario_file, csv, tmp_path / "fit")) == 2
    assert "pip install 'newpower[calibrate]'" in capsys.readouterr().err
    assert not (tmp_path / "fit").exists()
