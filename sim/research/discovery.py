"""Scenario discovery: which conditions lead to an outcome, as a box of ranges.

Given sampled futures (a table of uncertain values) and whether each led to
the outcome (desertion), find a box, a few conditions such as
``fickleness > 0.3 and fee hike > 0.15``, inside which the outcome is common
(high *density*) and which holds much of all its occurrences (high
*coverage*). The Patient Rule Induction Method (PRIM; Friedman & Fisher
1999, as used in scenario discovery by Bryant & Lempert 2010) peels the
sample space step by step; EMA Workbench's implementation is used
(``ema_workbench.analysis.prim.Prim(x, y).find_box()``), on all
uncertainties and on every subset of at most three of the six most telling
ones (greedy peeling over many dimensions trims a little off each, so its
short boxes can be poor). Along the peeling trajectories the box with the best balance of coverage and density (their
harmonic mean) among boxes restricting at most three uncertainties is
chosen, after dropping every bound whose quasi-p-value (EMA Workbench's
one-sided binomial test of the density gained by that bound) is above 0.05,
and then every bound whose removal costs less than one point of density.
Without EMA Workbench, a shallow decision tree (scikit-learn) gives
the box of its best leaf instead.
"""

from __future__ import annotations

import itertools
import logging
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: At most this many conditions in a box (readability).
MAX_CONDITIONS = 3
#: A PRIM bound is kept only if its quasi-p-value (EMA Workbench's binomial test) is at most this.
QP_MAX = 0.05
#: PRIM is also run on every subset of at most three of this many most telling uncertainties.
MAX_SUBSET_DIMS = 6


@dataclass
class Box:
    """Conditions that lead to the outcome, with how well they describe it.

    Attributes:
        limits: restricted uncertainty -> (low, high) inside the box; a bound
            equal to the sampled range's end is no restriction on that side.
        density: share of futures inside the box with the outcome.
        coverage: share of all futures with the outcome that lie inside the box.
        mass: share of all futures inside the box.
        n_inside: futures inside the box.
        method: ``"PRIM"`` or ``"decision tree"``.
        ranges: the sampled range of every uncertainty.
    """

    limits: dict[str, tuple[float, float]]
    density: float
    coverage: float
    mass: float
    n_inside: int
    method: str
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    def conditions(self, labels: Mapping[str, str] | None = None) -> list[str]:
        """The box in words, one condition per restricted uncertainty: ``fee hike > 0.15``."""
        return list(self.conditions_by_key(labels).values())

    def conditions_by_key(self, labels: Mapping[str, str] | None = None) -> dict[str, str]:
        """Each restricted uncertainty's condition in words, by its key."""
        labels = labels or {}
        out = {}
        for key, (lo, hi) in self.limits.items():
            r_lo, r_hi = self.ranges.get(key, (-math.inf, math.inf))
            name = labels.get(key, key)
            low, high = lo > r_lo + 1e-12, hi < r_hi - 1e-12
            if low and high:
                out[key] = f"{name} between {_num(lo)} and {_num(hi)}"
            elif low:
                out[key] = f"{name} > {_num(lo)}"
            elif high:
                out[key] = f"{name} < {_num(hi)}"
        return out

    def contains(self, x: pd.DataFrame) -> np.ndarray:
        """Which rows of ``x`` lie inside the box."""
        inside = np.ones(len(x), dtype=bool)
        for key, (lo, hi) in self.limits.items():
            inside &= (x[key].to_numpy() >= lo) & (x[key].to_numpy() <= hi)
        return inside


def _num(value: float) -> str:
    return f"{value:.3g}"


