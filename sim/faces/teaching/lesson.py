"""The teaching page's model and logic, without any web framework.

``TeachingModel`` is the model the page steps (a ``PowerModel`` whose constructor takes
the page's slider values, so SolaraViz's Reset can rebuild it); the shock buttons, the
counters and the "what to notice" text are plain functions of it, tested without a browser.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.config.scenario import NETWORK_KINDS, Scenario, load_scenario
from sim.errors import ScenarioError
from sim.model.power_model import PowerModel
from sim.model.shocks import SHOCKS, make_shock
from sim.model.strategies import STRATEGIES
from sim.scenarios import LIBRARY

#: The scenario a bare ``newpower ui`` opens.
DEFAULT_SCENARIO = LIBRARY / "teaching_surge.toml"
ENV_SCENARIO = "NEWPOWER_UI_SCENARIO"
ENV_ORGANIZATION = "NEWPOWER_UI_ORGANIZATION"
#: Network generators a teacher can pick (file-based networks keep their file).
GENERATED_KINDS = tuple(k for k in NETWORK_KINDS if k not in ("edge_list", "graphml"))
#: The network slider's range: up to 2,000 (or a bigger scenario's size, at most 5,000); one
#: step redraws in about 0.1 s at 2,000 and at 5,000 here.
MIN_PARTICIPANTS, MAX_PARTICIPANTS, LARGEST = 100, 2000, 5000
#: Run numbers a teacher can pick: the seed is the scenario's plus this number.
MAX_RUN = 20


# ------------------------------------------------------------------ the model behind the page


def scenario_path() -> Path:
    """The scenario file the page opens (``NEWPOWER_UI_SCENARIO`` or the teaching scenario)."""
    return Path(os.environ.get(ENV_SCENARIO) or DEFAULT_SCENARIO)


def focus_name(scenario: Scenario, wanted: str | None = None) -> str:
    """The organization the sliders and shock buttons act on ("" if the scenario has none).

    ``wanted`` (default: ``NEWPOWER_UI_ORGANIZATION``) names it; empty means the first.
    """
    wanted = os.environ.get(ENV_ORGANIZATION, "") if wanted is None else wanted
    names = [o.name for o in scenario.organizations]
    if wanted:
        if wanted not in names:
            raise ScenarioError(
                "no such organization",
                source=scenario.source,
                key="--organization",
                value=wanted,
                allowed=", ".join(names) or "(none defined)",
            )
        return wanted
    return names[0] if names else ""


def slider_overrides(
    scenario: Scenario,
    focus: str,
    *,
    fickleness=None,
    peer_influence=None,
    network_kind=None,
    n_participants=None,
    org_values=None,
    org_openness=None,
    strategy=None,
) -> dict[str, Any]:
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
    """A :class:`~sim.model.power_model.PowerModel` built from the page's slider values.

    SolaraViz's Reset rebuilds the model as ``type(model)(**slider_values)``, so every
    slider is a keyword argument here; ``None`` keeps the scenario's value. ``lock``
    serializes stepping (Play runs in a thread), shocks fired from buttons and drawing.

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

    def __init__(
        self,
        scenario_file: str = "",
        focus: str = "",
        fickleness: float | None = None,
        peer_influence: float | None = None,
        network_kind: str | None = None,
        n_participants: int | None = None,
        org_values: float | None = None,
        org_openness: float | None = None,
        strategy: str | None = None,
        run: int = 0,
    ) -> None:
        self.lock = threading.RLock()
        base = load_scenario(scenario_file or scenario_path())
        self.focus = focus or focus_name(base)
        overrides = slider_overrides(
            base,
            self.focus,
            fickleness=fickleness,
            peer_influence=peer_influence,
            network_kind=network_kind,
            n_participants=n_participants,
            org_values=org_values,
            org_openness=org_openness,
            strategy=strategy,
        )
        scenario = base.with_overrides(overrides) if overrides else base
        self.run_number = int(run)
        self.n_rivals = 0
        super().__init__(scenario, rng=scenario.seed + self.run_number)

    def step(self) -> None:
        """One step of the model, never at the same time as a shock or a redraw."""
        with self.lock:
            super().step()

    @property
    def focus_org(self):
        """The organization the sliders and shocks act on (None if there is none)."""
        return self.organization(self.focus) if self.focus else None


