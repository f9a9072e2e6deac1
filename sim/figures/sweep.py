"""Response curves of a sweep folder: each headline measure against each varied factor.

:func:`plot_sweep` reads only the folder (``sweep.json`` and the summary
parts), never a live model. For every factor the design varies it draws one
figure with a panel per headline measure: the mean over runs and its 95%
t-interval as a band. Runs are grouped by the factor's value (averaging over
the other factors), or, for sampled designs whose values are all distinct,
by deciles of the factor. In a factorial design with a second factor of at
most five levels, each of its levels gets its own line.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from sim.errors import SimError
from sim.figures.measure_words import axis_label, plain_name, words
from sim.stats import interval
from sim.storage import sweep_store as store
from sim.storage.files import atomic_write, slug
from sim.storage.sweep_store import (
    PARAM,
    headline_measures,
    is_sweep_dir,  # noqa: F401 - re-exported for `newpower plot`
)

FIGURES = "figures"
DPI = 120
#: Above this many distinct values a numeric factor is grouped in bins.
MAX_LEVELS = 12
BINS = 10
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def mean_band(values: np.ndarray) -> tuple[float, float, float, int]:
    """Mean, 95% t-interval bounds and n of the finite values."""
    stats = interval(values)
    return stats["mean"], stats["ci_low"], stats["ci_high"], stats["n"]


def response(frame: pd.DataFrame, factor: str, measure: str) -> pd.DataFrame:
    """Mean and 95% band of ``measure`` per level (or decile bin) of ``factor``.

    Returns:
        Columns ``x, mean, ci_low, ci_high, n`` sorted by ``x``; ``x`` is the
        level, or the mean factor value within a bin.
    """
    x = frame[factor]
    numeric = pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
    if numeric and x.nunique() > MAX_LEVELS:
        groups = pd.qcut(x, BINS, duplicates="drop")
        keys = frame.groupby(groups, observed=True)[factor].mean()
    else:
        groups = x
        keys = None
    rows = []
    for level, part in frame.groupby(groups, observed=True, sort=True):
        mean, lo, hi, n = mean_band(part[measure].to_numpy(dtype=float))
        rows.append(
            {
                "x": keys[level] if keys is not None else level,
                "mean": mean,
                "ci_low": lo,
                "ci_high": hi,
                "n": n,
            }
        )
    return pd.DataFrame(rows, columns=["x", "mean", "ci_low", "ci_high", "n"])


def plot_sweep(results_dir: str | Path, measures: list[str] | None = None) -> list[Path]:
    """Draw the response curves of a sweep folder into ``<folder>/figures/sweep_<factor>.png``.

    Args:
        results_dir: a folder written by ``newpower sweep`` (or ``sensitivity``, ``stress``).
        measures: summary measures to draw (default: the headline measures that vary).

    Returns:
        The PNG files written, one per varied factor.
    """
    folder = Path(results_dir)
    manifest = store.read_manifest(folder)
    if manifest is None:
        raise SimError(f"{folder}: not a sweep folder (no {store.MANIFEST})")
    summaries = store.read_summaries(folder)
    if summaries.empty:
        return []
    factors = [c for c in store.param_columns(summaries) if summaries[c].nunique(dropna=True) > 1]
    measures = _measures(summaries, measures)
    out = []
    for factor in factors:
        split = _split_factor(manifest, summaries, factor, factors)
        fig = _response_figure(summaries, factor, measures, split, manifest)
        FigureCanvasAgg(fig)
        path = folder / FIGURES / f"sweep_{slug(factor[len(PARAM) :])}.png"
        out.append(atomic_write(path, lambda tmp, fig=fig: fig.savefig(tmp, format="png", dpi=DPI)))
    return out


def _measures(summaries: pd.DataFrame, measures: list[str] | None) -> list[str]:
    """The measures asked for, checked to be numeric measures of the runs; else the headline ones that vary."""
    if measures is None:
        headline = headline_measures(summaries.columns)
        return [m for m in headline if summaries[m].nunique(dropna=True) > 1] or headline
    numeric = store.measure_columns(summaries)
    for measure in measures:
        if measure not in numeric:
            raise SimError(
                f"measure {measure!r}: not a numeric measure of these runs; allowed: {', '.join(numeric)}"
            )
    return measures


def _split_factor(manifest: dict, summaries: pd.DataFrame, factor: str, factors: list[str]) -> str | None:
    """In a factorial design, the other factor with the fewest levels (2 to 5), drawn as separate lines."""
    if manifest.get("design", {}).get("design") != "factorial":
        return None
    others = [
        (summaries[f].nunique(), f) for f in factors if f != factor and 2 <= summaries[f].nunique() <= 5
    ]
    return min(others)[1] if others else None


def _response_figure(
    summaries: pd.DataFrame, factor: str, measures: list[str], split: str | None, manifest: dict
) -> Figure:
    ncols = min(3, len(measures))
    nrows = math.ceil(len(measures) / ncols)
    fig = Figure(figsize=(4.3 * ncols, 3.1 * nrows + 0.8), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    name = factor[len(PARAM) :]
    x = summaries[factor]
    categorical = not pd.api.types.is_numeric_dtype(x) or pd.api.types.is_bool_dtype(x)
    levels = sorted(summaries[split].dropna().unique()) if split else [None]
    for ax, measure in zip(axes, measures, strict=False):
        for colour, level in zip(COLOURS, levels, strict=False):
            part = summaries if level is None else summaries[summaries[split] == level]
            label = None if level is None else f"{split[len(PARAM) :]} = {_short(level)}"
            _draw_curve(ax, response(part, factor, measure), categorical, colour, label)
        ax.set_title("\n".join(textwrap.wrap(plain_name(measure), 40)), fontsize=10)
        ax.set_ylabel(axis_label(measure), fontsize=9)
        ax.set_xlabel(name, fontsize=9)
        if words(measure).share:
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        ax.grid(alpha=0.3)
        if split:
            ax.legend(fontsize=7)
    for ax in axes[len(measures) :]:
        ax.set_visible(False)
    sc = manifest.get("scenario", {})
    binned = (not categorical) and x.nunique() > MAX_LEVELS
    fig.suptitle(
        f"{sc.get('name', '')}: response to {name}\nmean over runs and 95% interval"
        f"{' (runs grouped in deciles of ' + name + ')' if binned else ''}; "
        f"{manifest.get('n_points')} points x {manifest.get('replications')} replications",
        fontsize=11,
    )
    return fig


def _draw_curve(ax: Axes, curve: pd.DataFrame, categorical: bool, colour: str, label: str | None) -> None:
    """One response curve: points with error bars for a categorical factor, else a line with a band."""
    if categorical:
        pos = np.arange(len(curve))
        err = np.vstack([curve["mean"] - curve["ci_low"], curve["ci_high"] - curve["mean"]])
        ax.errorbar(
            pos, curve["mean"], yerr=np.nan_to_num(err), fmt="o", color=colour, capsize=4, label=label
        )
        ax.set_xticks(pos, [_short(v) for v in curve["x"]], rotation=20, fontsize=8)
        return
    ax.plot(curve["x"], curve["mean"], "o-", color=colour, ms=3, label=label)
    ax.fill_between(
        curve["x"].astype(float), curve["ci_low"], curve["ci_high"], color=colour, alpha=0.2, linewidth=0
    )


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
