"""Behaviour the rules, strategies and shocks must show, as comparisons on common random numbers.

Each test changes one lever or one shock and checks the direction of what follows, so that a
rule that stops doing what docs/ODD.md says (a sign flipped, a term dropped, a strategy that no
longer moves its levers) fails here. Fast: small networks, few steps. This file is part of the
mutation-testing oracle (scripts/mutation.sh).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim import run
from sim.config.scenario import scenario_from_dict
from sim.model.levers import Levers, Observation
from sim.model.strategies import make_strategy
from sim.vocabulary import Level

SEEDS = (1000, 1001, 1002)


def world(steps: int = 30, **org: object) -> dict:
    """One platform with most people as members, on a small clustered network."""
    return {
        "name": "behaviour",
        "steps": steps,
        "network": {"kind": "watts_strogatz", "n": 300, "mean_degree": 8},
        "population": {"values_mean": 0.6, "initial_commitment": 0.6},
        "organizations": [
            {"name": "P", "kind": "platform", "initial_share": 0.8, "initial_level": "SHARING", **org}
        ],
    }


def mean_over_seeds(raw: dict, pick, overrides: dict | None = None) -> float:
    scenario = scenario_from_dict(raw, overrides=overrides or {})
    return float(np.mean([pick(run(scenario, seed=s)) for s in SEEDS]))


def grievance(result) -> float:
    return float(result.timeseries["P.mean_grievance"].iloc[1:].mean())


def members(result) -> float:
    return float(result.summary["P.final_members"])


def test_taking_more_value_breeds_grievance_and_loses_members():
    low = world(steps=60, take_rate=0.0, values=0.6, transparency=0.0)
    high = world(steps=60, take_rate=1.0, values=0.6, transparency=0.0)
    assert mean_over_seeds(high, grievance) > mean_over_seeds(low, grievance) + 0.01
    assert mean_over_seeds(high, members) < mean_over_seeds(low, members) - 20


def test_a_visible_values_gap_breeds_grievance():
    hidden = world(values=0.0, transparency=0.0, take_rate=0.0)
    seen = world(values=0.0, transparency=1.0, take_rate=0.0)
    assert mean_over_seeds(seen, grievance) > mean_over_seeds(hidden, grievance) + 0.01


def test_structure_is_felt_as_a_take():
    plain = world(structure=0.0, take_rate=0.0)
    structured = world(structure=1.0, take_rate=0.0)
    assert mean_over_seeds(structured, grievance) > mean_over_seeds(plain, grievance)
    stock = lambda r: float(r.summary["P.final_stock"])
    assert mean_over_seeds(structured, stock) > mean_over_seeds(plain, stock)


def test_peers_exits_speed_up_exits():
    """With a mild grievance, peers' exits make the community leave sooner."""
    raw = world(steps=12, take_rate=0.4, values=0.2, transparency=1.0)
    kept = lambda r: float(r.timeseries["P.members"].iloc[-1])
    contagious = mean_over_seeds(raw, kept, {"dynamics.exit_contagion": 5.0})
    assert contagious < mean_over_seeds(raw, kept, {"dynamics.exit_contagion": 0.0}) - 50


def test_fickleness_fades_participation():
    raw = world(steps=40)
    active = lambda r: float(r.summary["final_active_fraction"])
    assert mean_over_seeds(raw, active, {"dynamics.fickleness": 0.5}) < mean_over_seeds(
        raw, active, {"dynamics.fickleness": 0.0}
    )


LEVERS = Levers(openness=0.8, values=0.7, max_level=Level.SHARING, transparency=0.6, take_rate=0.1)


def seen(step: int = 50, **changes) -> Observation:
    base = {"step": step, "n_participants": 1000, "n_members": 100, "n_active": 50, "peak_members": 100}
    base |= {"mean_level": 1.0, "mean_grievance": 0.1, "community_values": 0.9, "joins": 0, "exits": 0}
    base |= {"stock": 1.0, "current": 0.1, "legitimacy": 0.7}
    return Observation(**(base | changes))


