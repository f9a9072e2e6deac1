"""Figures drawn from a saved results folder (:class:`~sim.storage.results.Results`), never from a live model.

Each figure is one function from results to a matplotlib ``Figure``;
`draw_all` saves every figure the folder's data allows as PNG (and SVG on request)
under ``figures/``, each written atomically. Figures are built with the
object-oriented API on the Agg canvas (no pyplot, no global state, nothing to
close). With several runs, line figures show the mean with a 95% band.

Colours and the frame are :mod:`sim.figures.style`; the network figure is
:mod:`sim.figures.network`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imsave
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from sim.figures.labels import freeze, mark_moments, place, point_box, text_boxes
from sim.figures.network import network_figure
from sim.figures.style import (
    DPI,
    LEVEL_COLOURS,
    LEVEL_NAMES,
    QUADRANT_TINTS,
    QUADRANTS,
    base_figure,
    level_column,
    org_colour,
)
from sim.figures.timeline import moments
from sim.storage.files import atomic_write
from sim.storage.results import FIGURES, Results

# ------------------------------------------------------------------ saving

#: zlib level of the PNG files: 1 encodes several times faster than the default 6 for files
#: about a third larger (the encoder was a quarter of the network figure's time).
PNG_COMPRESSION = 1


def save_figure(fig: Figure, stem: Path, svg: bool = False) -> list[Path]:
    """Save a figure as ``<stem>.png``, and with ``svg`` also as ``<stem>.svg``, each atomically."""
    return [write_png(render(fig), stem.with_suffix(".png")), *save_svg(fig, stem, svg)]


def save_svg(fig: Figure, stem: Path, svg: bool) -> list[Path]:
    """Write ``<stem>.svg`` after the PNG was rendered: with ``svg``, or when an older one is there.

    The SVG is a second full render (about a third of a run's figure time), so a new one is
    written only on request (``--svg``). An SVG already in the folder is redrawn, never deleted:
    it keeps matching the PNG, and a redraw never removes a file the user kept.
    """
    target = stem.with_suffix(".svg")
    if not (svg or target.exists()):
        return []
    fig.set_layout_engine("none")  # keep the layout just computed: the SVG matches the PNG, and is faster
    return [atomic_write(target, lambda tmp: fig.savefig(tmp, format="svg", metadata={"Date": None}))]


def render(fig: Figure) -> np.ndarray:
    """The figure's pixels (height x width x RGBA) at ``DPI``, drawn as ``savefig`` draws a PNG."""
    FigureCanvasAgg(fig)
    fig.savefig(io.BytesIO(), format="rgba", dpi=DPI)
    return np.asarray(fig.canvas.renderer.buffer_rgba()).copy()  # the renderer savefig drew with


def write_png(pixels: np.ndarray, path: Path) -> Path:
    """Write RGBA pixels as a PNG atomically, as matplotlib's ``savefig`` does (same bytes, no date or software)."""
    return atomic_write(
        path,
        lambda tmp: imsave(
            tmp,
            pixels,
            format="png",
            origin="upper",
            dpi=DPI,
            metadata={"Software": None},
            pil_kwargs={"compress_level": PNG_COMPRESSION},
        ),
    )


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


def draw_all(
    results: Results,
    network_steps: Sequence[int] | None = None,
    on_figure: Callable[[str], None] | None = None,
    svg: bool = False,
) -> list[Path]:
    """Draw and save every figure the results allow; return the files written (PNG, and SVG on request).

    Where the machine gives this process a second core, a forked copy of it draws the most
    expensive figures at the same time (:func:`second_process_share`); the files are the same bytes.

    Args:
        results: the saved results.
        network_steps: the steps the network figure shows (default: as the manifest says, or chosen).
        on_figure: called with each figure's name before it is drawn (for a progress display).
        svg: also write each figure as SVG.
    """
    builders = figure_builders(results, network_steps)
    theirs = second_process_share(list(builders))
    helper = _start_helper(results, {stem: builders[stem] for stem in theirs}, svg) if theirs else None
    mine = {stem: build for stem, build in builders.items() if stem not in theirs}
    drawn = _draw(results, mine, on_figure, svg)
    if helper is not None:
        drawn.update(_finish_helper(*helper))
    return [path for stem in builders for path in drawn[stem]]


#: A figure's drawing cost relative to the others (CPU seconds at power_shift's 5,000 participants):
#: how :func:`second_process_share` balances the two processes.
FIGURE_COST = {"network": 0.95, "community": 0.5, "power": 0.45, "participation": 0.4, "compass": 0.3}


def second_process_share(stems: Sequence[str]) -> list[str]:
    """The figures a second process draws: the costliest first, until it has about half the work.

    None when it cannot help: fewer than three figures, one usable core, no ``fork`` (a fresh
    interpreter would spend longer importing matplotlib than it saves), or a process that may not
    fork safely (a daemonic worker, or not the main thread).
    """
    if len(stems) < 3 or not _may_fork():
        return []
    total, share = sum(FIGURE_COST.get(s, 0.5) for s in stems), []
    for stem in sorted(stems, key=lambda s: -FIGURE_COST.get(s, 0.5)):
        if sum(FIGURE_COST.get(s, 0.5) for s in share) + FIGURE_COST.get(stem, 0.5) / 2 > total / 2:
            break
        share.append(stem)
    return share


def _may_fork() -> bool:
    import multiprocessing as mp
    import os
    import threading

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return (
        cores >= 2
        and "fork" in mp.get_all_start_methods()
        and not mp.current_process().daemon
        and threading.current_thread() is threading.main_thread()
    )


def _draw(
    results: Results,
    builders: dict[str, Callable[[], Figure]],
    on_figure: Callable[[str], None] | None,
    svg: bool,
) -> dict[str, list[Path]]:
    """Draw and save ``builders``' figures in this process; the files written, by figure."""
    paths: dict[str, list[Path]] = {}
    # Pillow's PNG encoder releases the GIL: one thread compresses and writes each figure while
    # the next is drawn (drawing stays in this thread, one figure at a time, so the files are the
    # same bytes as when written in turn)
    with ThreadPoolExecutor(max_workers=1) as encoder:
        writes = []
        for stem, build in builders.items():
            if on_figure is not None:
                on_figure(stem)
            fig, path = build(), results.folder / FIGURES / stem
            writes.append(encoder.submit(write_png, render(fig), path.with_suffix(".png")))
            paths[stem] = [path.with_suffix(".png"), *save_svg(fig, path, svg)]
        for write in writes:
            write.result()  # a failed write raises here, before the folder is complete
    return paths


def _start_helper(results: Results, builders: dict[str, Callable[[], Figure]], svg: bool):
    """Fork a copy of this process that draws ``builders``' figures (before this one starts its encoder thread)."""
    import multiprocessing as mp
    import warnings

    ours, theirs = mp.Pipe(duplex=False)
    helper = mp.get_context("fork").Process(target=_helper_main, args=(theirs, results, builders, svg))
    with warnings.catch_warnings():
        # Python warns that forking a process with threads may deadlock the child: the threads here
        # are Arrow's idle pools (Arrow re-creates them in a forked child); the child only draws.
        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
        helper.start()
    theirs.close()
    return helper, ours


def _helper_main(conn, results: Results, builders: dict[str, Callable[[], Figure]], svg: bool) -> None:
    try:
        conn.send(("ok", _draw(results, builders, None, svg)))
    except Exception as exc:  # noqa: BLE001 - whatever it is, the parent raises it
        try:
            conn.send(("error", exc))
        except Exception:  # noqa: BLE001 - an exception that does not pickle: its text
            conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        conn.close()


def _finish_helper(helper, conn) -> dict[str, list[Path]]:
    """Wait for the helper's figures; raise what it raised."""
    try:
        status, value = conn.recv()
    except EOFError:
        status, value = (
            "error",
            RuntimeError(f"the process drawing figures died (exit code {helper.exitcode})"),
        )
    helper.join()
    if status == "error":
        raise value
    return value


# ------------------------------------------------------------------ shared pieces


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
    fig = base_figure(results, "Participation over time, by level of the participation scale", (10, 7.2))
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
    mark_moments(fig, (top, bottom), top, moments(results))
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
            ax.annotate(  # beside the name in points, not data units: clear of it at any size
                QUADRANTS[name][2],
                (x, y),
                xytext=(0, 17 if va == "bottom" else -17),
                textcoords="offset points",
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
    """Each organization's trajectory on the New Power Compass, start and end marked, labels kept apart."""
    title = (
        "Audit your power: the New Power Compass, today and at the end"
        if audit
        else "The New Power Compass: each organization's trajectory"
    )
    trends = {row["organization"]: row["trend"] for row in (results.audit or {}).get("organizations", [])}
    fig = base_figure(results, title, (8.6, 9.2))
    ax = fig.subplots()
    draw_compass(ax)
    ends = []
    for i, name in enumerate(results.organizations):
        label = f"{name}: {trends[name]}" if audit and name in trends else name
        path = _draw_trajectory(ax, results, name, org_colour(i))
        if path is not None:
            ends.append((path, label, org_colour(i)))
    first_step = results.timeseries["step"].min()
    handles = _compass_handles(results, any(path.index[0] > first_step for path, _, _ in ends))
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.09),
        ncol=min(len(handles), 4),
        frameon=False,
        fontsize=10,
    )
    label_ends(fig, ax, ends)
    return fig


