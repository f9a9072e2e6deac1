"""Invariants that must hold in every run, checked over random scenarios with hypothesis."""

from __future__ import annotations

import numpy as np
from helpers import scenario_dicts
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import scenario_from_dict
from sim.model import metrics
from sim.model.power_model import PowerModel
from sim.vocabulary import ACTIVE_LEVEL, N_LEVELS, TOP_LEVEL, Level


def caps_of(model: PowerModel) -> np.ndarray:
    """Per participant, the highest level its organization (or the crowd) enables."""
    by_group = np.array([model.unaffiliated_cap] + [int(o.max_level) for o in model.organizations])
    return by_group[model.state.group]


def check_state(model: PowerModel, after_step: bool) -> None:
    """Assert every per-participant and per-organization invariant on the model's current state."""
    check_participants(model, after_step)
    counts = np.bincount(model.state.level, minlength=N_LEVELS)
    np.testing.assert_array_equal(model.level_counts, counts)
    assert model.active_fraction == counts[ACTIVE_LEVEL:].sum() / model.n_participants
    for org in model.organizations:
        check_organization(model, org, after_step)


def check_participants(model: PowerModel, after_step: bool) -> None:
    """Every participant holds one level, one group or none, and bounded commitment and grievance;
    after a step nobody is above its cap and every exit and join is a real change of affiliation."""
    s, n = model.state, model.n_participants
    assert s.level.shape == s.group.shape == s.commitment.shape == s.grievance.shape == (n,)
    assert s.level.min() >= 0 and s.level.max() <= TOP_LEVEL
    assert s.group.min() >= 0 and s.group.max() <= len(model.organizations)
    assert np.all((s.commitment >= 0) & (s.commitment <= 1)), "commitment out of [0, 1]"
    assert np.all((s.grievance >= 0) & (s.grievance <= 1)), "grievance out of [0, 1]"
    assert np.all((s.threshold >= 0) & (s.threshold <= 1))
    assert np.all((s.values >= 0) & (s.values <= 1))
    if after_step:
        assert np.all(s.level <= caps_of(model)), "a participant is above its organization's max_level"
        # whoever exited left the group they were in before the step; whoever joined is now in one
        assert np.all(s.group[s.exited] != model.prev.group[s.exited])
        assert np.all(s.group[s.joined] > 0)
        assert not np.any(s.joined & ~s.exited & (model.prev.group != 0))


def check_organization(model: PowerModel, org, after_step: bool) -> None:
    """An organization's tally matches its members, and its outcomes stay in their ranges."""
    assert org.n_members == int((model.state.group == org.group).sum())
    assert 0.0 <= org.legitimacy <= 1.0
    assert org.stock >= 0.0
    assert 0.0 <= org.current <= 1.0
    assert 0.0 <= org.funded <= 1.0
    assert 0.0 <= org.mean_grievance <= 1.0
    assert 0.0 <= org.mean_level <= int(org.max_level) or not after_step


def check_timeseries(model: PowerModel) -> None:
    """Assert the per-step table's accounting identities and bounds."""
    frame = metrics.timeseries(model)
    n = model.n_participants
    assert len(frame) == model.steps + 1
    level_cols = [f"n_{lv.name.lower()}" for lv in Level]
    np.testing.assert_array_equal(frame[level_cols].sum(axis=1).to_numpy(), n)
    assert (frame[level_cols].to_numpy() >= 0).all()
    members = sum(frame[f"{o.name}.members"] for o in model.organizations) + frame["n_unaffiliated"]
    np.testing.assert_array_equal(np.asarray(members), n)
    assert frame["active_fraction"].between(0.0, 1.0).all()
    np.testing.assert_allclose(frame["active_fraction"], frame[level_cols[1:]].sum(axis=1) / n)
    numeric = frame.select_dtypes(include="number")
    assert not numeric.isna().to_numpy().any(), numeric.columns[numeric.isna().any()].tolist()
    for org in model.organizations:
        assert frame[f"{org.name}.stock"].ge(0).all()
        assert frame[f"{org.name}.legitimacy"].between(0, 1).all()
        assert frame[f"{org.name}.mean_grievance"].between(0, 1).all()
        assert frame[f"{org.name}.joins"].ge(0).all() and frame[f"{org.name}.exits"].ge(0).all()
        assert frame[f"{org.name}.active"].le(frame[f"{org.name}.members"]).all()


@settings(max_examples=40)
@given(raw=scenario_dicts(), data=st.data())
def test_invariants_hold_every_step(raw, data):
    """Over random scenarios (network kind, size, thresholds, fickleness, grievance, organizations' levers,
    triggers): every participant holds one level in 0..5, memberships add up to n, bounded quantities
    stay bounded, nobody sits above its organization's max_level after a step, and no NaN is reported."""
    scenario = scenario_from_dict(raw)
    model = PowerModel(scenario, rng=data.draw(st.integers(0, 2**32), label="seed"))
    assert model.n_participants == raw["network"]["n"]
    check_state(model, after_step=False)
    for _ in range(scenario.steps):
        model.step()
        check_state(model, after_step=True)
    check_timeseries(model)


@settings(max_examples=15)
@given(raw=scenario_dicts(max_n=150, max_steps=5, max_orgs=4))
def test_invariants_hold_with_agents_driver(raw):
    """The per-agent reference driver keeps the same invariants."""
    scenario = scenario_from_dict(raw)
    model = PowerModel(scenario, rng=scenario.seed, driver="agents")
    for _ in range(scenario.steps):
        model.step()
        check_state(model, after_step=True)
    check_timeseries(model)


@settings(max_examples=25)
@given(raw=scenario_dicts(max_n=200, max_steps=12, max_orgs=3, strategies=True))
def test_invariants_hold_with_strategies(raw):
    """The same invariants hold when organizations run registered strategies (default parameters),
    which move their levers - including the enabled level - during the run."""
    scenario = scenario_from_dict(raw)
    model = PowerModel(scenario, rng=scenario.seed)
    for _ in range(scenario.steps):
        model.step()
        check_state(model, after_step=True)
    check_timeseries(model)


@settings(max_examples=25)
@given(raw=scenario_dicts(max_n=200, max_steps=3))
def test_initial_state_matches_scenario(raw):
    """At step 0, initial members number round(share * n) per organization (while places last),
    seeds number min(n_seeds, pool), and everyone else consumes without affiliation."""
    scenario = scenario_from_dict(raw)
    model = PowerModel(scenario, rng=scenario.seed)
    s, n = model.state, model.n_participants
    free = n
    for org, spec in zip(model.organizations, scenario.organizations, strict=True):
        expected = min(round(spec.initial_share * n), free)
        assert org.n_members == expected
        free -= expected
    trigger = scenario.trigger
    pool = (
        n
        if not trigger.organization
        else model.organizations[
            [o.name for o in scenario.organizations].index(trigger.organization)
        ].n_members
    )
    assert model.seeds.size == min(trigger.n_seeds, pool)
    assert np.unique(model.seeds).size == model.seeds.size
    if model.seeds.size:
        # seeds start at the trigger level, or at most at what their model enables
        wanted = int(Level[trigger.level])
        capped = np.minimum(wanted, caps_of(model)[model.seeds])
        assert np.all(s.level[model.seeds] == wanted) or np.all(s.level[model.seeds] == capped)
        assert np.all(s.commitment[model.seeds] == 1.0)
    others = np.ones(n, dtype=bool)
    others[model.seeds] = False
    unaffiliated = others & (s.group == 0)
    assert np.all(s.level[unaffiliated] == 0) and np.all(s.commitment[unaffiliated] == 0)
