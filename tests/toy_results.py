"""A results folder built in memory, for tests of what is drawn and told from saved results.

The toy: 200 participants over 20 steps; a surge from 1% to 50% at step 10 after a viral moment at
step 8, faded by step 16; the Hive (whose strategy starts at step 5) deserted for the Rival from step
12; a campaign at step 18; four drawn participants on a ring, with snapshots at steps 0, 10 and 20.
Every column a figure reads is there, so tests can also drop what a future model may not report.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.storage.results import Results

STEPS = 20
LEVELS = ("consuming", "sharing", "shaping", "funding", "producing", "co_owning")
ORGS = [{"name": "Hive", "kind": "platform", "group": 1}, {"name": "Rival", "kind": "platform", "group": 2}]


def levels(active: float, n: int = 200) -> dict[str, int]:
    """Participants per level: the active ones sharing, the rest consuming."""
    sharing = round(active * n)
    return {"n_consuming": n - sharing, "n_sharing": sharing, **{f"n_{k}": 0 for k in LEVELS[2:]}}


def surge_series(steps: int = STEPS) -> np.ndarray:
    """1% active until step 8, a rise to 50% at step 10, back to 1% by step 16."""
    active = np.full(steps + 1, 0.01)
    active[8:16] = [0.2, 0.4, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    return active


def toy(tmp_path: Path, runs: int = 1, **changes) -> Results:
    """A results folder in memory: a surge, the Hive deserted for the Rival, a viral moment, a campaign."""
    rows = []
    for run in range(runs):
        for step, active in enumerate(surge_series()):
            hive = 100 if step < 12 else 20
            rows.append(
                {
                    "run": run,
                    "seed": 100 + run,
                    "step": step,
                    "active_fraction": active + 0.01 * run,
                    **levels(active),
                    "n_unaffiliated": 0,
                    "Hive.members": hive,
                    "Hive.joins": 0,
                    "Hive.exits": 80 if step == 12 else 0,
                    "Hive.stock": 1.0 - 0.02 * step,
                    "Hive.current": 0.1,
                    "Hive.values": 0.3,
                    "Hive.openness": 0.4 + step * 0.02,
                    "Hive.quadrant": "Castle" if 0.4 + step * 0.02 < 0.5 else "Connector",
                    "Rival.members": 200 - hive,
                    "Rival.joins": 80 if step == 12 else 0,
                    "Rival.exits": 0,
                    "Rival.stock": 0.2,
                    "Rival.current": 0.3,
                    "Rival.values": 0.8,
                    "Rival.openness": 0.8,
                    "Rival.quadrant": "Crowd",
                }
            )
    summary_runs = [
        {
            "run": run,
            "seed": 100 + run,
            "n_participants": 200,
            "steps": STEPS,
            "peak_active_fraction": 0.5 + 0.01 * run,
            "peak_step": 10,
            "half_life": 4.0,
            "final_active_fraction": 0.01 + 0.01 * run,
            "largest_desertion_cascade": 12 + run,
            "Hive.desertion_share": 0.8,
            "Hive.final_quadrant": "Connector",
            "Rival.desertion_share": 0.0,
            "Rival.final_quadrant": "Crowd",
        }
        for run in range(runs)
    ]
    snapshots = pd.DataFrame(
        {
            "step": np.repeat([0, 10, 20], 4),
            "participant": np.tile([0, 1, 2, 3], 3),
            "level": 0,
            "group": [1, 1, 1, 0] + [1, 1, 2, 0] + [2, 0, 2, 0],
        }
    )
    events = pd.DataFrame(
        {
            "run": [0],
            "seed": [100],
            "step": [8],
            "kind": ["viral_moment"],
            "participants": [30.0],
            "description": ["Viral moment at step 8: 30 people jumped to funding."],
        }
    )
    campaigns = pd.DataFrame(
        {
            "run": [0],
            "seed": [100],
            "step": [18],
            "issue": ["a bill"],
            "a": ["Hive"],
            "a_members": [20],
            "a_turnout": [3],
            "a_stock_spent": [0.5],
            "a_force": [0.65],
            "b": ["Rival"],
            "b_members": [180],
            "b_turnout": [40],
            "b_stock_spent": [0.01],
            "b_force": [2.01],
            "winner": ["Rival"],
        }
    )
    scenario = {
        "name": "toy",
        "description": "a toy",
        "organizations": [{"name": "Hive", "strategy": "become_the_man", "strategy_params": {"start": 5}}],
    }
    manifest = {
        "format": "newpower-results",
        "kind": "run",
        "scenario": scenario,
        "seed": 100,
        "seeds": [100 + r for r in range(runs)],
        "steps": STEPS,
        "driver": "vectorized",
        "organizations": ORGS,
        "layout": {"n_drawn": 4, "n_total": 200},
    }
    parts = {
        "folder": tmp_path,
        "manifest": manifest,
        "timeseries": pd.DataFrame(rows),
        "summary": {"runs": summary_runs},
        "campaigns": campaigns,
        "events": events,
        "snapshots": snapshots,
        "layout": pd.DataFrame(
            {"participant": [0, 1, 2, 3], "x": [1.0, 0.0, -1.0, 0.0], "y": [0.0, 1.0, 0.0, -1.0]}
        ),
        "edges": pd.DataFrame({"source": [0, 1, 2, 0], "target": [1, 2, 3, 3]}),
    }
    parts.update(changes)
    return Results(**parts)
