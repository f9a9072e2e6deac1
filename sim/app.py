"""The teaching page: a Solara page on Mesa's SolaraViz, for a class in front of one screen.

Run it with ``newpower ui [SCENARIO]`` (or ``solara run sim/app.py``). The page shows

* sliders for what a teacher wants to move (fickleness, peer influence, the network's kind
  and size, one organization's values, model and strategy, a run number), applied by Reset;
* SolaraViz's Play, Step and Reset;
* buttons that fire shocks while the model runs (viral moment, leak, rival enters, fee
  hike, campaign);
* the network coloured by participation level (a layout computed once per model and
  reused), participation by level over time, the New Power Compass with trajectories,
  community size and desertions, and a short panel that tells the class what to notice.

Each browser tab builds its own model (``Page`` memoizes one per session); nothing here
is shared between visitors. Figures are matplotlib, drawn with the object-oriented API
(no pyplot) and kept per model: a step only recolours the network's dots and redraws
the small charts, so one step with 2,000 participants redraws in well under a second.

The page reads two environment variables, set by ``newpower ui``:
``NEWPOWER_UI_SCENARIO`` (the scenario file; default ``scenarios/teaching_surge.toml``) and
``NEWPOWER_UI_ORGANIZATION`` (the organization the sliders and shocks act on; default the
scenario's first).
"""

from __future__ import annotations

import io
import os
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from .layout import induced_edges, network_layout
from .model import PowerModel
from .plotting import LEVEL_COLOURS, LEVEL_NAMES, draw_compass, org_colour
from .scenario import NETWORK_KINDS, Scenario, load_scenario
from .shocks import SHOCKS, make_shock
from .states import ACTIVE_LEVEL, Level
from .strategies import STRATEGIES

ROOT = Path(__file__).resolve().parent.parent
#: The scenario a bare ``newpower ui`` opens.
DEFAULT_SCENARIO = ROOT / "scenarios" / "teaching_surge.toml"
ENV_SCENARIO = "NEWPOWER_UI_SCENARIO"
ENV_ORGANIZATION = "NEWPOWER_UI_ORGANIZATION"
#: Network generators a teacher can pick (file-based networks keep their file).
GENERATED_KINDS = tuple(k for k in NETWORK_KINDS if k not in ("edge_list", "graphml"))
#: The network slider's range; the page stays responsive up to its top.
MIN_PARTICIPANTS, MAX_PARTICIPANTS = 100, 2000
#: Run numbers a teacher can pick: the seed is the scenario's plus this number.
MAX_RUN = 20


# ------------------------------------------------------------------ the model behind the page

def scenario_path() -> Path:
    """The scenario file the page opens (``NEWPOWER_UI_SCENARIO`` or the teaching scenario)."""
    return Path(os.environ.get(ENV_SCENARIO) or DEFAULT_SCENARIO)


def focus_name(scenario: Scenario) -> str:
    """The organization the sliders and shock buttons act on ("" if the scenario has none)."""
    wanted = os.environ.get(ENV_ORGANIZATION, "")
    names = [o.name for o in scenario.organizations]
    if wanted:
        if wanted not in names:
            from .errors import ScenarioError

            raise ScenarioError("no such organization", source=scenario.source, key="--organization",
                                value=wanted, allowed=", ".join(names) or "(none defined)")
        return wanted
    return names[0] if names else ""


def slider_overrides(scenario: Scenario, focus: str, *, fickleness=None, peer_influence=None,
                     network_kind=None, n_participants=None, org_values=None, org_openness=None,
                     strategy=None) -> dict[str, Any]:
    """Dotted-key scenario overrides for the values the sliders set (``None``: keep the scenario's)."""
    out: dict[str, Any] = {}
    if fickleness is not None:
        out["dynamics.fickleness"] = float(fickleness)
    if peer_influence is not None:
        out["dynamics.peer_influence"] = float(peer_influence)
    if network_kind is not None and scenario.network.kind in GENERATED_KINDS:
        out["network.kind"] = str(network_kind)
    if n_participants is not None and scenario.network.kind in GENERATED_KINDS:
        out["network.n"] = int(n_participants)
    if focus:
        spec = scenario.organization(focus)
        key = f"organizations.{focus}"
        if org_values is not None:
            out[f"{key}.values"] = float(org_values)
        if org_openness is not None:
            out[f"{key}.openness"] = float(org_openness)
        if strategy is not None and strategy != spec.strategy:
            out[f"{key}.strategy"] = str(strategy)
            out[f"{key}.strategy_params"] = {}  # the scenario's parameters belong to its own strategy
    return out


