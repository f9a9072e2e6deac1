"""Shocks: events that hit a run, scheduled in a scenario or fired live from code.

Each shock is a dataclass with its parameters as :func:`~sim.config.spec.param`
fields and an ``apply(model)`` method that changes state (participants'
levels or grievance, an organization's exposure or take rate, a new rival)
and nothing else; what follows is up to the dynamics. Register a new kind
with :func:`register`.

Scheduled in a scenario::

    [[shocks]]
    kind = "fee_hike"
    step = 50          # first step it fires at
    every = 0          # repeat period in steps (0 = once)
    target = "Uber"
    size = 0.15

Fired live: ``model.fire(make_shock("leak", target="Gazette"))``.

Each kind also describes itself, so adding one touches this file (and docs/ODD.md) only:
its :class:`Reach` says which of its fields name organizations and whether it adds one
(read by validation, :mod:`sim.model.catalog`), and its :class:`Button` with the
``page_*`` class methods say how the teaching page offers it, fills its parameters from
the page's focus organization, and tells the class what happened (read by
:mod:`sim.faces.teaching.lesson`; the page shows buttons in the order kinds are registered).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from sim.config.spec import MAX_NAME, Registry, build, param
from sim.errors import ScenarioError, SimError
from sim.model import rules
from sim.model.population import choose_participants
from sim.vocabulary import ACTIVE_LEVEL, Level, OrgKind

if TYPE_CHECKING:
    from sim.model.power_model import PowerModel

#: Every shock by kind; add one with the ``@register`` class decorator.
SHOCKS = Registry("shock", "kind")


@dataclass(frozen=True)
class Reach:
    """Which organizations a shock kind refers to; validation reads it (:mod:`sim.model.catalog`).

    Attributes:
        names: fields that name an organization, which must exist when the shock fires.
        optional: of those, fields that may be "" (no organization in particular).
        distinct: whether the organizations it names must be different ones.
        adds: the field holding the name of an organization the shock adds ("": adds none).
        strategy: the field naming the added organization's strategy ("": none).
    """

    names: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    distinct: bool = False
    adds: str = ""
    strategy: str = ""


@dataclass(frozen=True)
class Button:
    """A shock kind's button on the teaching page.

    Attributes:
        label: the button's text.
        colour: its colour (CSS).
        needs_focus: whether it aims at the page's focus organization (disabled without one).
        needs_rival: whether it also needs a second organization (a campaign's other side).
    """

    label: str
    colour: str
    needs_focus: bool = True
    needs_rival: bool = False


@dataclass(frozen=True)
class Aim:
    """What a page button aims a shock at."""

    model: PowerModel
    focus: str  # the page's focus organization ("" if the scenario has none)
    other: str  # the largest other organization ("" if there is none)


class Phase(Enum):
    """Where participation stands since the last shock, as the page tells it."""

    RISING = "rising"  # near its highest since the shock, reached a step ago at most
    PEAK = "peak"  # near its highest, reached earlier
    FADING = "fading"  # well below its highest since the shock


@dataclass(frozen=True)
class Aftermath:
    """What the page knows when it tells the class what to notice after a shock."""

    event: Mapping[str, Any]  # the model's record of the shock, with its step and kind
    focus: str  # the focus organization's name, or "the organization"
    now: float  # the share of participants active now
    peak: float  # the highest share since the shock
    peak_step: int  # when it was reached
    phase: Phase


class Shock:
    """An event that changes state once when applied. Subclasses are dataclasses.

    Attributes:
        kind: the registered snake_case name.
        summary: one line for ``newpower list``.
        reach: the organizations it names or adds (for validation).
        button: its teaching-page button (None: the page does not offer it).
    """

    kind: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    reach: ClassVar[Reach] = Reach()
    button: ClassVar[Button | None] = None

    def apply(self, model: PowerModel) -> dict[str, Any]:
        """Change the model's state; return a small record of what happened."""
        raise NotImplementedError

    @classmethod
    def page_params(cls, aim: Aim) -> dict[str, Any]:
        """The parameters its page button fires it with (kinds with a button define it)."""
        raise NotImplementedError(f"shock kind {cls.kind!r} has no page button")

    @classmethod
    def page_event(cls, event: Mapping[str, Any]) -> str:
        """One line about a fired shock, for the class."""
        return f"{event.get('kind', cls.kind)} at step {event.get('step', '?')}."

    @classmethod
    def page_notice(cls, after: Aftermath) -> str:
        """A few sentences (Markdown) on what the class should look at after it."""
        return cls.page_event(after.event)


register = SHOCKS.register


def make_shock(
    kind: str,
    params: Mapping[str, Any] | None = None,
    *,
    source: str = "<code>",
    key: str = "shock",
    **kwargs: Any,
) -> Shock:
    """Build a validated shock from its kind and parameters."""
    if kind not in SHOCKS:
        raise ScenarioError(
            "unknown shock kind",
            source=source,
            key=f"{key}.kind",
            value=kind,
            allowed=", ".join(sorted(SHOCKS)),
        )
    return build(SHOCKS[kind], {**dict(params or {}), **kwargs}, source, f"{key}.")


def _organization(model: PowerModel, name: str, kind: str):
    for org in model.organizations:
        if org.name == name:
            return org
    raise SimError(
        f"{kind}: no organization named {name!r}; "
        f"allowed: {', '.join(o.name for o in model.organizations) or '(none)'}"
    )


@register
@dataclass
class ViralMoment(Shock):
    """A set of participants jumps up the scale at once (a trigger for a surge)."""

    kind: ClassVar[str] = "viral_moment"
    summary: ClassVar[str] = "a set of participants jumps up the participation scale"
    n_participants: int = param(50, 1, 10_000_000, doc="how many participants are swept up")
    level: str = param("SHARING", choices=tuple(lv.name for lv in Level), doc="the level they jump to")
    organization: str = param("", doc="draw them among this organization's members (empty: anyone)")
    choose: str = param("random", choices=("random", "hubs"), doc="uniformly at random, or hubs first")
    reach: ClassVar[Reach] = Reach(names=("organization",), optional=("organization",))
    button: ClassVar[Button] = Button("Viral moment", "#6a1b9a", needs_focus=False)

    def apply(self, model: PowerModel) -> dict[str, Any]:
        """Raise the chosen participants to ``level`` (never lower) with full commitment."""
        s = model.state
        pool = (
            np.flatnonzero(s.group == _organization(model, self.organization, self.kind).group)
            if self.organization
            else np.arange(s.size)
        )
        chosen = choose_participants(pool, self.n_participants, self.choose, model.counter.degree, model.rng)
        k = chosen.size
        cap = model.table.max_level[s.group[chosen]]  # never above what their model enables
        s.level[chosen] = np.maximum(s.level[chosen], np.minimum(int(Level.parse(self.level)), cap))
        s.highest[chosen] = np.maximum(s.highest[chosen], s.level[chosen])
        s.commitment[chosen] = 1.0
        return {"participants": int(k), "level": self.level}

    @classmethod
    def page_params(cls, aim: Aim) -> dict[str, Any]:
        """5% of the network (at least 20 people) up to funding, among the focus organization's members."""
        return {
            "n_participants": max(20, aim.model.n_participants // 20),
            "level": "FUNDING",
            "organization": aim.focus,
        }

    @classmethod
    def page_event(cls, event: Mapping[str, Any]) -> str:
        """How many jumped, and to what level."""
        return (
            f"Viral moment at step {event['step']}: {event['participants']} people jumped to "
            f"{event['level'].lower()}."
        )

    @classmethod
    def page_notice(cls, after: Aftermath) -> str:
        """A surge spreads along ties, peaks, and fades."""
        if after.phase is Phase.RISING:
            return (
                "**A surge is spreading.** Dark dots appear next to dark dots: people climb when enough "
                "neighbours are above them, so the surge travels along ties. \u201cIt\u2019s most "
                f"forceful when it surges.\u201d Now {after.now:.0%} take part."
            )
        if after.phase is Phase.PEAK:
            return (
                f"**At its peak:** {after.now:.0%} take part (top: {after.peak:.0%} at step {after.peak_step}). "
                f"Watch the desertion bars: the people who give most feel what {after.focus} takes."
            )
        return (
            f"**Now it fades.** The surge peaked at {after.peak:.0%} (step {after.peak_step}); now "
            f"{after.now:.0%}. Commitment drains and members leave. \u201cNew power is fast\u2014but it is "
            "also fickle.\u201d Try: another Fickleness, Reset, same viral moment."
        )


@register
@dataclass
class Leak(Shock):
    """Reveals an organization's values gap: "only a leak or a tweet away".

    Members' grievance jumps by ``severity`` times their values gap times the
    share of it that was hidden (1 - transparency), plus any paid reach it had
    passed off as participation; legitimacy falls by the members' mean jump.
    Exposure is set to 1, so members see the whole gap until it fades.
    """

    kind: ClassVar[str] = "leak"
    summary: ClassVar[str] = "reveals an organization's values gap; opaque ones are hurt more"
    target: str = param("", doc="the organization exposed")
    severity: float = param(1.0, 0.0, 10.0, doc="how damaging the revelation is")
    reach: ClassVar[Reach] = Reach(names=("target",))
    button: ClassVar[Button] = Button("Leak", "#37474f")

    def apply(self, model: PowerModel) -> dict[str, Any]:
        """Raise members' grievance and cut legitimacy in proportion to the hidden gap."""
        org = _organization(model, self.target, self.kind)
        s = model.state
        members = np.flatnonzero(s.group == org.group)
        hidden = 1.0 - org.transparency
        jump = self.severity * (np.abs(s.values[members] - org.values) * hidden + org.ads_history)
        s.grievance[members] = np.clip(s.grievance[members] + jump, 0.0, 1.0)
        mean_jump = float(jump.mean()) if members.size else 0.0
        org.legitimacy = float(np.clip(org.legitimacy - mean_jump, 0.0, 1.0))
        org.exposure = 1.0
        return {"target": org.name, "members": int(members.size), "mean_grievance_jump": mean_jump}

    @classmethod
    def page_params(cls, aim: Aim) -> dict[str, Any]:
        """Expose the focus organization."""
        return {"target": aim.focus, "severity": 1.0}

    @classmethod
    def page_event(cls, event: Mapping[str, Any]) -> str:
        """Whose members saw the gap, and how much their grievance rose."""
        return (
            f"Leak at step {event['step']}: {event['target']}'s {event['members']:,} members saw its values gap "
            f"(grievance +{event['mean_grievance_jump']:.2f} on average)."
        )

    @classmethod
    def page_notice(cls, after: Aftermath) -> str:
        """Exposure: grievance rises, legitimacy falls."""
        return (
            f"**A leak.** \u201cEvery organization is only a leak or a tweet away\u201d from exposure. "
            f"{after.focus}'s members now see its values gap: grievance rises, legitimacy falls."
        )


@register
@dataclass
class RivalEntry(Shock):
    """A new platform enters at a given compass position ("alternative social networks promising
    to honor new power values")."""

    kind: ClassVar[str] = "rival_entry"
    summary: ClassVar[str] = "a new platform enters at a given compass position"
    name: str = param("Rival", max_len=MAX_NAME, doc=f"the newcomer's name (at most {MAX_NAME} characters)")
    org_kind: str = param("platform", choices=tuple(k.value for k in OrgKind), doc="institution or platform")
    openness: float = param(0.85, 0.0, 1.0, doc="its model axis")
    values: float = param(0.85, 0.0, 1.0, doc="its values axis")
    stock: float = param(0.1, 0.0, 1e9, doc="its starting stock")
    take_rate: float = param(0.05, 0.0, 1.0, doc="share of value it takes")
    transparency: float = param(0.8, 0.0, 1.0, doc="its transparency")
    outreach: float = param(0.02, 0.0, 1.0, doc="its outreach")
    strategy: str = param("", doc="the policy it runs: registered name or module:Class (empty: the default)")
    reach: ClassVar[Reach] = Reach(adds="name", strategy="strategy")
    button: ClassVar[Button] = Button("Rival enters", "#00796b", needs_focus=False)

    def apply(self, model: PowerModel) -> dict[str, Any]:
        """Add the organization to the world with no members yet."""
        from sim.config.scenario import OrganizationSpec

        if any(o.name == self.name for o in model.organizations):
            raise SimError(f"{self.kind}: an organization named {self.name!r} already exists")
        chosen = {"strategy": self.strategy} if self.strategy else {}
        spec = OrganizationSpec(
            name=self.name,
            kind=self.org_kind,
            openness=self.openness,
            values=self.values,
            stock=self.stock,
            take_rate=self.take_rate,
            transparency=self.transparency,
            outreach=self.outreach,
            **chosen,
        )
        model.add_organization(spec)
        return {"name": self.name, "openness": self.openness, "values": self.values}

    @classmethod
    def page_params(cls, aim: Aim) -> dict[str, Any]:
        """A Crowd called Rival (then Rival 2, Rival 3, ...: the first name not taken)."""
        taken = {o.name for o in aim.model.organizations}
        number = 1
        name = "Rival"
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

    @classmethod
    def page_event(cls, event: Mapping[str, Any]) -> str:
        """Who entered, where on the compass."""
        return (
            f"{event['name']} entered at step {event['step']} "
            f"(values {event['values']:.2f}, model {event['openness']:.2f})."
        )

    @classmethod
    def page_notice(cls, after: Aftermath) -> str:
        """Leavers now have somewhere to go."""
        return (
            f"**{after.event['name']} entered** as a Crowd (see the compass). Members who leave "
            f"{after.focus} can now go to a better-aligned rival instead of to no one: watch the "
            "community lines."
        )


@register
@dataclass
class FeeHike(Shock):
    """The value an organization takes from its community rises (Uber and its drivers)."""

    kind: ClassVar[str] = "fee_hike"
    summary: ClassVar[str] = "the share of value an organization takes rises"
    target: str = param("", doc="the organization")
    size: float = param(0.1, 0.0, 1.0, doc="added to its take rate")
    reach: ClassVar[Reach] = Reach(names=("target",))
    button: ClassVar[Button] = Button("Fee hike", "#c62828")

    def apply(self, model: PowerModel) -> dict[str, Any]:
        """Raise the target's take rate by ``size`` (at most 1)."""
        org = _organization(model, self.target, self.kind)
        before = org.take_rate
        org.take_rate = min(1.0, org.take_rate + self.size)
        return {"target": org.name, "take_rate_before": before, "take_rate_after": org.take_rate}

    @classmethod
    def page_params(cls, aim: Aim) -> dict[str, Any]:
        """The focus organization takes 15 points more."""
        return {"target": aim.focus, "size": 0.15}

    @classmethod
    def page_event(cls, event: Mapping[str, Any]) -> str:
        """The take rate before and after."""
        return (
            f"Fee hike at step {event['step']}: {event['target']} now takes {event['take_rate_after']:.0%} "
            f"(was {event['take_rate_before']:.0%})."
        )

    @classmethod
    def page_notice(cls, after: Aftermath) -> str:
        """Becoming the Man sets off a desertion cascade."""
        return (
            f"**{after.focus} became \u201cthe Man\u201d:** it takes {after.event['take_rate_after']:.0%} of "
            "what its community creates. Watch the desertion bars: each exit pushes the leaver's "
            "neighbours, so exits come in a cascade. The most active are hurt most."
        )


@register
@dataclass
class Campaign(Shock):
    """Two organizations call their communities to act on one issue: "who will really show up for you?"

    Each side commits a share of its stock (its lobbyists) and calls its
    members (its army of citizens). Each member shows up with probability
    (level / 5) x commitment x alignment; the decision-making structure weighs
    stock spent against turnout (``dynamics.lobby_weight``, ``turnout_weight``).
    The winner gains legitimacy; those who showed up renew their commitment.
    """

    kind: ClassVar[str] = "campaign"
    summary: ClassVar[str] = "two organizations call their communities to act: lobbyists against citizens"
    side_a: str = param("", doc="first organization")
    side_b: str = param("", doc="second organization")
    issue: str = param("the issue", doc="a label for the record")
    stake: float = param(0.2, 0.0, 1.0, doc="share of its stock each side spends")
    reach: ClassVar[Reach] = Reach(names=("side_a", "side_b"), distinct=True)
    button: ClassVar[Button] = Button("Campaign", "#1565c0", needs_rival=True)

    def apply(self, model: PowerModel) -> dict[str, Any]:
        """Run the contest, apply its effects, record it in ``model.campaigns``."""
        p, s = model.dynamics, model.state
        sides = [_organization(model, name, self.kind) for name in (self.side_a, self.side_b)]
        record: dict[str, Any] = {"step": model.steps, "issue": self.issue}
        forces = []
        for label, org in zip(("a", "b"), sides, strict=True):
            members = np.flatnonzero(s.group == org.group)
            chance = rules.turnout_prob(
                s.level[members], s.commitment[members], rules.alignment(s.values[members], org.values)
            )
            showed = members[model.rng.random(members.size) < chance]
            spent = self.stake * org.stock
            org.stock -= spent
            force = rules.campaign_force(spent, showed.size / model.n_participants, p)
            s.commitment[showed] = rules.renew(s.commitment[showed], s.level[showed], 1.0, 0.0, 1.0, 0.0, p)
            forces.append(force)
            record.update(
                {
                    f"{label}": org.name,
                    f"{label}_members": int(members.size),
                    f"{label}_active": int((s.level[members] >= ACTIVE_LEVEL).sum()),
                    f"{label}_turnout": int(showed.size),
                    f"{label}_stock_spent": float(spent),
                    f"{label}_force": float(force),
                }
            )
        winner = sides[0] if forces[0] >= forces[1] else sides[1]
        winner.legitimacy = min(1.0, winner.legitimacy + p.campaign_legitimacy)
        record["winner"] = winner.name
        model.campaigns.append(record)
        return record

    @classmethod
    def page_params(cls, aim: Aim) -> dict[str, Any]:
        """The focus organization against the largest other one."""
        return {"side_a": aim.focus, "side_b": aim.other, "issue": "the class vote", "stake": 0.2}

    @classmethod
    def page_event(cls, event: Mapping[str, Any]) -> str:
        """Who was called, who showed up, who won."""
        return (
            f"Campaign at step {event['step']}: {event['a']} called {event['a_members']:,} members, "
            f"{event['a_turnout']:,} showed up; {event['b']} called {event['b_members']:,}, "
            f"{event['b_turnout']:,} showed up. Winner: {event['winner']}."
        )

    @classmethod
    def page_notice(cls, after: Aftermath) -> str:
        """Lobbyists against citizens."""
        return (
            f"**\u201cWho will really show up for you?\u201d** {after.event['winner']} won. Stock buys "
            "lobbyists; members who take part turn out as citizens, consumers stay home."
        )
