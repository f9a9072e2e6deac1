"""How far a simulated series is from the observed one.

Two choices (``--distance``):

* ``series``: the root mean square gap over every observed step and column,
  each column in units of its observed standard deviation (so columns of
  different units weigh alike). Uses every point; best when the model should
  reproduce the shape of the whole curve.
* ``summary``: four summary statistics per column (peak, peak step, half-life,
  final level), compared by pyabc's :class:`~pyabc.distance.AdaptivePNormDistance`,
  which re-weights each statistic every generation by the spread of its
  simulated values (median absolute deviation), so that steps and shares weigh
  alike. Robust to timing noise; blind to what the four numbers do not say.

Both are computed the same way for the observed and the simulated series, by
:func:`statistics`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sim.research.calibration.problem import DistanceKind

#: The summary statistics of one column, in order.
SUMMARY_STATISTICS = ("peak", "peak_step", "half_life", "final")


def summary_statistics(steps: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """Peak, step of the peak, half-life and final level of one series.

    The half-life is the number of steps from the peak until the series first
    falls back to halfway between its start and its peak; 0 when there is no
    rise above the start; when it never falls that far within the series, it is
    censored at one step more than the time left after the peak (so that "not
    yet" still ranks above every observed half-life).
    """
    peak_index = int(np.argmax(values))
    start, peak = float(values[0]), float(values[peak_index])
    peak_step = float(steps[peak_index])
    if peak <= start:
        half_life = 0.0
    else:
        below = np.flatnonzero(values[peak_index:] <= start + (peak - start) / 2)
        end = peak_index + below[0] if below.size else None
        half_life = float(steps[end] - peak_step) if end is not None else float(steps[-1] - peak_step + 1)
    return {"peak": peak, "peak_step": peak_step, "half_life": half_life, "final": float(values[-1])}


def statistics(kind: DistanceKind, steps: np.ndarray, series: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """What the distance compares: the series themselves, or each column's summary statistics.

    Keys are ``<column>`` (series) or ``<column>:<statistic>`` (summary).
    """
    if kind is DistanceKind.SERIES:
        return {column: np.asarray(values, dtype=float) for column, values in series.items()}
    out: dict[str, Any] = {}
    for column, values in series.items():
        for name, value in summary_statistics(steps, np.asarray(values, dtype=float)).items():
            out[f"{column}:{name}"] = value
    return out


class SeriesDistance:
    """Root mean square gap over every step and column, each column scaled by a fixed scale.

    Args:
        scales: column -> the scale its gaps are divided by (its observed standard deviation).
    """

    def __init__(self, scales: Mapping[str, float]) -> None:
        self.scales = dict(scales)

    def __call__(self, x: Mapping[str, Any], x_0: Mapping[str, Any]) -> float:
        """The distance between simulated statistics ``x`` and observed ``x_0`` (pyabc's signature)."""
        gaps = [(np.asarray(x[c]) - np.asarray(x_0[c])) / s for c, s in self.scales.items()]
        return float(np.sqrt(np.mean(np.concatenate(gaps) ** 2)))


def series_scales(series: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Each column's observed standard deviation (1 for a flat column, which has no scale of its own)."""
    scales = {}
    for column, values in series.items():
        sd = float(np.std(values))
        scales[column] = sd if sd > 0 else 1.0
    return scales


def make_distance(
    kind: DistanceKind,
    observed_series: Mapping[str, np.ndarray],
    scale_log: Path | None = None,
    initial_weights: Mapping[str, float] | None = None,
):
    """The pyabc distance for ``kind``.

    Args:
        kind: series or summary.
        observed_series: the observed columns (they set the series distance's scales).
        scale_log: where the summary distance logs its weights per generation (JSON).
        initial_weights: the summary distance's weights for its first generation
            (None: fitted from a sample, as pyabc does).
    """
    if kind is DistanceKind.SERIES:
        return SeriesDistance(series_scales(observed_series))
    import pyabc

    # pyabc's defaults (p = 1, scales from the median absolute deviation of all simulated statistics)
    return pyabc.AdaptivePNormDistance(
        initial_scale_weights=dict(initial_weights) if initial_weights else None,
        scale_log_file=str(scale_log) if scale_log else None,
    )
