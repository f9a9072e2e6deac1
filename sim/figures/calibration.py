"""Figures of a calibration folder, drawn from its saved files only (Agg canvas, no pyplot).

* ``figures/pairs.png``: the posterior against the priors. On the diagonal, each
  parameter's weighted histogram over its whole prior range (the flat prior
  dashed), its median and 90% credible interval; below it, every pair of
  parameters as particles (area by weight) in the box of their priors.
* ``figures/predictive.png``: per fitted column, the observed series over the
  50% and 90% bands (and the median) of series simulated at parameters drawn
  from the posterior.

The folder layout (file names) is defined here, so that the calibration
engine and the figures share one copy of it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.storage.files import atomic_write

SETTINGS = "calibration.json"
DATABASE = "abc.db"
SCALE_WEIGHTS = "scale_weights.json"
OBSERVED = "observed.parquet"
POSTERIOR = "posterior.parquet"
GENERATIONS = "generations.parquet"
PREDICTIVE = "predictive.parquet"
SUMMARY = "summary.md"
MANIFEST = "manifest.json"
PAIRS = "figures/pairs.png"
PREDICTIVE_FIGURE = "figures/predictive.png"

#: Credible interval of a parameter, and the predictive band, as probabilities.
CREDIBLE = 0.9
BAND = 0.9

#: Most histogram bins over a prior range.
MAX_BINS = 200

POSTERIOR_COLOUR, PRIOR_COLOUR, OBSERVED_COLOUR = "#1f77b4", "#7f7f7f", "#d62728"


def weighted_quantile(values: np.ndarray, weights: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Quantiles of a weighted sample, as ``pyabc.weighted_statistics.weighted_quantile`` computes them.

    The weighted empirical distribution function, interpolated linearly through the
    midpoint of each value's weight (particles of zero weight are left out).

    Args:
        values: the sample.
        weights: non-negative weights, not all zero.
        qs: probabilities in [0, 1].
    """
    w = np.asarray(weights, dtype=float)
    keep = w > 0
    v, w = np.asarray(values, dtype=float)[keep], w[keep]
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order] / w.sum()
    cum = np.cumsum(w) - w / 2
    return [float(np.interp(q, cum, v)) for q in qs]


def draw_figures(folder: str | Path) -> list[Path]:
    """Draw both figures of a calibration folder; return their paths."""
    folder = Path(folder)
    settings = json.loads((folder / SETTINGS).read_text(encoding="utf-8"))
    return [pair_plot(folder, settings), predictive_plot(folder, settings)]


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    return path


def pair_plot(folder: Path, settings: dict) -> Path:
    """The posterior of the last generation against the uniform priors."""
    posterior = pd.read_parquet(folder / POSTERIOR)
    priors = settings["priors"]
    d = len(priors)
    fig = Figure(figsize=(1.2 + 2.6 * d, 0.9 + 2.4 * d), layout="constrained")
    axes = np.atleast_2d(fig.subplots(d, d, squeeze=False))
    w = posterior["weight"].to_numpy()
    for i, yp in enumerate(priors):
        for j, xp in enumerate(priors):
            ax = axes[i, j]
            if j > i:
                ax.set_axis_off()
            elif i == j:
                _marginal(ax, posterior[xp["key"]].to_numpy(), w, xp)
            else:
                sizes = 6 + 120 * w / w.max()
                ax.scatter(
                    posterior[xp["key"]], posterior[yp["key"]], s=sizes, alpha=0.35, color=POSTERIOR_COLOUR
                )
                ax.set_xlim(xp["low"], xp["high"])
                ax.set_ylim(yp["low"], yp["high"])
            if i == d - 1:
                ax.set_xlabel(xp["key"])
            if j == 0 and i > 0:
                ax.set_ylabel(yp["key"])
    generations = len(pd.read_parquet(folder / GENERATIONS)) if (folder / GENERATIONS).exists() else "?"
    fig.suptitle(
        f"Posterior (generation {generations}, {len(posterior)} particles) against the priors (dashed)",
        fontsize=10,
    )
    return _save(fig, folder / PAIRS)


def _marginal(ax, values: np.ndarray, weights: np.ndarray, prior: dict) -> None:
    low, high = prior["low"], prior["high"]
    lo, median, hi = weighted_quantile(values, weights, [(1 - CREDIBLE) / 2, 0.5, (1 + CREDIBLE) / 2])
    # 25 bins over the prior, or finer, so that a narrow posterior still shows its shape (at least 8 bins)
    n_bins = int(min(MAX_BINS, max(25, 8 * (high - low) / max(hi - lo, 1e-12))))
    bins = np.linspace(low, high, n_bins + 1)
    ax.hist(values, bins=bins, weights=weights, density=True, color=POSTERIOR_COLOUR, alpha=0.55)
    ax.axhline(1 / (high - low), color=PRIOR_COLOUR, linestyle="--", linewidth=1.2, label="prior")
    ax.axvspan(lo, hi, color=POSTERIOR_COLOUR, alpha=0.12, label=f"{CREDIBLE:.0%} interval")
    ax.axvline(median, color=POSTERIOR_COLOUR, linewidth=1.5, label="median")
    ax.set_xlim(low, high)
    ax.set_yticks([])
    ax.set_title(f"{prior['key']}\n{median:.3g} [{lo:.3g}, {hi:.3g}]", fontsize=9)


def predictive_plot(folder: Path, settings: dict) -> Path:
    """Observed series over the bands of series simulated from the posterior."""
    observed = pd.read_parquet(folder / OBSERVED)
    predictive = pd.read_parquet(folder / PREDICTIVE)
    columns = settings["data"]["columns"]
    measures = dict(zip(columns, settings["data"]["measures"], strict=True))
    n = len(columns)
    ncols = min(n, 2)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(1.0 + 5.2 * ncols, 0.8 + 3.4 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    draws = predictive["draw"].nunique()
    for ax, column in zip(axes, columns, strict=False):
        lo, hi = (1 - BAND) / 2, (1 + BAND) / 2
        q = predictive.groupby("step")[column].quantile([lo, 0.25, 0.5, 0.75, hi]).unstack()
        ax.fill_between(q.index, q[lo], q[hi], color=POSTERIOR_COLOUR, alpha=0.18, label=f"{BAND:.0%} band")
        ax.fill_between(q.index, q[0.25], q[0.75], color=POSTERIOR_COLOUR, alpha=0.3, label="50% band")
        ax.plot(q.index, q[0.5], color=POSTERIOR_COLOUR, linewidth=1.2, label="simulated median")
        ax.plot(
            observed["step"], observed[column], "o", color=OBSERVED_COLOUR, markersize=2.8, label="observed"
        )
        label = column if measures[column] == column else f"{column} (model: {measures[column]})"
        ax.set_ylabel(label)
        ax.set_xlabel("step")
        ax.legend(fontsize=8, frameon=False)
    for ax in axes[n:]:
        ax.set_axis_off()
    fig.suptitle(
        f"Posterior predictive check: observed over {draws} series simulated from the posterior", fontsize=10
    )
    return _save(fig, folder / PREDICTIVE_FIGURE)