@pytest.mark.parametrize(
    ("name", "params", "moves"),
    [
        ("become_the_man", {"start": 0}, {"values": -1, "take_rate": +1, "transparency": -1}),
        ("respect_community", {}, {"values": +1, "take_rate": -1, "transparency": +1}),
        ("get_structural", {}, {"structure": +1}),
        ("astroturf", {"ads": 0.3}, {"ads": +1}),
        ("movement_mindset", {}, {"mobilization": +1, "max_level": +1}),
        ("go_bilingual", {"openness": 0.95}, {"openness": +1, "outreach": +1}),
        ("window_dressing", {"openness": 0.95}, {"openness": +1}),
        (
            "occupy_yourself",
            {"introspection_steps": 0},
            {"transparency": +1, "values": +1, "mobilization": +1},
        ),
    ],
)
def test_each_strategy_moves_its_levers_the_way_it_says(name, params, moves):
    strategy = make_strategy(name, params)
    after = strategy.decide(LEVERS, seen())
    for lever, sign in moves.items():
        change = float(getattr(after, lever)) - float(getattr(LEVERS, lever))
        assert np.sign(change) == sign, (lever, change)


def test_status_quo_moves_nothing_and_strategies_wait_for_their_start():
    assert make_strategy("status_quo", {}).decide(LEVERS, seen()) == LEVERS
    for name in ("become_the_man", "window_dressing", "movement_mindset", "astroturf"):
        assert make_strategy(name, {"start": 100}).decide(LEVERS, seen(step=10)) == LEVERS, name


def test_every_page_button_fires_a_valid_shock_that_does_something():
    """The teaching page's buttons build each shock from ``page_params``: every one passes the
    shock's own checks (a rival with negative stock would not), and fires in a running model."""
    from sim import load_scenario
    from sim.model.power_model import PowerModel
    from sim.model.shocks import SHOCKS, Aim, make_shock

    model = PowerModel(load_scenario("castle_vs_crowd", overrides={"network.n": 200}), rng=1000)
    model.step()
    aim = Aim(model, focus="Commons", other="Gazette")
    for kind, cls in SHOCKS.items():
        shock = make_shock(kind, cls.page_params(aim))
        record = model.fire(shock)
        assert isinstance(record, dict), kind
    rival = model.organizations[-1]
    assert rival.name.startswith("Rival") and rival.stock > 0 and rival.values > 0.5


def test_ads_recruit_without_commitment_and_outreach_with_it():
    """Recruits reached by ads alone start with no commitment; by outreach alone, with a new
    member's; by both, in between."""
    from sim.model.power_model import PowerModel

    def recruits_commitment(outreach: float, ads: float) -> float:
        raw = world(steps=3, initial_share=0.0, outreach=outreach, ads=ads, stock=100.0)
        model = PowerModel(scenario_from_dict(raw), rng=1000)
        for _ in range(3):
            model.step()
        mine = model.state.group == 1
        assert mine.sum() > 5
        return float(model.state.commitment[model.state.joined & mine].mean())

    assert recruits_commitment(0.0, 1.0) < 0.05
    mixed, warm = recruits_commitment(0.5, 0.5), recruits_commitment(1.0, 0.0)
    assert 0.05 < mixed < warm


@pytest.mark.parametrize("crowd_first", [True, False])
def test_the_stronger_side_wins_a_campaign_whichever_side_it_is(crowd_first):
    """A mobilized crowd against a Castle with little stock wins, named first or second."""
    from sim import load_scenario
    from sim.model.power_model import PowerModel
    from sim.model.shocks import make_shock

    model = PowerModel(load_scenario("castle_vs_crowd", overrides={"network.n": 300}), rng=1000)
    for org in model.organizations:
        org.stock = 0.0  # no lobbyists: the turnout decides
    crowd, castle = "Commons", "Gazette"
    members = model.state.group == model.organization(crowd).group
    model.state.level[members], model.state.commitment[members] = 5, 1.0
    sides = (crowd, castle) if crowd_first else (castle, crowd)
    record = model.fire(make_shock("campaign", {"side_a": sides[0], "side_b": sides[1]}))
    assert record["winner"] == crowd


def test_a_strategy_named_by_import_path_is_not_imported_unless_allowed():
    """Importing a module runs its code: without the opt-in, even the lower-level lookup refuses."""
    from sim import ScenarioError
    from sim.model.strategies import resolve_strategy_class

    with pytest.raises(ScenarioError, match="allow"):
        resolve_strategy_class("examples.listen_when_angry:ListenWhenAngry")


