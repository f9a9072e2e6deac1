"""Shocks do what their docstrings say, on a small graph; scheduling works."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import CASTLE

from sim import ScenarioError, SimError, load_scenario, run
from sim.model.power_model import PowerModel
from sim.model.shocks import SHOCKS, make_shock
from sim.vocabulary import Level


@pytest.fixture
def model():
    """A small Castle-vs-Crowd world after a few steps."""
    m = PowerModel(load_scenario(CASTLE, overrides={"network.n": 300}), rng=5)
    for _ in range(5):
        m.step()
    return m


def test_leak_hurts_opaque_organizations_more(model):
    """Grievance jumps in proportion to the values gap times the hidden share; legitimacy falls."""
    gazette, commons = model.organization("Gazette"), model.organization("Commons")
    members = {o.name: np.flatnonzero(model.state.group == o.group) for o in (gazette, commons)}
    before = model.state.grievance.copy()
    legit = gazette.legitimacy
    model.fire(make_shock("leak", target="Gazette"))
    jump = model.state.grievance[members["Gazette"]] - before[members["Gazette"]]
    gap = np.abs(model.state.values[members["Gazette"]] - gazette.values)
    expected = (
        np.clip(before[members["Gazette"]] + gap * (1 - gazette.transparency), 0, 1)
        - before[members["Gazette"]]
    )
    np.testing.assert_allclose(jump, expected)
    assert gazette.exposure == 1.0 and gazette.legitimacy < legit
    untouched = np.setdiff1d(np.arange(model.n_participants), members["Gazette"])
    assert np.array_equal(model.state.grievance[untouched], before[untouched])
    # the same leak on the transparent platform costs it less legitimacy per unit of gap
    legit_c = commons.legitimacy
    model.fire(make_shock("leak", target="Commons"))
    assert legit - gazette.legitimacy > legit_c - commons.legitimacy


def test_viral_moment_raises_levels(model):
    """The chosen participants jump to the level (never down, never above their model's cap)."""
    commons = model.organization("Commons")
    record = model.fire(
        make_shock("viral_moment", n_participants=10, level="FUNDING", organization="Commons")
    )
    at = (model.state.level >= int(Level.FUNDING)) & (model.state.group == commons.group)
    assert record["participants"] == 10 and at.sum() >= 10
    assert (model.state.commitment[at] == 1.0).sum() >= 10
    gazette = model.organization("Gazette")  # a Castle's model enables consuming only
    model.fire(make_shock("viral_moment", n_participants=40, level="FUNDING", organization="Gazette"))
    assert model.state.level[model.state.group == gazette.group].max() <= int(gazette.max_level)


def test_rival_entry_adds_a_platform(model):
    """A new organization appears at the given compass position, with no members yet."""
    n = len(model.organizations)
    model.fire(make_shock("rival_entry", name="Diaspora", openness=0.9, values=0.95))
    rival = model.organization("Diaspora")
    assert len(model.organizations) == n + 1 and rival.n_members == 0
    assert (rival.openness, rival.values) == (0.9, 0.95) and rival.quadrant.value == "Crowd"
    for _ in range(40):
        model.step()
    assert rival.n_members > 0  # the dynamics, not the shock, bring members
    with pytest.raises(SimError, match="already exists"):
        model.fire(make_shock("rival_entry", name="Diaspora"))


def test_fee_hike_raises_take_rate(model):
    """The take rate rises by the size, capped at 1."""
    org = model.organization("Commons")
    before = org.take_rate
    model.fire(make_shock("fee_hike", target="Commons", size=0.15))
    assert org.take_rate == pytest.approx(before + 0.15)
    model.fire(make_shock("fee_hike", target="Commons", size=1.0))
    assert org.take_rate == 1.0


def test_campaign_weighs_stock_against_turnout(model):
    """Each side spends its stake and calls its members; the record has turnout, force and winner."""
    gazette, commons = model.organization("Gazette"), model.organization("Commons")
    stocks = gazette.stock, commons.stock
    record = model.fire(make_shock("campaign", side_a="Gazette", side_b="Commons", stake=0.5))
    assert record["a_stock_spent"] == pytest.approx(0.5 * stocks[0])
    assert gazette.stock == pytest.approx(0.5 * stocks[0])
    assert 0 <= record["b_turnout"] <= record["b_members"]
    assert record["a_turnout"] == 0  # a Castle's consumers never show up
    p = model.dynamics
    assert record["b_force"] == pytest.approx(
        p.lobby_weight * record["b_stock_spent"]
        + p.turnout_weight * record["b_turnout"] / model.n_participants
    )
    assert record["winner"] in ("Gazette", "Commons") and model.campaigns[-1] is record


def test_unknown_target_is_a_clear_error(model):
    """A shock naming an organization that does not exist says which exist."""
    with pytest.raises(SimError, match="allowed: Gazette, Commons"):
        model.fire(make_shock("leak", target="Nobody"))


def test_scheduled_and_recurring_shocks_fire_at_their_steps():
    """``step`` and ``every`` schedule shocks; events and campaigns are in the run's data."""
    scenario = load_scenario(
        CASTLE,
        overrides={
            "network.n": 200,
            "shocks": [
                {"kind": "fee_hike", "step": 3, "target": "Commons", "size": 0.1},
                {
                    "kind": "campaign",
                    "step": 4,
                    "every": 5,
                    "until": 15,
                    "side_a": "Gazette",
                    "side_b": "Commons",
                },
            ],
        },
    )
    result = run(scenario, steps=20)
    assert list(result.events["kind"]) == ["fee_hike", "campaign", "campaign", "campaign"]
    assert list(result.campaigns["step"]) == [4, 9, 14]
    assert result.timeseries["Commons.stock"].notna().all()


def test_shock_parameters_are_validated():
    """Unknown kinds and bad parameters name the key path and what is allowed."""
    with pytest.raises(ScenarioError, match="shocks.0.kind.*allowed: campaign"):
        load_scenario(CASTLE, overrides={"shocks": [{"kind": "earthquake", "step": 3}]})
    with pytest.raises(ScenarioError, match="shocks.0.size.*out of range"):
        load_scenario(CASTLE, overrides={"shocks": [{"kind": "fee_hike", "target": "Commons", "size": 3}]})
    assert {"leak", "viral_moment", "rival_entry", "fee_hike", "campaign"} <= set(SHOCKS)


def test_validation_reads_each_kind_s_description():
    """What a kind says it names (Reach) is what validation checks, for every registered kind."""
    for kind, cls in SHOCKS.items():
        valid = dict(zip(cls.reach.names, ("Gazette", "Commons"), strict=False))
        load_scenario(CASTLE, overrides={"shocks": [{"kind": kind, **valid}]})
        for attr in cls.reach.names:
            if attr in cls.reach.optional:
                continue
            shock = {"kind": kind, **valid, attr: "Nobody"}
            with pytest.raises(ScenarioError, match=f"shocks.0.{attr}.*no such organization"):
                load_scenario(CASTLE, overrides={"shocks": [shock]})
        if cls.reach.adds:
            with pytest.raises(ScenarioError, match=f"shocks.0.{cls.reach.adds}.*already exists"):
                load_scenario(CASTLE, overrides={"shocks": [{"kind": kind, cls.reach.adds: "Gazette"}]})
