"""The agents: participants in the crowd, and the organizations they join.

A ``Participant`` is a Mesa ``CellAgent`` on the social network. Its state is a
row of the model's arrays (so the vectorized driver can update everyone at
once); its ``step()`` is the per-agent reference driver: the participant phase
(``rules.PARTICIPANT_PHASES``) for one participant, counting its neighbours one
by one. Organizations (``Institution``, ``Platform``) are plain Mesa agents
holding their levers, stock, current and legitimacy; their accounting applies
the organization rules of ``rules.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa import Agent
from mesa.discrete_space import CellAgent

from sim.model import kernels, rules
from sim.model.levers import LEVER_NAMES, Levers, Observation
from sim.vocabulary import ACTIVE_LEVEL, Level, OrgKind, Quadrant, enabled_level

if TYPE_CHECKING:
    from sim.model.power_model import PowerModel
    from sim.model.strategies import Strategy


class Participant(CellAgent):
    """A person in the crowd, on one node of the social graph.

    Attributes read and write the model's arrays at ``index``; the agent owns no
    random generator and draws nothing itself: its uniforms for this step are
    ``model.climb_draws[index]`` and its column of ``model.join_draws``, the same
    numbers the vectorized driver uses.
    """

    def __init__(self, model: PowerModel, index: int, cell) -> None:
        super().__init__(model)
        self.index = index
        self.cell = cell

    # ---- state, as views on the model's arrays
    @property
    def level(self) -> Level:
        """Current rung on the participation scale."""
        return Level(int(self.model.state.level[self.index]))

    @property
    def organization(self) -> Organization | None:
        """The organization this participant belongs to, if any."""
        return self.model.organization_of_group(int(self.model.state.group[self.index]))

    @property
    def values(self) -> float:
        """Values orientation, 0 old power .. 1 new power."""
        return float(self.model.state.values[self.index])

    @property
    def commitment(self) -> float:
        """Commitment in [0, 1]."""
        return float(self.model.state.commitment[self.index])

    @property
    def grievance(self) -> float:
        """Grievance in [0, 1]."""
        return float(self.model.state.grievance[self.index])

    @property
    def threshold(self) -> float:
        """Personal threshold for following peers."""
        return float(self.model.state.threshold[self.index])

    # ---- the step: the participant phase, for this one participant
    def step(self) -> None:
        """The participant phase (``rules.PARTICIPANT_PHASES``) for this one participant.

        It reads everyone's previous state (synchronous update) and writes only its own row;
        leaving and joining go through the model, as in the vectorized driver.
        """
        seen = self.perceive()
        view = self.view()
        new = self.update(seen, view)
        if self.index in self.model.choices:  # human-chosen: its choice moves it, not the rules
            self.model.follow_choices(np.array([self.index]))
        elif new.leave:
            self.model.leave(np.array([self.index]), view.align)
        elif self.model.prev.group[self.index] == 0:  # only the unaffiliated at the start may join
            self.model.join(self.model.join_slot(self.index))

    def perceive(self) -> rules.Perceived:
        """Count neighbours in the previous state: above my level, who just left my group, active in it."""
        prev, i = self.model.prev, self.index
        level, group = prev.level[i], prev.group[i]
        above = exited = peers = 0
        for other in self.cell.neighborhood.agents:
            j = other.index
            above += prev.level[j] > level
            exited += (prev.left[j] == group) & (group > 0)
            peers += (prev.group[j] == group) & (prev.level[j] >= ACTIVE_LEVEL)
        degree = np.int64(max(len(self.cell.connections), 1))  # isolated: count 0 over 1
        return rules.Perceived(
            above=rules.share(np.int64(above), degree),
            exited=rules.share(np.int64(exited), degree),
            peers=rules.share(np.int64(peers), degree),
        )

    def view(self) -> rules.MemberView:
        """What I see of my organization's levers (from the previous step)."""
        prev, i = self.model.prev, self.index
        return rules.member_view(prev.group[i], prev.values[i], self.model.table)

    def update(self, seen: rules.Perceived, view: rules.MemberView) -> rules.Updated:
        """Climb, renew, slip and aggrieve (``rules.update``, compiled), write my new row, and say if I leave."""
        model, i = self.model, self.index
        prev, s = model.prev, model.state
        new = kernels.update_one(
            prev.level[i],
            prev.highest[i],
            prev.commitment[i],
            prev.grievance[i],
            prev.threshold[i],
            prev.propensity[i],
            model.fade[i],
            prev.group[i] > 0,
            seen,
            view,
            model.climb_draws[i],
            model.params,
        )
        if i in model.choices:  # human-chosen: the rules above still ran, as for everyone
            new = model.chosen_update(i, seen, view)
        s.level[i], s.highest[i] = new.level, new.highest
        s.commitment[i], s.grievance[i] = new.commitment, new.grievance
        return new