def test_a_rival_entry_with_negative_reach_is_refused():
    from sim import ScenarioError
    from sim.model.shocks import make_shock

    with pytest.raises(ScenarioError, match="outreach"):
        make_shock("rival_entry", {"name": "R", "outreach": -0.5})


def test_a_leak_on_an_empty_organization_costs_nothing_and_gives_nothing():
    """No members, nobody sees the gap: legitimacy does not move."""
    from sim import load_scenario
    from sim.model.power_model import PowerModel
    from sim.model.shocks import make_shock

    model = PowerModel(load_scenario("castle_vs_crowd", overrides={"network.n": 200}), rng=1000)
    org = model.organization("Commons")
    model.state.group[model.state.group == org.group] = 0
    model.tally()
    before = org.legitimacy
    record = model.fire(make_shock("leak", {"target": "Commons", "severity": 1.0}))
    assert record["members"] == 0 and record["mean_grievance_jump"] == 0.0
    assert org.legitimacy == before


def test_every_strategy_parameter_accepts_its_own_default_and_range():
    """A strategy's declared range admits its default and values inside it (respect_community may
    keep 10% as its fair share)."""
    from sim.config.spec import describe
    from sim.model.strategies import STRATEGIES

    for name, cls in STRATEGIES.items():
        for pname, default, *_ in describe(cls):
            make_strategy(name, {pname: default})
    make_strategy("respect_community", {"take_rate": 0.1})


def test_importing_a_strategy_from_the_scenario_folder_leaves_the_python_path_as_it_was(tmp_path):
    """The scenario's folder is on the path only while its strategy module is imported."""
    import sys

    (tmp_path / "my_policy_h10.py").write_text(
        "from dataclasses import dataclass\n"
        "from typing import ClassVar\n"
        "from sim.model.strategies import Strategy\n"
        "@dataclass\n"
        "class Keep(Strategy):\n"
        "    name: ClassVar[str] = 'keep'\n"
        "    def decide(self, levers, seen):\n"
        "        return levers\n"
    )
    before = list(sys.path)
    try:
        strategy = make_strategy("my_policy_h10:Keep", {}, source=str(tmp_path / "s.toml"), allow_code=True)
    finally:
        sys.modules.pop("my_policy_h10", None)
    assert type(strategy).__name__ == "Keep"
    assert sys.path == before


def test_an_organization_that_takes_nothing_and_converts_nothing_earns_nothing():
    """Stock comes from the take and from structure only: without either it can only decay."""
    raw = world(steps=20, take_rate=0.0, structure=0.0, stock=1.0)
    stock = lambda r: float(r.summary["P.final_stock"])
    assert mean_over_seeds(raw, stock) <= 1.0
    assert mean_over_seeds(world(steps=20, take_rate=0.5, stock=1.0), stock) > mean_over_seeds(raw, stock)


# ---------------------------------------------------------- added for surviving mutants
# Each test below kills a mutant that survived scripts/mutation.sh (see docs/mutation.md).


@pytest.mark.parametrize(
    ("name", "params", "lever", "start", "target"),
    [
        ("go_bilingual", {"rate": 0.1, "openness": 0.7}, "openness", 0.0, 0.7),
        ("become_the_man", {"drift": 0.1, "floor_values": 0.1}, "values", 0.9, 0.1),
    ],
)
def test_a_strategy_moves_a_lever_gradually_all_the_way_to_its_target(name, params, lever, start, target):
    """Organizations change gradually: opening up or drifting down takes several steps, each one
    in the same direction, and ends at the strategy's target."""
    strategy = make_strategy(name, params)
    levers, path = LEVERS.replace(**{lever: start}), [start]
    for step in range(1, 12):
        levers = strategy.decide(levers, seen(step=step))
        path.append(getattr(levers, lever))
    assert path[1] != pytest.approx(target) and path[-1] == pytest.approx(target)
    assert len({np.sign(b - a) for a, b in itertools.pairwise(path)} - {0.0}) == 1


