"""What a student's and the teacher's screens show: plain data read from the model.

Nothing here changes the model or knows about the web: :class:`~sim.faces.classroom.session.Classroom`
builds these under its lock, and the Solara views only render them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.model.choices import Choice
from sim.vocabulary import ACTIVE_LEVEL, Level


@dataclass(frozen=True)
class Ticket:
    """What a student's browser keeps (a cookie, or the rejoin code written down)."""

    student_id: str
    rejoin_code: str
    participant: int
    nickname: str  # HTML-escaped


@dataclass(frozen=True)
class StudentScreen:
    """Everything a student's phone page shows (plain data)."""

    nickname: str
    round: int
    round_open: bool
    answered: bool
    level: str
    organization: str | None
    neighbours_last_round: dict[str, int]
    offer: str
    take: str
    allowed: tuple[Choice, ...]
    messages: tuple[str, ...]
    version: int


@dataclass(frozen=True)
class StudentRow:
    """One student as the teacher's view lists them."""

    student_id: str
    nickname: str
    participant: int
    answered: bool
    connected: bool
    left: bool
    level: str
    organization: str | None


@dataclass(frozen=True)
class TeacherScreen:
    """What the projected teacher view shows; ``model`` is there for the figures (read it under ``lock``)."""

    round: int
    round_open: bool
    step: int
    join_code: str
    students: tuple[StudentRow, ...]
    answered: int
    counts_by_level: dict[str, int]
    messages: tuple[str, ...]
    security_events: int
    version: int
    model: Any
    lock: Any


def level_name(level: int) -> str:
    """A level as the screens write it: ``"sharing"``, ``"co-owning"``."""
    return Level(int(level)).name.lower().replace("_", "-")


@dataclass(frozen=True)
class Neighbourhood:
    """What a participant can see of its neighbours now (the state after the last step)."""

    degree: int
    above: int  # neighbours above one's level: what the climbing rule counts
    climbed: int  # neighbours who climbed in the last step
    left: int  # neighbours who left an organization in the last step
    by_level: dict[str, int]

    def as_counts(self) -> dict[str, int]:
        """The counts a student's screen shows, by name."""
        return {**self.by_level, "climbed": self.climbed, "left": self.left, "total": self.degree}


def neighbourhood(model, index: int, levels_before: np.ndarray) -> Neighbourhood:
    """Participant ``index``'s neighbours now, against their levels ``levels_before`` the last step."""
    adj, s = model.adjacency, model.state
    nbrs = adj.indices[adj.indptr[index] : adj.indptr[index + 1]]
    levels = s.level[nbrs]
    counts = np.bincount(levels, minlength=len(Level))
    return Neighbourhood(
        degree=int(nbrs.size),
        above=int((levels > s.level[index]).sum()),
        climbed=int((levels > levels_before[nbrs]).sum()),
        left=int((s.left[nbrs] > 0).sum()),
        by_level={level_name(lv): int(counts[lv]) for lv in Level},
    )


def offer_and_take(model, index: int) -> tuple[str, str]:
    """What the participant's organization offers and takes, in words."""
    org = model.organization_of_group(int(model.state.group[index]))
    mine = float(model.state.values[index])
    if org is None:
        cap = level_name(model.unaffiliated_cap)
        return (
            f"You belong to no organization: on your own you can go up to {cap}.",
            "Nothing is taken from you.",
        )
    offer = (
        f"{org.name} lets you go up to {level_name(org.max_level)}. Its values: {org.values:.1f}; "
        f"yours: {mine:.1f} (0 old power, 1 new power)."
    )
    take = f"{org.name} takes {org.take_rate:.0%} of the value you create."
    if org.exposure > 0.05:
        take += " A leak showed what it keeps from you."
    return offer, take


def counts_by_level(model) -> dict[str, int]:
    """How many participants are at each level now, and how many are active."""
    counts = {level_name(lv): int(model.level_counts[lv]) for lv in Level}
    counts["active"] = int(model.level_counts[ACTIVE_LEVEL:].sum())
    return counts
