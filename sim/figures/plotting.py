"""Figures drawn from a saved results folder (:class:`~sim.storage.results.Results`), never from a live model.

Each figure is one function from results to a matplotlib ``Figure``;
:func:`draw_all` saves every figure the folder's data allows as PNG and SVG
under ``figures/``, each written atomically. Figures are built with the
object-oriented API on the Agg canvas (no pyplot, no global state, nothing to
close). With several runs, line figures show the mean with a 95% band.

Colours are fixed: the participation scale from light (consuming) to dark
(co-owning); one colour per organization, in creation order; light grey for
participants who belong to no organization.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from sim.storage.files import atomic_write
from sim.storage.results import FIGURES, Results

#: Levels of the participation scale, named as in the article, lowest first.
LEVEL_NAMES = ("consuming", "sharing", "shaping", "funding", "producing", "co-owning")
#: Their colours, light to dark.
LEVEL_COLOURS = ("#e8eef6", "#a9cce3", "#6a9bd1", "#7b62b8", "#7a2a8f", "#3d0046")
#: One colour per organization, in creation order (repeats after eight).
ORG_COLOURS = ("#d95f02", "#1b9e77", "#e7298a", "#1f78b4", "#66a61e", "#e6ab02", "#a6761d", "#666666")
#: Participants in no organization.
UNAFFILIATED = "#cfcfcf"
#: The four quadrants of the New Power Compass: (x = values, y = model) of the label, alignment, subtitle.
QUADRANTS = {
    "CASTLES": ((0.02, 0.02), ("left", "bottom"), "old power model\nold power values"),
    "CONNECTORS": ((0.02, 0.98), ("left", "top"), "new power model\nold power values"),
    "CHEERLEADERS": ((0.98, 0.02), ("right", "bottom"), "old power model\nnew power values"),
    "CROWDS": ((0.98, 0.98), ("right", "top"), "new power model\nnew power values"),
}
QUADRANT_TINTS = {
    "CASTLES": "#f3efe7",
    "CONNECTORS": "#eaf0f6",
    "CHEERLEADERS": "#f6ecf0",
    "CROWDS": "#eaf4ec",
}
DPI = 120


def level_column(index: int) -> str:
    """The time-series column counting participants at a level, e.g. ``n_co_owning``."""
    return "n_" + LEVEL_NAMES[index].replace("-", "_")


def org_colour(index: int) -> str:
    """The colour of the organization created ``index``-th (0-based)."""
    return ORG_COLOURS[index % len(ORG_COLOURS)]


# ------------------------------------------------------------------ saving


def save_figure(fig: Figure, stem: Path) -> list[Path]:
    """Save a figure as ``<stem>.png`` and ``<stem>.svg``, each atomically."""
    FigureCanvasAgg(fig)
    png = atomic_write(
        stem.with_suffix(".png"),
        lambda tmp: fig.savefig(tmp, dpi=DPI, format="png", metadata={"Software": None}),
    )
    fig.set_layout_engine("none")  # keep the layout just computed: the SVG matches the PNG, and is faster
    svg = atomic_write(
        stem.with_suffix(".svg"), lambda tmp: fig.savefig(tmp, format="svg", metadata={"Date": None})
    )
    return [png, svg]


def figure_builders(
    results: Results, network_steps: Sequence[int] | None = None
) -> dict[str, Callable[[], Figure]]:
    """The figures this folder's data allows, by file stem, each as a function that draws it."""
    if results.manifest.get("kind") == "audit":
        return {"compass": lambda: compass_figure(results, audit=True)} if results.organizations else {}
    builders: dict[str, Callable[[], Figure]] = {"participation": lambda: participation_figure(results)}
    if results.organizations:
        builders["compass"] = lambda: compass_figure(results)
        builders["power"] = lambda: power_figure(results)
        builders["community"] = lambda: community_figure(results)
    if results.layout is not None and results.snapshots is not None and len(results.snapshots):
        steps = network_steps if network_steps is not None else results.manifest.get("network_steps")
        builders["network"] = lambda: network_figure(results, steps)
    return builders


