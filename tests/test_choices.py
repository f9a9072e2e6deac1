"""Human-chosen participants (class mode): choices replace the rules for their participant only.

Both drivers apply them identically (bit for bit), a step with choices draws the same random
numbers as one without, and everyone not chosen follows the rules exactly as without choices.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import CASTLE, scenario_dicts, state_arrays
from hypothesis import given, settings

from sim import SimError, load_scenario, scenario_from_dict
from sim.model import choices
from sim.model.choices import Choice
from sim.model.power_model import PowerModel
from sim.vocabulary import Level


def _castle(n: int = 300):
    return load_scenario(CASTLE, overrides={"network.n": n})


def _scripted(model: PowerModel, who: np.ndarray, step: int) -> dict[int, Choice]:
    """A deterministic choice per participant in ``who``: cycles through what each is allowed."""
    out = {}
    for k, index in enumerate(who):
        allowed = model.allowed_choices(int(index))
        out[int(index)] = allowed[(k + step) % len(allowed)]
    return out


def _run_with_choices(driver: str, steps: int, seed: int = 3, scenario=None, every: int = 11) -> PowerModel:
    model = PowerModel(scenario or _castle(), rng=seed, driver=driver)
    who = np.arange(0, model.n_participants, every)
    for step in range(steps):
        model.choose(_scripted(model, who, step))
        model.step()
    return model


def test_drivers_apply_choices_identically():
    """Both drivers, the same choices every step (every kind, leaving and joining included): the
    same time series and the same participant arrays, bit for bit."""
    vec, agt = _run_with_choices("vectorized", 25), _run_with_choices("agents", 25)
    a, b = state_arrays(vec.state), state_arrays(agt.state)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert vec.recorder.frame().equals(agt.recorder.frame())
    assert vec.cascades.cascade_sizes(10).tolist() == agt.cascades.cascade_sizes(10).tolist()


@settings(max_examples=10, deadline=None)
@given(raw=scenario_dicts(max_n=120, max_steps=6, max_orgs=3))
def test_drivers_apply_choices_identically_on_random_scenarios(raw):
    """Over random small scenarios (any generated network, 0-3 organizations), a third of the
    participants choosing every step: both drivers agree bit for bit."""
    scenario = scenario_from_dict(raw)
    vec = _run_with_choices("vectorized", raw["steps"], raw["seed"], scenario, every=3)
    agt = _run_with_choices("agents", raw["steps"], raw["seed"], scenario, every=3)
    a, b = state_arrays(vec.state), state_arrays(agt.state)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert vec.recorder.frame().equals(agt.recorder.frame())


def test_choices_are_followed_and_others_follow_the_rules():
    """One step with choices against the same step without: chosen participants do what they chose;
    everyone else ends the step exactly as without choices; the random stream is not shifted."""
    with_, without = PowerModel(_castle(), rng=8), PowerModel(_castle(), rng=8)
    for _ in range(5):
        with_.step(), without.step()
    s = with_.state
    member = int(
        np.flatnonzero((s.group > 0) & (s.level > 0) & (s.level < with_.table.max_level[s.group]))[0]
    )
    free = int(np.flatnonzero(s.group == 0)[0])
    others = np.flatnonzero(s.group > 0)
    leaver, slipper = int(others[-1]), member
    climber = int(np.flatnonzero((s.level < with_.table.max_level[s.group]) & (s.group > 0))[1])
    before = s.copy()
    wanted = {climber: Choice.CLIMB, slipper: Choice.SLIP, leaver: Choice.LEAVE, free: Choice.JOIN_RIVAL}
    assert len(wanted) == 4
    with_.choose(wanted)
    with_.step(), without.step()
    after = with_.state
    assert after.level[climber] == before.level[climber] + 1
    assert after.level[slipper] == before.level[slipper] - 1
    assert after.group[leaver] == 0 and after.left[leaver] == before.group[leaver]
    assert after.group[free] > 0 and after.joined[free]
    rest = np.setdiff1d(np.arange(with_.n_participants), list(wanted))
    for name, a in state_arrays(after).items():
        np.testing.assert_array_equal(a[rest], state_arrays(without.state)[name][rest], err_msg=name)
    assert with_.rng.bit_generator.state == without.rng.bit_generator.state
    assert with_.choices == {}  # a choice holds for one step


def test_no_choices_change_nothing():
    """Choosing nothing (an empty class) leaves a run exactly as it was."""
    a, b = PowerModel(_castle(200), rng=4), PowerModel(_castle(200), rng=4)
    for _ in range(10):
        a.choose({})
        a.step(), b.step()
    assert a.recorder.frame().equals(b.recorder.frame())


def test_allowed_choices_respect_levels_membership_and_rivals():
    """Climbing stops at the cap of one's organization's model, slipping at the bottom; leaving
    needs a membership; joining another organization needs one to exist."""
    one_org = scenario_from_dict(
        {
            "name": "solo",
            "network": {"kind": "watts_strogatz", "n": 150, "mean_degree": 6},
            "population": {"unaffiliated_max_level": "SHARING"},
            "organizations": [{"name": "Solo", "kind": "platform", "openness": 0.5, "initial_share": 0.5}],
        }
    )
    model = PowerModel(one_org, rng=1)
    s = model.state
    member = int(np.flatnonzero(s.group == 1)[0])
    free = int(np.flatnonzero(s.group == 0)[0])
    s.level[member] = model.table.max_level[1]
    assert Choice.CLIMB not in model.allowed_choices(member)
    assert Choice.JOIN_RIVAL not in model.allowed_choices(member)  # no rival yet
    assert Choice.LEAVE in model.allowed_choices(member)
    s.level[free] = Level.CONSUMING
    assert model.allowed_choices(free) == (Choice.CLIMB, Choice.STAY, Choice.JOIN_RIVAL)
    with pytest.raises(SimError, match="cannot leave"):
        model.choose({free: "leave"})
    with pytest.raises(SimError, match="allowed: climb"):
        model.choose({free: "dance"})
    assert model.choices == {}


# Each test below kills mutants of choices.py that survived scripts/mutation.sh (docs/mutation.md).


def _two_camps(values_mean: float, values_sd: float, crowd_cap: str = "SHARING", level: str = "SHAPING"):
    """Two organizations at the two ends of the values axis (both models enable a few rungs),
    members of both starting at ``level``, and unaffiliated under ``crowd_cap``."""
    start = {"openness": 0.5, "initial_level": level}
    return scenario_from_dict(
        {
            "name": "two_camps",
            "network": {"kind": "watts_strogatz", "n": 240, "mean_degree": 6},
            "population": {
                "values_mean": values_mean,
                "values_sd": values_sd,
                "unaffiliated_max_level": crowd_cap,
            },
            "organizations": [
                {"name": "Old", "kind": "institution", "values": 0.0, "initial_share": 0.3, **start},
                {"name": "New", "kind": "platform", "values": 1.0, "initial_share": 0.3, **start},
            ],
        }
    )


@pytest.mark.parametrize(
    ("values_mean", "values_sd"),
    [(0.5, 0.3), (0.0, 0.0)],  # spread values; everyone at 0, sharing nothing with New
    ids=["spread", "all_old_values"],
)
def test_joining_a_rival_goes_to_the_best_aligned_other_organization_on_the_same_rung(values_mean, values_sd):
    """Everyone chooses join_rival for one step: each member deserts to the other organization
    (even one that shares none of their values), each unaffiliated joins the organization
    closest to their values, and nobody changes rung on the way (but for the new model's cap)."""
    model = PowerModel(_two_camps(values_mean, values_sd), rng=1000)
    before = model.state.copy()
    model.choose({i: Choice.JOIN_RIVAL for i in range(model.n_participants)})
    model.step()
    after = model.state
    assert (before.group == 1).any() and (before.group == 2).any() and (before.group == 0).any()
    members = before.group > 0
    np.testing.assert_array_equal(after.group[members], 3 - before.group[members])
    free = ~members
    closest = np.where(before.values[free] <= 0.5, 1, 2)  # Old sits at 0, New at 1 (Old on a tie)
    np.testing.assert_array_equal(after.group[free], closest)
    if values_sd > 0:
        assert set(closest) == {1, 2}  # unaffiliated go to either end, the last organization too
    np.testing.assert_array_equal(after.level, np.minimum(before.level, model.table.max_level[after.group]))


def test_leaving_and_staying_keep_ones_rung():
    """A member who leaves keeps their rung when the crowd's cap allows it, and one who stays
    keeps theirs: neither choice moves anyone up or down the scale."""
    model = PowerModel(_two_camps(0.5, 0.2, crowd_cap="CO_OWNING"), rng=1001)
    s = model.state
    members = np.flatnonzero((s.group > 0) & (s.level > 0))
    leavers, stayers = members[::2], members[1::2]
    assert leavers.size and stayers.size
    before = s.copy()
    model.choose({int(i): Choice.LEAVE for i in leavers} | {int(i): Choice.STAY for i in stayers})
    model.step()
    after = model.state
    assert (after.group[leavers] == 0).all() and (after.group[stayers] == before.group[stayers]).all()
    np.testing.assert_array_equal(after.level[members], before.level[members])


def test_a_student_on_the_first_rung_may_slip_back_to_consuming():
    """Slipping is open from the first rung above CONSUMING and leads down to CONSUMING."""
    model = PowerModel(_two_camps(0.5, 0.2, level="SHARING"), rng=1002)
    sharing = int(np.flatnonzero(model.state.level == Level.SHARING)[0])
    assert Choice.SLIP in model.allowed_choices(sharing)
    model.choose({sharing: Choice.SLIP})
    model.step()
    assert model.state.level[sharing] == Level.CONSUMING


def test_nobody_is_offered_climbing_above_the_cap():
    """A member above their organization's cap (set by hand here: the rules keep everyone within
    it) is not offered a climb, and staying brings them down to the cap."""
    model = PowerModel(_castle(), rng=1003)
    s = model.state
    member = int(np.flatnonzero((s.group > 0) & (model.table.max_level[s.group] < Level.CO_OWNING))[0])
    cap = int(model.table.max_level[s.group[member]])
    s.level[member] = cap + 1
    assert Choice.CLIMB not in model.allowed_choices(member)
    model.choose({member: Choice.STAY})
    model.step()
    assert model.state.level[member] == cap


def test_without_another_organization_joining_one_leads_nowhere():
    """In a crowd with no organization nobody is offered to join one (and cannot choose it);
    asked directly, the best-aligned other organization is none (0), for a member of the only
    organization as for anyone in a world without one."""
    alone = {
        "name": "alone",
        "network": {"kind": "watts_strogatz", "n": 100, "mean_degree": 6},
        "organizations": [],
    }
    model = PowerModel(scenario_from_dict(alone), rng=1004)
    assert Choice.JOIN_RIVAL not in model.allowed_choices(0)
    with pytest.raises(SimError, match="cannot join_rival"):
        model.choose({0: Choice.JOIN_RIVAL})
    assert choices.target(0.5, 0, model.table) == 0
    alone["organizations"] = [{"name": "Only", "kind": "platform", "initial_share": 0.5}]
    assert choices.target(0.5, 1, PowerModel(scenario_from_dict(alone), rng=1004).table) == 0