class TeachingModel(PowerModel):
    """A :class:`~sim.model.PowerModel` built from the page's slider values.

    SolaraViz's Reset rebuilds the model as ``type(model)(**slider_values)``, so every
    slider is a keyword argument here; ``None`` keeps the scenario's value.

    Args:
        scenario_file: the scenario to start from.
        focus: the organization the sliders and shocks act on ("" = the first).
        fickleness: ``dynamics.fickleness``.
        peer_influence: ``dynamics.peer_influence``.
        network_kind: ``network.kind`` (generated networks only).
        n_participants: ``network.n`` (generated networks only).
        org_values: the focus organization's values axis.
        org_openness: the focus organization's model axis.
        strategy: the focus organization's strategy (a registered name).
        run: the run number; the seed is the scenario's seed plus ``run``.
    """

    def __init__(self, scenario_file: str = "", focus: str = "", fickleness: float | None = None,
                 peer_influence: float | None = None, network_kind: str | None = None,
                 n_participants: int | None = None, org_values: float | None = None,
                 org_openness: float | None = None, strategy: str | None = None, run: int = 0) -> None:
        base = load_scenario(scenario_file or scenario_path())
        self.focus = focus or focus_name(base)
        overrides = slider_overrides(base, self.focus, fickleness=fickleness, peer_influence=peer_influence,
                                     network_kind=network_kind, n_participants=n_participants,
                                     org_values=org_values, org_openness=org_openness, strategy=strategy)
        scenario = base.with_overrides(overrides) if overrides else base
        self.run_number = int(run)
        self.n_rivals = 0
        super().__init__(scenario, rng=scenario.seed + self.run_number)

    @property
    def focus_org(self):
        """The organization the sliders and shocks act on (None if there is none)."""
        return self.organization(self.focus) if self.focus else None


def model_params(scenario: Scenario, focus: str, scenario_file: str) -> dict[str, Any]:
    """SolaraViz's ``model_params``: the sliders, with the scenario's values as defaults."""
    d = scenario.dynamics
    params: dict[str, Any] = {
        "scenario_file": scenario_file,
        "focus": focus,
        "fickleness": {"type": "SliderFloat", "label": "Fickleness (how fast commitment fades)",
                       "value": d.fickleness, "min": 0.0, "max": 0.5, "step": 0.01},
        "peer_influence": {"type": "SliderFloat", "label": "Peer influence",
                           "value": d.peer_influence, "min": 0.0, "max": 3.0, "step": 0.05},
    }
    if scenario.network.kind in GENERATED_KINDS:
        params["network_kind"] = {"type": "Select", "label": "Network kind", "value": scenario.network.kind,
                                  "values": list(GENERATED_KINDS)}
        params["n_participants"] = {"type": "SliderInt", "label": "Participants (network size)",
                                    "value": int(min(max(scenario.network.n, MIN_PARTICIPANTS),
                                                     MAX_PARTICIPANTS)),
                                    "min": MIN_PARTICIPANTS, "max": MAX_PARTICIPANTS, "step": 100}
    if focus:
        org = scenario.organization(focus)
        params["org_values"] = {"type": "SliderFloat", "label": f"{focus}: values (old \u2192 new power)",
                                "value": float(org.values), "min": 0.0, "max": 1.0, "step": 0.05}
        params["org_openness"] = {"type": "SliderFloat", "label": f"{focus}: model (old \u2192 new power)",
                                  "value": float(org.openness), "min": 0.0, "max": 1.0, "step": 0.05}
        strategies = list(STRATEGIES)
        if org.strategy not in strategies:
            strategies.append(org.strategy)
        params["strategy"] = {"type": "Select", "label": f"{focus}: strategy", "value": org.strategy,
                              "values": strategies}
    params["run"] = {"type": "SliderInt", "label": "Run number (another random draw)", "value": 0,
                     "min": 0, "max": MAX_RUN, "step": 1}
    return params