def draw_all(results: Results, network_steps: Sequence[int] | None = None) -> list[Path]:
    """Draw and save every figure the results allow; return the files written (PNG, SVG)."""
    paths: list[Path] = []
    for stem, build in figure_builders(results, network_steps).items():
        paths += save_figure(build(), results.folder / FIGURES / stem)
    return paths


# ------------------------------------------------------------------ shared pieces


def _figure(results: Results, title: str, size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size, layout="constrained")
    fig.get_layout_engine().set(rect=(0, 0.045, 1, 0.955))
    fig.suptitle(title, fontsize=14, fontweight="bold")
    fig.text(0.01, 0.008, caption(results), fontsize=8.5, color="dimgray", ha="left", va="bottom")
    return fig


def caption(results: Results) -> str:
    """One line under every figure: scenario, size, runs and seeds."""
    m = results.manifest
    runs = results.summary.get("runs", [{}])
    n = runs[0].get("n_participants", "?") if runs else "?"
    seeds = m.get("seeds") or [r.get("seed") for r in runs]
    if results.n_runs > 1:
        how = f"mean of {results.n_runs} runs with 95% interval (root seed {m.get('seed')})"
    else:
        how = f"seed {seeds[0] if seeds else '?'}"
    n_text = f"{n:,}" if isinstance(n, int) else str(n)
    return f"scenario {results.name}  |  {n_text} participants  |  {how}  |  driver {m.get('driver', '?')}"


def _line(ax, results: Results, measure: str, colour: str, label: str, **style) -> None:
    band = results.band(measure)
    ax.plot(band.index, band["mean"], color=colour, label=label, linewidth=style.pop("linewidth", 2), **style)
    if results.n_runs > 1:
        ax.fill_between(band.index, band["ci_low"], band["ci_high"], color=colour, alpha=0.2, linewidth=0)


def _legend(ax, results: Results, **kwargs) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if results.n_runs > 1:
        handles.append(Patch(facecolor="gray", alpha=0.25))
        labels.append(f"95% interval ({results.n_runs} runs)")
    ax.legend(handles, labels, frameon=False, fontsize=9, **kwargs)


def _steps_axis(ax, bottom: bool = True) -> None:
    if bottom:
        ax.set_xlabel("step")
    ax.grid(True, color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.margins(x=0)


# ------------------------------------------------------------------ participation


def participation_figure(results: Results) -> Figure:
    """Participation over time: a stacked area of the six levels, and the active share."""
    fig = _figure(results, "Participation over time, by level of the participation scale", (10, 7.2))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.5])
    means = pd.concat(
        [results.band(level_column(i))["mean"] for i in range(len(LEVEL_NAMES))], axis=1, keys=LEVEL_NAMES
    )
    total = means.sum(axis=1).replace(0, np.nan)
    shares = means.div(total, axis=0) * 100
    top.stackplot(
        shares.index,
        *(shares[c] for c in shares.columns),
        colors=LEVEL_COLOURS,
        labels=LEVEL_NAMES,
        linewidth=0.3,
        edgecolor="white",
    )
    top.set_ylim(0, 100)
    top.set_ylabel("share of participants (%)")
    top.set_title(
        "Everyone, at the highest level they take part at"
        + (" (means over runs)" if results.n_runs > 1 else ""),
        loc="left",
        fontsize=11,
    )
    handles, labels = top.get_legend_handles_labels()
    top.legend(
        handles[::-1],
        labels[::-1],
        title="level",
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        frameon=False,
        fontsize=9.5,
    )
    _steps_axis(top, bottom=False)
    top.grid(False)

    band = results.band("active_fraction") * 100
    bottom.plot(band.index, band["mean"], color=LEVEL_COLOURS[4], linewidth=2, label="mean")
    if results.n_runs > 1:
        bottom.fill_between(
            band.index,
            band["ci_low"],
            band["ci_high"],
            color=LEVEL_COLOURS[4],
            alpha=0.25,
            linewidth=0,
            label=f"95% interval ({results.n_runs} runs)",
        )
    if band["mean"].notna().any():
        peak = band["mean"].idxmax()
        bottom.plot([peak], [band["mean"][peak]], "o", color="black", markersize=5)
        late = peak > (band.index.min() + band.index.max()) / 2
        bottom.annotate(
            f"peak {band['mean'][peak]:.1f}% at step {peak}",
            (peak, band["mean"][peak]),
            xytext=(-6 if late else 6, 6),
            textcoords="offset points",
            fontsize=9,
            ha="right" if late else "left",
            va="bottom",
        )
        bottom.set_ylim(0, max(5.0, float(np.nanmax(band[["mean", "ci_high"]].to_numpy())) * 1.25))
    bottom.set_ylabel("active (%)")
    bottom.set_title("Active participants: sharing or above", loc="left", fontsize=11)
    if results.n_runs > 1:
        bottom.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=9)
    _steps_axis(bottom)
    return fig


