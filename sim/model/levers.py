"""What an organization controls (levers) and what it can see (observation).

A strategy is a function from (levers, observation) to new levers. It never
receives the organization itself, so it cannot touch stock, legitimacy,
members or anything else the dynamics decide: that is how "strategies act
only by changing an organization's state" is enforced, not just promised.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sim.vocabulary import TOP_LEVEL, Level


@dataclass(frozen=True)
class Levers:
    """The organization's choices; every field is bounded and clipped on apply.

    Attributes:
        openness: model axis of the compass, 0 closed .. 1 open.
        values: values axis, 0 old power .. 1 new power.
        max_level: highest participation level its model enables.
        transparency: how much of its values gap members can see, 0..1.
        take_rate: share of the value its community creates that it takes, 0..1.
        outreach: chance per step of reaching an unaffiliated participant, 0..1 (costs stock).
        ads: paid reach that recruits without commitment ("astroturfing"), 0..1 (costs stock).
        mobilization: investment in moving members up the scale, 0..1 (costs stock).
        structure: share of its current converted into lasting stock each step, 0..1.
    """

    openness: float
    values: float
    max_level: Level
    transparency: float
    take_rate: float
    outreach: float = 0.0
    ads: float = 0.0
    mobilization: float = 0.0
    structure: float = 0.0

    def replace(self, **changes) -> Levers:
        """A copy with some levers changed."""
        return dataclasses.replace(self, **changes)

    def clipped(self) -> Levers:
        """Every lever within its bounds (strategies may overshoot; the world does not)."""
        unit = {
            f.name: min(1.0, max(0.0, float(getattr(self, f.name))))
            for f in dataclasses.fields(self)
            if f.name != "max_level"
        }
        level = Level(min(TOP_LEVEL, max(int(Level.CONSUMING), int(self.max_level))))
        return Levers(max_level=level, **unit)


LEVER_NAMES = tuple(f.name for f in dataclasses.fields(Levers))


@dataclass(frozen=True)
class Observation:
    """What an organization can observe about itself and its community at a step.

    Attributes:
        step: the current step.
        n_participants: the population size.
        n_members: its community's size.
        n_active: members at SHARING or above.
        peak_members: the largest community it has had.
        mean_level: members' mean participation level (0 .. ``TOP_LEVEL``).
        mean_grievance: members' mean grievance.
        community_values: members' mean values orientation (its own values if it has none).
        joins: members who joined in the last step.
        exits: members who left in the last step.
        stock: its old-power stock.
        current: its new-power current.
        legitimacy: its legitimacy.
    """

    step: int
    n_participants: int
    n_members: int
    n_active: int
    peak_members: int
    mean_level: float
    mean_grievance: float
    community_values: float
    joins: int
    exits: int
    stock: float
    current: float
    legitimacy: float
