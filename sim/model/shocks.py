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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from sim.config.spec import Registry, build, param
from sim.errors import ScenarioError, SimError
from sim.model import rules
from sim.model.population import choose_participants
from sim.vocabulary import ACTIVE_LEVEL, Level, OrgKind

if TYPE_CHECKING:
    from sim.model.power_model import PowerModel

#: Every shock by kind; add one with the ``@register`` class decorator.
SHOCKS = Registry("shock", "kind")


class Shock:
    """An event that changes state once when applied. Subclasses are dataclasses."""

    kind: ClassVar[str] = ""
    summary: ClassVar[str] = ""

    def apply(self, model: PowerModel) -> dict[str, Any]:
        """Change the model's state; return a small record of what happened."""
        raise NotImplementedError


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
        s.commitment[chosen] = 1.0
        return {"participants": int(k), "level": self.level}


@register
@dataclass
class RivalEntry(Shock):
    """A new platform enters at a given compass position ("alternative social networks promising
    to honor new power values")."""

    kind: ClassVar[str] = "rival_entry"
    summary: ClassVar[str] = "a new platform enters at a given compass position"
    name: str = param("Rival", doc="the newcomer's name")
    org_kind: str = param("platform", choices=tuple(k.value for k in OrgKind), doc="institution or platform")
    openness: float = param(0.85, 0.0, 1.0, doc="its model axis")
    values: float = param(0.85, 0.0, 1.0, doc="its values axis")
    stock: float = param(0.1, 0.0, 1e9, doc="its starting stock")
    take_rate: float = param(0.05, 0.0, 1.0, doc="share of value it takes")
    transparency: float = param(0.8, 0.0, 1.0, doc="its transparency")
    outreach: float = param(0.02, 0.0, 1.0, doc="its outreach")
    strategy: str = param("", doc="the policy it runs: registered name or module:Class (empty: the default)")

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


@register
@dataclass
class FeeHike(Shock):
    """The value an organization takes from its community rises (Uber and its drivers)."""

    kind: ClassVar[str] = "fee_hike"
    summary: ClassVar[str] = "the share of value an organization takes rises"
    target: str = param("", doc="the organization")
    size: float = param(0.1, 0.0, 1.0, doc="added to its take rate")

    def apply(self, model: PowerModel) -> dict[str, Any]:
        """Raise the target's take rate by ``size`` (at most 1)."""
        org = _organization(model, self.target, self.kind)
        before = org.take_rate
        org.take_rate = min(1.0, org.take_rate + self.size)
        return {"target": org.name, "take_rate_before": before, "take_rate_after": org.take_rate}


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
