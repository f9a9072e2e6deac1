"""The vectorized driver: the participant rules applied to everyone at once.

Same rules (``rules.py``), same order, same uniforms as ``Participant.step()``;
only the bookkeeping differs. Neighbour perception is one packed integer
sparse product (``network.NeighbourCounter``).
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from sim.model import kernels, rules
from sim.model.network import pick_neighbour
from sim.model.population import ParticipantState
from sim.vocabulary import ACTIVE_LEVEL, N_LEVELS

if TYPE_CHECKING:
    from sim.model.power_model import PowerModel

# Field layout of the packed neighbour counts, for G groups (0 = none):
#   0 .. 5          "level >= f + 1" (field 5 is always empty, so the top level reads 0 above it)
#   6 .. 6+G-1      "left group g in the last step" (g = 0 is always empty: nobody leaves "none")
#   6+G .. 6+2G-1   "active (SHARING or above) in group g"
FIELD_LEFT = N_LEVELS


def field_peers(n_groups: int) -> int:
    """First "active in group g" field."""
    return FIELD_LEFT + n_groups


@lru_cache(maxsize=32)
def field_table(n_groups: int) -> np.ndarray:
    """Fields a participant with key ``(level * G + group) * G + left`` counts towards."""
    level, group, left = np.meshgrid(
        np.arange(N_LEVELS), np.arange(n_groups), np.arange(n_groups), indexing="ij"
    )
    level, group, left = level.ravel(), group.ravel(), left.ravel()
    rows = np.arange(level.size)
    table = np.zeros((level.size, field_peers(n_groups) + n_groups), dtype=bool)
    for f in range(N_LEVELS):
        table[:, f] = level >= f + 1
    table[rows, FIELD_LEFT + left] = left > 0
    table[rows, field_peers(n_groups) + group] = level >= ACTIVE_LEVEL
    table.setflags(write=False)
    return table


def perceive(model: PowerModel, prev: ParticipantState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shares of neighbours above one's level, who just left one's group, and active in it."""
    n_groups = model.table.n_groups
    counter = model.counter
    key = kernels.state_keys(prev.level, prev.group, prev.left, n_groups)
    packed = counter.count_keys(key, field_table(n_groups))
    degree = counter.safe_degree
    left_fields = tuple(range(FIELD_LEFT, FIELD_LEFT + n_groups))
    peer_fields = tuple(range(field_peers(n_groups), field_peers(n_groups) + n_groups))
    if len(packed.words) == 1:  # the usual case: every field fits one int64 word
        shares = np.empty((3, prev.size))
        kernels.unpack_shares(
            packed.words[0],
            prev.level,
            prev.group,
            counter.shifts(tuple(range(N_LEVELS))),
            counter.shifts(left_fields),
            counter.shifts(peer_fields),
            np.int64((1 << counter.bits) - 1),
            degree,
            shares[0],
            shares[1],
            shares[2],
        )
        return shares[0], shares[1], shares[2]
    else:
        above = packed.field(prev.level.astype(np.int64))
        left = packed.field(FIELD_LEFT + prev.group)
        peers = packed.field(field_peers(n_groups) + prev.group)
    return rules.share(above, degree), rules.share(left, degree), rules.share(peers, degree)


def step_participants(model: PowerModel) -> ParticipantState:
    """Apply every participant rule to all participants; return the new state."""
    prev, table, p = model.prev, model.table, model.dynamics
    above, exited_share, peers = perceive(model, prev)
    cap, align, pull, gap_seen, take = model.views.get(prev, table, moved=model.movers)
    # climb, renew, slip, aggrieve and leave (rules.py), fused into one pass (kernels.py)
    level, commitment, grievance, leave = kernels.empty_like_state(prev.size)
    kernels.update_participants(
        prev.level,
        prev.commitment,
        prev.grievance,
        prev.threshold,
        model.fade,
        prev.group,
        above,
        exited_share,
        peers,
        cap,
        align,
        pull,
        gap_seen,
        take,
        model.climb_draws,
        (
            p.peer_influence,
            p.rung_difficulty,
            p.climb_prob,
            p.renewal_rate,
            p.commitment_per_level,
            p.grievance_rate,
            p.grievance_decay,
            p.exit_contagion,
            p.loyalty,
        ),
        level,
        commitment,
        grievance,
        leave,
    )
    model.state = ParticipantState(
        level=level,
        group=prev.group.copy(),
        values=prev.values,
        threshold=prev.threshold,
        commitment=commitment,
        grievance=grievance,
        left=np.zeros(prev.size, dtype=np.intp),
        joined=np.zeros(prev.size, dtype=bool),
    )

    leavers = np.flatnonzero(leave)
    if leavers.size:
        rival, align_rival = rules.best_rival(prev.values[leavers], prev.group[leavers], table)
        model.move(leavers, rules.destination(align[leavers], rival, align_rival, p), leaving=True)

    if table.n_groups > 1:
        _join(model, prev, grievance)
    return model.state


class MemberViews:
    """``rules.member_view`` for everyone, kept between steps.

    A participant's view changes only when its organization's levers change
    or when it changes organization; so while the table of levers stays the
    same, only the participants who moved in the last step are recomputed.
    The result is identical to calling ``rules.member_view`` on everyone.
    """

    def __init__(self) -> None:
        self._table: rules.OrgTable | None = None
        self._views: tuple[np.ndarray, ...] = ()

    def get(
        self, prev: ParticipantState, table: rules.OrgTable, moved: np.ndarray | None = None
    ) -> tuple[np.ndarray, ...]:
        """``(cap, align, pull, gap_seen, take)`` for every participant, from ``prev``.

        ``moved``: who left or joined in the last step, if already known.
        """
        if self._table is None or not _same_table(self._table, table):
            self._views = tuple(np.asarray(v) for v in rules.member_view(prev.group, prev.values, table))
        else:
            moved = np.flatnonzero(prev.left | prev.joined) if moved is None else moved
            if moved.size:
                fresh = rules.member_view(prev.group[moved], prev.values[moved], table)
                for view, values in zip(self._views, fresh, strict=True):
                    view[moved] = values
        self._table = table
        return self._views


def _same_table(a: rules.OrgTable, b: rules.OrgTable) -> bool:
    return a is b or all(
        np.array_equal(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
    )


def _join(model: PowerModel, prev: ParticipantState, grievance: np.ndarray) -> None:
    table, p = model.table, model.dynamics
    # Only a draw below the highest possible join chance can lead to joining, so
    # the others are skipped here; the outcome is the same as checking everyone.
    ceiling = np.float64(max(p.join_rate_open, p.join_rate_closed))  # compare in float64, as per agent
    slot = np.flatnonzero(model.join_draws[rules.DRAW_ACCEPT] < ceiling)
    u = model.join_draws[:, slot]
    who = model.free[slot]
    target = rules.reached_by(u[rules.DRAW_REACH], table.outreach)
    cold = target > 0  # reached by an organization's outreach or ads
    warm = np.flatnonzero(~cold)
    partner = pick_neighbour(model.adjacency, who[warm], u[rules.DRAW_PARTNER, warm])
    has = partner >= 0
    target[warm[has]] = rules.partner_group(prev.group[partner[has]])
    chance = rules.join_prob(
        table.openness[target],
        rules.alignment(prev.values[who], table.values[target]),
        grievance[who],
        model.dynamics,
    )
    joins = (target > 0) & (u[rules.DRAW_ACCEPT] < chance)
    commitment = np.where(cold, table.reach_commitment[target], model.dynamics.join_commitment)
    model.move(who[joins], target[joins], leaving=False, commitment=commitment[joins])
