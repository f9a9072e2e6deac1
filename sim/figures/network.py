"""The network figure: a surge spreading along ties, in small multiples at the moments that matter.

Drawn from a results folder's saved layout and snapshots (the first run): the top row colours
participants by level, the bottom row by affiliation, with a ring around each participant who
left an organization since the previous panel (the ring in the colour of the one left). By default
the panels are the moments of the surge, chosen from the active share at the snapshot steps:
the start, the rise (the first snapshot halfway up to the peak), the peak (or the snapshot
nearest to it, said so), the fade (the first snapshot back below halfway) and the end. Each panel
is labelled with what it is, its step and its active share; without a surge, the panels are evenly
spaced steps labelled with their step only.

The layout is the saved one (:mod:`sim.figures.layout`): a ring for Watts-Strogatz graphs,
communities side by side for block models, a spring layout otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.figures.style import LEVEL_COLOURS, LEVEL_NAMES, base_figure, node_colours
from sim.storage.results import Results

#: A rise of the active share smaller than this (share points) is no surge: panels are evenly spaced.
SURGE_MIN = 0.01
#: Panels drawn without a surge (or by default at most, with one).
N_PANELS = 4
DESERTER_EDGE = 0.9


@dataclass(frozen=True)
class Panel:
    """One small multiple: its snapshot step and what it shows (``"rising"``, or ``""``)."""

    step: int
    role: str = ""


def choose_steps(
    available: Sequence[int], wanted: Sequence[int] | None = None, peak: int | None = None, n: int = N_PANELS
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


def active_series(results: Results) -> pd.Series:
    """The first run's active share by step (the snapshots are the first run's)."""
    run = results.first_run().set_index("step")
    if "active_fraction" not in run:
        return pd.Series(dtype=float)
    return pd.to_numeric(run["active_fraction"], errors="coerce").dropna()


def surge_panels(available: Sequence[int], active: pd.Series) -> list[Panel]:
    """The moments of the surge among the snapshot steps: start, rising, peak, faded halfway, end.

    Returns:
        The panels in order of step (a moment that falls on the same snapshot as another is shown
        once), or evenly spaced panels without roles when the active share never rises by
        :data:`SURGE_MIN`.
    """
    available = sorted(int(s) for s in available)
    if not available:
        return []
    seen = active.reindex(available)
    if active.empty or seen.isna().all():
        return [Panel(s) for s in choose_steps(available)]
    first, last = available[0], available[-1]
    start, peak_step = float(active.iloc[0]), int(active.idxmax())
    peak = float(active.max())
    if peak - start < SURGE_MIN:
        return [Panel(s) for s in choose_steps(available)]
    half = start + (peak - start) / 2
    rising = [s for s in available if first < s < peak_step and seen[s] >= half]
    nearest = min(available, key=lambda s: (abs(s - peak_step), s))
    faded = [s for s in available if s > peak_step and seen[s] <= half]
    panels = [Panel(first, "start")]
    panels += [Panel(rising[0], "rising")] if rising else []
    panels.append(Panel(nearest, "peak" if nearest == peak_step else f"near the peak (step {peak_step})"))
    panels += [Panel(faded[0], "faded halfway")] if faded else []
    panels.append(Panel(last, "end"))
    kept: dict[int, Panel] = {}
    for panel in panels:  # a step shown twice keeps its first (more telling) role
        kept.setdefault(panel.step, panel)
    return fill(available, sorted(kept.values(), key=lambda p: p.step))


def fill(available: list[int], panels: list[Panel], n: int = N_PANELS) -> list[Panel]:
    """Add plain panels in the middle of the longest gaps until there are ``n`` (or no snapshot is left)."""
    panels = list(panels)
    while len(panels) < n:
        steps = [p.step for p in panels]
        gaps = sorted(pairwise(steps), key=lambda gap: gap[0] - gap[1])
        free = [
            min((s for s in available if a < s < b), key=lambda s, m=(a + b) / 2: abs(s - m), default=None)
            for a, b in gaps
        ]
        middle = next((s for s in free if s is not None), None)
        if middle is None:
            break
        panels = sorted([*panels, Panel(middle)], key=lambda p: p.step)
    return panels


def chosen_panels(results: Results, steps: Sequence[int] | None = None) -> list[Panel]:
    """The panels to draw: the steps asked for (nearest snapshots), else the moments of the surge.

    A step asked for is called the peak, the start or the end only if it is one.
    """
    available = sorted(int(s) for s in results.snapshots["step"].unique())
    active = active_series(results)
    if not steps:
        return surge_panels(available, active)
    peak_step = int(active.idxmax()) if not active.empty else None
    roles = {available[0]: "start", available[-1]: "end"}
    if peak_step is not None and float(active.max()) - float(active.iloc[0]) >= SURGE_MIN:
        roles[peak_step] = "peak"
    return [Panel(s, roles.get(s, "")) for s in choose_steps(available, steps)]


def panel_title(panel: Panel, active: pd.Series) -> str:
    """``"rising\\nstep 16, 40.2% active"``: what the panel shows, its step and its active share."""
    share = active.get(panel.step, np.nan)
    where = f"step {panel.step}" + (f", {share * 100:.1f}% active" if np.isfinite(share) else "")
    return f"{panel.role}\n{where}" if panel.role else where


# ------------------------------------------------------------------ drawing


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
    return float(np.clip(9000 / max(n, 1), 3.0, 40))


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


def snapshot(results: Results, step: int, layout: pd.DataFrame) -> pd.DataFrame:
    """The drawn participants' level and group at a snapshot step, in layout order."""
    return results.snapshots[results.snapshots["step"] == step].set_index("participant").loc[layout.index]