def discover(
    x: pd.DataFrame,
    y: np.ndarray,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    method: str = "auto",
) -> Box | None:
    """Find the box of conditions that best describes where ``y`` is true.

    Args:
        x: one row per future, one numeric column per uncertainty.
        y: whether each future had the outcome.
        ranges: each uncertainty's sampled range (default: its observed min and max).
        method: ``"prim"``, ``"tree"`` or ``"auto"`` (PRIM if EMA Workbench is installed).

    Returns:
        The box, or None when there is nothing to explain (no future, or every
        future, has the outcome; or no box restricts anything).
    """
    y = np.asarray(y, dtype=bool)
    if len(y) == 0 or y.all() or not y.any():
        return None
    x = x.reset_index(drop=True).astype(float)
    ranges = {k: (float(v[0]), float(v[1])) for k, v in (ranges or {}).items()}
    for key in x.columns:
        ranges.setdefault(key, (float(x[key].min()), float(x[key].max())))
    box = _find(x, y, method)
    if box is None or not box.limits:
        return None
    box.ranges = ranges
    for key, (lo, hi) in list(box.limits.items()):  # an unrestricted side reads as the sampled range's end
        lo = ranges[key][0] if lo <= x[key].min() else lo
        hi = ranges[key][1] if hi >= x[key].max() else hi
        box.limits[key] = (lo, hi)
    return box


def _find(x: pd.DataFrame, y: np.ndarray, method: str) -> Box | None:
    """PRIM (``"prim"``, or ``"auto"`` when EMA Workbench is installed), else the decision tree."""
    if method in ("auto", "prim"):
        try:
            return _prim(x, y)
        except ImportError:
            if method == "prim":
                raise
    return _tree(x, y)


def target_density(base_rate: float) -> float:
    """The density a chosen box should reach: halfway from the base rate to 1, at least 0.5, at most 0.9."""
    return min(0.9, max(0.5, base_rate + (1.0 - base_rate) / 2))


def choose(candidates: list[Box], base_rate: float) -> Box | None:
    """The box to report among candidates along a peeling trajectory (or a tree's leaves).

    Among boxes whose density reaches :func:`target_density`, the one with the
    best balance of coverage and density (their harmonic mean); if none does,
    the densest box that still covers at least a third of the outcomes.
    """
    good = [b for b in candidates if b.density > base_rate]
    target = target_density(base_rate)
    dense = [b for b in good if b.density >= target]
    if dense:
        return max(dense, key=lambda b: 2 * b.coverage * b.density / (b.coverage + b.density))
    broad = [b for b in good if b.coverage >= 1 / 3]
    return max(broad, key=lambda b: (b.density, b.coverage)) if broad else None


def simplify(box: Box, x: pd.DataFrame, y: np.ndarray, tolerance: float = 0.01) -> Box:
    """Drop each bound whose removal costs less than ``tolerance`` density (bounds that barely matter)."""
    limits = dict(box.limits)
    while (relaxed := _relax_one(limits, x, y, box.density - tolerance)) is not None:
        limits = relaxed
    density, coverage, mass, n_in = _stats(x, y, limits)
    return Box(limits, density, coverage, mass, n_in, box.method)


def _relax_one(
    limits: dict[str, tuple[float, float]], x: pd.DataFrame, y: np.ndarray, floor: float
) -> dict[str, tuple[float, float]] | None:
    """The limits without the first bound (in order) whose removal keeps the density at ``floor`` or more."""
    for key, (lo, hi) in limits.items():
        for relaxed in ((-math.inf, hi), (lo, math.inf)):
            if relaxed == (lo, hi):
                continue
            trial = {k: v for k, v in {**limits, key: relaxed}.items() if v != (-math.inf, math.inf)}
            if _stats(x, y, trial)[0] >= floor:
                return trial
    return None


def _stats(x: pd.DataFrame, y: np.ndarray, limits: dict[str, tuple[float, float]]) -> tuple[float, ...]:
    inside = np.ones(len(x), dtype=bool)
    for key, (lo, hi) in limits.items():
        inside &= (x[key].to_numpy() >= lo) & (x[key].to_numpy() <= hi)
    n_in = int(inside.sum())
    density = float(y[inside].mean()) if n_in else 0.0
    coverage = float(y[inside].sum() / y.sum())
    return density, coverage, n_in / len(y), n_in


