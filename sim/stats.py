"""Intervals: every mean and interval newpower reports is computed here.

The 95% interval of a mean over n runs is mean +/- t(0.975, n-1) * sd / sqrt(n), with sd the
sample standard deviation; NaN values (a measure a run does not define) are left out, and n
counts the values that are defined.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

#: Confidence level of every interval.
CONFIDENCE = 0.95


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
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * sd / math.sqrt(n)) if n > 1 else math.nan
    return {"mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def add_intervals(stats_frame: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Add ``ci_low``/``ci_high`` (t-interval of the mean) to a frame with ``mean``, ``sd``, ``n``.

    One replicate has no spread: its ``sd`` and interval are NaN.
    """
    out = stats_frame.copy()
    n = out["n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(n > 1, stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1)), np.nan)
        half = t * out["sd"].to_numpy() / np.sqrt(n)
    out["sd"] = np.where(n > 1, out["sd"], np.nan)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    out["n"] = out["n"].astype(np.int64)
    return out
