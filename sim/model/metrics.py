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
    "largest_desertion_cascade": "participants in the largest desertion cascade "
    "(desertions linked to a tie's desertion from the same organization the step before)",
    "desertion_cascades": "number of desertion cascades (a lone desertion is a cascade of 1)",
    "desertion_cascade_median": "median desertion cascade size",
    "desertion_cascade_p90": "90th percentile of desertion cascade sizes",
    "<org>.peak_members": "an organization's largest community",
    "<org>.final_members": "its community at the end",
    "<org>.desertion_share": "share of its peak community it lost by the end",
    "<org>.desertions": "exits not followed by a return within the desertion window (to a rival or none)",
    "<org>.desertions_to_rival": "those desertions that went to another organization",
    "<org>.churn": "exits followed by a return within the desertion window (a revolving door)",
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
    "<org>.deserted": "of this step's exits, those not back within the desertion window",
    "<org>.deserted_to_rival": "of those, the ones who went to another organization",
    "<org>.churned": "of this step's exits, those back within the desertion window",
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
        if model.steps:  # the model has just given the step's exits to its turnover log
            s = model.state
            model.cascades.arrivals(s.group, model.movers[s.joined[model.movers]])
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


#: Per-step measures of each organization known only once the desertion window has passed
#: (computed from the run's turnover log when the time series is built, not by a reporter).
TURNOVER_REPORTERS = ("deserted", "deserted_to_rival", "churned")


def desertion_window(model) -> int:
    """The scenario's window (steps) within which an exit that returns is churn, not desertion."""
    return int(model.spec.measures.desertion_window)


def timeseries(model) -> pd.DataFrame:
    """One row per step: population columns, ``<organization>.<measure>`` columns, then turnover.

    Turnover columns (``<org>.deserted``, ``.deserted_to_rival``, ``.churned``) count the exits
    of each step by what became of them; an entrant's are empty before it enters.
    """
    import pandas as pd

    frame = model.recorder.frame()
    tables = model.cascades.per_step(len(model.organizations) + 1, desertion_window(model))
    extra = {}
    for org in model.organizations:
        absent = frame[f"{org.name}.members"].isna().to_numpy()
        for name in TURNOVER_REPORTERS:
            column = tables[name][: len(frame), org.group].astype(float)
            column[absent] = np.nan
            extra[f"{org.name}.{name}"] = column
    return pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1) if extra else frame


