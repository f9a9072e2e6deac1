"""Running a scenario: one seed, one driver, one result.

``run`` is the function that later layers (the CLI, replications, sweeps) call:
scenario and seed in, a :class:`RunResult` out. It never prints and never
writes files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import metrics
from .errors import SimError
from .model import DRIVERS, PowerModel
from .scenario import Scenario


@dataclass
class RunResult:
    """The outcome of one run.

    Attributes:
        timeseries: one row per step (step 0 is the initial state).
        summary: the run's headline measures.
        scenario: the scenario as run.
        seed: the seed used.
        driver: ``"vectorized"`` or ``"agents"``.
        model: the finished model (for inspection; not kept by sweeps).
    """

    timeseries: pd.DataFrame
    summary: dict[str, Any]
    scenario: Scenario
    seed: int
    driver: str
    model: PowerModel | None = field(default=None, repr=False)


def run(scenario: Scenario, seed: int | None = None, steps: int | None = None,
        driver: str = "vectorized", progress: Callable[[int], None] | None = None) -> RunResult:
    """Run one scenario.

    Args:
        scenario: a validated scenario.
        seed: random seed (default: the scenario's ``seed``).
        steps: number of steps (default: the scenario's ``steps``).
        driver: ``"vectorized"`` (default) or ``"agents"``.
        progress: called with the step number after each step.

    Returns:
        The run's time series and summary.
    """
    if driver not in DRIVERS:
        raise SimError(f"unknown driver {driver!r}; allowed: {', '.join(DRIVERS)}")
    seed = scenario.seed if seed is None else seed
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SimError(f"seed must be a non-negative integer, got {seed!r}")
    steps = scenario.steps if steps is None else steps
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise SimError(f"steps must be a non-negative integer, got {steps!r}")
    model = PowerModel(scenario, rng=seed, driver=driver)
    for _ in range(steps):
        model.step()
        if progress is not None:
            progress(model.steps)
    frame = metrics.timeseries(model)
    return RunResult(frame, metrics.summarize(model, frame), scenario, seed, driver, model)
