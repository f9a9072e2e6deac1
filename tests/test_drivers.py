"""The per-agent reference driver and the vectorized driver give exactly the same runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import CASTLE, WATTS, scenario_dicts, state_arrays, summaries_equal, summary_diff
from hypothesis import given, settings

from sim import SimError, load_scenario, run, scenario_from_dict
from sim.model import kernels, rules, vectorized
from sim.model.agents import Participant
from sim.model.power_model import PowerModel


def assert_same_run(scenario, seed: int, steps: int) -> pd.DataFrame:
    """Run both drivers and assert identical time series, summaries and final participant arrays."""
    vec = run(scenario, seed=seed, steps=steps, driver="vectorized")
    agt = run(scenario, seed=seed, steps=steps, driver="agents")
    assert (vec.driver, agt.driver) == ("vectorized", "agents")
    pd.testing.assert_frame_equal(vec.timeseries, agt.timeseries, check_exact=True)
    assert summaries_equal(vec.summary, agt.summary), summary_diff(vec.summary, agt.summary)
    vec_state, agt_state = state_arrays(vec.model.state), state_arrays(agt.model.state)
    assert vec_state.keys() == agt_state.keys()
    for name, a in vec_state.items():
        b = agt_state[name]
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert vec.model.cascades.cascade_sizes(10).tolist() == agt.model.cascades.cascade_sizes(10).tolist()
    return vec.timeseries


def org_activity(frame: pd.DataFrame, names) -> tuple[int, int]:
    """Total joins and exits over a run, across organizations."""
    joins = sum(int(frame[f"{n}.joins"].sum()) for n in names)
    exits = sum(int(frame[f"{n}.exits"].sum()) for n in names)
    return joins, exits


def test_drivers_agree_castle_vs_crowd():
    """The flagship scenario (two organizations, trigger, outreach) on 300 participants, 40 steps."""
    scenario = load_scenario(CASTLE, overrides={"network.n": 300})
    frame = assert_same_run(scenario, seed=3, steps=40)
    joins, exits = org_activity(frame, ["Gazette", "Commons"])
    assert joins > 0 and exits > 0  # the join and exit paths were exercised


def test_drivers_agree_watts():
    """The Watts limit on 400 participants, inside the cascade window (a cascade actually runs)."""
    scenario = load_scenario(WATTS, overrides={"network.n": 400, "network.mean_degree": 4.0})
    frame = None
    for seed in range(4):
        frame = assert_same_run(scenario, seed=seed, steps=25)
        if frame["active_fraction"].iloc[-1] > 0.5:
            break
    assert frame["active_fraction"].iloc[-1] > 0.5


def _generated(kind: str, **network) -> dict:
    """Three organizations (a castle, two platforms) with outreach, mobilization, grievance and a trigger."""
    return {
        "name": f"drivers_{kind}",
        "network": {"kind": kind, "n": 250, "mean_degree": 6, **network},
        "population": {
            "threshold": 0.15,
            "threshold_sd": 0.08,
            "values_mean": 0.55,
            "values_sd": 0.25,
            "initial_commitment": 0.4,
            "unaffiliated_max_level": "SHARING",
        },
        "dynamics": {
            "fickleness": 0.2,
            "grievance_rate": 0.4,
            "exit_contagion": 2.0,
            "loyalty": 0.2,
            "switch_margin": 0.05,
            "join_rate_open": 0.6,
            "model_pull": 0.3,
        },
        "trigger": {"n_seeds": 8, "level": "SHAPING", "choose": "hubs", "organization": "Crowd"},
        "organizations": [
            {
                "name": "Castle",
                "kind": "institution",
                "take_rate": 0.6,
                "initial_share": 0.5,
                "outreach": 0.05,
                "mobilization": 0.3,
                "stock": 0.5,
            },
            {
                "name": "Crowd",
                "kind": "platform",
                "openness": 0.9,
                "values": 0.85,
                "outreach": 0.2,
                "mobilization": 0.5,
                "initial_share": 0.1,
                "initial_level": "SHARING",
                "stock": 0.2,
            },
            {
                "name": "Connector",
                "kind": "platform",
                "openness": 0.7,
                "values": 0.3,
                "outreach": 0.1,
                "mobilization": 0.2,
                "initial_share": 0.1,
                "transparency": 0.9,
            },
        ],
    }


@pytest.mark.parametrize(
    "kind, network",
    [
        ("barabasi_albert", {}),
        ("stochastic_block", {"n_blocks": 3, "mixing": 0.2}),
        ("watts_strogatz", {"rewire_prob": 0.2}),
        ("erdos_renyi", {}),
    ],
)
def test_drivers_agree_generated(kind, network):
    """Generated scenarios with three organizations (outreach and mobilization > 0, a hub trigger)
    on Barabasi-Albert, stochastic-block, Watts-Strogatz and Erdos-Renyi graphs."""
    scenario = scenario_from_dict(_generated(kind, **network))
    frame = assert_same_run(scenario, seed=17, steps=30)
    joins, exits = org_activity(frame, ["Castle", "Crowd", "Connector"])
    assert joins > 0 and exits > 0


@settings(max_examples=12)
@given(raw=scenario_dicts(max_n=120, max_steps=6, max_orgs=3))
def test_drivers_agree_random_scenarios(raw):
    """Over random small scenarios (any generated network, levers and rates) the drivers agree exactly."""
    assert_same_run(scenario_from_dict(raw), seed=raw["seed"], steps=raw["steps"])


@settings(max_examples=8)
@given(raw=scenario_dicts(max_n=120, max_steps=10, max_orgs=3, strategies=True))
def test_drivers_agree_with_strategies(raw):
    """Organizations running registered strategies do not break the drivers' exact agreement."""
    assert_same_run(scenario_from_dict(raw), seed=raw["seed"], steps=raw["steps"])


