"""What a run reports: declared per-step reporters, the desertion-cascade tracker, run summaries.

To add a per-step measure, add one entry to ``MODEL_REPORTERS`` (a function of
the model) or ``ORGANIZATION_REPORTERS`` (a function of one organization).
To add a headline measure, add it in :func:`summarize`. Reporters read state
the model has already tallied, so collecting costs microseconds per step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import mesa
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .states import Level

#: Per-step measures of the whole population (one column each).
MODEL_REPORTERS: dict[str, Callable[[Any], Any]] = {
    "step": lambda m: m.steps,
    **{f"n_{lv.name.lower()}": (lambda m, i=int(lv): int(m.level_counts[i])) for lv in Level},
    "active_fraction": lambda m: m.active_fraction,
    "n_unaffiliated": lambda m: int(m.n_participants - sum(o.n_members for o in m.organizations)),
}

#: Per-step measures of each organization (one column ``"<name>.<measure>"`` each).
ORGANIZATION_REPORTERS: dict[str, Callable[[Any], Any]] = {
    "members": lambda o: o.n_members,
    "active": lambda o: o.n_active,
    "mean_level": lambda o: o.mean_level,
    "current": lambda o: o.current,
    "stock": lambda o: o.stock,
    "legitimacy": lambda o: o.legitimacy,
    "openness": lambda o: o.openness,
    "values": lambda o: o.values,
    "quadrant": lambda o: o.quadrant.value,
    "max_level": lambda o: o.max_level.name,
    "mean_grievance": lambda o: o.mean_grievance,
    "joins": lambda o: o.n_joins,
    "exits": lambda o: o.n_exits,
}


def _per_organization(reporter: Callable, model) -> dict[str, Any]:
    return {org.name: reporter(org) for org in model.organizations}


def make_datacollector() -> mesa.DataCollector:
    """A Mesa DataCollector for the declared reporters."""
    reporters = dict(MODEL_REPORTERS)
    for name, reporter in ORGANIZATION_REPORTERS.items():
        reporters[f"org:{name}"] = partial(_per_organization, reporter)
    return mesa.DataCollector(model_reporters=reporters)


def timeseries(model) -> pd.DataFrame:
    """One row per step: population columns, then ``<organization>.<measure>`` columns."""
    raw = model.datacollector.get_model_vars_dataframe()
    frame = raw[[c for c in raw.columns if not c.startswith("org:")]].copy()
    names = [o.name for o in model.organizations]
    extra = {}
    for name in names:
        for measure in ORGANIZATION_REPORTERS:
            column = raw[f"org:{measure}"]
            extra[f"{name}.{measure}"] = [row.get(name) for row in column]
    if extra:
        frame = pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1)
    return frame.set_index("step", drop=False).rename_axis(None)


class CascadeTracker:
    """Finds desertion cascades: exits from one organization linked through ties, step to step.

    An exit at step t joins the cascade of every neighbour who left the same
    organization at step t or t-1. The largest cascade is the largest such
    connected set of exits over the run: a space-time component, the dynamic
    analogue of Watts' (2002) cascade as a connected set of adopters.
    """

    def __init__(self, adjacency: sp.csr_array) -> None:
        self.adjacency = adjacency
        n = adjacency.shape[0]
        self.frontier = np.empty(0, dtype=np.int64)
        self.frontier_label = np.empty(0, dtype=np.int64)
        self._position = np.full(n, -1, dtype=np.int64)
        self._frontier_position = np.full(n, -1, dtype=np.int64)
        self._group = np.zeros(n, dtype=np.int64)
        self._frontier_group = np.zeros(n, dtype=np.int64)
        self.sizes: list[int] = []
        self.largest = 0

    def update(self, exited: np.ndarray, left_group: np.ndarray) -> None:
        """Record this step's exits.

        Args:
            exited: bool per participant: left an organization this step.
            left_group: per participant, the group they belonged to before the step.
        """
        new = np.flatnonzero(exited)
        if new.size == 0:
            self.frontier = self.frontier_label = new
            return
        labels, label_index = np.unique(self.frontier_label, return_inverse=True)
        n_new, n_lab = new.size, labels.size
        self._position[new] = np.arange(n_new)
        self._group[new] = left_group[new]
        self._frontier_position[self.frontier] = n_new + label_index
        rows = self.adjacency[new]
        row_of = np.repeat(np.arange(n_new), np.diff(rows.indptr))
        cols = rows.indices
        same_new = (self._position[cols] >= 0) & (self._group[cols] == left_group[new][row_of])
        same_old = (self._frontier_position[cols] >= 0) & \
            (self._frontier_group[cols] == left_group[new][row_of])
        src = np.concatenate([row_of[same_new], row_of[same_old]])
        dst = np.concatenate([self._position[cols[same_new]], self._frontier_position[cols[same_old]]])
        graph = sp.coo_array((np.ones(src.size), (src, dst)), shape=(n_new + n_lab,) * 2)
        _, comp = connected_components(graph, directed=False)
        old_sizes = np.asarray(self.sizes, dtype=float)[labels] if n_lab else np.empty(0)
        comp_size = np.bincount(comp, weights=np.concatenate([np.ones(n_new), old_sizes])).astype(np.int64)
        first_label = len(self.sizes)
        self.sizes.extend(comp_size.tolist())
        self.largest = max(self.largest, int(comp_size.max()))
        self._position[new] = -1
        self._frontier_position[self.frontier] = -1
        self._frontier_group[new] = left_group[new]
        self.frontier = new
        self.frontier_label = first_label + comp[:n_new]


def half_life(active: np.ndarray, peak_index: int) -> float:
    """Steps from the peak until the surge's excess over its start has halved (NaN if never)."""
    baseline, peak = active[0], active[peak_index]
    if peak <= baseline:
        return math.nan
    after = np.flatnonzero(active[peak_index:] <= baseline + (peak - baseline) / 2)
    return float(after[0]) if after.size else math.nan


def summarize(model, frame: pd.DataFrame) -> dict[str, Any]:
    """The run's headline measures as a flat dict (see docs/ODD.md, Observation)."""
    active = frame["active_fraction"].to_numpy()
    peak_index = int(np.argmax(active))
    out: dict[str, Any] = {
        "n_participants": model.n_participants,
        "steps": int(model.steps),
        "final_active_fraction": float(active[-1]),
        "peak_active_fraction": float(active[peak_index]),
        "peak_step": int(frame["step"].iloc[peak_index]),
        "half_life": half_life(active, peak_index),
        "largest_desertion_cascade": int(model.cascades.largest),
    }
    for org in model.organizations:
        members = frame[f"{org.name}.members"].to_numpy()
        peak = int(members.max())
        out[f"{org.name}.peak_members"] = peak
        out[f"{org.name}.final_members"] = int(members[-1])
        out[f"{org.name}.desertion_share"] = float(max(0, peak - members[-1]) / peak) if peak else 0.0
        out[f"{org.name}.final_openness"] = float(org.openness)
        out[f"{org.name}.final_values"] = float(org.values)
        out[f"{org.name}.final_quadrant"] = org.quadrant.value
        out[f"{org.name}.final_stock"] = float(org.stock)
        out[f"{org.name}.final_current"] = float(org.current)
        out[f"{org.name}.final_legitimacy"] = float(org.legitimacy)
    return out
