"""Replications: independent seeds, serial runs, and mean with a 95% interval across runs.

With R = 1 the root seed itself is used, so one replication equals
``run(scenario, seed=root)``. With R > 1 the seeds are spawned from the root
seed by ``numpy.random.SeedSequence`` (independent streams, reproducible from
the root seed alone). Means and intervals across runs are those of
:mod:`sim.stats`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.config.scenario import Scenario
from sim.runs.runner import RunResult, run
from sim.stats import group_intervals, interval


def replication_seeds(root: int, replications: int) -> list[int]:
    """The seeds of ``replications`` independent runs from one root seed.

    Args:
        root: the root seed (the scenario's ``seed`` or ``--seed``).
        replications: number of runs, at least 1.

    Returns:
        ``[root]`` for one run; otherwise one 63-bit integer per spawned
        ``SeedSequence`` child.
    """
    if replications == 1:
        return [int(root)]
    children = np.random.SeedSequence(root).spawn(replications)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


def run_replications(
    scenario: Scenario,
    seeds: Sequence[int],
    steps: int | None = None,
    driver: str = "vectorized",
    progress: Callable[[int], None] | None = None,
    snapshot_every: int | None = None,
) -> list[RunResult]:
    """Run one scenario once per seed, serially.

    Only the first run keeps its model and snapshots (for the network figure
    and the animation); later runs drop them to save memory.

    Args:
        scenario: the validated scenario.
        seeds: one seed per run.
        steps: steps per run (default: the scenario's).
        driver: ``"vectorized"`` or ``"agents"``.
        progress: called once after every step of every run.
        snapshot_every: snapshot period of the first run.

    Returns:
        One result per seed, in seed order.
    """
    results = []
    for index, seed in enumerate(seeds):
        first = index == 0
        result = run(
            scenario,
            seed=seed,
            steps=steps,
            driver=driver,
            progress=progress,
            snapshot_every=snapshot_every if first else None,
        )
        if not first:
            result.model = None
        results.append(result)
    return results


def stack(frames: Sequence[pd.DataFrame], seeds: Sequence[int]) -> pd.DataFrame:
    """Stack per-run frames with ``run`` and ``seed`` columns first (empty frames are skipped)."""
    parts = [
        frame.reset_index(drop=True).assign(run=i, seed=seed)
        for i, (frame, seed) in enumerate(zip(frames, seeds, strict=True))
        if len(frame)
    ]
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    return out[["run", "seed"] + [c for c in out.columns if c not in ("run", "seed")]]


def numeric_measures(frame: pd.DataFrame) -> list[str]:
    """The columns of a stacked time series that are averaged across runs."""
    return [
        c
        for c in frame.columns
        if c not in ("run", "seed", "step")
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]


def aggregate_timeseries(stacked: pd.DataFrame) -> pd.DataFrame:
    """Per step and numeric measure: mean, sd, 95% interval and n over runs (long format).

    Args:
        stacked: time series of all runs with ``run`` and ``step`` columns.

    Returns:
        Columns ``step, measure, mean, sd, ci_low, ci_high, n``, sorted by measure then step.
    """
    measures = numeric_measures(stacked)
    long = stacked.melt(id_vars=["step"], value_vars=measures, var_name="measure")
    out = group_intervals(long, ["measure", "step"], sort=False)
    out["rank"] = out["measure"].map({m: i for i, m in enumerate(measures)})
    out = out.sort_values(["rank", "step"])
    return out[["step", "measure", "mean", "sd", "ci_low", "ci_high", "n"]].reset_index(drop=True)


def aggregate_summaries(summaries: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per summary measure: the interval of its numeric values, or counts of its text values.

    Args:
        summaries: one summary dict per run.

    Returns:
        ``{measure: {"mean", "sd", "ci_low", "ci_high", "n"}}`` for numbers,
        ``{measure: {"counts": {value: runs}, "n": runs}}`` for text (a quadrant).
    """
    keys: list[str] = []
    for summary in summaries:
        keys += [k for k in summary if k not in keys]
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        values = [s.get(key) for s in summaries]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
            out[key] = interval([float(v) for v in present])
        else:
            counts: dict[str, int] = {}
            for value in present:
                counts[str(value)] = counts.get(str(value), 0) + 1
            out[key] = {"counts": counts, "n": len(present)}
    return out