def _many_organizations(k: int, n: int = 200) -> dict:
    """``k`` small organizations of every kind, with outreach and grievance, on one graph."""
    scenario = _generated("watts_strogatz", rewire_prob=0.2)
    scenario["network"]["n"] = n
    scenario["organizations"] = [
        {
            "name": f"Org{i}",
            "kind": ("institution", "platform")[i % 2],
            "openness": (i % 5) / 4,
            "values": ((3 * i) % 7) / 6,
            "take_rate": 0.3,
            "outreach": 0.02,
            "initial_share": 0.9 / k,
            "transparency": 0.8,
        }
        for i in range(k)
    ]
    scenario["trigger"]["organization"] = "Org1"
    return scenario


def test_drivers_agree_with_many_organizations():
    """With a dozen organizations perception counts straight from the ties (the packed fields no
    longer fit one word); the drivers still agree exactly and people join and leave."""
    scenario = scenario_from_dict(_many_organizations(12))
    model = PowerModel(scenario, rng=5)
    assert vectorized.n_fields(model.table.n_groups) > model.counter.per_word
    frame = assert_same_run(scenario, seed=5, steps=25)
    joins, exits = org_activity(frame, [f"Org{i}" for i in range(12)])
    assert joins > 0 and exits > 0


def test_packed_and_direct_perception_agree():
    """The packed product and the direct count over the ties give the same shares, bit for bit."""
    scenario = scenario_from_dict(_many_organizations(2, n=300))
    model = PowerModel(scenario, rng=2)
    for _ in range(20):  # to a step after which someone has just left, someone is active, someone above
        model.step()
        prev = model.state
        packed = vectorized.perceive(model, prev)
        if packed.exited.any() and packed.peers.any() and packed.above.any():
            break
    assert vectorized.n_fields(model.table.n_groups) <= model.counter.per_word  # the packed path
    adj = model.adjacency
    direct = kernels.count_neighbours(
        adj.indptr,
        adj.indices,
        prev.level,
        prev.group,
        prev.left,
        model.counter.safe_degree,
        kernels.empty_perceived(prev.size),
    )
    assert packed.exited.any() and packed.peers.any() and packed.above.any()
    for name in rules.Perceived._fields:
        assert getattr(packed, name).tobytes() == getattr(direct, name).tobytes(), name