class Turnover:
    """Every exit and join of a run; desertion, churn and desertion cascades follow from it.

    An exit is a **desertion** when the participant does not rejoin the organization they left
    within ``window`` steps (to a rival or to none), and **churn** when they do (a revolving
    door, not a loss). Exits in the last ``window`` steps of a run that have not come back by
    its end count as desertions (right-censored: nothing says they will come back).

    A **desertion cascade** is a tree of desertions linked in space and time, as diffusion
    trees are built from adoptions (Goel, Watts & Goldstein 2012): a desertion by *i* at step t
    whose neighbours deserted the same organization at step t - 1 (with synchronous updates,
    exactly the exits *i* could have perceived; exits in the same step cannot cause each other)
    is attributed to one of them, the first in the graph's order; a desertion with no such
    neighbour starts a cascade of its own. A common shock that drives many to leave in the same
    step thus starts many cascades, not one, and churn (people who come and go) is never part
    of a cascade. A cascade's size is the number of distinct participants in it.

    The model calls :meth:`update` with each step's exits; the recorder calls :meth:`arrivals`
    with each step's joins and the leavers' destinations. Classification is computed on demand,
    for the window the scenario sets (``[measures] desertion_window``).
    """

    def __init__(self, adjacency: sp.csr_array) -> None:
        self.adjacency = adjacency
        self._exits: list[tuple[np.ndarray, np.ndarray]] = []  # per step: (who left, the group they left)
        self._destinations: list[np.ndarray] = []  # per step: where each leaver went (0: none)
        self._joins: list[tuple[np.ndarray, np.ndarray]] = []  # per step: (who joined, the group joined)
        self._cache: dict[str, Any] = {}

    @property
    def steps(self) -> int:
        """Steps recorded."""
        return len(self._exits)

    def update(self, left: np.ndarray, who: np.ndarray | None = None) -> None:
        """Record one step's exits.

        Args:
            left: per participant, the group left this step (0: stayed).
            who: the participants who left, if already known (``flatnonzero(left)``).
        """
        who = np.flatnonzero(left) if who is None else who
        self._exits.append((who, left[who].astype(np.int64)))
        self._cache.clear()

    def arrivals(self, group: np.ndarray, joined: np.ndarray) -> None:
        """Record the joins of the step last given to :meth:`update`, and where its leavers went.

        Args:
            group: every participant's organization after the step (0: none).
            joined: the participants who joined an organization this step (deserters to a rival too).
        """
        who, _ = self._exits[-1]
        self._destinations.append(group[who].astype(np.int64))
        self._joins.append((joined, group[joined].astype(np.int64)))
        self._cache.clear()

    # ------------------------------------------------------------ classification
    def events(self, window: int) -> dict[str, np.ndarray]:
        """All exits as flat arrays: ``step`` (from 1), ``who``, ``group`` (left), ``destination``
        (0: none), ``deserted`` (not back in ``group`` within ``window`` steps; else churn)."""
        if ("events", window) in self._cache:
            return self._cache["events", window]
        steps = len(self._destinations)  # steps whose joins are known
        exits = self._exits[:steps]
        step = np.concatenate(
            [np.full(w.size, t + 1, dtype=np.int64) for t, (w, _) in enumerate(exits)]
            or [np.empty(0, np.int64)]
        )
        who = np.concatenate([w for w, _ in exits] or [np.empty(0, np.int64)]).astype(np.int64)
        group = np.concatenate([g for _, g in exits] or [np.empty(0, np.int64)])
        dest = np.concatenate(self._destinations or [np.empty(0, np.int64)])
        events = {"step": step, "who": who, "group": group, "destination": dest}
        events["deserted"] = ~self._returns(events, steps, window)
        self._cache["events", window] = events
        return events

    def _returns(self, events: dict[str, np.ndarray], steps: int, window: int) -> np.ndarray:
        """Whether each exit's participant rejoins the group they left within the window."""
        if not events["who"].size:
            return np.zeros(0, dtype=bool)
        j_step = np.concatenate(
            [np.full(w.size, t + 1, dtype=np.int64) for t, (w, _) in enumerate(self._joins)]
        )
        j_who = np.concatenate([w for w, _ in self._joins]).astype(np.int64)
        j_group = np.concatenate([g for _, g in self._joins])
        n_groups = int(max(events["group"].max(), j_group.max(initial=0))) + 1
        span = steps + 2
        join_key = np.sort((j_who * n_groups + j_group) * span + j_step)
        if not join_key.size:
            return np.zeros(events["who"].size, dtype=bool)
        exit_pair = events["who"] * n_groups + events["group"]
        # the first join of the same (participant, organization) after the exit's step
        pos = np.searchsorted(join_key, exit_pair * span + events["step"], side="right")
        found = pos < join_key.size
        nxt = join_key[np.minimum(pos, join_key.size - 1)]
        same = found & (nxt // span == exit_pair)
        return same & (nxt % span - events["step"] <= window)

    def per_step(self, n_groups: int, window: int) -> dict[str, np.ndarray]:
        """Per step (row 0 = the initial state) and group: desertions, desertions to a rival, churn."""
        ev = self.events(window)
        steps = len(self._destinations) + 1
        out = {}
        for name, mask in (
            ("deserted", ev["deserted"]),
            ("deserted_to_rival", ev["deserted"] & (ev["destination"] > 0)),
            ("churned", ~ev["deserted"]),
        ):
            table = np.zeros((steps, n_groups), dtype=np.int64)
            np.add.at(table, (ev["step"][mask], ev["group"][mask]), 1)
            out[name] = table
        return out

    # ------------------------------------------------------------ cascades
    def cascade_sizes(self, window: int, group: int | None = None) -> np.ndarray:
        """Sizes (distinct participants) of every desertion cascade, largest first; with ``group``,
        of the cascades out of that organization only (a cascade never spans two)."""
        key = ("sizes", window, group)
        if key in self._cache:
            return self._cache[key]
        label, who, _ = self._labels(window, group)
        sizes = np.zeros(0, dtype=np.int64)
        if who.size:
            n = self.adjacency.shape[0]
            # Count distinct participants: one person may desert, come back later and desert again.
            pairs = np.unique(label.astype(np.int64) * n + who)
            sizes = np.sort(np.bincount(pairs // n))[::-1]
            sizes = sizes[sizes > 0]
        self._cache[key] = sizes
        return sizes

    def cascades(self, window: int) -> list[tuple[np.ndarray, int]]:
        """Every desertion cascade as (its distinct participants, the organization deserted), largest first."""
        label, who, left = self._labels(window, None)
        order = np.argsort(label, kind="stable")
        parts = np.split(order, np.flatnonzero(np.diff(label[order])) + 1) if who.size else []
        found = [(np.unique(who[part]), int(left[part[0]])) for part in parts]
        return sorted(found, key=lambda c: -c[0].size)

    def _labels(self, window: int, group: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The desertions (of ``group``, or all): each one's cascade label, participant and organization left."""
        key = ("labels", window, group)
        if key in self._cache:
            return self._cache[key]
        ev = self.events(window)
        import scipy.sparse as sp
        from scipy.sparse.csgraph import connected_components

        keep = np.flatnonzero(ev["deserted"] & ((ev["group"] == group) if group is not None else True))
        step, who, left = ev["step"][keep], ev["who"][keep], ev["group"][keep]
        label = np.zeros(0, dtype=np.int64)
        if keep.size:
            src, dst = self._links(step, who, left)
            graph = sp.coo_array((np.ones(src.size), (src, dst)), shape=(keep.size, keep.size))
            _, label = connected_components(graph, directed=False)
        self._cache[key] = label, who, left
        return label, who, left

    def _links(self, step: np.ndarray, who: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(event, parent) pairs: a desertion and the neighbour's desertion from the same group one step
        before that it is attributed to."""
        n = self.adjacency.shape[0]
        prev_event = np.full(n, -1, dtype=np.int64)
        prev_group = np.zeros(n, dtype=np.int64)
        sources, targets = [], []
        bounds = np.searchsorted(step, np.arange(1, int(step.max(initial=0)) + 2))
        prev_who = np.empty(0, dtype=np.int64)
        for t in range(bounds.size - 1):
            idx = np.arange(bounds[t], bounds[t + 1])
            rows = who[idx]
            row_of, cols = neighbour_pairs(self.adjacency, rows)
            linked = np.flatnonzero((prev_event[cols] >= 0) & (prev_group[cols] == group[idx][row_of]))
            # one parent each: the first such neighbour (CSR order), so a cascade is a tree
            _, first = np.unique(row_of[linked], return_index=True)
            linked = linked[first]
            sources.append(idx[row_of[linked]])
            targets.append(prev_event[cols[linked]])
            prev_event[prev_who] = -1
            prev_event[rows] = idx
            prev_group[rows] = group[idx]
            prev_who = rows
        if not sources:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(sources), np.concatenate(targets)

    def largest(self, window: int) -> int:
        """Size of the largest desertion cascade so far (distinct participants)."""
        sizes = self.cascade_sizes(window)
        return int(sizes[0]) if sizes.size else 0


#: The name the model builds it by.
CascadeTracker = Turnover


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


def cascade_summary(sizes: np.ndarray) -> dict[str, Any]:
    """The largest desertion cascade and the distribution of cascade sizes (distinct participants)."""
    return {
        "largest_desertion_cascade": int(sizes[0]) if sizes.size else 0,
        "desertion_cascades": int(sizes.size),
        "desertion_cascade_median": float(np.median(sizes)) if sizes.size else 0.0,
        "desertion_cascade_p90": float(np.quantile(sizes, 0.9)) if sizes.size else 0.0,
    }


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
        **cascade_summary(model.cascades.cascade_sizes(desertion_window(model))),
    }
    totals = {name: frame.filter(like=f".{name}").sum() for name in TURNOVER_REPORTERS}
    for org in model.organizations:
        peak, final = org.peak_members, org.n_members  # an entrant has no rows before it entered
        out[f"{org.name}.peak_members"] = peak
        out[f"{org.name}.final_members"] = final
        out[f"{org.name}.desertion_share"] = float(max(0, peak - final) / peak) if peak else 0.0
        out[f"{org.name}.desertions"] = int(totals["deserted"].get(f"{org.name}.deserted", 0))
        out[f"{org.name}.desertions_to_rival"] = int(
            totals["deserted_to_rival"].get(f"{org.name}.deserted_to_rival", 0)
        )
        out[f"{org.name}.churn"] = int(totals["churned"].get(f"{org.name}.churned", 0))
        out[f"{org.name}.final_openness"] = float(org.openness)
        out[f"{org.name}.final_values"] = float(org.values)
        out[f"{org.name}.final_quadrant"] = org.quadrant.value
        out[f"{org.name}.final_stock"] = float(org.stock)
        out[f"{org.name}.final_current"] = float(org.current)
        out[f"{org.name}.final_legitimacy"] = float(org.legitimacy)
    return out
