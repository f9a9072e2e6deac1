"""Behavioural rules as plain functions over numpy arrays.

Each function works on arrays of all participants (the vectorized driver) or
on one participant's scalars (the per-agent driver, ``Participant.step``), and
gives bit-identical results either way: the rules use only +, -, *, /,
comparisons, min/max and abs, whose IEEE results do not depend on array
length. Equations and sources are in ``docs/ODD.md`` ("Submodels").

Rules never look at strategies: they read only state (levels, values,
commitment, grievance) and organizations' levers (openness, values, enabled
levels, transparency, take rate, outreach, mobilization).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config.scenario import DynamicsSpec
from sim.model import kernels
from sim.vocabulary import N_LEVELS, TOP_LEVEL, enabled_level

#: Rows of the per-step join uniforms shared by both drivers (``model.join_draws[row, slot]``).
DRAW_PARTNER, DRAW_REACH, DRAW_ACCEPT = range(3)
N_JOIN_DRAWS = 3


@dataclass
class OrgTable:
    """Organizations' levers as arrays indexed by group (0 = no organization).

    Rebuilt by the model before each participant phase, so both drivers read
    the same previous-step values. Row 0 stands for "no organization": the
    crowd's level cap, and zero for member, visibility, pull, take and outreach.
    """

    member: np.ndarray
    openness: np.ndarray
    values: np.ndarray
    max_level: np.ndarray
    take_rate: np.ndarray
    visibility: np.ndarray
    pull: np.ndarray
    outreach: np.ndarray
    reach_commitment: np.ndarray

    @property
    def n_groups(self) -> int:
        """Number of groups including "none"."""
        return self.openness.size


_LEVELS = np.arange(N_LEVELS, dtype=np.float64)
#: Per level: level / 5, the share of the scale climbed.
_CLIMBED = _LEVELS / TOP_LEVEL

# ------------------------------------------------------------- perception


def share(count, safe_degree):
    """Fraction of neighbours ``count / degree``.

    ``safe_degree`` is the degree with isolated participants counted as 1: their
    count is always 0, so their share is 0 without a branch.
    """
    return count / safe_degree


def alignment(values, org_values):
    """Value alignment 1 - |v - w| in [0, 1] (Heimans & Timms: "New Power Values")."""
    return 1.0 - np.abs(values - org_values)


def visibility(transparency, exposure):
    """Share of an organization's values gap its members can see.

    Transparency shows the gap directly; a leak's exposure shows what
    transparency hid ("every organization is only a leak or a tweet away").
    """
    return transparency + (1.0 - transparency) * exposure


def member_view(group, values, table: OrgTable):
    """What a participant sees of its own organization.

    Returns:
        ``(cap, align, pull, gap_seen, take)``: the highest level its model
        enables, value alignment, pull up the scale (from its open model and
        its mobilization), visible values gap and the
        share of value taken. Unaffiliated participants get the crowd's cap,
        alignment 1 and nothing else.
    """
    gap = np.abs(values - table.values[group])
    align = 1.0 - gap * table.member[group]  # alignment(values, org values) for members, 1 otherwise
    gap_seen = gap * table.visibility[group]  # row 0 ("none") has zero visibility
    return table.max_level[group], align, table.pull[group], gap_seen, table.take_rate[group]


# ------------------------------------------------------- participant rules


def climb(level, cap, threshold, above_share, pull, align, u, p: DynamicsSpec):
    """Climb one rung when peer pressure and pull reach the personal threshold.

    A threshold rule after Granovetter (1978) and Watts (2002): with
    ``pull = 0``, ``align = 1`` and ``rung_difficulty`` irrelevant at level 0,
    a consumer starts sharing when the share of neighbours above it reaches
    its threshold. Higher rungs need more pressure; the organization's model
    caps the climb ("which participation behaviours you are enabling").
    """
    return kernels.climb(
        level, cap, threshold, above_share, pull, align, u, p.peer_influence, p.rung_difficulty, p.climb_prob
    )


def fade_rate(values, p: DynamicsSpec):
    """Per-step commitment fade: new-power minds are "quick to join ... reluctant to swear allegiance"."""
    return p.fickleness * (p.fade_floor + (1.0 - p.fade_floor) * values)


def renew(commitment, level, peer_share, pull, align, fade, p: DynamicsSpec):
    """Commitment is renewed by one's own participation, active peers and pull; it fades otherwise.

    Even consumption renews a little (level 0 counts 1/6): "a magazine asks
    readers to renew their subscriptions".
    """
    return kernels.renew(commitment, level, peer_share, pull, align, fade, p.renewal_rate)


def slip(level, cap, commitment, p: DynamicsSpec):
    """Slip one rung when commitment no longer holds the current level; never above the cap."""
    return kernels.slip(level, cap, commitment, p.commitment_per_level)


def aggrieve(grievance, gap_seen, take, level, p: DynamicsSpec):
    """Grievance grows with the visible values gap and with value taken, weighted by contribution.

    For the unaffiliated both are zero (row 0 of the organization table), so it only fades.
    """
    return kernels.aggrieve(grievance, gap_seen, take, level, p.grievance_rate, p.grievance_decay)


def leaves(affiliated, grievance, exit_share, commitment, threshold, p: DynamicsSpec):
    """Exit when grievance plus peers' exits, less commitment, reach the threshold (a desertion cascade)."""
    return kernels.leaves(
        affiliated, grievance, exit_share, commitment, threshold, p.exit_contagion, p.loyalty
    )