def _prim(x: pd.DataFrame, y: np.ndarray) -> Box | None:
    """PRIM on all uncertainties, and on every subset of at most three of the most telling ones.

    PRIM peels greedily, a little off every dimension, so the short boxes on
    a trajectory over many dimensions can be poor; peeling within small
    subsets too finds the best box of at most three conditions.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim
    for name in list(logging.root.manager.loggerDict):
        if name.startswith(("EMA", "ema_workbench")):
            logging.getLogger(name).setLevel(logging.ERROR)
    columns = list(x.columns)
    ranked = sorted(columns, key=lambda k: -_association(x[k].to_numpy(), y))[:MAX_SUBSET_DIMS]
    subsets = [columns] + [
        list(c)
        for r in range(1, MAX_CONDITIONS + 1)
        for c in itertools.combinations(ranked, r)
        if len(c) < len(columns)
    ]
    candidates: list[Box] = []
    seen: set = set()
    for subset in subsets:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = prim.Prim(x[subset], y, peel_alpha=0.05, paste_alpha=0.05, mass_min=0.05).find_box()
        if found is not None:
            candidates += _trajectory_boxes(found, x, y, seen)
    best = choose(candidates, float(y.mean()))
    return None if best is None else simplify(best, x, y)


def _association(values: np.ndarray, y: np.ndarray) -> float:
    """How strongly one uncertainty separates outcomes: |difference of mean ranks| (0..1)."""
    ranks = pd.Series(values).rank(pct=True).to_numpy()
    return abs(float(ranks[y].mean() - ranks[~y].mean()))


def _trajectory_boxes(found, x: pd.DataFrame, y: np.ndarray, seen: set) -> list[Box]:
    """The boxes along one peeling trajectory, keeping only significant bounds, at most three conditions."""
    initial = found.box_lims[0]
    out = []
    for lims, p_values in zip(found.box_lims, found.p_values, strict=False):
        limits = {}
        for k in lims.columns:
            lo, hi = float(lims[k].iloc[0]), float(lims[k].iloc[1])
            qp = p_values.get(k, [-1, -1]) if isinstance(p_values, Mapping) else [-1, -1]
            # keep a side only if PRIM moved it and it is significant (quasi-p-value <= QP_MAX)
            if lo == float(initial[k].iloc[0]) or not 0 <= qp[0] <= QP_MAX:
                lo = -math.inf
            if hi == float(initial[k].iloc[1]) or not 0 <= qp[1] <= QP_MAX:
                hi = math.inf
            if (lo, hi) != (-math.inf, math.inf):
                limits[k] = (lo, hi)
        key = tuple(sorted(limits.items()))
        if not limits or len(limits) > MAX_CONDITIONS or key in seen:
            continue
        seen.add(key)
        density, coverage, mass, n_in = _stats(x, y, limits)
        out.append(Box(limits, density, coverage, mass, n_in, "PRIM"))
    return out


def _tree(x: pd.DataFrame, y: np.ndarray) -> Box | None:
    from sklearn.tree import DecisionTreeClassifier

    leaf_min = max(5, int(0.05 * len(y)))
    tree = DecisionTreeClassifier(max_depth=MAX_CONDITIONS, min_samples_leaf=leaf_min, random_state=0)
    tree.fit(x.to_numpy(), y)
    t = tree.tree_
    candidates: list[Box] = []

    def walk(node: int, limits: dict[str, tuple[float, float]]) -> None:
        if t.children_left[node] == -1:
            if limits:
                density, coverage, mass, n_in = _stats(x, y, limits)
                candidates.append(Box(dict(limits), density, coverage, mass, n_in, "decision tree"))
            return
        key = x.columns[t.feature[node]]
        cut = float(t.threshold[node])
        lo, hi = limits.get(key, (-math.inf, math.inf))
        walk(t.children_left[node], {**limits, key: (lo, min(hi, cut))})
        walk(t.children_right[node], {**limits, key: (max(lo, float(np.nextafter(cut, math.inf))), hi)})

    walk(0, {})
    best = choose(candidates, float(y.mean()))
    if best is None:
        return None
    best = simplify(best, x, y)
    best.limits = {
        k: (max(lo, float(x[k].min())), min(hi, float(x[k].max())))  # infinite bounds: observed range
        for k, (lo, hi) in best.limits.items()
    }
    return best