def snapshot_styles(results: Results, step: int, layout: pd.DataFrame) -> dict[str, tuple]:
    """Dot styles by level and by affiliation of the drawn participants at a snapshot step."""
    snap = snapshot(results, step, layout)
    return {
        "level": node_style(layout, snap["level"].to_numpy(int), LEVEL_COLOURS, grow=0.5),
        "group": node_style(layout, snap["group"].to_numpy(int), node_colours(results)),
    }


def draw_network(ax, segments: np.ndarray, style: tuple) -> object:
    """Ties in light grey, participants as dots (rasterized in SVG); returns the dots.

    The ties are one line broken by NaNs rather than a ``LineCollection``: matplotlib builds and
    draws one path instead of thousands (a third of the network figure's time went there).
    """
    xy, colours, sizes = style
    ends = np.full((len(segments), 3, 2), np.nan)
    ends[:, :2] = segments
    ax.plot(
        ends[:, :, 0].ravel(),
        ends[:, :, 1].ravel(),
        color="#a0a0a0",
        linewidth=0.35,
        alpha=0.35,
        rasterized=True,
        zorder=1,
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


def draw_deserters(ax, results: Results, layout: pd.DataFrame, before: int, now: int) -> int:
    """Ring each participant who left an organization between two snapshots, in the colour of the one left.

    Returns:
        How many are ringed.
    """
    was = snapshot(results, before, layout)["group"].to_numpy(int)
    is_ = snapshot(results, now, layout)["group"].to_numpy(int)
    left = (was > 0) & (was != is_)
    if left.any():
        colours = node_colours(results)
        xy = layout[["x", "y"]].to_numpy()[left]
        ax.scatter(
            xy[:, 0],
            xy[:, 1],
            s=node_size(len(layout)) * 2.4,
            facecolors="none",
            edgecolors=[colours.get(int(g), "black") for g in was[left]],
            linewidths=DESERTER_EDGE,
            rasterized=True,
            zorder=3,
        )
    return int(left.sum())


def restyle(dots, style: tuple) -> None:
    """Show another snapshot on dots made by :func:`draw_network`."""
    xy, colours, sizes = style
    dots.set_offsets(xy)
    dots.set_facecolors(colours)
    dots.set_sizes(sizes)


def _dot(colour: str, label: str, **style) -> Line2D:
    look = {"markerfacecolor": colour, "markeredgecolor": "#6f6f6f", "markersize": 8, **style}
    return Line2D([], [], marker="o", linestyle="none", label=label, **look)


def level_handles() -> list[Line2D]:
    """Legend entries for the participation levels."""
    return [_dot(c, name) for name, c in zip(LEVEL_NAMES, LEVEL_COLOURS, strict=True)]


def group_handles(results: Results, deserters: bool = False) -> list[Line2D]:
    """Legend entries for the affiliations (and the deserters' ring)."""
    colours = node_colours(results)
    names = {0: "no organization"}
    for org in results.manifest.get("organizations") or []:
        names[int(org["group"])] = org["name"]
    handles = [_dot(colours[g], names.get(g, f"group {g}")) for g in sorted(colours)]
    if deserters:
        ring = {"markeredgecolor": "#444444", "markeredgewidth": DESERTER_EDGE, "markersize": 11}
        text = "left an organization since\nthe panel before (ring in\nthe colour of the one left)"
        handles.append(_dot("none", text, **ring))
    return handles


def layout_note(results: Results) -> str:
    """What the network panels show: all participants or a sample, and the layout."""
    info = results.manifest.get("layout", {})
    drawn, total = info.get("n_drawn", len(results.layout)), info.get("n_total", len(results.layout))
    how = {"ring": "around the Watts-Strogatz ring", "blocks": "communities side by side"}.get(
        info.get("kind", "spring"), "spring layout"
    )
    if drawn < total:
        return f"{drawn:,} of {total:,} participants (random sample) and the ties among them; {how}"
    return f"all {total:,} participants and their ties; {how}"


def network_figure(results: Results, steps: Sequence[int] | None = None) -> Figure:
    """The first run's network at the surge's moments (or ``steps``), by level (top) and affiliation (bottom)."""
    panels = chosen_panels(results, steps)
    active = active_series(results)
    cols = len(panels)
    fig = base_figure(results, "The network at the moments of the surge (first run)", (3.2 * cols + 2.9, 8.2))
    layout, segments = network_parts(results)
    top, bottom = fig.subfigures(2, 1)
    level_axes = np.atleast_1d(top.subplots(1, cols))
    group_axes = np.atleast_1d(bottom.subplots(1, cols))
    ringed = 0
    for i, (panel, ax_level, ax_group) in enumerate(zip(panels, level_axes, group_axes, strict=True)):
        styles = snapshot_styles(results, panel.step, layout)
        draw_network(ax_level, segments, styles["level"])
        draw_network(ax_group, segments, styles["group"])
        if i:
            ringed += draw_deserters(ax_group, results, layout, panels[i - 1].step, panel.step)
        title = panel_title(panel, active)
        ax_level.set_title(title, fontsize=10.5)
        ax_group.set_title(title, fontsize=10.5)
    top.suptitle("Participation level", fontsize=11.5, x=0.02, ha="left")
    bottom.suptitle("Affiliation", fontsize=11.5, x=0.02, ha="left")
    legend = {"loc": "center left", "bbox_to_anchor": (1.02, 0.5), "frameon": False, "fontsize": 9}
    level_axes[-1].legend(handles=level_handles(), title="level", **legend)
    group_axes[-1].legend(
        handles=group_handles(results, deserters=ringed > 0), title="organization", **legend
    )
    fig.text(0.99, 0.008, layout_note(results), fontsize=8.5, color="dimgray", ha="right", va="bottom")
    return fig
