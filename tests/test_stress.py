"""Stress tests: the toy deserts iff its fee hike is above 0.2, and scenario discovery finds that condition."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from research_toys import TOY_STRESS, toy, write_toml

from sim import run, scenario_from_dict
from sim.errors import ScenarioError
from sim.faces.cli.research import main
from sim.research.discovery import discover
from sim.research.stress import analyze_stress, box_sentence, label, plan_stress, wilson, write_report
from sim.research.sweep import run_sweep
from sim.storage import sweep_store as store


def toy_stress(**tables):
    return scenario_from_dict(toy(**TOY_STRESS, **tables))


@pytest.mark.parametrize("size", [0.0, 0.12, 0.3, 0.38])
def test_toy_deserts_iff_fee_hike_above_02(size):
    """The toy's construction, checked on the model itself: a hike of 0.12 or less keeps the Hub's community,
    0.3 or more loses more than half of it, for every seed tried and any ads cost."""
    sc = toy_stress()
    for seed, ads_cost in zip(range(4), (0.0, 0.3, 0.7, 1.0), strict=True):
        share = run(
            sc.with_overrides({"shocks.0.size": size, "dynamics.ads_cost": ads_cost}), seed=seed
        ).summary["Hub.desertion_share"]
        assert (share > 0.5) == (size > 0.2), (size, seed, share)


def test_wilson_interval_matches_known_values():
    """Wilson 95% intervals: 0 of 10 and 5 of 10 (textbook values), and never outside [0, 1]."""
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(10, 10)[1] == pytest.approx(1.0) and wilson(10, 10)[0] == pytest.approx(0.7225, abs=1e-4)


def test_discovery_recovers_a_planted_box():
    """PRIM finds a > 0.3 and b > 0.2 on synthetic data, and leaves the irrelevant dimension alone."""
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.random(400), "b": rng.random(400) * 0.4, "c": rng.random(400)})
    y = (x["a"] > 0.3).to_numpy() & (x["b"] > 0.2).to_numpy()
    box = discover(x, y, {"a": (0, 1), "b": (0, 0.4), "c": (0, 1)})
    assert set(box.limits) == {"a", "b"}
    assert box.limits["a"][0] == pytest.approx(0.3, abs=0.05) and box.limits["a"][1] == 1
    assert box.limits["b"][0] == pytest.approx(0.2, abs=0.03)
    assert box.density > 0.9 and box.coverage > 0.9
    tree = discover(x, y, {"a": (0, 1), "b": (0, 0.4), "c": (0, 1)}, method="tree")
    assert set(tree.limits) == {"a", "b"}
    assert discover(x, np.zeros(400, bool)) is None


def test_stress_test_finds_the_fee_hike_condition(tmp_path):
    """On sampled futures of the toy, desertion is explained by 'fee hike size > ~0.2' alone."""
    plan = plan_stress(toy_stress(), samples=80)
    run_sweep(plan, tmp_path, workers=0, progress=False)
    result = analyze_stress(tmp_path)
    (arm,) = result.arms
    assert arm.n == 80
    assert 0.3 < arm.share < 0.6 and arm.interval[0] < arm.share < arm.interval[1]
    box = arm.box
    assert box is not None and set(box.limits) == {"shocks.0.size"}
    lo, hi = box.limits["shocks.0.size"]
    assert 0.15 <= lo <= 0.26 and hi == 0.4
    assert box.density >= 0.9 and box.coverage >= 0.9
    sentence = box_sentence(box, result.manifest["extra"]["labels"])
    assert sentence.startswith("desertion in ")
    assert re.search(r"of futures where fee hike size > 0\.(1[5-9]|2[0-6])", sentence), (
        sentence
    )  # the box's lo
    assert "cover" in sentence and "of all desertions" in sentence


def test_strategies_run_on_the_same_futures_and_the_report_is_written(tmp_path):
    """Each future runs once per strategy with the same seed; the report, figures and outcomes are written."""
    plan = plan_stress(toy_stress(), samples=16, strategies=["status_quo", "respect_community"])
    run_sweep(plan, tmp_path, workers=0, progress=False)
    summaries = store.read_summaries(tmp_path).merge(store.read_points(tmp_path), on="point_id")
    per_future = summaries.groupby("seed_index")
    assert per_future.size().eq(2).all() and per_future["seed"].nunique().eq(1).all()
    result = analyze_stress(tmp_path)
    assert [a.strategy for a in result.arms] == ["status_quo", "respect_community"]
    (comparison,) = result.comparisons
    assert comparison.n_pairs == 16
    assert comparison.difference * 16 == pytest.approx(comparison.only_this - comparison.only_against)
    path = write_report(tmp_path, result)
    text = path.read_text()
    assert "## The answer" in text and "Wilson" in text and "respect_community vs status_quo" in text
    for figure in ("stress_desertion.png", "stress_measure.png", "stress_map.png"):
        assert f"figures/{figure}" in text
        assert (tmp_path / "figures" / figure).stat().st_size > 5000
    outcomes = pd.read_parquet(tmp_path / "outcomes.parquet")
    assert len(outcomes) == 32 and outcomes["deserted"].dtype == bool


def test_stress_command_prints_the_answer_and_refuses_a_scenario_without_uncertainty(tmp_path, capsys):
    """``stress`` prints the share in words and the report's path; no [uncertain] table exits 2 in one line."""
    path = write_toml(toy(**TOY_STRESS), tmp_path / "toy.toml")
    code = main(
        [
            "stress",
            str(path),
            "--samples",
            "12",
            "--workers",
            "0",
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Hub loses more than 50% of its peak membership" in out
    assert "community deserts in" in out and "95% interval" in out and "report:" in out
    plain = write_toml(toy(), tmp_path / "plain.toml")
    assert main(["stress", str(plain), "--samples", "4", "--workers", "0", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "nothing is uncertain" in err and len(err.strip().splitlines()) == 1


def test_unknown_strategy_and_labels():
    """An unknown strategy is refused before anything runs; keys read as words."""
    with pytest.raises(ScenarioError, match="unknown strategy"):
        plan_stress(toy_stress(), samples=4, strategies=["no_such_strategy"])
    raw = toy()
    assert label("shocks.0.size", raw) == "fee hike size"
    assert label("shocks.0.step", raw) == "fee hike time (step)"
    assert label("organizations.Lyft.take_rate") == "Lyft take rate"
    assert label("dynamics.exit_contagion") == "peer influence on exits"


@pytest.mark.parametrize(
    ("desertion", "options", "expected"),
    [
        ({}, ["--seed", "-1"], "--seed -1: allowed"),
        (
            {"measure": "nosuch"},
            [],
            "key 'desertion.measure': not a summary measure of these runs (got 'nosuch')",
        ),
        ({"measure": "final_quadrant"}, [], "key 'desertion.measure': a text measure, not a number"),
    ],
)
def test_stress_options_and_its_measure_are_checked_before_any_run(
    tmp_path, capsys, desertion, options, expected
):
    """A bad seed, or a desertion measure that is unknown or text, exits 2 in one line; nothing runs."""
    data = toy(**TOY_STRESS)
    data["desertion"] = {**data["desertion"], **desertion}
    path = write_toml(data, tmp_path / "toy.toml")
    out = tmp_path / "out"
    code = main(
        [
            "stress",
            str(path),
            "--samples",
            "4",
            "--workers",
            "0",
            "--out",
            str(out),
            "--no-progress",
            *options,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and expected in err and "allowed" in err, err
    assert not out.exists()


def test_stress_figures_are_drawn_from_plain_data(tmp_path):
    """The figures need no stress folder and no research code: a StressData built by hand is enough."""
    from sim.figures.stress import StressArm, StressData, desertion_figure, map_figure, measure_figure

    rng = np.random.default_rng(3)
    size, cost = rng.random(40) * 0.4, rng.random(40)
    outcomes = pd.DataFrame(
        {"strategy": "as is", "shocks.0.size": size, "dynamics.ads_cost": cost, "measure": size * 2}
    )
    outcomes["deserted"] = outcomes["measure"] > 0.5
    k = int(outcomes["deserted"].sum())
    arm = StressArm(
        "as is",
        40,
        k,
        wilson(k, 40),
        {"shocks.0.size": (0.25, 0.4), "dynamics.ads_cost": (0.0, 0.6), "trigger.n_seeds": (3.0, 5.0)},
        {
            "shocks.0.size": "fee hike size > 0.25",
            "dynamics.ads_cost": "ads cost < 0.6",
            "trigger.n_seeds": "seeds > 3",
        },
    )
    data = StressData(
        outcomes,
        [arm],
        "Hub",
        "desertion_share",
        0.5,
        {"shocks.0.size": (0.0, 0.4), "dynamics.ads_cost": (0.0, 1.0), "trigger.n_seeds": (1.0, 5.0)},
        {
            "shocks.0.size": "fee hike size",
            "dynamics.ads_cost": "ads cost",
            "trigger.n_seeds": "trigger seeds",
        },
    )
    outcomes["trigger.n_seeds"] = rng.integers(1, 6, 40)
    assert arm.share == k / 40
    for draw in (desertion_figure, measure_figure, map_figure):
        path = draw(data, tmp_path / f"{draw.__name__}.png")
        assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 5000
