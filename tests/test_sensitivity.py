"""Sensitivity analysis: SALib Sobol and Morris over the toy's ranges, through the sweep machinery."""

from __future__ import annotations

import pandas as pd
import pytest
from research_toys import toy, write_toml

from sim import scenario_from_dict
from sim.errors import ScenarioError, SimError
from sim.faces.cli.research import main
from sim.research.sensitivity import analyze, plan_sensitivity, problem_for, write_outputs
from sim.research.sweep import run_sweep

RANGES = {
    "design": "latin_hypercube",
    "ranges": {"shocks.0.size": [0.0, 0.4], "dynamics.ads_cost": [0.0, 1.0]},
}


def test_problem_comes_from_sweep_ranges_else_uncertain():
    """[sweep].ranges first, [uncertain] otherwise, nothing: a clear error."""
    assert problem_for(scenario_from_dict(toy(sweep=RANGES)))["names"] == [
        "shocks.0.size",
        "dynamics.ads_cost",
    ]
    unc = scenario_from_dict(toy(uncertain={"dynamics.fickleness": [0.0, 0.2]}))
    assert problem_for(unc) == {"num_vars": 1, "names": ["dynamics.fickleness"], "bounds": [[0.0, 0.2]]}
    with pytest.raises(ScenarioError, match="no ranges"):
        problem_for(scenario_from_dict(toy()))


def test_small_sobol_analysis_ranks_the_fee_hike_first(tmp_path):
    """Sobol (N=16, 2 factors: 64 points): the fee hike carries the variance of desertion, ads cost none."""
    sc = scenario_from_dict(toy(sweep=RANGES, steps=15))
    plan = plan_sensitivity(sc, "sobol", samples=16)
    assert len(plan.points) == 16 * (2 + 2)
    assert [p.overrides for p in plan_sensitivity(sc, "sobol", samples=16).points] == [
        p.overrides for p in plan.points
    ]  # SALib's sample is seeded by the root seed
    run_sweep(plan, tmp_path, workers=0, progress=False)
    indices, notes = analyze(tmp_path, ["Hub.desertion_share", "steps"])
    assert any("steps: the same in every run" in n for n in notes)
    size = indices[
        (indices["measure"] == "Hub.desertion_share") & (indices["factor"] == "shocks.0.size")
    ].iloc[0]
    ads = indices[
        (indices["measure"] == "Hub.desertion_share") & (indices["factor"] == "dynamics.ads_cost")
    ].iloc[0]
    assert size["ST"] > 0.6 and size["S1"] > 0.4
    assert abs(ads["S1"]) < 0.15 and ads["ST"] < 0.15
    assert size["ST_conf"] > 0  # bootstrap intervals are reported
    paths = write_outputs(tmp_path, indices, notes)
    assert {p.name for p in paths} == {"sensitivity.md", "sensitivity.parquet", "sensitivity.png"}
    assert "| `shocks.0.size` |" in (tmp_path / "sensitivity.md").read_text()
    assert len(pd.read_parquet(tmp_path / "sensitivity.parquet")) == 2  # one measure x two factors