def slider_values(params: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments the sliders start at (fixed parameters as they are)."""
    return {name: (spec["value"] if isinstance(spec, dict) else spec) for name, spec in params.items()}


def model_params(scenario: Scenario, focus: str, scenario_file: str) -> dict[str, Any]:
    """SolaraViz's ``model_params``: the sliders, with the scenario's values as defaults."""
    d = scenario.dynamics
    params: dict[str, Any] = {
        "scenario_file": scenario_file,
        "focus": focus,
        "fickleness": {
            "type": "SliderFloat",
            "label": "Fickleness (how fast commitment fades)",
            "value": d.fickleness,
            "min": 0.0,
            "max": 0.5,
            "step": 0.01,
        },
        "peer_influence": {
            "type": "SliderFloat",
            "label": "Peer influence",
            "value": d.peer_influence,
            "min": 0.0,
            "max": 3.0,
            "step": 0.05,
        },
    }
    if scenario.network.kind in GENERATED_KINDS:
        params["network_kind"] = {
            "type": "Select",
            "label": "Network kind",
            "value": scenario.network.kind,
            "values": list(GENERATED_KINDS),
        }
        top = max(MAX_PARTICIPANTS, min(scenario.network.n, LARGEST))
        params["n_participants"] = {
            "type": "SliderInt",
            "label": "Participants (network size)",
            "value": int(min(max(scenario.network.n, MIN_PARTICIPANTS), top)),
            "min": MIN_PARTICIPANTS,
            "max": top,
            "step": 100,
        }
    if focus:
        org = scenario.organization(focus)
        params["org_values"] = {
            "type": "SliderFloat",
            "label": f"{focus}: values (old \u2192 new power)",
            "value": float(org.values),
            "min": 0.0,
            "max": 1.0,
            "step": 0.05,
        }
        params["org_openness"] = {
            "type": "SliderFloat",
            "label": f"{focus}: model (old \u2192 new power)",
            "value": float(org.openness),
            "min": 0.0,
            "max": 1.0,
            "step": 0.05,
        }
        strategies = list(STRATEGIES)
        if org.strategy not in strategies:
            strategies.append(org.strategy)
        params["strategy"] = {
            "type": "Select",
            "label": f"{focus}: strategy",
            "value": org.strategy,
            "values": strategies,
        }
    params["run"] = {
        "type": "SliderInt",
        "label": "Run number (another random draw)",
        "value": 0,
        "min": 0,
        "max": MAX_RUN,
        "step": 1,
    }
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
        return {
            "n_participants": max(20, model.n_participants // 20),
            "level": "FUNDING",
            "organization": focus,
        }
    if kind == "leak":
        return {"target": focus, "severity": 1.0}
    if kind == "rival_entry":
        taken = {o.name for o in model.organizations}
        number = model.n_rivals + 1
        name = "Rival" if number == 1 else f"Rival {number}"
        while name in taken:
            number += 1
            name = f"Rival {number}"
        return {
            "name": name,
            "openness": 0.85,
            "values": 0.85,
            "stock": 0.2,
            "take_rate": 0.05,
            "transparency": 0.8,
            "outreach": 0.02,
        }
    if kind == "fee_hike":
        return {"target": focus, "size": 0.15}
    if kind == "campaign":
        other = other_organization(model)
        return {
            "side_a": focus,
            "side_b": other.name if other else "",
            "issue": "the class vote",
            "stake": 0.2,
        }
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
    with model.lock:
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
        out.update(
            {
                "focus": org.name,
                "members": int(org.n_members),
                "take_rate": float(org.take_rate),
                "legitimacy": float(org.legitimacy),
                "stock": float(org.stock),
                "quadrant": org.quadrant.value,
                "strategy": org.strategy.name or type(org.strategy).__name__,
            }
        )
    return out


def describe_event(event: dict[str, Any]) -> str:
    """One line about a fired shock, for the class."""
    kind = event.get("kind", "")
    if kind == "viral_moment":
        return f"Viral moment at step {event['step']}: {event['participants']} people jumped to {event['level'].lower()}."
    if kind == "leak":
        return (
            f"Leak at step {event['step']}: {event['target']}'s {event['members']:,} members saw its values gap "
            f"(grievance +{event['mean_grievance_jump']:.2f} on average)."
        )
    if kind == "rival_entry":
        return f"{event['name']} entered at step {event['step']} (values {event['values']:.2f}, model {event['openness']:.2f})."
    if kind == "fee_hike":
        return (
            f"Fee hike at step {event['step']}: {event['target']} now takes {event['take_rate_after']:.0%} "
            f"(was {event['take_rate_before']:.0%})."
        )
    if kind == "campaign":
        return (
            f"Campaign at step {event['step']}: {event['a']} called {event['a_members']:,} members, "
            f"{event['a_turnout']:,} showed up; {event['b']} called {event['b_members']:,}, "
            f"{event['b_turnout']:,} showed up. Winner: {event['winner']}."
        )
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
        org = model.focus_org
        runs = f" {org.name} runs {org.strategy.name}: {org.strategy.summary}." if org is not None else ""
        if model.steps == 0:
            return (
                "**Nothing has happened yet.** Everyone is consuming (grey dots). Press **Step** a few "
                "times: the crowd stays quiet. Then press **Viral moment** and **\u25b6** (Play)." + runs
            )
        return (
            f"**A quiet crowd.** {now:.0%} do more than consume; a few people come and go (churn). "
            "Peers pull each other up only when enough neighbours are above them. Press **Viral moment**."
            + runs
        )
    last = model.events[-1]
    kind = last["kind"]
    start = last["step"]
    after = active[start:] if start < active.size else active[-1:]
    peak = float(after.max()) if after.size else now
    peak_step = start + int(after.argmax()) if after.size else model.steps
    if kind == "viral_moment":
        if now >= 0.9 * peak and model.steps - peak_step <= 1:
            return (
                "**A surge is spreading.** Dark dots appear next to dark dots: people climb when enough "
                "neighbours are above them, so the surge travels along ties. \u201cIt\u2019s most "
                f"forceful when it surges.\u201d Now {now:.0%} take part."
            )
        if now >= 0.9 * peak:
            return (
                f"**At its peak:** {now:.0%} take part (top: {peak:.0%} at step {peak_step}). Watch the "
                f"desertion bars: the people who give most feel what {focus} takes."
            )
        return (
            f"**Now it fades.** The surge peaked at {peak:.0%} (step {peak_step}); now {now:.0%}. "
            "Commitment drains and members leave. \u201cNew power is fast\u2014but it is also "
            "fickle.\u201d Try: another Fickleness, Reset, same viral moment."
        )
    if kind == "fee_hike":
        return (
            f"**{focus} became \u201cthe Man\u201d:** it takes {last['take_rate_after']:.0%} of what its "
            "community creates. Watch the desertion bars: each exit pushes the leaver's neighbours, so "
            "exits come in a cascade. The most active are hurt most."
        )
    if kind == "leak":
        return (
            f"**A leak.** \u201cEvery organization is only a leak or a tweet away\u201d from exposure. "
            f"{focus}'s members now see its values gap: grievance rises, legitimacy falls."
        )
    if kind == "rival_entry":
        return (
            f"**{last['name']} entered** as a Crowd (see the compass). Members who leave {focus} can now "
            "go to a better-aligned rival instead of to no one: watch the community lines."
        )
    if kind == "campaign":
        return (
            f"**\u201cWho will really show up for you?\u201d** {last['winner']} won. Stock buys "
            "lobbyists; members who take part turn out as citizens, consumers stay home."
        )
    return describe_event(last)
