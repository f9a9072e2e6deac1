"""Human-chosen participants: decisions taken from outside the model (participatory simulation).

In class mode (``newpower class``) a student *is* a participant: for one step, the student's
choice replaces the model's climbing, slipping, leaving and joining rules for that participant
only; everyone else follows the rules. This is HubNet's design (Wilensky & Stroup 1999): people
and simulated agents act in the same world under the same constraints. The model tells which
choices it allows (:func:`allowed`), so a page can offer only those and a server can refuse others.

What a choice does (docs/ODD.md 7.21):

* ``CLIMB`` one rung, never above the cap of one's organization's model (or the crowd's cap);
* ``STAY`` on one's rung (at most the cap, if the organization lowered it);
* ``SLIP`` one rung down;
* ``LEAVE`` one's organization, to no organization (a member only);
* ``JOIN_RIVAL``: move to the best-aligned organization other than one's own (for a member, a
  rival: allowed only once there is one; for the unaffiliated, any organization).

Commitment and grievance then follow the rules from the chosen level (``rules.chosen``). The
step's random numbers are drawn for everyone as usual, whether chosen or not, so students never
shift the simulated crowd's stream.
"""

from __future__ import annotations

import enum

import numpy as np

from sim.model import rules


class Choice(enum.StrEnum):
    """What a human-chosen participant may do in one step."""

    CLIMB = "climb"
    STAY = "stay"
    SLIP = "slip"
    LEAVE = "leave"
    JOIN_RIVAL = "join_rival"

    @classmethod
    def parse(cls, value: Choice | str) -> Choice:
        """A choice from itself or its name (``"climb"``, ``"CLIMB"``); ``ValueError`` otherwise."""
        if isinstance(value, Choice):
            return value
        text = str(value).strip().lower()
        for choice in cls:
            if choice.value == text:
                return choice
        raise ValueError(f"unknown choice {value!r}; allowed: {', '.join(c.value for c in cls)}")


#: Choices that change one's organization (the model moves the participant after the update).
MOVES = (Choice.LEAVE, Choice.JOIN_RIVAL)


def allowed(level: int, group: int, cap: int, n_organizations: int) -> tuple[Choice, ...]:
    """The choices open to a participant at ``level`` in ``group`` (0: none) under ``cap``.

    ``n_organizations``: how many organizations exist now (a rival exists when a member's
    organization is not the only one).
    """
    out = []
    if level < cap:
        out.append(Choice.CLIMB)
    out.append(Choice.STAY)
    if level > 0:
        out.append(Choice.SLIP)
    if group > 0:
        out.append(Choice.LEAVE)
    if n_organizations > (1 if group > 0 else 0):
        out.append(Choice.JOIN_RIVAL)
    return tuple(out)


def chosen_level(choice: Choice, level, cap):
    """The level a choice leads to from ``level`` (same integer type), within ``[0, cap]``."""
    if choice is Choice.CLIMB:
        level = level + 1
    elif choice is Choice.SLIP:
        level = max(level - 1, 0)
    return type(level)(min(level, cap))


def target(values: float, group: int, table: rules.OrgTable) -> int:
    """The organization ``JOIN_RIVAL`` leads to: the best-aligned one other than one's own (0: none)."""
    align = rules.alignment(float(values), table.values[1:])
    if group > 0:
        align[group - 1] = -np.inf
    if not np.isfinite(align).any():
        return 0
    return int(np.argmax(align)) + 1
