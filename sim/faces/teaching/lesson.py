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

from sim.config.scenario import NETWORK_KINDS, Scenario
from sim.errors import ScenarioError
from sim.model.catalog import load_scenario
from sim.model.power_model import PowerModel
from sim.model.shocks import SHOCKS, Aftermath, Aim, Phase, make_shock
from sim.model.strategies import STRATEGIES
from sim.scenarios import LIBRARY

#: The scenario a bare ``newpower ui`` opens.
DEFAULT_SCENARIO = LIBRARY / "teaching_surge.toml"
ENV_SCENARIO = "NEWPOWER_UI_SCENARIO"
ENV_ORGANIZATION = "NEWPOWER_UI_ORGANIZATION"
#: Set to "1" by ``newpower ui --allow-code``: the page may import the strategies the scenario names.
ENV_ALLOW_CODE = "NEWPOWER_UI_ALLOW_CODE"
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


def code_allowed() -> bool:
    """Whether the page was started with ``--allow-code`` (``NEWPOWER_UI_ALLOW_CODE=1``)."""
    return os.environ.get(ENV_ALLOW_CODE, "") == "1"


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
        allow_code: whether strategies named ``"module:Class"`` may be imported (default: as
            ``newpower ui --allow-code`` said, through ``NEWPOWER_UI_ALLOW_CODE``).
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
        allow_code: bool | None = None,
    ) -> None:
        self.lock = threading.RLock()
        allow = code_allowed() if allow_code is None else allow_code
        base = load_scenario(scenario_file or scenario_path(), allow_code=allow)
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
    """A button that fires a shock at the focus organization (as its kind describes it)."""

    kind: str
    label: str
    colour: str
    needs_focus: bool = True  # aims at the focus organization
    needs_rival: bool = False  # needs a second organization (a campaign's other side)


#: One button per shock kind that describes one, in the order the kinds are registered.
SHOCK_BUTTONS = tuple(
    ShockButton(kind, cls.button.label, cls.button.colour, cls.button.needs_focus, cls.button.needs_rival)
    for kind, cls in SHOCKS.items()
    if cls.button is not None
)


def other_organization(model: TeachingModel):
    """The campaign's other side: the largest organization other than the focus one."""
    others = [o for o in model.organizations if o.name != model.focus]
    return max(others, key=lambda o: (o.n_members, -o.group)) if others else None


def shock_params(model: TeachingModel, kind: str) -> dict[str, Any]:
    """Parameters of a shock fired from the page, sized to the model and aimed at the focus organization."""
    cls = SHOCKS.get(kind)
    if cls is None or cls.button is None:
        allowed = ", ".join(button.kind for button in SHOCK_BUTTONS)
        raise ValueError(f"no page button for shock kind {kind!r}; allowed: {allowed}")
    other = other_organization(model)
    return cls.page_params(Aim(model, model.focus, other.name if other else ""))


def can_fire(model: TeachingModel, button: ShockButton) -> bool:
    """Whether a button can fire now (it may need a focus organization, and a second one)."""
    if button.needs_focus and not model.focus:
        return False
    return not button.needs_rival or other_organization(model) is not None


def fire(model: TeachingModel, kind: str) -> dict[str, Any]:
    """Fire one of the page's shocks now; return the model's record of it."""
    with model.lock:
        params = shock_params(model, kind)
        return model.fire(make_shock(kind, params, source="the teaching page", key=kind))


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
    """One line about a fired shock, for the class (in the words its kind chose)."""
    kind = event.get("kind", "")
    if kind in SHOCKS:
        return SHOCKS[kind].page_event(event)
    return f"{kind} at step {event.get('step', '?')}."


def active_history(model: PowerModel) -> np.ndarray:
    """The share of participants at SHARING or above, one value per recorded step."""
    return np.array([row["active_fraction"] for row in model.recorder.rows])


def notice_text(model: TeachingModel) -> str:
    """A few sentences (Markdown) on what the class should look at right now."""
    if not model.events:
        return _quiet_notice(model)
    after = aftermath(model)
    kind = after.event["kind"]
    return SHOCKS[kind].page_notice(after) if kind in SHOCKS else describe_event(after.event)


def _quiet_notice(model: TeachingModel) -> str:
    """Before any shock: what the crowd does on its own."""
    org = model.focus_org
    runs = f" {org.name} runs {org.strategy.name}: {org.strategy.summary}." if org is not None else ""
    if model.steps == 0:
        return (
            "**Nothing has happened yet.** Everyone is consuming (grey dots). Press **Step** a few "
            "times: the crowd stays quiet. Then press **Viral moment** and **\u25b6** (Play)." + runs
        )
    return (
        f"**A quiet crowd.** {model.active_fraction:.0%} do more than consume; a few people come and go "
        "(churn). Peers pull each other up only when enough neighbours are above them. Press "
        "**Viral moment**." + runs
    )


def aftermath(model: TeachingModel) -> Aftermath:
    """Participation since the last shock: now, its peak, and whether it is rising, at its peak or fading."""
    last = model.events[-1]
    active = active_history(model)
    now = model.active_fraction
    start = last["step"]
    after = active[start:] if start < active.size else active[-1:]
    peak = float(after.max()) if after.size else now
    peak_step = start + int(after.argmax()) if after.size else model.steps
    if now < 0.9 * peak:
        phase = Phase.FADING
    else:
        phase = Phase.RISING if model.steps - peak_step <= 1 else Phase.PEAK
    return Aftermath(last, model.focus or "the organization", now, peak, peak_step, phase)