def _phases_run(driver: str, monkeypatch) -> list[tuple[int, str]]:
    """The phases one step runs, as ``(participant or -1 for everyone, phase)`` in call order."""
    model = PowerModel(
        scenario_from_dict(_generated("watts_strogatz", rewire_prob=0.2)), rng=4, driver=driver
    )
    calls: list[tuple[int, str]] = []

    def spy(owner, attribute: str, phase: str, who) -> None:
        original = getattr(owner, attribute)

        def wrapped(*args, **kwargs):
            calls.append((who(*args), phase))
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, attribute, wrapped)

    everyone = -1
    if driver == "agents":
        for phase in ("perceive", "view", "update"):
            spy(Participant, phase, phase, lambda agent, *_: agent.index)
        leaver_or_joiner = {
            "leave": lambda m, who, *_: int(who[0]),
            "join": lambda m, slots: int(m.free[slots[0]]),
        }
    else:
        spy(vectorized, "perceive", "perceive", lambda *_: everyone)
        spy(vectorized.MemberViews, "get", "view", lambda *_, **__: everyone)
        spy(kernels, "update_participants", "update", lambda *_: everyone)
        leaver_or_joiner = {"leave": lambda *_: everyone, "join": lambda *_: everyone}
    for phase, who in leaver_or_joiner.items():
        spy(PowerModel, phase, phase, who)
    for _ in range(8):
        model.step()
    return calls


@pytest.mark.parametrize("driver", ["agents", "vectorized"])
def test_drivers_follow_the_declared_phases(driver, monkeypatch):
    """Both drivers run the participant phase in the order ``rules.PARTICIPANT_PHASES`` declares:
    for each participant (per agent) or for everyone (vectorized), no phase before an earlier one."""
    order = [name for name, _ in rules.PARTICIPANT_PHASES]
    calls = _phases_run(driver, monkeypatch)
    seen: dict[int, list[str]] = {}
    for who, phase in calls:
        seen.setdefault(who, []).append(phase)
    assert {phase for _, phase in calls} == set(order)  # every phase ran at least once
    for who, phases in seen.items():
        for step in _split_steps(phases):
            positions = [order.index(phase) for phase in step]
            assert positions == sorted(positions), (who, step)


def _split_steps(phases: list[str]) -> list[list[str]]:
    """A participant's phases cut into steps (each step starts again with "perceive")."""
    steps: list[list[str]] = []
    for phase in phases:
        if phase == "perceive" or not steps:
            steps.append([])
        steps[-1].append(phase)
    return steps


def test_unknown_driver_is_an_error(castle_small):
    """An unknown driver name raises ``SimError`` naming the allowed drivers."""
    with pytest.raises(SimError, match="vectorized"):
        run(castle_small, seed=1, steps=1, driver="turbo")


def test_reused_step_arrays_change_no_result():
    """The vectorized step writes into arrays it kept (``StepBuffers``); a caller replacing the
    state with its own copy between steps, or keeping one, changes nothing of the run, and a
    state kept by the caller holds its numbers until the step after next overwrites it."""
    scenario = load_scenario(CASTLE, overrides={"network.n": 300})
    plain, meddled = PowerModel(scenario, rng=5), PowerModel(scenario, rng=5)
    kept = None
    for step in range(30):
        plain.step()
        meddled.step()
        if step % 3 == 0:
            meddled.state = meddled.state.copy()  # the buffers must not write into this one's arrays
        if step == 10:
            kept, kept_copy = meddled.state, meddled.state.copy()
        if step == 11:
            for name, array in state_arrays(kept_copy).items():
                np.testing.assert_array_equal(getattr(kept, name), array, err_msg=name)
    for name, array in state_arrays(plain.state).items():
        np.testing.assert_array_equal(getattr(meddled.state, name), array, err_msg=name)
    pd.testing.assert_frame_equal(plain.recorder.frame(), meddled.recorder.frame(), check_exact=True)