# ------------------------------------------------------------------ shocks fired from the page

@dataclass(frozen=True)
class ShockButton:
    """A button that fires a shock at the focus organization."""

    kind: str
    label: str
    colour: str
    needs_rival: bool = False  # needs a second organization (a campaign's other side)


SHOCK_BUTTONS = (
    ShockButton("viral_moment", "Viral moment", "#6a1b9a"),
    ShockButton("leak", "Leak", "#37474f"),
    ShockButton("rival_entry", "Rival enters", "#00796b"),
    ShockButton("fee_hike", "Fee hike", "#c62828"),
    ShockButton("campaign", "Campaign", "#1565c0", needs_rival=True),
)


def other_organization(model: TeachingModel):
    """The campaign's other side: the largest organization other than the focus one."""
    others = [o for o in model.organizations if o.name != model.focus]
    return max(others, key=lambda o: (o.n_members, -o.group)) if others else None


def shock_params(model: TeachingModel, kind: str) -> dict[str, Any]:
    """Parameters of a shock fired from the page, sized to the model and aimed at the focus organization."""
    focus = model.focus
    if kind == "viral_moment":
        return {"n_participants": max(20, model.n_participants // 20), "level": "FUNDING", "organization": focus}
    if kind == "leak":
        return {"target": focus, "severity": 1.0}
    if kind == "rival_entry":
        taken = {o.name for o in model.organizations}
        number = model.n_rivals + 1
        name = "Rival" if number == 1 else f"Rival {number}"
        while name in taken:
            number += 1
            name = f"Rival {number}"
        return {"name": name, "openness": 0.85, "values": 0.85, "stock": 0.2, "take_rate": 0.05,
                "transparency": 0.8, "outreach": 0.02}
    if kind == "fee_hike":
        return {"target": focus, "size": 0.15}
    if kind == "campaign":
        other = other_organization(model)
        return {"side_a": focus, "side_b": other.name if other else "", "issue": "the class vote", "stake": 0.2}
    raise ValueError(f"no page button for shock kind {kind!r}; allowed: {', '.join(SHOCKS)}")


def can_fire(model: TeachingModel, button: ShockButton) -> bool:
    """Whether a button can fire now (it needs a focus organization; a campaign needs a second one)."""
    if button.kind == "viral_moment":
        return True
    if not model.focus:
        return button.kind == "rival_entry"
    return not button.needs_rival or other_organization(model) is not None


def fire(model: TeachingModel, kind: str) -> dict[str, Any]:
    """Fire one of the page's shocks now; return the model's record of it."""
    params = shock_params(model, kind)
    if kind == "viral_moment" and not model.focus:
        params.pop("organization")
    record = model.fire(make_shock(kind, params, source="the teaching page", key=kind))
    if kind == "rival_entry":
        model.n_rivals += 1
    return record


# ------------------------------------------------------------------ what the class reads

def total_desertions(model: PowerModel) -> int:
    """Exits from any organization since the start of the run."""
    names = [f"{o.name}.exits" for o in model.organizations]
    return int(sum(row.get(name, 0) or 0 for row in model.recorder.rows for name in names))


def headline(model: TeachingModel) -> dict[str, Any]:
    """The counters the class panel shows (numbers, for the page and the tests)."""
    org = model.focus_org
    out = {
        "step": int(model.steps),
        "participants": int(model.n_participants),
        "active_share": float(model.active_fraction),
        "organizations": len(model.organizations),
        "desertions_now": int(sum(o.n_exits for o in model.organizations)),
        "desertions_total": total_desertions(model),
    }
    if org is not None:
        out.update({"focus": org.name, "members": int(org.n_members), "take_rate": float(org.take_rate),
                    "legitimacy": float(org.legitimacy), "stock": float(org.stock),
                    "quadrant": org.quadrant.value, "strategy": org.strategy.name or type(org.strategy).__name__})
    return out


def describe_event(event: dict[str, Any]) -> str:
    """One line about a fired shock, for the class."""
    kind = event.get("kind", "")
    if kind == "viral_moment":
        return f"Viral moment at step {event['step']}: {event['participants']} people jumped to {event['level'].lower()}."
    if kind == "leak":
        return (f"Leak at step {event['step']}: {event['target']}'s {event['members']:,} members saw its values gap "
                f"(grievance +{event['mean_grievance_jump']:.2f} on average).")
    if kind == "rival_entry":
        return f"{event['name']} entered at step {event['step']} (values {event['values']:.2f}, model {event['openness']:.2f})."
    if kind == "fee_hike":
        return (f"Fee hike at step {event['step']}: {event['target']} now takes {event['take_rate_after']:.0%} "
                f"(was {event['take_rate_before']:.0%}).")
    if kind == "campaign":
        return (f"Campaign at step {event['step']}: {event['a']} called {event['a_members']:,} members, "
                f"{event['a_turnout']:,} showed up; {event['b']} called {event['b_members']:,}, "
                f"{event['b_turnout']:,} showed up. Winner: {event['winner']}.")
    return f"{kind} at step {event.get('step', '?')}."


def active_history(model: PowerModel) -> np.ndarray:
    """The share of participants at SHARING or above, one value per recorded step."""
    return np.array([row["active_fraction"] for row in model.recorder.rows])


def notice_text(model: TeachingModel) -> str:
    """A few sentences (Markdown) on what the class should look at right now."""
    focus = model.focus or "the organization"
    active = active_history(model)
    now = model.active_fraction
    if not model.events:
        if model.steps == 0:
            return ("**Nothing has happened yet.** Everyone is consuming (the lightest dots). "
                    "Press **Step** a few times: the crowd stays quiet. Then press **Viral moment** "
                    "and **Play**.")
        return (f"**A quiet crowd.** {now:.0%} of people do more than consume. Peers only pull each other "
                "up when enough neighbours are already above them. Press **Viral moment** to start a surge.")
    last = model.events[-1]
    since = model.steps - last["step"]
    kind = last["kind"]
    start = last["step"]
    after = active[start:] if start < active.size else active[-1:]
    peak = float(after.max()) if after.size else now
    peak_step = start + int(after.argmax()) if after.size else model.steps
    if kind == "viral_moment":
        if since <= 2 or now >= peak - 0.005:
            return ("**A surge is spreading.** Watch dark dots appear next to dark dots: each person climbs when "
                    "enough neighbours are above them, so the surge travels along ties. \u201cNew power ... "
                    f"is most forceful when it surges.\u201d Now {now:.0%} take part.")
        return (f"**Now it fades.** The surge peaked at {peak:.0%} at step {peak_step}; now {now:.0%}. "
                f"Those who gave most feel what {focus} takes, commitment drains and members leave "
                "(see the desertion bars). \u201cNew power is fast\u2014but it is also fickle.\u201d "
                "Try: raise Fickleness, Reset, and fire the same viral moment.")
    if kind == "fee_hike":
        return (f"**{focus} became \u201cthe Man\u201d.** It now takes {last['take_rate_after']:.0%} of the value "
                "its community creates. Watch the desertion bars: exits come in clusters, because each exit "
                "pushes the leaver's neighbours (a desertion cascade). The most active members are hurt most.")
    if kind == "leak":
        return (f"**A leak.** \u201cEvery organization is only a leak or a tweet away\u201d from being exposed. "
                f"{focus}'s members now see its values gap: legitimacy falls and grievance rises. An opaque "
                "organization far from its members' values is hurt most.")
    if kind == "rival_entry":
        return (f"**{last['name']} entered** as a Crowd on the compass. Members who leave {focus} may now go to "
                "a better-aligned rival instead of to no one: watch the community lines cross.")
    if kind == "campaign":
        return (f"**\u201cWho will really show up for you?\u201d** {last['winner']} won the campaign. "
                f"{last['a']}: {last['a_turnout']:,} of {last['a_members']:,} members showed up; "
                f"{last['b']}: {last['b_turnout']:,} of {last['b_members']:,}. Stock buys lobbyists, "
                "a surge brings citizens.")
    return describe_event(last)


# ------------------------------------------------------------------ the figures (matplotlib, kept per model)

FONT = 13  # base font size of the figures, readable from the back of a room
UNAFFILIATED_EDGE = "#7a7a7a"


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    return buffer.getvalue()


def level_handles() -> list[Line2D]:
    """Legend entries for the participation levels."""
    return [Line2D([], [], marker="o", linestyle="none", markersize=11, markerfacecolor=c,
                   markeredgecolor="#555555", label=name) for name, c in zip(LEVEL_NAMES, LEVEL_COLOURS)]


class NetworkView:
    """The network coloured by participation level.

    The layout is computed once per model (a spring layout with a fixed seed, reused at
    every step) and the ties are drawn once as a LineCollection; a redraw only recolours
    the dots.
    """

    def __init__(self, model: PowerModel, size=(8.4, 7.2), dpi=100) -> None:
        self.layout = network_layout(model.adjacency)
        self.nodes = self.layout.nodes
        src, dst = induced_edges(model.adjacency, self.nodes)
        index = np.full(model.n_participants, -1, dtype=np.int64)
        index[self.nodes] = np.arange(self.nodes.size)
        xy = np.column_stack([self.layout.x, self.layout.y])
        segments = np.stack([xy[index[src]], xy[index[dst]]], axis=1) if src.size else np.zeros((0, 2, 2))
        self.palette = np.array([_rgba(c) for c in LEVEL_COLOURS])
        self.fig = Figure(figsize=size, dpi=dpi, layout="none")
        ax = self.fig.add_axes((0.0, 0.0, 1.0, 0.9))
        ax.add_collection(LineCollection(segments, colors="#9a9a9a", linewidths=0.4, alpha=0.35, zorder=1))
        n = self.nodes.size
        self.dots = ax.scatter(self.layout.x, self.layout.y, s=float(np.clip(16000 / max(n, 1), 6, 60)),
                               c=self.palette[np.zeros(n, dtype=int)], edgecolors="#6f6f6f",
                               linewidths=0.25, zorder=2)
        ax.set_xlim(-1.05, 1.05)
        ax.set_ylim(-1.05, 1.05)
        ax.set_aspect("equal")
        ax.set_axis_off()
        self.title = self.fig.text(0.01, 0.975, "", fontsize=FONT + 5, fontweight="bold", va="top")
        self.subtitle = self.fig.text(0.01, 0.925, "", fontsize=FONT, va="top", color="#333333")
        self.fig.legend(handles=level_handles(), loc="upper right", bbox_to_anchor=(0.995, 0.995), ncols=3,
                        fontsize=FONT - 1, frameon=False, handletextpad=0.2, columnspacing=0.8)
        self.note = ("all participants" if not self.layout.sampled else
                     f"{n:,} of {self.layout.n_total:,} participants (random sample)")

    def update(self, model: PowerModel) -> None:
        """Recolour the dots by each participant's level now."""
        levels = model.state.level[self.nodes]
        self.dots.set_facecolor(self.palette[levels])
        self.title.set_text(f"Who takes part \u2014 step {model.steps}")
        active = model.active_fraction
        self.subtitle.set_text(f"{active:.0%} share, shape, fund, produce or co-own; {self.note}")

    def png(self, model: PowerModel) -> bytes:
        """The figure as PNG bytes, after recolouring."""
        self.update(model)
        return _png(self.fig)


def _rgba(colour: str) -> tuple[float, float, float, float]:
    from matplotlib.colors import to_rgba

    return to_rgba(colour)


def _chart(size=(6.4, 4.4), dpi=100) -> tuple[Figure, Any]:
    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    return fig, ax


def _style(ax, title: str, xlabel: str | None = "step", ylabel: str | None = None) -> None:
    ax.set_title(title, fontsize=FONT + 3, fontweight="bold", loc="left")
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=FONT)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=FONT)
    ax.tick_params(labelsize=FONT - 1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _steps(model: PowerModel) -> np.ndarray:
    return np.array([row["step"] for row in model.recorder.rows])


def _column(model: PowerModel, name: str) -> np.ndarray:
    return np.array([row.get(name, np.nan) for row in model.recorder.rows], dtype=float)


def _shock_marks(ax, model: PowerModel) -> None:
    for event in model.events:
        ax.axvline(event["step"], color="#555555", linewidth=1.0, linestyle=":", zorder=0)


class LevelsView:
    """Participation by level over time: shares of everyone at each level above consuming."""

    def __init__(self) -> None:
        self.fig, self.ax = _chart()

    def png(self, model: PowerModel) -> bytes:
        ax = self.ax
        ax.clear()
        steps = _steps(model)
        n = model.n_participants
        shares = [_column(model, f"n_{lv.name.lower()}") / n for lv in Level if lv >= ACTIVE_LEVEL]
        ax.stackplot(steps, shares, colors=LEVEL_COLOURS[ACTIVE_LEVEL:], labels=LEVEL_NAMES[ACTIVE_LEVEL:],
                     edgecolor="white", linewidth=0.3)
        _shock_marks(ax, model)
        ax.set_xlim(0, max(20, int(steps[-1]) if steps.size else 0))
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        _style(ax, "Participation by level over time", ylabel="share of everyone")
        ax.legend(loc="upper left", fontsize=FONT - 2, frameon=False, ncols=2, reverse=True)
        return _png(self.fig)


class CompassView:
    """The New Power Compass with every organization's trajectory."""

    def __init__(self) -> None:
        self.fig, self.ax = _chart(size=(5.6, 5.6))

    def png(self, model: PowerModel) -> bytes:
        ax = self.ax
        ax.clear()
        draw_compass(ax)
        ax.xaxis.label.set_fontsize(FONT - 2)
        ax.yaxis.label.set_fontsize(FONT - 2)
        ax.tick_params(labelsize=FONT - 3)
        for i, org in enumerate(model.organizations):
            colour = org_colour(i)
            x = _column(model, f"{org.name}.values")
            y = _column(model, f"{org.name}.openness")
            keep = ~np.isnan(x)
            ax.plot(np.append(x[keep], org.values), np.append(y[keep], org.openness), color=colour,
                    linewidth=2.5, alpha=0.8, zorder=3)
            ax.scatter([org.values], [org.openness], s=160, color=colour, edgecolors="black", zorder=4)
            ax.annotate(org.name, (org.values, org.openness), xytext=(8, 8), textcoords="offset points",
                        fontsize=FONT, fontweight="bold", color=colour, zorder=5)
        ax.set_title("The New Power Compass", fontsize=FONT + 3, fontweight="bold", loc="left")
        return _png(self.fig)


class CommunityView:
    """Each organization's community size, and desertions per step."""

    def __init__(self) -> None:
        self.fig = Figure(figsize=(6.4, 4.4), dpi=100, layout="constrained")
        self.top, self.bottom = self.fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))

    def png(self, model: PowerModel) -> bytes:
        top, bottom = self.top, self.bottom
        top.clear()
        bottom.clear()
        steps = _steps(model)
        width = 1.0
        base = np.zeros(steps.size)
        for i, org in enumerate(model.organizations):
            colour = org_colour(i)
            top.plot(steps, _column(model, f"{org.name}.members"), color=colour, linewidth=2.5, label=org.name)
            exits = np.nan_to_num(_column(model, f"{org.name}.exits"))
            bottom.bar(steps, exits, bottom=base, width=width, color=colour, linewidth=0)
            base = base + exits
        for ax in (top, bottom):
            _shock_marks(ax, model)
        top.set_ylim(bottom=0)
        top.set_xlim(0, max(20, int(steps[-1]) if steps.size else 0))
        _style(top, "Community size and desertions", xlabel=None, ylabel="members")
        _style(bottom, "", ylabel="left / step")
        top.legend(loc="upper left", fontsize=FONT - 2, frameon=False, ncols=3)
        return _png(self.fig)


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