#: Marker sizes (points) of a trajectory's start (open circle) and end (dot).
START_SIZE, END_SIZE = 15, 8


def _draw_trajectory(ax, results: Results, name: str, colour: str) -> pd.DataFrame | None:
    """One organization's path (and single runs, faint), its start and its end.

    Returns:
        The mean path (columns ``x``, ``y``, indexed by step), or None if it has none.
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
        return None
    start, end = path.iloc[0], path.iloc[-1]
    ax.plot(path["x"], path["y"], color=colour, linewidth=2.5, zorder=3)
    ax.plot(
        start["x"],
        start["y"],
        "o",
        markersize=START_SIZE,
        markerfacecolor="white",
        markeredgecolor=colour,
        markeredgewidth=2.5,
        zorder=4,
    )
    ax.plot(end["x"], end["y"], "o", markersize=END_SIZE, color=colour, zorder=5)
    return path


def label_ends(fig: Figure, ax, ends: list[tuple[pd.DataFrame, str, str]]) -> None:
    """Label each trajectory's end, clear of the quadrant names, the markers and the other labels.

    Call it last: it freezes the figure's layout (:func:`sim.figures.labels.freeze`).
    """
    if not ends:
        return
    renderer = freeze(fig)
    taken = text_boxes(fig, renderer)
    for path, _, _ in ends:
        taken.append(point_box(ax, path["x"].iloc[0], path["y"].iloc[0], START_SIZE + 3))
        taken.append(point_box(ax, path["x"].iloc[-1], path["y"].iloc[-1], END_SIZE + 2))
    within = ax.get_window_extent(renderer)
    for path, text, colour in ends:
        end = (float(path["x"].iloc[-1]), float(path["y"].iloc[-1]))
        place(_end_label_places(ax, end, text, colour), renderer, taken, within)


def _end_label_places(ax, end: tuple[float, float], text: str, colour: str) -> list:
    """Places around a trajectory's end, nearest first, on the side with more room first."""
    side = -1 if end[0] > 0.6 else 1
    offsets = []
    for r in (10, 20, 32):
        offsets += [(side * r, 0.6 * r), (side * r, -0.6 * r), (-side * r, 0.6 * r), (-side * r, -0.6 * r)]
        offsets += [(0, r), (0, -r)]
    style = {"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.8}

    def make(dx: float, dy: float):
        return lambda: ax.annotate(
            text,
            end,
            xytext=(dx, dy),
            textcoords="offset points",
            ha="left" if dx > 0 else "right" if dx < 0 else "center",
            va="bottom" if dy >= 0 else "top",
            fontsize=11,
            fontweight="bold",
            color=colour,
            zorder=6,
            bbox=style,
        )

    return [make(dx, dy) for dx, dy in offsets]


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
    fig = base_figure(results, "Power over time: old-power stock against new-power current", (10, 7.2))
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
    mark_moments(fig, (stock_ax, current_ax), stock_ax, moments(results))
    return fig


def community_figure(results: Results) -> Figure:
    """Community size, joins and desertions of each organization over time."""
    fig = base_figure(results, "Communities over time: size, joins and desertions", (10, 8.6))
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
    mark_moments(fig, (size_ax, join_ax, exit_ax), size_ax, moments(results))
    return fig