def best_rival(values, group, table: OrgTable):
    """The best-aligned organization other than one's own, and that alignment.

    Args:
        values: values of the leavers, shape (k,).
        group: their current groups, shape (k,).

    Returns:
        ``(rival_group, rival_alignment)``; group 0 and alignment -inf when there is no rival.
    """
    values = np.atleast_1d(values)
    group = np.atleast_1d(group)
    if table.n_groups <= 2:
        return np.zeros(values.size, dtype=np.int64), np.full(values.size, -np.inf)
    align = alignment(values[:, None], table.values[None, 1:])
    align[np.arange(values.size), group - 1] = -np.inf
    best = np.argmax(align, axis=1)
    return best + 1, align[np.arange(values.size), best]


def destination(align_now, rival, align_rival, p: DynamicsSpec):
    """Desert to the rival only if it is better aligned by ``switch_margin``; else to no organization."""
    return np.where(align_rival - align_now >= p.switch_margin, rival, 0)


def join_prob(openness, align, grievance, p: DynamicsSpec):
    """Chance that one contact leads to joining: open models are easy to join ("joining is easier than ever")."""
    rate = p.join_rate_closed + (p.join_rate_open - p.join_rate_closed) * openness
    return rate * align * (1.0 - grievance)


def reached_by(u, outreach):
    """Which organization's outreach reaches a participant: group whose slice of [0, 1) holds ``u``; 0 if none."""
    cumulative = np.cumsum(outreach[1:])
    if cumulative.size and cumulative[-1] > 1.0:
        cumulative = cumulative / cumulative[-1]
    found = np.searchsorted(cumulative, u, side="right")
    return np.where(found < cumulative.size, found + 1, 0)


def partner_group(partner_group_):
    """The group a contact can bring one into: their own (0 if they belong to none).

    How likely that is depends on the organization's openness (:func:`join_prob`),
    so closed models recruit slowly by word of mouth and open ones fast.
    """
    return partner_group_


# ------------------------------------------------------ organization rules


def reach_commitment(outreach, ads, join_commitment):
    """Commitment of someone recruited by reach: paid ads recruit "without commitment".

    The share of an organization's reach that is ads brings no commitment;
    genuine outreach brings a new member's usual commitment.
    """
    reach = outreach + ads
    return np.where(
        reach > 0.0, join_commitment * outreach / np.where(reach > 0.0, reach, 1.0), join_commitment
    )


def turnout_prob(level, commitment, align):
    """Chance a member shows up when called: true believers do, consumers and astroturfed joiners don't.

    "A key new power question for all organizations is 'Who will really show up for you?'"
    """
    return _CLIMBED[level] * commitment * align


def campaign_force(stock_spent, turnout_share, p: DynamicsSpec):
    """Power as "the ability to produce intended effects" (Russell): lobbyists plus an army of citizens."""
    return p.lobby_weight * stock_spent + p.turnout_weight * turnout_share


def partial_reform(before, after, share):
    """Levers moved only ``share`` of the way on the costly axes (openness, values, transparency).

    The levels enabled follow: no more than before, or than the openness reached enables.
    """
    moved = after.replace(
        **{
            axis: getattr(before, axis) + share * (getattr(after, axis) - getattr(before, axis))
            for axis in ("openness", "values", "transparency")
        }
    )
    reachable = max(before.max_level, enabled_level(moved.openness))
    return moved.replace(max_level=min(after.max_level, reachable))


def reform_cost(before, after, p: DynamicsSpec):
    """Stock spent on changing one's model or values: organizational change is not free."""
    return p.reform_cost * (
        abs(after.values - before.values)
        + abs(after.openness - before.openness)
        + abs(after.transparency - before.transparency)
    )


def current(weighted_participation, n_participants):
    """New power as a current: the community's participation flow, sum(level/5 * commitment) / N."""
    return weighted_participation / n_participants


def update_stock(stock, revenue, spending, decay):
    """Old power as a currency: earned from value taken, spent on levers, worn by upkeep; never negative.

    Returns:
        ``(new_stock, funded)``: the stock, and the share of the spending it could pay for.
    """
    available = stock * (1.0 - decay) + revenue
    funded = 1.0 if spending <= available else available / spending
    return max(0.0, available - spending), funded


def update_legitimacy(legitimacy, contentment, rate):
    """Legitimacy drifts toward the community's contentment (1 - mean grievance)."""
    return legitimacy + rate * (contentment - legitimacy)
