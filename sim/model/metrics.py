"""What a run reports: declared per-step reporters, the desertion-cascade tracker, run summaries.

To add a per-step measure, add one entry to ``MODEL_REPORTERS`` (a function of
the model) or ``ORGANIZATION_REPORTERS`` (a function of one organization), and
its line to ``REPORTER_DOCS`` (``newpower list``); then its row in docs/ODD.md
(7.16). To add a headline measure, add it in :func:`summarize` and
``SUMMARY_MEASURES``. Reporters read state the model has already tallied, so
collecting costs microseconds per step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.vocabulary import Level

if TYPE_CHECKING:  # imported where used: `newpower list` reads the docs below without pandas or SciPy
    import pandas as pd
    import scipy.sparse as sp

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
    "take_rate": lambda o: o.take_rate,
    "transparency": lambda o: o.transparency,
    "outreach": lambda o: o.outreach,
    "ads": lambda o: o.ads,
    "mobilization": lambda o: o.mobilization,
    "structure": lambda o: o.structure,
    "exposure": lambda o: o.exposure,
    "mean_grievance": lambda o: o.mean_grievance,
    "joins": lambda o: o.n_joins,
    "exits": lambda o: o.n_exits,
}


#: Headline measures of a run (keys of ``RunResult.summary``), with one line each.
SUMMARY_MEASURES: dict[str, str] = {
    "n_participants": "number of participants",
    "steps": "steps run",
    "final_active_fraction": "share of all participants at SHARING or above at the end",
    "peak_active_fraction": "largest share of participants at SHARING or above (the surge peak)",
    "peak_step": "step of the surge peak",
    "half_life": "steps from the peak until the surge's excess over its start halved (NaN: never)",
    "largest_desertion_cascade": "participants in the largest desertion cascade (exits caused by a tie's exit the step before)",
    "<org>.peak_members": "an organization's largest community",
    "<org>.final_members": "its community at the end",
    "<org>.desertion_share": "share of its peak community it lost by the end",
    "<org>.final_openness": "its final model axis (compass)",
    "<org>.final_values": "its final values axis (compass)",
    "<org>.final_quadrant": "its final compass quadrant",
    "<org>.final_stock": "its final old-power stock",
    "<org>.final_current": "its final new-power current",
    "<org>.final_legitimacy": "its final legitimacy",
}

#: One line for each per-step measure (``newpower list``).
REPORTER_DOCS: dict[str, str] = {
    "step": "step number (0 = initial state)",
    "n_<level>": "participants at each level of the participation scale",
    "active_fraction": "share of participants at SHARING or above",
    "n_unaffiliated": "participants who belong to no organization",
    "<org>.members": "its community's size",
    "<org>.active": "members at SHARING or above",
    "<org>.mean_level": "members' mean level (0 consuming .. 5 co-owning)",
    "<org>.current": "new-power current: sum(level/5 x commitment) over members / N",
    "<org>.stock": "old-power stock",
    "<org>.legitimacy": "legitimacy",
    "<org>.openness": "model axis of the compass",
    "<org>.values": "values axis of the compass",
    "<org>.quadrant": "compass quadrant",
    "<org>.max_level": "highest level its model enables",
    "<org>.take_rate": "share of value it takes (lever)",
    "<org>.transparency": "how much of its values gap members can see (lever)",
    "<org>.outreach": "outreach (lever)",
    "<org>.ads": "paid reach without commitment (lever)",
    "<org>.mobilization": "investment in moving members up the scale (lever)",
    "<org>.structure": "share of its current converted into stock (lever)",
    "<org>.exposure": "how exposed it is after a leak (fades)",
    "<org>.mean_grievance": "members' mean grievance",
    "<org>.joins": "members who joined this step",
    "<org>.exits": "members who left this step",
}


class Recorder:
    """Collects the declared reporters once per step.

    The interface of Mesa's ``DataCollector`` (``collect(model)``, then a
    DataFrame), for declared scalar reporters only: Mesa's deep-copies every
    value, which cost 0.37 ms per step (5% of a 100,000-participant step).
    Every reporter here returns a fresh scalar, so no copy is needed.
    """

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def collect(self, model) -> None:
        """Append one row: population measures, then ``<organization>.<measure>``."""
        row = {name: reporter(model) for name, reporter in MODEL_REPORTERS.items()}
        for org in model.organizations:
            for measure, reporter in ORGANIZATION_REPORTERS.items():
                row[f"{org.name}.{measure}"] = reporter(org)
        self.rows.append(row)

    def frame(self) -> pd.DataFrame:
        """One row per collected step, indexed by step."""
        import pandas as pd

        frame = pd.DataFrame(self.rows)
        return frame.set_index("step", drop=False).rename_axis(None)


def timeseries(model) -> pd.DataFrame:
    """One row per step: population columns, then ``<organization>.<measure>`` columns."""
    return model.recorder.frame()


class CascadeTracker:
    """Records exits during a run and finds desertion cascades afterwards.

    An exit at step t is linked to every neighbour's exit from the same
    organization at step t-1: with synchronous updates those are exactly the
    exits it could have perceived (exits in the same step cannot cause each
    other). A cascade is a connected set of linked exits, the dynamic analogue
    of Watts' (2002) cascade as a connected set of adopters; its size counts
    the distinct participants who left in it. Recording costs one ``flatnonzero`` per step; the components
    are computed once, on demand.
    """

    def __init__(self, adjacency: sp.csr_array) -> None:
        self.adjacency = adjacency
        self._steps: list[tuple[np.ndarray, np.ndarray]] = []  # (who left, the group they left)
        self._largest: int | None = None

    def update(self, left: np.ndarray, who: np.ndarray | None = None) -> None:
        """Record one step's exits.

        Args:
            left: per participant, the group left this step (0: stayed).
            who: the participants who left, if already known (``flatnonzero(left)``).
        """
        who = np.flatnonzero(left) if who is None else who
        self._steps.append((who, left[who].astype(np.int64)))
        self._largest = None

    @property
    def largest(self) -> int:
        """Size of the largest desertion cascade so far (distinct participants)."""
        if self._largest is None:
            self._largest = self._components()
        return self._largest

    def _components(self) -> int:
        import scipy.sparse as sp
        from scipy.sparse.csgraph import connected_components

        n = self.adjacency.shape[0]
        prev_event_id = np.full(n, -1, dtype=np.int64)  # each participant's exit event last step
        group_prev = np.zeros(n, dtype=np.int64)
        sources, targets, who_left = [], [], []
        first = 0
        prev_who = np.empty(0, dtype=np.int64)
        for who, groups in self._steps:
            who_left.append(who)
            row_of, cols = neighbour_pairs(self.adjacency, who)
            mine = groups[row_of]
            linked = (prev_event_id[cols] >= 0) & (group_prev[cols] == mine)
            sources.append(first + row_of[linked])
            targets.append(prev_event_id[cols[linked]])
            prev_event_id[prev_who] = -1
            prev_event_id[who] = first + np.arange(who.size)
            group_prev[who] = groups
            prev_who = who
            first += who.size
        if first == 0:
            return 0
        src, dst = np.concatenate(sources), np.concatenate(targets)
        graph = sp.coo_array((np.ones(src.size), (src, dst)), shape=(first, first))
        _, label = connected_components(graph, directed=False)
        # Count distinct participants: one person may leave, rejoin and leave again in one cascade.
        pairs = np.unique(label * n + np.concatenate(who_left))
        return int(np.bincount(pairs // n).max())


def neighbour_pairs(adjacency: sp.csr_array, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (position in ``rows``, neighbour) pairs of the given participants, from the CSR arrays."""
    start = adjacency.indptr[rows]
    length = adjacency.indptr[rows + 1] - start
    row_of = np.repeat(np.arange(rows.size), length)
    offset = np.arange(row_of.size) - np.repeat(np.cumsum(length) - length, length)
    return row_of, adjacency.indices[np.repeat(start, length) + offset]


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
        peak, final = org.peak_members, org.n_members  # an entrant has no rows before it entered
        out[f"{org.name}.peak_members"] = peak
        out[f"{org.name}.final_members"] = final
        out[f"{org.name}.desertion_share"] = float(max(0, peak - final) / peak) if peak else 0.0
        out[f"{org.name}.final_openness"] = float(org.openness)
        out[f"{org.name}.final_values"] = float(org.values)
        out[f"{org.name}.final_quadrant"] = org.quadrant.value
        out[f"{org.name}.final_stock"] = float(org.stock)
        out[f"{org.name}.final_current"] = float(org.current)
        out[f"{org.name}.final_legitimacy"] = float(org.legitimacy)
    return out
