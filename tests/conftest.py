"""Shared fixtures: the shipped scenarios made small, and one finished run to inspect."""

from __future__ import annotations

import pytest
from helpers import CASTLE, WATTS
from hypothesis import HealthCheck, settings

from sim import RunResult, Scenario, load_scenario, run

# Model runs are slow next to hypothesis' default per-example deadline; every property test
# still sets its own (modest) max_examples.
settings.register_profile(
    "newpower", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.load_profile("newpower")


@pytest.fixture(scope="session")
def castle_small() -> Scenario:
    """The flagship Castle-vs-Crowd scenario on 300 participants."""
    return load_scenario(CASTLE, overrides={"network.n": 300})


@pytest.fixture(scope="session")
def watts_small() -> Scenario:
    """The Watts (2002) limit scenario on 400 participants, inside the cascade window."""
    return load_scenario(WATTS, overrides={"network.n": 400, "network.mean_degree": 4.0})


@pytest.fixture(scope="session")
def castle_run(castle_small: Scenario) -> RunResult:
    """One finished 40-step run of the small flagship scenario (do not mutate)."""
    return run(castle_small, seed=3, steps=40)