def test_morris_through_the_command_line(tmp_path, capsys):
    """``sensitivity --method morris`` prints mu* per factor and writes the report and the chart."""
    path = write_toml(toy(sweep=RANGES, steps=15), tmp_path / "toy.toml")
    out = tmp_path / "out"
    code = main(
        [
            "sensitivity",
            str(path),
            "--method",
            "morris",
            "--samples",
            "6",
            "--workers",
            "0",
            "--out",
            str(out),
            "--measure",
            "Hub.desertion_share",
            "--no-progress",
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    text = captured.out
    assert "mu*" in text and "shocks.0.size" in text
    assert "warning: the sample is too small for Morris: 6 trajectories" in captured.err
    assert (out / "sensitivity.md").is_file() and (out / "figures" / "sensitivity.png").is_file()
    indices = pd.read_parquet(out / "sensitivity.parquet").set_index("factor")
    assert indices.loc["shocks.0.size", "mu_star"] > indices.loc["dynamics.ads_cost", "mu_star"]


def test_an_incomplete_sample_is_not_analysed(tmp_path):
    """Missing points (failed or not yet run) stop the analysis with a message to resume."""
    plan = plan_sensitivity(scenario_from_dict(toy(sweep=RANGES, steps=5)), "sobol", samples=2)
    plan.points = plan.points[:3]  # as if the rest had not run
    run_sweep(plan, tmp_path, workers=0, progress=False)
    import json

    manifest = json.loads((tmp_path / "sweep.json").read_text())
    manifest["n_points"] = 8
    (tmp_path / "sweep.json").write_text(json.dumps(manifest))
    with pytest.raises(SimError, match="5 of 8 points have no completed run"):
        analyze(tmp_path)


def test_a_tiny_sobol_sample_warns_that_it_is_too_small(tmp_path, capsys):
    """N=2 gives indices outside [0, 1]: the command and the report say the sample is too small."""
    path = write_toml(toy(sweep=RANGES, steps=15), tmp_path / "toy.toml")
    out = tmp_path / "out"
    code = main(
        ["sensitivity", str(path), "--samples", "2", "--workers", "0", "--out", str(out), "--no-progress"]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "warning: the sample is too small for Sobol (N = 2)" in err and "outside [0, 1]" in err
    indices = pd.read_parquet(out / "sensitivity.parquet")
    assert ((indices[["S1", "ST"]] < -0.05) | (indices[["S1", "ST"]] > 1.05)).any().any()
    assert "**Warning:** the sample is too small for Sobol" in (out / "sensitivity.md").read_text()


def test_a_large_enough_sample_gives_no_warning():
    """Indices inside [0, 1] (or off by less than the slack), and 10+ Morris trajectories: no warning."""
    from sim.research.sensitivity import sample_warnings

    ok = pd.DataFrame({"measure": ["m", "m"], "factor": ["a", "b"], "S1": [0.7, -0.01], "ST": [0.8, 0.02]})
    assert sample_warnings(ok, "sobol", 64) == []
    assert sample_warnings(ok.assign(ST=[1.2, 0.02]), "sobol", 64)
    assert sample_warnings(pd.DataFrame(), "morris", 10) == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--seed", "-1"], "--seed -1"),
        (["--method", "morris", "--levels", "-3"], "--levels -3"),
        (["--method", "morris", "--levels", "3"], "--levels 3"),
        (["--samples", "0"], "--samples 0"),
        (["--measure", "nosuch"], "--measure 'nosuch': not a summary measure"),
        (["--measure", "Hub.final_quadrant"], "--measure 'Hub.final_quadrant': a text measure"),
    ],
)
def test_sensitivity_options_and_measures_are_checked_before_any_run(tmp_path, capsys, options, expected):
    """A bad option or measure exits 2 with one line naming it and its value; nothing runs, no folder."""
    path = write_toml(toy(sweep=RANGES, steps=3), tmp_path / "toy.toml")
    out = tmp_path / "out"
    code = main(["sensitivity", str(path), "--workers", "0", "--out", str(out), "--no-progress", *options])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and expected in err and "allowed" in err, err
    assert not out.exists()


def test_the_measures_known_before_a_run_are_those_a_run_reports():
    """``summary_measures`` names every summary key of a real run (a late entrant's too), numbers as numbers."""
    from sim import load_scenario, run
    from sim.research.measures import summary_measures
    from sim.scenarios import LIBRARY

    scenario = load_scenario(LIBRARY / "facebook_rival.toml", {"network.n": 200, "steps": 62})
    summary = run(scenario, seed=1).summary
    known = summary_measures(scenario)
    assert list(known) == list(summary) and "Diaspora.final_members" in known
    assert known == {k: isinstance(v, (int, float)) for k, v in summary.items()}


def test_analyze_leaves_text_and_unknown_measures_out_with_a_note(tmp_path):
    """Through the Python API, a text or unknown measure is a note, not a crash."""
    plan = plan_sensitivity(scenario_from_dict(toy(sweep=RANGES, steps=15)), "sobol", samples=2)
    run_sweep(plan, tmp_path, workers=0, progress=False)
    indices, notes = analyze(tmp_path, ["Hub.final_quadrant", "nosuch", "Hub.final_stock"])
    assert set(indices["measure"]) == {"Hub.final_stock"}
    assert analyze(tmp_path, ["nosuch"])[
        0
    ].empty  # an empty table, with its columns: the report is still written
    assert write_outputs(tmp_path, *analyze(tmp_path, ["nosuch"]))[0].read_text().count("## Left out") == 1
    assert "Hub.final_quadrant: a text measure, not a number; left out" in notes
    assert "nosuch: not a measure of these runs" in notes
