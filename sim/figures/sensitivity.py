"""The bar chart of a sensitivity analysis, drawn on the Agg canvas from its table of indices."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.storage.files import atomic_write

#: The bars of each method: (column, interval column or None, colour, legend label).
BARS = {
    "sobol": (("S1", "S1_conf", "#1f77b4", "first order S1"), ("ST", "ST_conf", "#d62728", "total ST")),
    "morris": (("mu_star", "mu_star_conf", "#1f77b4", "mu*"), ("sigma", None, "#999999", "sigma")),
}


def bar_chart(indices: pd.DataFrame, method: str, path: Path, manifest: dict[str, Any]) -> Path:
    """One panel per measure: S1 and ST (or mu* and sigma) per factor, with 95% intervals.

    Args:
        indices: one row per measure and factor (``sensitivity.parquet``).
        method: ``"sobol"`` or ``"morris"``.
        path: the PNG to write.
        manifest: the sensitivity folder's manifest (for the title).
    """
    measures = list(dict.fromkeys(indices["measure"]))
    ncols = min(3, len(measures))
    nrows = math.ceil(len(measures) / ncols)
    factors = list(dict.fromkeys(indices["factor"]))
    fig = Figure(figsize=(4.6 * ncols, 0.45 * len(factors) * nrows + 1.4 * nrows + 0.8), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    pos = np.arange(len(factors))
    for ax, measure in zip(axes, measures, strict=False):
        part = indices[indices["measure"] == measure].set_index("factor").loc[factors]
        for k, (col, conf, colour, label) in enumerate(BARS[method]):
            ax.barh(
                pos + (k - 0.5) * 0.38,
                part[col].to_numpy(),
                height=0.36,
                xerr=part[conf].to_numpy() if conf else None,
                color=colour,
                capsize=3,
                label=label,
            )
        ax.set_yticks(pos, factors, fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_title(measure, fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    for ax in axes[len(measures) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"{manifest['scenario']['name']}: {method} sensitivity, {manifest['n_points']} points x "
        f"{manifest['replications']} replications (bars: 95% intervals)",
        fontsize=11,
    )
    FigureCanvasAgg(fig)
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
