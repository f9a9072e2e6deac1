"""The stylized-fact checks (sim.research.patterns) on synthetic series, and once on a real run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.research import patterns
from sim.research.patterns import (
    DesertionCase,
    contest,
    desertion,
    fickleness_trend,
    pyramid,
    small_cascades,
    surge,
    surge_shape,
)

STEPS = 100


def saturating(steps: int = STEPS) -> np.ndarray:
    """A surge that never fades: the old flagship's shape (98% active at the end)."""
    t = np.arange(steps + 1)
    return 0.98 * (1 - np.exp(-t / 10))


def surge_and_core(
    peak: float = 0.4, core: float = 0.1, fade: float = 0.15, steps: int = STEPS
) -> np.ndarray:
    """Quiet until step 10, a peak at step 20, then an exponential fade to a persistent core."""
    t = np.arange(steps + 1, dtype=float)
    rise = np.clip((t - 10) / 10, 0, 1) * peak
    after = core + (peak - core) * np.exp(-fade * np.clip(t - 20, 0, None))
    return np.where(t < 10, 0.0, np.where(t <= 20, rise, after))


# ---------------------------------------------------------------- SF1


def test_a_pyramid_passes_and_a_saturated_crowd_fails():
    """Most consume and fewer climb each rung (90-9-1) passes; most at FUNDING (the old flagship) fails."""
    assert pyramid([900, 60, 25, 10, 4, 1]).passed
    flagship = pyramid([92, 14, 178, 4687, 29, 0])  # power_shift on main, seed 2014
    assert not flagship.passed
    assert "consuming" in flagship.detail and "SHAPING<FUNDING" in flagship.detail


def test_half_must_consume_even_in_a_descending_scale():
    """A non-increasing scale with fewer than half consuming is not participation inequality."""
    check = pyramid([40, 30, 20, 10, 0, 0])
    assert not check.passed and check.numbers["consuming_share"] == pytest.approx(0.4)


def test_one_stray_person_on_a_top_rung_is_noise():
    """A rise of one person above an empty rung is tolerated; a rise of many is not."""
    assert pyramid([2900, 80, 10, 0, 1, 0]).passed
    assert not pyramid([2900, 40, 10, 0, 30, 0]).passed


# ---------------------------------------------------------------- SF2


def test_a_saturating_series_is_not_a_surge():
    """Peak at the end, no fade below half, a 'core' equal to the peak: fails."""
    shape = surge_shape(saturating(), start=1)
    assert shape.trough >= shape.peak / 2
    assert not surge([shape] * 5).passed


def test_surge_fade_and_core_passes():
    """A rise, a fall below half of the peak and a core at a quarter of it: the Wikipedia shape."""
    shape = surge_shape(surge_and_core(), start=10)
    assert shape.peak == pytest.approx(0.4) and shape.peak_step == 20
    assert shape.core_ratio == pytest.approx(0.25, abs=0.01)
    assert patterns.surge_failures(shape) == []
    assert surge([shape] * 5).passed


def test_a_surge_that_dies_out_has_no_core():
    """Back to nothing is not a persistent core."""
    shape = surge_shape(surge_and_core(core=0.0), start=10)
    assert any("core" in f for f in patterns.surge_failures(shape))


def test_fickleness_trend_needs_faster_fade_and_smaller_core():
    """Monotone over five values passes; the sweep of main (a larger core for more fickleness) fails."""
    f = [0.02, 0.05, 0.1, 0.15, 0.2]
    assert fickleness_trend(f, [100, 100, 40, 20, 10], [0.3, 0.2, 0.1, 0.05, 0.0]).passed
    reversed_core = fickleness_trend(f, [100, 80, 40, 20, 10], [0.12, 0.15, 0.2, 0.25, 0.32])
    assert not reversed_core.passed and "core" in reversed_core.detail
    assert not fickleness_trend(f[:4], [4, 3, 2, 1], [4, 3, 2, 1]).passed  # too few values


def test_fade_of_a_surge_that_never_halves_is_the_whole_run():
    """'Never fades' compares as slower than any fade, whatever the step of the peak."""
    a, b = saturating(), saturating()
    assert surge_shape(a, start=1).fade_steps == surge_shape(b, start=1).fade_steps == STEPS


# ---------------------------------------------------------------- SF3


def test_small_cascades_need_a_heavy_tail_and_mostly_nothing():
    """Most seeds stay within their neighbours and one reaches 100x: passes; all medium: fails."""
    sizes = [1] * 15 + [3, 5, 12, 40, 150]
    assert small_cascades(sizes, [s <= 3 for s in sizes]).passed
    medium = [30] * 20
    check = small_cascades(medium, [False] * 20)
    assert not check.passed and check.numbers["orders_of_magnitude"] == 0


# ---------------------------------------------------------------- section 3: desertion and churn


def test_desertion_verdict_needs_a_net_loss_and_a_rival():
    """Net loss and more desertions than the control, mostly to the rival: passes; to none: fails."""
    row = {
        "net_loss": 0.3,
        "loss": 0.4,
        "net_desertions": 0.35,
        "returning_share": 0.05,
        "to_rival_share": 0.8,
        "churn_per_step": 1.0,
        "largest_cascade": 50.0,
        "cascade_over_peak": 0.1,
        "old_largest_cascade": 60.0,
    }
    rows = [dict(row, net_loss=0.3 + 0.01 * i) for i in range(5)]
    case = DesertionCase("x", "Org", 10, rival="Rival")
    assert desertion(rows, case).passed
    to_none = [dict(r, to_rival_share=0.1) for r in rows]
    assert "rival" in desertion(to_none, case).detail
    no_loss = [dict(r, net_loss=0.01 * (-1) ** i) for i, r in enumerate(rows)]
    assert not desertion(no_loss, case).passed


