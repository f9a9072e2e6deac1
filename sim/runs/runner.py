"""Running a scenario: one seed, one driver, one result.

``run`` is the function that later layers (the CLI, replications, sweeps) call:
scenario and seed in, a :class:`RunResult` out. It never prints and never
writes files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.config.scenario import Scenario
from sim.errors import SimError
from sim.model import metrics
from sim.model.power_model import DRIVERS, PowerModel

#: The allowed range of a run's ``seed``, ``steps`` and ``replications``: the scenario's own.
RANGES = {
    f.name: f.metadata["range"]
    for f in dataclasses.fields(Scenario)
    if f.name in ("seed", "steps", "replications")
}


def check_count(name: str, value: object, label: str | None = None) -> int:
    """Check a run's ``seed``, ``steps`` or ``replications`` against the scenario's range for that key.

    Args:
        name: ``"seed"``, ``"steps"`` or ``"replications"``.
        value: the value given.
        label: how the message names it (default ``name``; the CLI says ``--seed``).

    Raises:
        SimError: not an integer in the range (seeds are stored as 64-bit integers).
    """
    lo, hi = RANGES[name]
    if isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi:
        return value
    big = isinstance(value, int) and abs(value) >= 10**30  # str() of a huge integer is slow or refused
    text = f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits" if big else repr(value)
    raise SimError(f"{label or name} must be an integer >= {int(lo)} and <= {int(hi)}, got {text}")


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
        snapshots: participants' ``level`` and ``group`` arrays at chosen steps
            (``snapshot_every``), for network figures and animations.
        campaigns: one row per campaign (turnout, stock spent, force, winner).
        events: one row per shock fired.
    """

    timeseries: pd.DataFrame
    summary: dict[str, Any]
    scenario: Scenario
    seed: int
    driver: str
    model: PowerModel | None = field(default=None, repr=False)
    snapshots: dict[int, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)
    campaigns: pd.DataFrame = field(default_factory=pd.DataFrame)
    events: pd.DataFrame = field(default_factory=pd.DataFrame)


def run(
    scenario: Scenario,
    seed: int | None = None,
    steps: int | None = None,
    driver: str = "vectorized",
    progress: Callable[[int], None] | None = None,
    snapshot_every: int | None = None,
) -> RunResult:
    """Run one scenario.

    Args:
        scenario: a validated scenario.
        seed: random seed (default: the scenario's ``seed``).
        steps: number of steps (default: the scenario's ``steps``).
        driver: ``"vectorized"`` (default) or ``"agents"``.
        progress: called with the step number after each step.
        snapshot_every: keep participants' levels and affiliations every this
            many steps (and at the first and last step); None keeps none.

    Returns:
        The run's time series and summary.
    """
    if driver not in DRIVERS:
        raise SimError(f"unknown driver {driver!r}; allowed: {', '.join(DRIVERS)}")
    seed = check_count("seed", scenario.seed if seed is None else seed)
    steps = check_count("steps", scenario.steps if steps is None else steps)
    model = PowerModel(scenario, rng=seed, driver=driver)
    snapshots: dict[int, dict[str, np.ndarray]] = {}

    def snapshot() -> None:
        if snapshot_every and (model.steps % snapshot_every == 0 or model.steps == steps):
            snapshots[model.steps] = {"level": model.state.level.copy(), "group": model.state.group.copy()}

    snapshot()
    for _ in range(steps):
        model.step()
        snapshot()
        if progress is not None:
            progress(model.steps)
    frame = metrics.timeseries(model)
    return RunResult(
        frame,
        metrics.summarize(model, frame),
        scenario,
        seed,
        driver,
        model,
        snapshots,
        pd.DataFrame(model.campaigns),
        pd.DataFrame(model.events),
    )