class Organization(Agent):
    """An institution or platform: a position on the compass, old-power stock, new-power current.

    Its levers (:class:`~sim.model.levers.Levers`) are what its strategy may change;
    everything else (stock, current, legitimacy, exposure, its community) is
    the outcome of the dynamics.
    """

    kind: OrgKind

    def __init__(self, model: PowerModel, spec, group: int, strategy: Strategy) -> None:
        super().__init__(model)
        self.name = spec.name
        self.group = group
        self.strategy = strategy
        # levers
        self.openness = spec.openness
        self.values = spec.values
        self.max_level = Level.parse(spec.max_level) if spec.max_level else enabled_level(spec.openness)
        self.transparency = spec.transparency
        self.take_rate = spec.take_rate
        self.outreach = spec.outreach
        self.ads = spec.ads
        self.mobilization = spec.mobilization
        self.structure = spec.structure
        # outcomes
        self.stock = spec.stock
        self.legitimacy = spec.legitimacy
        self.exposure = 0.0
        self.ads_history = 0.0
        self.current = 0.0
        self.funded = 1.0
        self.n_members = self.n_active = self.n_joins = self.n_exits = self.peak_members = 0
        self.level_sum = self.grievance_sum = self.participation_sum = 0.0

    @property
    def quadrant(self) -> Quadrant:
        """Where it sits on the New Power Compass."""
        return Quadrant.of(self.openness, self.values)

    @property
    def mean_level(self) -> float:
        """Members' mean participation level (0 with no members)."""
        return self.level_sum / self.n_members if self.n_members else 0.0

    @property
    def mean_grievance(self) -> float:
        """Members' mean grievance (0 with no members)."""
        return self.grievance_sum / self.n_members if self.n_members else 0.0

    @property
    def visibility(self) -> float:
        """Share of its values gap its members can see."""
        return float(rules.visibility(self.transparency, self.exposure))

    @property
    def levers(self) -> Levers:
        """A snapshot of what it controls."""
        return Levers(**{name: getattr(self, name) for name in LEVER_NAMES})

    def observe(self) -> Observation:
        """What it can see of itself and its community (as of the last tally)."""
        return Observation(
            step=self.model.steps,
            n_participants=self.model.n_participants,
            n_members=self.n_members,
            n_active=self.n_active,
            peak_members=self.peak_members,
            mean_level=self.mean_level,
            mean_grievance=self.mean_grievance,
            community_values=self.model.community_values(self),
            joins=self.n_joins,
            exits=self.n_exits,
            stock=self.stock,
            current=self.current,
            legitimacy=self.legitimacy,
        )

    def apply_levers(self, levers: Levers) -> None:
        """Set new levers (clipped to their bounds) and pay for reforms out of stock.

        A reform it cannot afford goes only as far as its stock pays for.
        """
        before, levers = self.levers, levers.clipped()
        cost = rules.reform_cost(before, levers, self.model.dynamics)
        if cost > self.stock:
            levers = rules.partial_reform(before, levers, self.stock / cost)
            cost = self.stock
        for name in LEVER_NAMES:
            setattr(self, name, getattr(levers, name))
        self.stock = max(0.0, self.stock - cost)

    def run_strategy(self) -> None:
        """Let its strategy choose this step's levers."""
        self.apply_levers(self.strategy.decide(self.levers, self.observe()))

    def step(self) -> None:
        """Earn and spend stock, let legitimacy track contentment, let exposure fade (``rules.py``)."""
        p = self.model.dynamics
        revenue = rules.revenue(
            self.take_rate,
            self.structure,
            self.n_members,
            self.level_sum,
            self.current,
            self.model.n_participants,
            p,
        )
        spending = rules.spending(self.outreach, self.ads, self.mobilization, p)
        self.stock, self.funded = rules.update_stock(self.stock, revenue, spending, p.stock_decay)
        if self.n_members:
            self.legitimacy = float(
                rules.update_legitimacy(self.legitimacy, 1.0 - self.mean_grievance, p.legitimacy_rate)
            )
        self.exposure = rules.fade_exposure(self.exposure, p)
        self.ads_history = rules.track_ads(self.ads_history, self.ads, self.funded, p)


class Institution(Organization):
    """Old power: "a currency held by few"; power from what it owns, knows or controls."""

    kind = OrgKind.INSTITUTION


class Platform(Organization):
    """New power: "a current made by many"; "without participation they are just empty vessels"."""

    kind = OrgKind.PLATFORM