# ---------------------------------------------------------------- SF5


def test_contests_must_be_able_to_go_either_way():
    """Always won, or never won, decides nothing; a split passes."""
    assert not contest({"a": 1.0, "b": 1.0}).passed
    assert not contest({"a": 0.0, "b": 0.05}).passed
    assert contest({"a": 0.5, "b": 0.0}).passed


# ---------------------------------------------------------------- on real runs (small, a few seeds)
# Behavioural tests of the model, not of the checks: each fact holds on a small version of its
# scenario, and fails when the mechanism that makes it is knocked out.

SMALL = {"network.n": 600}
#: The classroom surge (SF2's viral moment at step 20, a tenth of everyone), 80 steps.
_VIRAL = patterns.SURGE_SCENARIOS["teaching_surge"]["shocks"][0]
SURGE = {**SMALL, "steps": 80, "shocks": [{**_VIRAL, "n_participants": SMALL["network.n"] // 10}]}


def test_sf1_the_flagship_ends_as_a_pyramid_and_without_unequal_effort_it_saturates():
    """power_shift ends with most people consuming and fewer on each rung; with everyone's propensity
    equal (participation_inequality knocked out) the pyramid is gone."""
    assert patterns.check_sf1("power_shift", [1000], {**SMALL, "steps": 100}).passed
    equal = patterns.check_sf1(
        "power_shift", [1000], {**SMALL, "steps": 100, "dynamics.knockout": ["participation_inequality"]}
    )
    assert not equal.passed and equal.numbers["consuming_mean"] < 0.5


def test_sf2_a_surge_fades_to_a_core_because_of_fickleness():
    """The classroom surge peaks, falls below half and keeps a core; without fickleness it never fades."""
    check = patterns.check_sf2("teaching_surge", [1000, 1001], SURGE)
    assert check.passed, check.detail
    steady = patterns.check_sf2(
        "teaching_surge", [1000, 1001], {**SURGE, "dynamics.knockout": ["fickle_fade"]}
    )
    assert steady.numbers["runs_with_shape"] == 0 and steady.numbers["core_ratio_mean"] > 0.8


def test_sf2_more_fickleness_fades_faster_to_a_smaller_core():
    """A sweep over five fickleness values is monotone: faster fade, smaller core."""
    check = patterns.check_sf2_sweep(
        "teaching_surge", [1000], fickleness=(0.05, 0.1, 0.15, 0.2, 0.3), overrides=SURGE
    )
    assert check.passed, check.detail


def test_sf3_most_single_seeds_start_nothing_beyond_their_neighbours_and_peers_carry_the_rest():
    """One random seed in the quiet classroom platform (heavy-tailed degrees): most stay within their
    neighbours, some spread further; with peer influence knocked out no seed starts anything."""
    check = patterns.check_sf3("teaching_surge", [1000, 1001], steps=30, overrides=SMALL, trials=40)
    assert check.numbers["runs"] == 40
    assert check.numbers["share_within_neighbours"] > 0.5
    assert check.numbers["max"] > 10 * check.numbers["median"]
    assert check.numbers["no_peer_influence.max"] == 1


def test_sf3_trials_are_shared_among_replication_seeds_without_overlap():
    """Each replication seed gets its own block of trial seeds, and at least the trials asked for."""
    tried = patterns.trial_seeds([1000, 1001, 1002], trials=10)
    assert len(tried) == 12 and len(set(tried)) == 12
    assert not set(patterns.trial_seeds(range(1000, 1020))) & set(patterns.trial_seeds(range(5000, 5100)))


def test_sf4_a_fee_hike_is_a_net_loss_to_the_rival_and_exit_contagion_doubles_it():
    """Uber's fee hike against no hike on the same seeds: a net loss, mostly to Lyft, larger with
    exit contagion than without (the cascade is the neighbours' exits)."""
    case = patterns.DESERTION_CASES[0]
    seeds = [1000, 1001, 1002]
    rows = [
        patterns.desertion_numbers(
            patterns.run(
                patterns._scenario(case.scenario, {**SMALL, **case.treated, **ko}), seed=s, snapshot_every=1
            ),
            patterns.run(
                patterns._scenario(case.scenario, {**SMALL, **case.treated, **case.control, **ko}),
                seed=s,
                snapshot_every=1,
            ),
            case,
        )
        for ko in ({}, {"dynamics.knockout": ["exit_contagion"]})
        for s in seeds
    ]
    with_contagion, without = rows[: len(seeds)], rows[len(seeds) :]
    assert all(r["net_loss"] > 0 for r in with_contagion)
    assert np.mean([r["to_rival_share"] for r in with_contagion]) > 0.5
    assert np.mean([r["net_loss"] for r in with_contagion]) > 1.5 * np.mean([r["net_loss"] for r in without])


def test_sf5_a_contest_goes_either_way_depending_on_the_strategy():
    """SOPA: the encyclopedia with a movement mindset wins some campaigns; without it, it does not win them all."""
    scenario, org, arms = next(c for c in patterns.contests() if c[0] == "sopa_blackout")
    check = patterns.check_sf5(scenario, org, arms, [1000, 1001, 1002], SMALL)
    assert check.passed, check.detail


def test_level_columns_match_the_timeseries():
    """The pyramid reads the per-level columns the recorder writes."""
    frame = pd.DataFrame([{c: i for i, c in enumerate(patterns.LEVEL_COLUMNS)}])
    np.testing.assert_array_equal(patterns.final_level_counts(frame), np.arange(6))