# ------------------------------------------------------------------ the compass


def draw_compass(ax, labels: bool = True) -> None:
    """The empty New Power Compass: axes, the 0.5 splits, tinted and labelled quadrants."""
    for name, ((x, y), _, _) in QUADRANTS.items():
        ax.add_patch(
            Rectangle(
                (0.0 if x < 0.5 else 0.5, 0.0 if y < 0.5 else 0.5),
                0.5,
                0.5,
                facecolor=QUADRANT_TINTS[name],
                edgecolor="none",
                zorder=0,
            )
        )
        if labels:
            ha, va = QUADRANTS[name][1]
            ax.text(x, y, name, ha=ha, va=va, fontsize=13, fontweight="bold", color="#8a8a8a", zorder=1)
            dy = 0.045 if va == "bottom" else -0.045
            ax.text(
                x,
                y + dy,
                QUADRANTS[name][2],
                ha=ha,
                va=va,
                fontsize=7.5,
                color="#9a9a9a",
                zorder=1,
                linespacing=1.1,
            )
    ax.axhline(0.5, color="#9a9a9a", linewidth=1.2, zorder=1)
    ax.axvline(0.5, color="#9a9a9a", linewidth=1.2, zorder=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1])
    ax.set_xlabel("VALUES:   old power values  \u2190   \u2192  new power values")
    ax.set_ylabel("MODEL:   old power model  \u2190   \u2192  new power model")


def compass_figure(results: Results, audit: bool = False) -> Figure:
    """Each organization's trajectory on the New Power Compass, start and end marked."""
    title = (
        "Audit your power: the New Power Compass, today and at the end"
        if audit
        else "The New Power Compass: each organization's trajectory"
    )
    trends = {row["organization"]: row["trend"] for row in (results.audit or {}).get("organizations", [])}
    fig = _figure(results, title, (8.6, 9.2))
    ax = fig.subplots()
    draw_compass(ax)
    entered_late = False
    for i, name in enumerate(results.organizations):
        label = f"{name}: {trends[name]}" if audit and name in trends else name
        entered_late |= _draw_trajectory(ax, results, name, org_colour(i), label)
    handles = _compass_handles(results, entered_late)
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.09),
        ncol=min(len(handles), 4),
        frameon=False,
        fontsize=10,
    )
    return fig