def test_no_strategy_or_shock_parameter_takes_a_negative_value_and_shares_stay_in_0_1():
    """Steps, rates, shares, reach and stock are never negative; openness, values, take rate,
    reach, mobilization and structure are shares (sim.model.levers), also as targets."""
    import dataclasses

    from sim import ScenarioError
    from sim.model.shocks import SHOCKS, make_shock
    from sim.model.strategies import STRATEGIES

    shares = {f.name for f in dataclasses.fields(Levers)} - {"max_level"}
    shares |= {"floor_values", "ceiling_take"}  # become_the_man's targets
    checked = set()
    for registry, make in ((STRATEGIES, make_strategy), (SHOCKS, make_shock)):
        for name, cls in registry.items():
            for field in dataclasses.fields(cls):
                if isinstance(field.default, bool) or not isinstance(field.default, (int, float)):
                    continue
                for bad in (-0.5, 1.5) if field.name in shares else (-0.5,):
                    with pytest.raises(ScenarioError, match=field.name):
                        make(name, {field.name: bad})
                checked.add((name, field.name))
    assert len(checked) >= 30 and ("rival_entry", "stock") in checked


def test_members_who_only_consume_still_create_value_an_organization_can_take():
    """ "A magazine asks readers to renew their subscriptions": readers at CONSUMING yield revenue."""
    stock = lambda r: float(r.summary["P.final_stock"])
    readers = world(
        steps=10, initial_level="CONSUMING", max_level="CONSUMING", take_rate=0.3, structure=0.0, stock=0.0
    )
    assert mean_over_seeds(readers, stock) > 0.0


def test_the_page_s_viral_moment_sweeps_up_more_people_in_a_larger_network():
    """The teaching page's button raises a share of the network (at least a handful), not a fixed number."""
    from sim import load_scenario
    from sim.model.power_model import PowerModel
    from sim.model.shocks import Aim, ViralMoment, make_shock

    def swept(n: int) -> int:
        model = PowerModel(load_scenario("castle_vs_crowd", overrides={"network.n": n}), rng=1000)
        shock = make_shock("viral_moment", ViralMoment.page_params(Aim(model, "Commons", "Gazette")))
        return model.fire(shock)["participants"]

    small, large = swept(200), swept(1600)
    assert small >= 10 and large >= 3 * small


def _contest(legitimacy: float = 0.3):
    """A Castle without stock against its mobilized rival crowd, both at the given legitimacy."""
    from sim import load_scenario
    from sim.model.power_model import PowerModel

    model = PowerModel(load_scenario("castle_vs_crowd", overrides={"network.n": 300}), rng=1000)
    for org in model.organizations:
        org.stock, org.legitimacy = 0.0, legitimacy
    return model


@pytest.mark.parametrize("legitimacy", [0.3, 0.95])
def test_legitimacy_grows_with_each_campaign_won(legitimacy):
    """The winner gains legitimacy, a little each time (two wins give more than one), up to 1."""
    from sim.model.shocks import make_shock

    model = _contest(legitimacy)
    crowd = model.organization("Commons")
    members = model.state.group == crowd.group
    model.state.level[members], model.state.commitment[members] = 5, 1.0
    after = []
    for _ in range(2):
        assert (
            model.fire(make_shock("campaign", {"side_a": "Gazette", "side_b": "Commons"}))["winner"]
            == "Commons"
        )
        after.append(crowd.legitimacy)
    if legitimacy < 0.8:
        assert legitimacy < after[0] < after[1] < 1.0
    else:
        assert legitimacy < after[0] <= after[1] == 1.0
    assert model.organization("Gazette").legitimacy == legitimacy


def test_a_campaign_that_neither_side_fights_goes_to_the_side_named_first():
    """No stock spent and nobody showing up on either side is a draw: side_a keeps the issue."""
    from sim.model.shocks import make_shock

    model = _contest()
    model.state.commitment[:] = 0.0  # nobody turns out
    for first, second in (("Gazette", "Commons"), ("Commons", "Gazette")):
        record = model.fire(make_shock("campaign", {"side_a": first, "side_b": second}))
        assert record["a_force"] == record["b_force"] == 0.0 and record["winner"] == first


def test_a_campaign_counts_the_same_active_members_as_the_organization():
    """The campaign record's active members are the organization's own (SHARING and up), as tallied."""
    from sim import load_scenario
    from sim.model.power_model import PowerModel
    from sim.model.shocks import make_shock

    model = PowerModel(load_scenario("castle_vs_crowd", overrides={"network.n": 300}), rng=1000)
    for _ in range(3):
        model.step()
    crowd = model.organization("Commons")
    at_sharing = (model.state.group == crowd.group) & (model.state.level == Level.SHARING)
    assert at_sharing.any()
    record = model.fire(make_shock("campaign", {"side_a": "Gazette", "side_b": "Commons"}))
    assert (
        record["b_active"] == crowd.n_active and record["a_active"] == model.organization("Gazette").n_active
    )


