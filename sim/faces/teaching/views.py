"""The teaching page's figures: matplotlib views kept per model and redrawn per step.

Each view draws what does not change once (the network's edges, axes, legends) and
updates only what moves, so one step with 2,000 participants redraws in well under a
second. Figures use the object-oriented API (no pyplot).
"""

from __future__ import annotations

import io
import weakref
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter
from PIL import Image as PILImage

from sim.figures.layout import induced_edges, network_layout
from sim.figures.plotting import LEVEL_NAMES, QUADRANTS, draw_compass, org_colour
from sim.model.power_model import PowerModel
from sim.vocabulary import ACTIVE_LEVEL, Level

# ------------------------------------------------------------------ the figures (matplotlib, kept per model)
#
# Each view keeps one Figure per model. The parts that do not change between steps (axes,
# ticks, titles, legends, the network's ties) are rendered once into a cached background;
# a redraw pastes the background and draws only the artists that changed ("blitting"),
# then encodes the canvas as PNG. A view renders its background again only when its axes
# limits or legend change (the step axis grows in blocks of STEP_BLOCK steps).

FONT = 12  # base font size of the figures (pixels at their natural size), readable on a projector
DPI = 100
CHART_SIZE = (4.1, 3.5)  # inches: the three small charts, each a third of the page's width
STEP_BLOCK = 60


def encode_png(canvas: FigureCanvasAgg) -> bytes:
    """The canvas as PNG bytes (fast compression: a redraw must stay well under a second)."""
    rgba = np.asarray(canvas.buffer_rgba())
    buffer = io.BytesIO()
    PILImage.fromarray(rgba[..., :3]).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


class BlitView:
    """A figure whose static parts are rendered once and whose changing artists are redrawn."""

    def __init__(self, fig: Figure) -> None:
        self.fig = fig
        self.canvas = FigureCanvasAgg(fig)
        self._background = None
        self._key: Any = None

    def render(self, dynamic: list, key: Any) -> bytes:
        """Draw ``dynamic`` artists over the cached background (re-rendered when ``key`` changes)."""
        if self._background is None or key != self._key:
            for artist in dynamic:
                artist.set_visible(False)
            self.canvas.draw()
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
            self._key = key
            for artist in dynamic:
                artist.set_visible(True)
        self.canvas.restore_region(self._background)
        for artist in dynamic:
            (artist.axes or self.fig).draw_artist(artist)
        return encode_png(self.canvas)


def level_handles() -> list[Line2D]:
    """Legend entries for the participation levels."""
    return [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="none",
            markersize=12,
            markerfacecolor=c,
            markeredgecolor="#555555",
            label=name,
        )
        for name, c in zip(LEVEL_NAMES, PAGE_LEVEL_COLOURS)
    ]


