"""Intervals: every mean and interval newpower reports is computed here.

The 95% interval of a mean over n runs is mean +/- t(0.975, n-1) * sd / sqrt(n), with sd the
sample standard deviation; NaN values (a measure a run does not define) are left out, and n
counts the values that are defined. The interval of a mean share (a value in [0, 1]) is a
percentile bootstrap over runs (:func:`bootstrap_interval`), which stays inside [0, 1] where
the t-interval of a few runs near 0 would not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import (
    stdtrit,  # the t quantile scipy.stats.t.ppf calls; scipy.stats takes 3x longer to import
)

#: Confidence level of every interval.
CONFIDENCE = 0.95
#: Resamples of the bootstrap, and the seed of its own generator (the same table every time).
RESAMPLES = 4000
BOOTSTRAP_SEED = 0


def interval(values: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Mean, sample sd and 95% t interval of the finite values.

    Returns:
        ``{"mean", "sd", "ci_low", "ci_high", "n"}``; sd and the interval are
        NaN when fewer than two values are finite, everything is NaN with none.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    mean = float(x.mean()) if n else math.nan
    sd = float(x.std(ddof=1)) if n > 1 else math.nan
    half = float(stdtrit(n - 1, 0.5 + CONFIDENCE / 2) * sd / math.sqrt(n)) if n > 1 else math.nan
    return {"mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def add_intervals(stats_frame: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Add ``ci_low``/``ci_high`` (t-interval of the mean) to a frame with ``mean``, ``sd``, ``n``.

    One replicate has no spread: its ``sd`` and interval are NaN.
    """
    out = stats_frame.copy()
    n = out["n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(n > 1, stdtrit(np.maximum(n - 1, 1), 0.5 + confidence / 2), np.nan)
        half = t * out["sd"].to_numpy() / np.sqrt(n)
    out["sd"] = np.where(n > 1, out["sd"], np.nan)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    out["n"] = out["n"].astype(np.int64)
    return out


def group_intervals(
    long: pd.DataFrame, by: Sequence[str], confidence: float = CONFIDENCE, sort: bool = True
) -> pd.DataFrame:
    """Mean, sd, n and interval of the ``value`` column of a long table, per group of ``by``.

    Values are summed in the order of the rows: give them in a fixed order (a sweep's design
    order, a run's replication order) and the result does not depend on how they were produced.

    Args:
        long: a table with the ``by`` columns and a ``value`` column (non-numbers count as NaN).
        by: the grouping columns.
        confidence: level of the interval.
        sort: sort the groups by their keys (else: in order of first appearance).

    Returns:
        One row per group: the ``by`` columns, ``mean``, ``sd``, ``n``, ``ci_low``, ``ci_high``.
    """
    values = pd.to_numeric(long["value"], errors="coerce").astype(float)
    groups = long.assign(value=values).groupby(list(by), sort=sort)["value"]
    return add_intervals(groups.agg(mean="mean", sd="std", n="count").reset_index(), confidence)


def bootstrap_interval(
    values: Sequence[float] | np.ndarray, resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float]:
    """The 95% percentile bootstrap interval of the mean of ``values`` (``scipy.stats.bootstrap``, resampling runs).

    Every resampled mean lies between the smallest and the largest value, so the interval of a
    share stays within [0, 1]. Randomness comes from a generator of its own, seeded with ``seed``.

    Returns:
        (low, high); NaN with fewer than two finite values, the value itself when all are equal.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return math.nan, math.nan
    if x.min() == x.max():  # no spread: SciPy would warn of a degenerate distribution
        return float(x[0]), float(x[0])
    from scipy import stats  # here: importing scipy.stats takes 3x longer than scipy.special

    result = stats.bootstrap(
        (x,),
        np.mean,
        confidence_level=CONFIDENCE,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
    return float(low), float(high)
