"""Figures of a stress test, drawn on the Agg canvas without pyplot from plain data (:class:`StressData`).

The stress test itself (:mod:`sim.research.stress`) hands its result over as a
:class:`StressData`: the outcome of every run and, per strategy, the share of
futures deserted and the box of conditions found by scenario discovery.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from sim.storage.files import atomic_write

COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")
DESERTED, STAYED = "#d62728", "#9ecae1"


@dataclass(frozen=True)
class StressArm:
    """One strategy over the sampled futures.

    Attributes:
        strategy: its name.
        n: futures run.
        deserted: futures in which the community deserted.
        interval: 95% interval of the share deserted.
        box: the conditions found by scenario discovery, as uncertain key -> (low, high); None if none.
        conditions: each restricted key's condition in words (``fee hike size > 0.2``).
    """

    strategy: str
    n: int
    deserted: int
    interval: tuple[float, float]
    box: Mapping[str, tuple[float, float]] | None = None
    conditions: Mapping[str, str] = field(default_factory=dict)

    @property
    def share(self) -> float:
        """Share of futures that deserted."""
        return self.deserted / self.n if self.n else math.nan


@dataclass(frozen=True)
class StressData:
    """What the stress figures draw.

    Attributes:
        outcomes: one row per run: ``strategy``, ``measure``, ``deserted`` and one column per uncertain key.
        arms: the strategies, in the order to draw them.
        organization: whose community deserts.
        measure: the organization's summary measure that decides it.
        above: desertion when the measure is above this.
        ranges: uncertain key -> its sampled (low, high).
        labels: uncertain key -> its name in words.
    """

    outcomes: pd.DataFrame
    arms: Sequence[StressArm]
    organization: str
    measure: str
    above: float
    ranges: Mapping[str, tuple[float, float]]
    labels: Mapping[str, str]

    def runs_of(self, arm: StressArm) -> pd.DataFrame:
        """The outcomes of one strategy's runs."""
        return self.outcomes[self.outcomes["strategy"] == arm.strategy]


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))


