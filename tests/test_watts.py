"""The Watts (2002) limit of the model: global cascades only inside the cascade window.

Watts, D. J. (2002) "A simple model of global cascades on random networks",
Proceedings of the National Academy of Sciences 99(9):5766-5771.

``scenarios/watts_cascade.toml`` switches organizations, fading and grievance off,
gives every participant the same threshold ``phi`` and starts one random participant
active on an Erdos-Renyi graph of mean degree ``z``. A consumer then starts sharing
exactly when the share of its active neighbours reaches ``phi`` - Watts' threshold
rule - and global cascades are possible only inside the analytic cascade window.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import WATTS

from sim import load_scenario, run
from sim.model.power_model import PowerModel
from sim.research.classics import cascade_condition, watts_window

#: Participants per run, seeds per point and steps per run (cascades saturate in ~20 steps).
N = 3000
SEEDS = range(20)
STEPS = 50
#: Cascades are bimodal: a run is a "global cascade" when this share ends active.
GLOBAL = 0.1

PHI = 0.18
INSIDE = (3.0, 4.0)  # mean degrees clearly inside the window at PHI
OUTSIDE = (0.5, 8.0, 10.0)  # below percolation, and above the upper boundary at PHI
#: A second threshold, where degree-4 nodes are still vulnerable (floor(1/phi) = 4): a narrower window.
PHI_2 = 0.24
INSIDE_2 = (2.0, 2.5)
OUTSIDE_2 = (0.5, 5.0)
#: Seeds of the phi = 0.24 runs (chosen among the tuning seeds 1000-1019).
SEEDS_2 = range(1000, 1020)
#: A threshold above 1/4 closes the window entirely for Poisson degrees (floor(1/phi) = 3).
PHI_CLOSED, Z_CLOSED = 0.3, 2.5


def final_fractions(z: float, phi: float, seeds=SEEDS) -> np.ndarray:
    """Final active fraction of the Watts scenario at mean degree ``z`` and threshold ``phi``, per seed."""
    scenario = load_scenario(
        WATTS, overrides={"network.n": N, "network.mean_degree": z, "population.threshold": phi}
    )
    return np.array([run(scenario, seed=s, steps=STEPS).summary["final_active_fraction"] for s in seeds])


def test_watts_scenario_is_the_watts_limit():
    """The shipped file really is Watts' model: no organizations, no fading or grievance,
    one shared threshold, one random seed, an Erdos-Renyi graph, a threshold rule acted on surely."""
    sc = load_scenario(WATTS)
    assert sc.organizations == ()
    assert sc.network.kind == "erdos_renyi"
    assert sc.population.threshold_sd == 0.0
    assert sc.population.unaffiliated_max_level == "SHARING"
    assert sc.dynamics.fickleness == 0.0 and sc.dynamics.grievance_rate == 0.0
    assert sc.dynamics.commitment_per_level == 0.0
    assert sc.dynamics.climb_prob == 1.0 and sc.dynamics.peer_influence == 1.0
    assert (sc.trigger.n_seeds, sc.trigger.choose, sc.trigger.level, sc.trigger.organization) == (
        1,
        "random",
        "SHARING",
        "",
    )


@pytest.mark.parametrize(
    ("phi", "bounds", "inside", "outside", "margin"),
    [(PHI, (1.0207, 5.7647), INSIDE, OUTSIDE, 1.0), (PHI_2, (1.1141, 3.8631), INSIDE_2, OUTSIDE_2, 0.5)],
)
def test_analytic_window_and_chosen_points(phi, bounds, inside, outside, margin):
    """The analytic window is about (1.02, 5.76) at phi = 0.18 and narrows to (1.11, 3.86) at phi = 0.24
    (degrees up to floor(1/phi) vulnerable); the chosen points sit clearly in or out of it; a threshold
    above 1/4 has no window at all (Watts 2002, Fig. 1)."""
    low, high = watts_window(phi)
    assert (low, high) == pytest.approx(bounds, abs=1e-3)
    for z in inside:
        assert low + margin < z < high - 1.0 and cascade_condition(z, phi) > 0.5
    for z in outside:
        assert (z < 1.0 or z > high + 1.0) and cascade_condition(z, phi) < -0.2
    zs = np.linspace(0.1, 12, 400)
    assert max(cascade_condition(z, PHI_CLOSED) for z in zs) < 0
    assert np.isnan(watts_window(PHI_CLOSED)).all()


def test_one_step_is_watts_threshold_rule(watts_small):
    """Each synchronous step activates exactly the inactive nodes whose active-neighbour share reaches phi,
    and nobody ever deactivates (the deterministic rule of Watts 2002)."""
    model = PowerModel(watts_small, rng=11)
    adj = model.adjacency
    degree = np.diff(adj.indptr)
    phi = watts_small.population.threshold
    for _ in range(15):
        active = model.state.level >= 1
        share = np.where(degree > 0, (adj @ active.astype(np.int64)) / np.maximum(degree, 1), 0.0)
        expected = active | ((share >= phi) & (degree > 0))
        model.step()
        np.testing.assert_array_equal(model.state.level >= 1, expected)
        assert model.state.level.max() <= 1
    assert (model.state.level >= 1).sum() > 1  # the check above saw the cascade move


@pytest.mark.parametrize(
    ("phi", "z", "seeds"), [(PHI, z, SEEDS) for z in INSIDE] + [(PHI_2, z, SEEDS_2) for z in INSIDE_2]
)
def test_global_cascades_inside_window(phi, z, seeds):
    """Inside the window (phi = 0.18 and 0.24) a substantial share of single seeds trigger a global
    cascade, and every cascade that goes global reaches most of the graph (cascades are bimodal)."""
    fractions = final_fractions(z, phi, seeds)
    global_runs = fractions > GLOBAL
    assert global_runs.mean() >= 0.5, fractions
    assert fractions[global_runs].min() > 0.5, fractions
    assert not np.any((fractions > 0.05) & (fractions <= 0.5)), fractions  # nothing in between


@pytest.mark.parametrize(
    ("phi", "z", "seeds"), [(PHI, z, SEEDS) for z in OUTSIDE] + [(PHI_2, z, SEEDS_2) for z in OUTSIDE_2]
)
def test_no_global_cascades_outside_window(phi, z, seeds):
    """Outside the window - below percolation (z = 0.5) or above the upper boundary (z = 8, 10 at
    phi = 0.18; z = 5 at phi = 0.24) - no seed triggers a global cascade."""
    fractions = final_fractions(z, phi, seeds)
    assert fractions.max() <= GLOBAL, fractions
    assert fractions.mean() < 0.01, fractions


def test_no_global_cascades_when_window_closed():
    """With phi = 0.3 (only degrees <= 3 vulnerable) the window is empty: no cascades even at z = 2.5."""
    fractions = final_fractions(Z_CLOSED, PHI_CLOSED)
    assert fractions.max() <= GLOBAL, fractions