def _draw_trajectory(ax, results: Results, name: str, colour: str, label: str) -> bool:
    """One organization's path (and single runs, faint), its start and end, and its label.

    Returns:
        Whether it entered after the first step (its path starts later).
    """
    if results.n_runs > 1:
        for _, run in results.timeseries.groupby("run"):
            ax.plot(run[f"{name}.values"], run[f"{name}.openness"], color=colour, alpha=0.25, linewidth=1)
    path = pd.concat(
        [results.band(f"{name}.values")["mean"], results.band(f"{name}.openness")["mean"]],
        axis=1,
        keys=["x", "y"],
    ).dropna()
    if path.empty:
        return False
    start, end = path.iloc[0], path.iloc[-1]
    ax.plot(path["x"], path["y"], color=colour, linewidth=2.5, zorder=3)
    ax.plot(
        start["x"],
        start["y"],
        "o",
        markersize=15,
        markerfacecolor="white",
        markeredgecolor=colour,
        markeredgewidth=2.5,
        zorder=4,
    )
    ax.plot(end["x"], end["y"], "o", markersize=8, color=colour, zorder=5)
    right = end["x"] > 0.6  # labels near the right edge go to the left of the dot
    ax.annotate(
        label,
        (end["x"], end["y"]),
        xytext=(-10 if right else 10, 8),
        textcoords="offset points",
        ha="right" if right else "left",
        fontsize=11,
        fontweight="bold",
        color=colour,
        zorder=6,
        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.8},
    )
    return bool(path.index[0] > results.timeseries["step"].min())


def _compass_handles(results: Results, entered_late: bool) -> list[Line2D]:
    """The compass legend: one line per organization, the start and end markers, single runs."""
    handles = [
        Line2D([], [], color=org_colour(i), linewidth=2.5, label=name)
        for i, name in enumerate(results.organizations)
    ]
    first = int(results.timeseries["step"].min())
    last = int(results.timeseries["step"].max())
    start_label = f"start (step {first}" + (", or entry)" if entered_late else ")")
    handles += [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markersize=11,
            markerfacecolor="white",
            markeredgecolor="black",
            markeredgewidth=2,
            label=start_label,
        ),
        Line2D([], [], marker="o", linestyle="none", markersize=7, color="black", label=f"end (step {last})"),
    ]
    if results.n_runs > 1:
        handles.append(Line2D([], [], color="gray", alpha=0.4, label="single runs"))
    return handles


# ------------------------------------------------------------------ power and community


def power_figure(results: Results) -> Figure:
    """Each organization's old-power stock against its new-power current, over time."""
    fig = _figure(results, "Power over time: old-power stock against new-power current", (10, 7.2))
    stock_ax, current_ax = fig.subplots(2, 1, sharex=True)
    for i, name in enumerate(results.organizations):
        _line(stock_ax, results, f"{name}.stock", org_colour(i), name)
        _line(current_ax, results, f"{name}.current", org_colour(i), name)
    stock_ax.set_title(
        "Old power: stock, a currency held by few (earned, spent, worn)", loc="left", fontsize=11
    )
    stock_ax.set_ylabel("stock (value units)")
    current_ax.set_title(
        "New power: current, made by many (members' level \u00d7 commitment)", loc="left", fontsize=11
    )
    current_ax.set_ylabel("current (share of full\nparticipation, 0\u20131)")
    for ax in (stock_ax, current_ax):
        ax.set_ylim(bottom=0)
        _steps_axis(ax, bottom=ax is current_ax)
    _legend(stock_ax, results, loc="center left", bbox_to_anchor=(1.01, 0.5), title="organization")
    return fig


def community_figure(results: Results) -> Figure:
    """Community size, joins and desertions of each organization over time."""
    fig = _figure(results, "Communities over time: size, joins and desertions", (10, 8.6))
    size_ax, join_ax, exit_ax = fig.subplots(3, 1, sharex=True, height_ratios=[1.6, 1, 1])
    for i, name in enumerate(results.organizations):
        _line(size_ax, results, f"{name}.members", org_colour(i), name)
        _line(join_ax, results, f"{name}.joins", org_colour(i), name, linewidth=1.4)
        _line(exit_ax, results, f"{name}.exits", org_colour(i), name, linewidth=1.4)
    _line(size_ax, results, "n_unaffiliated", "#8c8c8c", "in no organization", linestyle="--", linewidth=1.6)
    size_ax.set_title("Community size", loc="left", fontsize=11)
    size_ax.set_ylabel("members (participants)")
    join_ax.set_title("Joins", loc="left", fontsize=11)
    join_ax.set_ylabel("joins per step")
    exit_ax.set_title("Desertions: members leaving", loc="left", fontsize=11)
    exit_ax.set_ylabel("exits per step")
    for ax in (size_ax, join_ax, exit_ax):
        ax.set_ylim(bottom=0)
        _steps_axis(ax, bottom=ax is exit_ax)
    _legend(size_ax, results, loc="center left", bbox_to_anchor=(1.01, 0.5), title="organization")
    return fig


