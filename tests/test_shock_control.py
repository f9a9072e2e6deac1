"""A shock's desertion net of the same scenario without it, on common random numbers."""

from __future__ import annotations

import pytest

from sim import SimError, load_scenario, run
from sim.model.metrics import TURNOVER_REPORTERS
from sim.research.shock_control import net_desertion, without_shock

SMALL = {"network.n": 500}


def test_the_control_is_the_same_run_until_the_shock():
    """Common random numbers: with and without the fee hike, the runs agree step for step until it fires."""
    treated = load_scenario("uber_fee_hike", overrides=SMALL)
    control = without_shock(treated, "fee_hike")
    assert [s.kind for s in control.shocks] == [s.kind for s in treated.shocks if s.kind != "fee_hike"]
    first = min(s.step for s in treated.shocks if s.kind == "fee_hike")
    # (an exit's class, desertion or churn, depends on what follows it, so it is left out here)
    a, b = (
        run(sc, seed=1000, steps=first + 5).timeseries.drop(columns=turnover_columns(treated))
        for sc in (treated, control)
    )
    assert a.iloc[:first].equals(b.iloc[:first])
    assert not a.iloc[first:].equals(b.iloc[first:])


def turnover_columns(scenario) -> list[str]:
    return [f"{o.name}.{m}" for o in scenario.organizations for m in TURNOVER_REPORTERS]


def test_a_fee_hike_causes_desertion_beyond_its_control():
    """Uber's community deserts after the hike well beyond what it loses without it."""
    net = net_desertion("uber_fee_hike", "fee_hike", range(1000, 1004), SMALL)["Uber"]["desertions"]
    assert net["ci_low"] > 0 and net["with_shock"] > 1.5 * net["without"]


def test_a_shock_that_is_not_scheduled_is_refused():
    with pytest.raises(SimError, match="shock 'leak': not scheduled in uber_fee_hike; allowed: fee_hike"):
        without_shock(load_scenario("uber_fee_hike"), "leak")
