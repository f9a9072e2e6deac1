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
    text = capsys.readouterr().out
    assert "mu*" in text and "shocks.0.size" in text
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