# ------------------------------------------------------------------ the network


def choose_steps(
    available: Sequence[int], wanted: Sequence[int] | None = None, peak: int | None = None, n: int = 4
) -> list[int]:
    """The snapshot steps to draw: the nearest available to each wanted step.

    By default ``n`` evenly spaced steps from the first to the last, with the
    interior one nearest to the surge peak moved onto the peak.
    """
    available = sorted(int(s) for s in available)
    if not available:
        return []
    if not wanted:
        first, last = available[0], available[-1]
        wanted = [first + (last - first) * i / (n - 1) for i in range(n)]
        if peak is not None and first < peak < last and n > 2:
            nearest_interior = min(range(1, n - 1), key=lambda i: abs(wanted[i] - peak))
            wanted[nearest_interior] = peak
    nearest = [min(available, key=lambda s, w=w: (abs(s - float(w)), s)) for w in wanted]
    return sorted(set(nearest))


def node_colours(results: Results) -> dict[int, str]:
    """Affiliation colour of each group number (0 is no organization)."""
    colours = {0: UNAFFILIATED}
    orgs = results.manifest.get("organizations") or [
        {"name": n, "group": i + 1} for i, n in enumerate(results.organizations)
    ]
    for i, org in enumerate(orgs):
        colours[int(org["group"])] = org_colour(i)
    return colours


def network_parts(results: Results) -> tuple[pd.DataFrame, np.ndarray]:
    """The layout indexed by participant, and the drawn ties as segments (n, 2, 2)."""
    layout = results.layout.set_index("participant")
    edges = results.edges if results.edges is not None else pd.DataFrame({"source": [], "target": []})
    drawn = edges[edges["source"].isin(layout.index) & edges["target"].isin(layout.index)]
    a = layout.loc[drawn["source"], ["x", "y"]].to_numpy()
    b = layout.loc[drawn["target"], ["x", "y"]].to_numpy()
    return layout, np.stack([a, b], axis=1) if len(drawn) else np.zeros((0, 2, 2))


def node_size(n: int) -> float:
    """Dot area (points^2) for a network of ``n`` drawn participants."""
    return float(np.clip(5000 / max(n, 1), 2.5, 40))


