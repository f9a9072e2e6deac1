"""Knock-outs: every named mechanism can be switched off, and switching it off changes something.

A mechanism whose knock-out changes nothing in any library scenario would be a name without a
model behind it (docs/ODD.md, Submodels; issue: "Named mechanisms that do nothing").
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from sim import load_scenario, run
from sim.config.scenario import MECHANISM_NAMES
from sim.errors import ScenarioError
from sim.model import rules
from sim.model.power_model import PowerModel

SEED = 1000

#: For each mechanism, a library scenario in which it matters (and overrides that make the
#: run short; the scenario's story is kept).
WHERE: dict[str, tuple[str, dict]] = {
    "peer_influence": ("kickstarter_surge", {}),
    "pull": ("sopa_blackout", {}),
    "fickle_fade": ("teaching_surge", {}),
    "slipping": ("kickstarter_surge", {}),
    "value_gap_grievance": ("facebook_rival", {}),
    "take_grievance": ("facebook_rival", {}),
    "exit_contagion": ("uber_fee_hike", {}),
    "desertion_to_rival": ("power_shift", {}),
    "outreach": ("castle_vs_crowd", {}),
    "ads": ("astroturf_exposed", {}),
    "structure": ("go_bilingual", {"organizations.Post.strategy_params.structure": 0.3}),
    "participation_inequality": ("power_shift", {}),
    "novelty": ("kickstarter_surge", {}),
}


def _series(name: str, overrides: dict, knockout: list[str], steps: int = 60, driver: str = "vectorized"):
    scenario = load_scenario(name, overrides={"network.n": 400, **overrides, "dynamics.knockout": knockout})
    result = run(scenario, seed=SEED, steps=min(steps, scenario.steps), driver=driver)
    return result.timeseries.select_dtypes("number").to_numpy(float)


def test_every_mechanism_has_a_scenario_where_it_matters():
    assert set(WHERE) == set(rules.MECHANISMS) == set(MECHANISM_NAMES)


@pytest.mark.parametrize("mechanism", list(WHERE))
def test_knocking_a_mechanism_out_changes_its_scenario(mechanism):
    name, overrides = WHERE[mechanism]
    intact = _series(name, overrides, [])
    knocked = _series(name, overrides, [mechanism])
    assert intact.shape != knocked.shape or not np.allclose(intact, knocked, equal_nan=True), (
        f"knocking out {mechanism} changed nothing in {name}"
    )


def test_a_knock_out_switches_a_mechanism_off_and_never_reverses_it():
    """Knock-outs set weights to 0 (or a margin beyond reach), never below: a negative weight would
    run the mechanism backwards. Those inside the model's ranges pass its validation as overrides."""
    for mechanism, (name, overrides) in WHERE.items():
        off = dict(rules.MECHANISMS[mechanism].off)
        assert all(v >= 0.0 for v in off.values()), mechanism
        if mechanism != "desertion_to_rival":  # its margin 2.0 is beyond any alignment gap, by design
            load_scenario(name, overrides=overrides | off)


def test_knock_out_sets_what_the_mechanism_declares_and_nothing_else():
    scenario = load_scenario(
        "facebook_rival", overrides={"dynamics.knockout": ["exit_contagion", "structure"]}
    )
    ran = rules.knock_out(scenario)
    assert ran.dynamics.exit_contagion == 0.0
    assert ran.dynamics.structure_take == 0.0 and ran.dynamics.structure_yield == 0.0
    untouched = {"exit_contagion", "structure_take", "structure_yield"}
    for field in ("fickleness", "loyalty", "switch_margin", "peer_influence"):
        assert field not in untouched
        assert getattr(ran.dynamics, field) == getattr(scenario.dynamics, field)


def test_the_model_runs_the_knocked_out_scenario_and_records_the_written_one():
    scenario = load_scenario(
        "uber_fee_hike", overrides={"network.n": 100, "dynamics.knockout": ["exit_contagion"]}
    )
    model = PowerModel(scenario)
    assert model.params.exit_contagion == 0.0
    assert model.spec.dynamics.exit_contagion == scenario.dynamics.exit_contagion > 0.0
    assert model.spec.dynamics.knockout == ("exit_contagion",)


def test_both_drivers_agree_under_a_knock_out():
    overrides = {"network.n": 150}
    a = _series("facebook_rival", overrides, ["desertion_to_rival", "pull"], steps=12)
    b = _series("facebook_rival", overrides, ["desertion_to_rival", "pull"], steps=12, driver="agents")
    np.testing.assert_array_equal(a, b)


def test_an_unknown_mechanism_is_one_line_naming_the_allowed_ones():
    with pytest.raises(ScenarioError) as info:
        load_scenario("facebook_rival", overrides={"dynamics.knockout": ["exit_contagoin"]})
    message = str(info.value)
    assert "\n" not in message
    assert "dynamics.knockout" in message and "exit_contagoin" in message and "exit_contagion" in message


def test_a_knockout_list_must_be_a_list():
    with pytest.raises(ScenarioError, match="expected an array"):
        load_scenario("facebook_rival", overrides={"dynamics.knockout": 3})


def test_a_repeated_name_switches_the_mechanism_off_once():
    once = load_scenario("facebook_rival", overrides={"dynamics.knockout": ["ads", "pull"]})
    twice = load_scenario("facebook_rival", overrides={"dynamics.knockout": ["ads", "ads", "pull"]})
    assert rules.knock_out(once).dynamics == dataclasses.replace(
        rules.knock_out(twice).dynamics, knockout=once.dynamics.knockout
    )


def test_the_command_line_adds_knockouts_and_the_manifest_records_them(tmp_path, capsys):
    """``newpower run --knockout NAME`` (repeatable) adds to the scenario's knock-outs; ``newpower list`` names them."""
    from sim.faces.cli.main import main

    out = tmp_path / "run"
    argv = ["run", "facebook_rival", "--set", "network.n=100", "--steps", "3", "--out", str(out)]
    assert main([*argv, "--knockout", "exit_contagion", "--knockout", "ads"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario"]["dynamics"]["knockout"] == ["exit_contagion", "ads"]
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in rules.MECHANISMS)