def test_the_page_s_rivals_are_numbered_from_two():
    """ "A Crowd called Rival (then Rival 2, Rival 3, ...)": each press of the button adds the next."""
    from sim import load_scenario
    from sim.model.power_model import PowerModel
    from sim.model.shocks import Aim, RivalEntry, make_shock

    model = PowerModel(load_scenario("castle_vs_crowd", overrides={"network.n": 100}), rng=1000)
    for _ in range(3):
        model.fire(make_shock("rival_entry", RivalEntry.page_params(Aim(model, "Commons", "Gazette"))))
    assert [o.name for o in model.organizations][-3:] == ["Rival", "Rival 2", "Rival 3"]


def test_commitment_holds_members_through_a_grievance_that_drives_the_uncommitted_out():
    """Loyalty: the same heavy take and visible values gap lose fewer members from a committed community."""
    raw = world(steps=10, take_rate=0.8, values=0.0, transparency=1.0)
    committed = mean_over_seeds(raw, members, {"population.initial_commitment": 0.9})
    assert committed > mean_over_seeds(raw, members, {"population.initial_commitment": 0.1})


def test_the_current_is_a_share_of_the_community_whatever_its_size():
    """The same community on 200 or 800 participants has about the same current."""
    current = lambda r: float(r.timeseries["P.current"].mean())
    small = mean_over_seeds(world(steps=10), current)
    large = mean_over_seeds(world(steps=10), current, {"network.n": 800})
    assert 0.0 < small < 1.0 and 0.8 < large / small < 1.25


def test_every_page_button_s_shock_is_told_to_the_class():
    """After each button the page tells what happened and what to notice (a campaign: who won)."""
    from sim import load_scenario
    from sim.model.power_model import PowerModel
    from sim.model.shocks import SHOCKS, Aftermath, Aim, Phase, make_shock

    model = PowerModel(load_scenario("castle_vs_crowd", overrides={"network.n": 200}), rng=1000)
    model.step()
    for kind, cls in SHOCKS.items():
        model.fire(make_shock(kind, cls.page_params(Aim(model, "Commons", "Gazette"))))
        event = model.events[-1]
        after = Aftermath(event, "Commons", now=0.2, peak=0.3, peak_step=event["step"], phase=Phase.PEAK)
        told = cls.page_event(event) + cls.page_notice(after)
        assert len(told) > 40, kind
        if kind == "campaign":
            assert event["winner"] in told


def test_how_strong_ads_are_does_not_matter_to_an_organization_that_buys_none():
    """Recruits reached by outreach alone are the same whatever ads would do: nobody saw an ad."""
    raw = world(steps=5, initial_share=0.2, outreach=0.5, ads=0.0, stock=10.0)
    runs = [run(scenario_from_dict(raw, overrides={"dynamics.ads_reach": r}), seed=1000) for r in (0.05, 0.5)]
    assert runs[0].timeseries.equals(runs[1].timeseries)


def test_a_rival_cannot_take_the_name_of_an_organization_already_there():
    """Names are compared as text: a name built at run time clashes with the scenario's."""
    from sim import SimError, load_scenario
    from sim.model.power_model import PowerModel
    from sim.model.shocks import make_shock

    model = PowerModel(load_scenario("castle_vs_crowd", overrides={"network.n": 100}), rng=1000)
    with pytest.raises(SimError, match="already exists"):
        model.fire(make_shock("rival_entry", {"name": "commons".capitalize()}))


def test_members_high_on_the_scale_turn_out_more_and_turnout_is_a_chance():
    """Who shows up for a campaign: co-owners more than sharers, and a lukewarm crowd only in part."""
    from sim.model.shocks import make_shock

    def turnout(level: int) -> float:
        model = _contest()
        members = model.state.group == model.organization("Commons").group
        model.state.level[members], model.state.commitment[members] = level, 0.5
        record = model.fire(make_shock("campaign", {"side_a": "Gazette", "side_b": "Commons"}))
        return record["b_turnout"] / record["b_members"]

    sharing, co_owning = turnout(int(Level.SHARING)), turnout(int(Level.CO_OWNING))
    assert 0.0 < sharing < co_owning < 0.75