def node_style(
    layout: pd.DataFrame, values: np.ndarray, palette, grow: float = 0.0
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Positions, colours and sizes of the dots, drawn in order of ``values`` (highest on top).

    Args:
        layout: positions indexed by participant.
        values: a level or a group number per drawn participant.
        palette: colour of each value (a sequence or a mapping).
        grow: dots grow by this share of their size per unit of value.
    """
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    lookup = palette if isinstance(palette, dict) else dict(enumerate(palette))
    colours = [lookup.get(int(v), "black") for v in ranked]
    sizes = node_size(len(layout)) * (1.0 + grow * ranked)
    return layout[["x", "y"]].to_numpy()[order], colours, sizes


def snapshot_styles(results: Results, step: int, layout: pd.DataFrame) -> dict[str, tuple]:
    """Dot styles by level and by affiliation of the drawn participants at a snapshot step."""
    snap = results.snapshots[results.snapshots["step"] == step].set_index("participant").loc[layout.index]
    return {
        "level": node_style(layout, snap["level"].to_numpy(int), LEVEL_COLOURS, grow=0.5),
        "group": node_style(layout, snap["group"].to_numpy(int), node_colours(results)),
    }


def draw_network(ax, segments: np.ndarray, style: tuple) -> object:
    """Ties in light grey, participants as dots (rasterized in SVG); returns the dots."""
    xy, colours, sizes = style
    ax.add_collection(
        LineCollection(segments, colors="#a0a0a0", linewidths=0.35, alpha=0.35, rasterized=True, zorder=1)
    )
    dots = ax.scatter(
        xy[:, 0],
        xy[:, 1],
        s=sizes,
        c=colours,
        edgecolors="#6f6f6f",
        linewidths=0.15 if len(xy) > 800 else 0.3,
        rasterized=True,
        zorder=2,
    )
    ax.set_xlim(-1.06, 1.06)
    ax.set_ylim(-1.06, 1.06)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return dots


def restyle(dots, style: tuple) -> None:
    """Show another snapshot on dots made by :func:`draw_network`."""
    xy, colours, sizes = style
    dots.set_offsets(xy)
    dots.set_facecolors(colours)
    dots.set_sizes(sizes)


def level_handles() -> list[Line2D]:
    """Legend entries for the participation levels."""
    return [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markersize=8,
            markerfacecolor=c,
            markeredgecolor="#6f6f6f",
            label=name,
        )
        for name, c in zip(LEVEL_NAMES, LEVEL_COLOURS, strict=True)
    ]


def group_handles(results: Results) -> list[Line2D]:
    """Legend entries for the affiliations."""
    colours = node_colours(results)
    names = {0: "no organization"}
    for org in results.manifest.get("organizations") or []:
        names[int(org["group"])] = org["name"]
    return [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markersize=8,
            markerfacecolor=colours[g],
            markeredgecolor="#6f6f6f",
            label=names.get(g, f"group {g}"),
        )
        for g in sorted(colours)
    ]


def layout_note(results: Results) -> str:
    """What the network panels show (all participants, or a sample)."""
    info = results.manifest.get("layout", {})
    drawn, total = info.get("n_drawn", len(results.layout)), info.get("n_total", len(results.layout))
    if drawn < total:
        return f"{drawn:,} of {total:,} participants (random sample) and the ties among them; spring layout"
    return f"all {total:,} participants and their ties; spring layout"


def network_figure(results: Results, steps: Sequence[int] | None = None) -> Figure:
    """The first run's network at chosen steps, coloured by level (top) and by affiliation (bottom)."""
    available = sorted(results.snapshots["step"].unique())
    runs = results.summary.get("runs") or [{}]
    chosen = choose_steps(available, steps, runs[0].get("peak_step"))
    cols = len(chosen)
    fig = _figure(results, "The network over time (first run)", (3.2 * cols + 2.6, 7.8))
    layout, segments = network_parts(results)
    top, bottom = fig.subfigures(2, 1)
    level_axes = np.atleast_1d(top.subplots(1, cols))
    group_axes = np.atleast_1d(bottom.subplots(1, cols))
    peak = runs[0].get("peak_step")
    for step, ax_level, ax_group in zip(chosen, level_axes, group_axes, strict=True):
        styles = snapshot_styles(results, step, layout)
        draw_network(ax_level, segments, styles["level"])
        draw_network(ax_group, segments, styles["group"])
        label = f"step {step}" + (" (surge peak)" if peak is not None and step == peak and step else "")
        ax_level.set_title(label, fontsize=10.5)
        ax_group.set_title(label, fontsize=10.5)
    top.suptitle("Participation level", fontsize=11.5, x=0.02, ha="left")
    bottom.suptitle("Affiliation", fontsize=11.5, x=0.02, ha="left")
    level_axes[-1].legend(
        handles=level_handles(),
        loc="center left",
        bbox_to_anchor=(1.02, 0.5),
        frameon=False,
        fontsize=9,
        title="level",
    )
    group_axes[-1].legend(
        handles=group_handles(results),
        loc="center left",
        bbox_to_anchor=(1.02, 0.5),
        frameon=False,
        fontsize=9,
        title="organization",
    )
    fig.text(0.99, 0.008, layout_note(results), fontsize=8.5, color="dimgray", ha="right", va="bottom")
    return fig
