"""The classic threshold models as library scenarios: Granovetter (1978) and Centola & Macy (2007).

Granovetter, M. (1978) "Threshold models of collective behavior", American Journal of Sociology
83(6):1420-1443. Centola, D. & Macy, M. (2007) "Complex contagions and the weakness of long ties",
American Journal of Sociology 113(3):702-734. Watts (2002) is in ``test_watts.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import SCENARIOS

from sim import load_scenario, run, scenario_from_dict
from sim.model.power_model import DRIVERS, PowerModel
from sim.research.classics import GLOBAL, centola_check, granovetter_check

#: Tuning seeds (1000-1019) for the replicated Centola runs.
SEEDS = range(1000, 1010)


def rioters(name: str, driver: str) -> np.ndarray:
    """Number rioting at each step of a Granovetter scenario."""
    return run(load_scenario(SCENARIOS / f"{name}.toml"), driver=driver).timeseries["n_sharing"].to_numpy()


@pytest.mark.parametrize("driver", DRIVERS)
def test_granovetter_everyone_riots_one_more_each_step(driver):
    """Thresholds 0..99: the instigator starts, each rioter brings in the next, and all 100 riot."""
    counts = rioters("granovetter_riot", driver)
    assert counts[-1] == 100
    np.testing.assert_array_equal(counts[:101], np.arange(101))  # step t: exactly t rioters


@pytest.mark.parametrize("driver", DRIVERS)
def test_granovetter_perturbed_riot_stops_at_the_instigator(driver):
    """Move the person at 1 to 2: the instigator riots alone, for ever."""
    counts = rioters("granovetter_riot_perturbed", driver)
    assert counts[0] == 0
    assert np.all(counts[1:] == 1)


def test_granovetter_check_verdict():
    """The classic check passes and reports the riot sizes per driver."""
    verdict = granovetter_check()
    assert verdict.passed
    assert verdict.numbers["granovetter_riot.agents.rioters"] == 100
    assert verdict.numbers["granovetter_riot_perturbed.vectorized.rioters"] == 1
    assert "Granovetter (1978)" in verdict.source


def _crowd(population: dict, n_seeds: int = 0) -> dict:
    return {
        "network": {"kind": "watts_strogatz", "n": 60, "mean_degree": 4, "rewire_prob": 0.0},
        "population": {"unaffiliated_max_level": "SHARING", **population},
        "dynamics": {
            "climb_prob": 1.0,
            "peer_influence": 1.0,
            "fickleness": 0.0,
            "commitment_per_level": 0.0,
        },
        "trigger": {"n_seeds": n_seeds},
    }


def test_instigators_act_alone_but_a_clipped_normal_tail_does_not():
    """Threshold exactly 0 (fixed) acts with nobody active; a normal whose lower tail is clipped at 0 does not,
    so existing scenarios with a wide normal spread gain no instigators."""
    fixed = PowerModel(
        scenario_from_dict(_crowd({"threshold_distribution": "fixed", "threshold": 0.0})), rng=1
    )
    fixed.step()
    assert (fixed.state.level >= 1).all()
    normal = PowerModel(scenario_from_dict(_crowd({"threshold": 0.0, "threshold_sd": 0.3})), rng=1)
    assert (normal.state.threshold > 0).all()
    for _ in range(5):
        normal.step()
    assert (normal.state.level == 0).all()


@pytest.mark.parametrize("driver", DRIVERS)
def test_count_threshold_is_a_number_of_active_neighbours(driver):
    """With threshold_kind = "count", a participant adopts exactly when at least c neighbours have adopted,
    whatever its degree (here on a Barabasi-Albert graph, whose degrees differ widely)."""
    c = 2
    data = _crowd(
        {"threshold_kind": "count", "threshold_distribution": "fixed", "threshold": float(c)}, n_seeds=6
    )
    data["network"] = {"kind": "barabasi_albert", "n": 300, "mean_degree": 6}
    model = PowerModel(scenario_from_dict(data), rng=5, driver=driver)
    adj = model.adjacency
    for _ in range(10):
        active = model.state.level >= 1
        expected = active | ((adj @ active.astype(np.int64)) >= c)
        model.step()
        np.testing.assert_array_equal(model.state.level >= 1, expected)
    assert (model.state.level >= 1).sum() > 6  # the check above saw adoption spread


def test_seeding_by_ids_and_by_neighbourhood():
    """choose = "ids" seeds exactly the listed participants; "neighbourhood" a centre and all its neighbours."""
    data = _crowd({"threshold_distribution": "fixed", "threshold": 1.0})
    data["trigger"] = {"choose": "ids", "ids": [3, 17, 42], "level": "SHARING"}
    model = PowerModel(scenario_from_dict(data), rng=0)
    np.testing.assert_array_equal(np.flatnonzero(model.state.level), [3, 17, 42])
    data["trigger"] = {"choose": "neighbourhood", "ids": [10], "level": "SHARING"}
    model = PowerModel(scenario_from_dict(data), rng=0)
    expected = np.union1d(
        [10], model.adjacency.indices[model.adjacency.indptr[10] : model.adjacency.indptr[11]]
    )
    np.testing.assert_array_equal(np.flatnonzero(model.state.level), expected)
    np.testing.assert_array_equal(expected, [8, 9, 10, 11, 12])  # a ring lattice of degree 4


def test_centola_complex_contagion_needs_clustering():
    """Threshold 2, one participant and its neighbourhood seeded: every run spreads through the ring lattice
    (rewire 0) and almost none through the rewired, random network (rewire 1), over 10 replications."""
    verdict = centola_check(seeds=SEEDS)
    assert verdict.passed, verdict.numbers
    assert verdict.numbers["rewire_0.global_share"] == 1.0
    assert verdict.numbers["rewire_0.final_fraction_ci_low"] > 0.9
    assert verdict.numbers["rewire_1.global_share"] <= 0.1
    assert verdict.numbers["rewire_1.final_fraction"] < GLOBAL


def test_centola_overrides_change_the_network():
    """network.n, network.mean_degree and network.rewire_prob override the lattice as documented."""
    sc = load_scenario(
        "centola_clustering",
        overrides={"network.n": 400, "network.mean_degree": 6, "network.rewire_prob": 0.0},
    )
    model = PowerModel(sc, rng=1000)
    assert model.n_participants == 400
    assert set(np.diff(model.adjacency.indptr)) == {6}
    assert (model.state.level >= 1).sum() == 7  # one participant and its 6 neighbours
    assert run(sc, seed=1000).summary["final_active_fraction"] == 1.0