def _style(ax, title: str, xlabel: str | None = "step", ylabel: str | None = None) -> None:
    if title:
        ax.set_title(title, fontsize=FONT + 3, fontweight="bold", loc="left", x=-0.12)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=FONT)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=FONT)
    ax.tick_params(labelsize=FONT - 1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _steps(model: PowerModel) -> np.ndarray:
    return np.array([row["step"] for row in model.recorder.rows], dtype=float)


def _column(model: PowerModel, name: str) -> np.ndarray:
    return np.array([row.get(name, np.nan) for row in model.recorder.rows], dtype=float)


def step_limit(model: PowerModel) -> int:
    """Right end of the step axis: grows in blocks so the axes (and the cached background) rarely change."""
    return STEP_BLOCK * (int(model.steps) // STEP_BLOCK + 1)


def _shock_lines(ax, model: PowerModel) -> list:
    return [
        ax.axvline(e["step"], color="#444444", linewidth=1.2, linestyle=":", zorder=5) for e in model.events
    ]


#: Participation levels on the page: grey for consuming, then blue to purple, strong enough
#: to see a surge from the back of a room (the saved figures use :data:`sim.figures.plotting.LEVEL_COLOURS`).
PAGE_LEVEL_COLOURS = ("#e2e2e2", "#6fa8dc", "#2f6eba", "#6a3d9a", "#b0188a", "#4a0032")


def ring_layout(n: int, inner: float = 0.6, outer: float = 0.98) -> tuple[np.ndarray, np.ndarray]:
    """Positions of a Watts-Strogatz graph's nodes along its ring, snaking through a band.

    NetworkX's generator numbers nodes around the ring (node i's lattice neighbours are
    i-k/2 .. i+k/2). Here the ring is a band between two circles, filled column by column
    (outward, then inward: a snake), so lattice ties stay short and the rewired shortcuts
    cross the middle: a surge visibly travels along the ring and jumps across shortcuts.
    """
    if n == 0:
        return np.zeros(0), np.zeros(0)
    mid, width = (inner + outer) / 2, outer - inner
    rows = max(1, int(np.rint(np.sqrt(n * width / (2 * np.pi * mid)))))
    columns = int(np.ceil(n / rows))
    i = np.arange(n)
    column, row = i // rows, i % rows
    row = np.where(column % 2 == 0, row, rows - 1 - row)
    radius = inner + width * (row + 0.5) / rows
    angle = 2 * np.pi * (column + 0.5 * (row + 0.5) / rows) / columns
    return radius * np.cos(angle), radius * np.sin(angle)


def page_layout(model: PowerModel) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Drawn nodes, their positions and a note; computed once per model.

    A ring for Watts-Strogatz networks (their lattice order), otherwise the project's
    spring layout (:func:`sim.figures.layout.network_layout`, fixed seed; a sample above 3,000 nodes).
    """
    if model.spec.network.kind == "watts_strogatz":
        x, y = ring_layout(model.n_participants)
        return np.arange(model.n_participants), x, y, "all participants, around\ntheir ring; lines are ties"
    layout = network_layout(model.adjacency)
    note = (
        "all participants (spring\nlayout); lines are ties"
        if not layout.sampled
        else f"{layout.nodes.size:,} of {layout.n_total:,}\nparticipants (random sample)"
    )
    return layout.nodes, layout.x, layout.y, note


class NetworkView(BlitView):
    """The network coloured by participation level.

    The layout is computed once per model (:func:`page_layout`) and reused at every step;
    the ties are drawn once, as a LineCollection in the cached background; a redraw only
    recolours the dots.
    """

    def __init__(self, model: PowerModel, size=(8.2, 5.0), dpi=DPI) -> None:
        super().__init__(Figure(figsize=size, dpi=dpi))
        self.nodes, x, y, self.note = page_layout(model)
        src, dst = induced_edges(model.adjacency, self.nodes)
        index = np.full(model.n_participants, -1, dtype=np.int64)
        index[self.nodes] = np.arange(self.nodes.size)
        xy = np.column_stack([x, y])
        segments = np.stack([xy[index[src]], xy[index[dst]]], axis=1) if src.size else np.zeros((0, 2, 2))
        self.palette = np.array([to_rgba(c) for c in PAGE_LEVEL_COLOURS])
        ax = self.fig.add_axes((0.0, 0.0, 0.66, 0.9))
        ax.add_collection(LineCollection(segments, colors="#8a8a8a", linewidths=0.35, alpha=0.18, zorder=1))
        n = self.nodes.size
        self.dots = ax.scatter(
            x,
            y,
            s=float(np.clip(24000 / max(n, 1), 8, 70)),
            c=self.palette[np.zeros(n, dtype=int)],
            edgecolors="#707070",
            linewidths=0.3,
            zorder=2,
        )
        ax.set_xlim(-1.02, 1.02)
        ax.set_ylim(-1.02, 1.02)
        ax.set_aspect("equal")
        ax.set_axis_off()
        self.title = self.fig.text(0.015, 0.985, "", fontsize=FONT + 6, fontweight="bold", va="top")
        self.subtitle = self.fig.text(
            0.67, 0.86, "", fontsize=FONT + 2, va="top", color="#222222", linespacing=1.4
        )
        self.fig.text(0.67, 0.06, self.note, fontsize=FONT - 1, va="bottom", color="#555555", wrap=True)
        self.fig.legend(
            handles=level_handles(),
            loc="center left",
            bbox_to_anchor=(0.66, 0.42),
            ncols=1,
            fontsize=FONT + 1,
            frameon=False,
            handletextpad=0.3,
            labelspacing=0.6,
            title="participation level",
            title_fontsize=FONT + 1,
            alignment="left",
        )

    def png(self, model: PowerModel) -> bytes:
        """Recolour the dots by each participant's level now; return the figure as PNG."""
        self.dots.set_facecolor(self.palette[model.state.level[self.nodes]])
        self.title.set_text(f"The network at step {model.steps}")
        self.subtitle.set_text(f"{model.active_fraction:.0%} take part\n(sharing or more)")
        return self.render([self.dots, self.title, self.subtitle], key=None)


class LevelsView(BlitView):
    """Participation by level over time: the share of everyone at each level above consuming."""

    def __init__(self, size=CHART_SIZE, dpi=DPI) -> None:
        super().__init__(Figure(figsize=size, dpi=dpi))
        self.ax = self.fig.add_subplot()
        self.fig.subplots_adjust(left=0.19, right=0.95, top=0.87, bottom=0.15)
        self.ax.set_autoscale_on(False)
        self.ax.set_ylim(0, 1)
        self.ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        _style(self.ax, "Participation by level", ylabel="share of all people")
        handles = [
            Patch(facecolor=c, label=name)
            for name, c in zip(LEVEL_NAMES[ACTIVE_LEVEL:], PAGE_LEVEL_COLOURS[ACTIVE_LEVEL:])
        ]
        self.ax.legend(handles=handles[::-1], loc="upper left", fontsize=FONT - 2, frameon=False, ncols=2)
        self.dynamic: list = []

    def png(self, model: PowerModel) -> bytes:
        """Stacked shares per level, with a dotted line at each shock."""
        for artist in self.dynamic:
            artist.remove()
        ax = self.ax
        steps = _steps(model)
        n = model.n_participants
        shares = np.array([_column(model, f"n_{lv.name.lower()}") / n for lv in Level if lv >= ACTIVE_LEVEL])
        tops = np.cumsum(shares, axis=0)
        bottoms = np.vstack([np.zeros(steps.size), tops[:-1]])
        self.dynamic = [
            ax.fill_between(
                steps, bottoms[i], tops[i], color=PAGE_LEVEL_COLOURS[ACTIVE_LEVEL + i], linewidth=0
            )
            for i in range(tops.shape[0])
        ]
        self.dynamic += _shock_lines(ax, model)
        limit = step_limit(model)
        ax.set_xlim(0, limit)
        return self.render(self.dynamic, key=limit)


class CompassView(BlitView):
    """The New Power Compass with every organization's trajectory."""

    def __init__(self, size=CHART_SIZE, dpi=DPI) -> None:
        super().__init__(Figure(figsize=size, dpi=dpi))
        self.ax = self.fig.add_subplot()
        self.fig.subplots_adjust(left=0.02, right=0.98, top=0.89, bottom=0.13)
        draw_compass(self.ax, labels=False)
        for name, ((x, y), (ha, va), _) in QUADRANTS.items():
            self.ax.text(
                x,
                y,
                name.capitalize(),
                ha=ha,
                va=va,
                fontsize=FONT,
                fontweight="bold",
                color="#8a8a8a",
                zorder=1,
            )
        self.ax.set_autoscale_on(False)
        self.ax.xaxis.label.set_fontsize(FONT - 2)
        self.ax.yaxis.label.set_fontsize(FONT - 2)
        self.ax.tick_params(labelsize=FONT - 3)
        self.ax.set_title("The New Power Compass", fontsize=FONT + 3, fontweight="bold", loc="center")
        self.ax.xaxis.label.set_text("VALUES: old \u2192 new power")
        self.ax.yaxis.label.set_text("MODEL: old \u2192 new power")
        self.dynamic: list = []

    def png(self, model: PowerModel) -> bytes:
        """Each organization's path on the compass, with a dot and its name where it is now."""
        for artist in self.dynamic:
            artist.remove()
        ax = self.ax
        self.dynamic = []
        for i, org in enumerate(model.organizations):
            colour = org_colour(i)
            x = _column(model, f"{org.name}.values")
            y = _column(model, f"{org.name}.openness")
            keep = ~np.isnan(x)
            self.dynamic += ax.plot(
                np.append(x[keep], org.values),
                np.append(y[keep], org.openness),
                color=colour,
                linewidth=2.5,
                alpha=0.8,
                zorder=3,
            )
            self.dynamic.append(
                ax.scatter([org.values], [org.openness], s=110, color=colour, edgecolors="black", zorder=4)
            )
            self.dynamic.append(
                ax.annotate(
                    org.name,
                    (org.values, org.openness),
                    xytext=(7, 5),
                    textcoords="offset points",
                    fontsize=FONT,
                    fontweight="bold",
                    color=colour,
                    zorder=5,
                )
            )
        return self.render(self.dynamic, key=None)


class CommunityView(BlitView):
    """Each organization's community size (top) and the members who left it, per step (bottom)."""

    def __init__(self, size=CHART_SIZE, dpi=DPI) -> None:
        super().__init__(Figure(figsize=size, dpi=dpi))
        self.top, self.bottom = self.fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
        self.fig.subplots_adjust(left=0.17, right=0.95, top=0.87, bottom=0.15, hspace=0.12)
        for ax in (self.top, self.bottom):
            ax.set_autoscale_on(False)
        _style(self.top, "Community and desertions", xlabel=None, ylabel="members")
        _style(self.bottom, "", ylabel="left")
        self.dynamic: list = []

    def png(self, model: PowerModel) -> bytes:
        """Members per organization as lines; exits per step as stacked steps, coloured by organization."""
        for artist in self.dynamic:
            artist.remove()
        steps = _steps(model)
        edges = np.append(steps - 0.5, steps[-1] + 0.5) if steps.size else np.array([0.0, 1.0])
        base = np.zeros(steps.size)
        self.dynamic = []
        peak_members, peak_exits = 1.0, 1.0
        names = []
        for i, org in enumerate(model.organizations):
            colour = org_colour(i)
            members = _column(model, f"{org.name}.members")
            exits = np.nan_to_num(_column(model, f"{org.name}.exits"))
            self.dynamic += self.top.plot(steps, members, color=colour, linewidth=2.5)
            self.dynamic += self.top.plot(steps[-1:], members[-1:], "o", color=colour, markersize=6)
            self.dynamic.append(
                self.bottom.stairs(base + exits, edges, baseline=base.copy(), fill=True, color=colour)
            )
            base = base + exits
            peak_members = max(peak_members, float(np.nanmax(members)) if members.size else 0.0)
            names.append((org.name, colour))
        peak_exits = max(peak_exits, float(base.max()) if base.size else 0.0)
        self.dynamic += _shock_lines(self.top, model) + _shock_lines(self.bottom, model)
        limit = step_limit(model)
        top_limit = _nice_ceiling(peak_members * 1.1)
        bottom_limit = _nice_ceiling(peak_exits * 1.15)
        key = (limit, top_limit, bottom_limit, tuple(names))
        if key != self._key:
            self.top.set_xlim(0, limit)
            self.top.set_ylim(0, top_limit)
            self.bottom.set_ylim(0, bottom_limit)
            legend = self.top.get_legend()
            if legend is not None:
                legend.remove()
            self.top.legend(
                handles=[Line2D([], [], color=c, linewidth=3, label=name) for name, c in names],
                loc="upper left",
                fontsize=FONT - 2,
                frameon=False,
                ncols=min(3, len(names) or 1),
            )
        return self.render(self.dynamic, key=key)


def _nice_ceiling(value: float) -> float:
    """The next 1, 2 or 5 times a power of ten at or above ``value`` (axes rescale rarely)."""
    if value <= 0:
        return 1.0
    exponent = 10 ** np.floor(np.log10(value))
    for step in (1, 2, 5, 10):
        if step * exponent >= value:
            return float(step * exponent)
    return float(10 * exponent)


class Views:
    """Every figure of one model, built on first use and kept with the model."""

    def __init__(self, model: PowerModel) -> None:
        self.network = NetworkView(model)
        self.levels = LevelsView()
        self.compass = CompassView()
        self.community = CommunityView()


_VIEWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def views_of(model: PowerModel) -> Views:
    """The figures of this model (one set per model, so per browser tab)."""
    views = _VIEWS.get(model)
    if views is None:
        views = _VIEWS[model] = Views(model)
    return views