def desertion_figure(data: StressData, path: Path) -> Path:
    """Share of futures deserted per strategy, with 95% Wilson intervals."""
    arms = data.arms
    fig = Figure(figsize=(1.6 + 1.5 * len(arms), 3.6), layout="constrained")
    ax = fig.subplots()
    pos = np.arange(len(arms))
    shares = np.array([a.share for a in arms]) * 100
    lo = shares - np.array([a.interval[0] for a in arms]) * 100
    hi = np.array([a.interval[1] for a in arms]) * 100 - shares
    ax.bar(
        pos,
        shares,
        color=[COLOURS[i % len(COLOURS)] for i in range(len(arms))],
        width=0.6,
        yerr=np.vstack([lo, hi]),
        capsize=6,
    )
    for p, a, s in zip(pos, arms, shares, strict=True):
        ax.text(
            p,
            min(s + hi[p] + 2, 104),
            f"{s:.0f}%\n({a.deserted}/{a.n})",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xticks(pos, [a.strategy for a in arms], rotation=15 if len(arms) > 2 else 0)
    ax.set_ylim(0, 115)
    ax.set_ylabel("futures in which the community deserts (%)")
    ax.set_title(
        f"{data.organization}: share of futures deserted\n(95% Wilson intervals; same futures for every strategy)",
        fontsize=10,
    )
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def measure_figure(data: StressData, path: Path) -> Path:
    """Distribution of the desertion measure per strategy, with the threshold."""
    fig = Figure(figsize=(6.8, 3.6), layout="constrained")
    ax = fig.subplots()
    values = data.outcomes["measure"].to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    bins = np.linspace(min(lo, data.above), max(hi, data.above) + 1e-9, 26)
    for i, arm in enumerate(data.arms):
        part = data.runs_of(arm)["measure"].to_numpy(dtype=float)
        ax.hist(
            part[np.isfinite(part)],
            bins=bins,
            histtype="step",
            linewidth=1.8,
            color=COLOURS[i % len(COLOURS)],
            label=arm.strategy,
        )
    ax.axvline(data.above, color="black", linestyle="--", linewidth=1, label=f"threshold {data.above:g}")
    ax.set_xlabel(f"{data.organization}.{data.measure}")
    ax.set_ylabel("futures")
    ax.legend(fontsize=8)
    ax.set_title("How much of the community is lost, over the sampled futures", fontsize=10)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _axes_keys(data: StressData, arm: StressArm) -> list[str]:
    """Two uncertainties to map: the box's, then those most associated with desertion."""
    chosen = list(arm.box) if arm.box else []
    part = data.runs_of(arm)
    y = part["deserted"].to_numpy(dtype=float)

    def strength(key: str) -> float:
        x = part[key].to_numpy(dtype=float)
        if np.std(x) == 0 or np.std(y) == 0:
            return 0.0
        return abs(float(np.corrcoef(x, y)[0, 1]))

    for key in sorted(data.ranges, key=strength, reverse=True):
        if key not in chosen:
            chosen.append(key)
    return chosen[:2]


def map_figure(data: StressData, path: Path) -> Path | None:
    """Futures on the two most telling uncertainties, deserted or not, with the discovered box."""
    fig = map_plot(data)
    return _save(fig, path) if fig is not None else None


def map_plot(data: StressData) -> Figure | None:
    """The figure of :func:`map_figure` (None without uncertainties or strategies)."""
    if not data.ranges or not data.arms:
        return None
    arms = data.arms
    ncols = min(3, len(arms))
    nrows = math.ceil(len(arms) / ncols)
    fig = Figure(figsize=(max(6.0, 4.6 * ncols), 4.3 * nrows + 0.4), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    keys = _axes_keys(data, arms[0])
    for ax, arm in zip(axes, arms, strict=False):
        _draw_futures(ax, data, arm, keys)
    for ax in axes[len(arms) :]:
        ax.set_visible(False)
    fig.suptitle(
        "Where desertion happens\neach dot is a future; dashed box: the conditions found by scenario discovery",
        fontsize=10,
    )
    # One legend for every panel, below them: a legend inside a panel would cover its futures or its box.
    handles = {
        label: h for ax in axes[: len(arms)] for h, label in zip(*ax.get_legend_handles_labels(), strict=True)
    }
    fig.legend(
        handles.values(),
        handles.keys(),
        loc="outside lower center",
        ncol=len(handles),
        fontsize=8,
        frameon=False,
    )
    return fig


def _draw_futures(ax: Axes, data: StressData, arm: StressArm, keys: list[str]) -> None:
    """One strategy's panel of the map: its futures on ``keys`` (one or two), and its box."""
    part = data.runs_of(arm)
    x = part[keys[0]].to_numpy(dtype=float)
    # with one uncertainty, spread the dots vertically (a fixed generator: the same figure every time)
    y = part[keys[1]].to_numpy(dtype=float) if len(keys) > 1 else np.random.default_rng(0).random(len(part))
    hit = part["deserted"].to_numpy()
    ax.scatter(x[~hit], y[~hit], s=14, color=STAYED, label="stays", edgecolor="none")
    ax.scatter(x[hit], y[hit], s=14, color=DESERTED, label="deserts", edgecolor="none")
    if arm.box is not None:
        _draw_box(ax, data, arm, keys)
    lo, hi = data.ranges[keys[0]]
    ax.set_xlim(lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo))
    ax.set_xlabel(data.labels[keys[0]])
    ax.set_ylabel(data.labels[keys[1]] if len(keys) > 1 else "(spread for reading)")
    ax.set_title(f"{arm.strategy}: {arm.deserted} of {arm.n} futures desert", fontsize=10)


def _draw_box(ax: Axes, data: StressData, arm: StressArm, keys: list[str]) -> None:
    """The box on the panel's axes; its conditions on other uncertainties written in a corner."""
    box = arm.box or {}
    x0, x1 = box.get(keys[0], data.ranges[keys[0]])
    y0, y1 = box.get(keys[1], data.ranges[keys[1]]) if len(keys) > 1 else (0.0, 1.0)
    ax.add_patch(
        Rectangle(
            (x0, y0),
            x1 - x0,
            y1 - y0,
            fill=False,
            edgecolor="black",
            linewidth=1.5,
            linestyle="--",
            label="box",
        )
    )
    others = [arm.conditions[k] for k in box if k not in keys and k in arm.conditions]
    if others:
        ax.text(
            0.01,
            0.01,
            "box also needs: " + "; ".join(others),
            transform=ax.transAxes,
            fontsize=7,
            va="bottom",
        )
