"""Figures of a stress test (:class:`~sim.research.stress.StressResult`), drawn on the Agg canvas without pyplot."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from sim.storage import sweep_store as store

if TYPE_CHECKING:
    from sim.research.stress import StressResult

COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")
DESERTED, STAYED = "#d62728", "#9ecae1"


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    store.atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    return path


def desertion_figure(result: StressResult, path: Path) -> Path:
    """Share of futures deserted per strategy, with 95% Wilson intervals."""
    arms = result.arms
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
    org = result.manifest["extra"]["desertion"]["organization"]
    ax.set_title(
        f"{org}: share of futures deserted\n(95% Wilson intervals; same futures for every strategy)",
        fontsize=10,
    )
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def measure_figure(result: StressResult, path: Path) -> Path:
    """Distribution of the desertion measure per strategy, with the threshold."""
    extra = result.manifest["extra"]
    d = extra["desertion"]
    fig = Figure(figsize=(6.8, 3.6), layout="constrained")
    ax = fig.subplots()
    values = result.outcomes["measure"].to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    bins = np.linspace(min(lo, d["above"]), max(hi, d["above"]) + 1e-9, 26)
    for i, arm in enumerate(result.arms):
        part = result.outcomes.loc[result.outcomes["strategy"] == arm.strategy, "measure"].to_numpy(
            dtype=float
        )
        ax.hist(
            part[np.isfinite(part)],
            bins=bins,
            histtype="step",
            linewidth=1.8,
            color=COLOURS[i % len(COLOURS)],
            label=arm.strategy,
        )
    ax.axvline(d["above"], color="black", linestyle="--", linewidth=1, label=f"threshold {d['above']:g}")
    ax.set_xlabel(f"{d['organization']}.{d['measure']}")
    ax.set_ylabel("futures")
    ax.legend(fontsize=8)
    ax.set_title("How much of the community is lost, over the sampled futures", fontsize=10)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _axes_keys(result: StressResult, arm_index: int) -> list[str]:
    """Two uncertainties to map: the box's, then those most associated with desertion."""
    extra = result.manifest["extra"]
    keys = list(extra["uncertain"])
    arm = result.arms[arm_index]
    chosen = list(arm.box.limits) if arm.box else []
    part = result.outcomes[result.outcomes["strategy"] == arm.strategy]
    y = part["deserted"].to_numpy(dtype=float)

    def strength(key: str) -> float:
        x = part[key].to_numpy(dtype=float)
        if np.std(x) == 0 or np.std(y) == 0:
            return 0.0
        return abs(float(np.corrcoef(x, y)[0, 1]))

    for key in sorted(keys, key=strength, reverse=True):
        if key not in chosen:
            chosen.append(key)
    return chosen[:2]


def map_figure(result: StressResult, path: Path) -> Path | None:
    """Futures on the two most telling uncertainties, deserted or not, with the discovered box."""
    extra = result.manifest["extra"]
    if len(extra["uncertain"]) < 1 or not result.arms:
        return None
    arms = result.arms
    ncols = min(3, len(arms))
    nrows = math.ceil(len(arms) / ncols)
    fig = Figure(figsize=(max(6.0, 4.6 * ncols), 4.3 * nrows + 0.4), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    keys = _axes_keys(result, 0)
    for ax, arm in zip(axes, arms, strict=False):
        part = result.outcomes[result.outcomes["strategy"] == arm.strategy]
        x = part[keys[0]].to_numpy(dtype=float)
        y = (
            part[keys[1]].to_numpy(dtype=float)
            if len(keys) > 1
            else np.random.default_rng(0).random(len(part))
        )
        hit = part["deserted"].to_numpy()
        ax.scatter(x[~hit], y[~hit], s=14, color=STAYED, label="stays", edgecolor="none")
        ax.scatter(x[hit], y[hit], s=14, color=DESERTED, label="deserts", edgecolor="none")
        if arm.box is not None:
            (x0, x1) = arm.box.limits.get(keys[0], tuple(extra["uncertain"][keys[0]]))
            if len(keys) > 1:
                (y0, y1) = arm.box.limits.get(keys[1], tuple(extra["uncertain"][keys[1]]))
            else:
                y0, y1 = 0.0, 1.0
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
            others = [k for k in arm.box.limits if k not in keys]
            if others:
                ax.text(
                    0.01,
                    0.01,
                    "box also needs: "
                    + "; ".join(
                        c
                        for c in arm.box.conditions(extra["labels"])
                        if any(extra["labels"][o] in c for o in others)
                    ),
                    transform=ax.transAxes,
                    fontsize=7,
                    va="bottom",
                )
        lo, hi = extra["uncertain"][keys[0]]
        ax.set_xlim(lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo))
        ax.set_xlabel(extra["labels"][keys[0]])
        ax.set_ylabel(extra["labels"][keys[1]] if len(keys) > 1 else "(spread for reading)")
        ax.set_title(f"{arm.strategy}: {arm.deserted} of {arm.n} futures desert", fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    for ax in axes[len(arms) :]:
        ax.set_visible(False)
    fig.suptitle(
        "Where desertion happens\neach dot is a future; dashed box: the conditions found by scenario discovery",
        fontsize=10,
    )
    return _save(fig, path)
