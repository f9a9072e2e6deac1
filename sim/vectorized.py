"""The vectorized driver: the participant rules applied to everyone at once.

Same rules (``rules.py``), same order, same uniforms as ``Participant.step()``;
only the bookkeeping differs. Neighbour perception is one packed integer
sparse product (``network.NeighbourCounter``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from . import rules
from .network import pick_neighbour
from .population import ParticipantState
from .states import ACTIVE_LEVEL, N_LEVELS

if TYPE_CHECKING:
    from .model import PowerModel

# Field layout of the packed neighbour counts. Fields 0..5: "level >= f + 1"
# (field 5 is always empty, so a participant at the top reads zero above it);
# then "exited last step"; then "active in group g" for each group.
FIELD_EXITED = N_LEVELS
FIELD_PEERS = N_LEVELS + 1


@lru_cache(maxsize=32)
def field_table(n_groups: int) -> np.ndarray:
    """Which fields a participant with key ``(level * n_groups + group) * 2 + exited`` counts towards."""
    level, group, exited = np.meshgrid(np.arange(N_LEVELS), np.arange(n_groups), np.arange(2),
                                       indexing="ij")
    level, group, exited = level.ravel(), group.ravel(), exited.ravel()
    table = np.zeros((level.size, FIELD_PEERS + n_groups), dtype=bool)
    for f in range(N_LEVELS):
        table[:, f] = level >= f + 1
    table[:, FIELD_EXITED] = exited == 1
    table[np.arange(level.size), FIELD_PEERS + group] = level >= ACTIVE_LEVEL
    table.setflags(write=False)
    return table


def perceive(model: PowerModel, prev: ParticipantState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shares of neighbours above one's level, who just exited, and active in one's group."""
    n_groups = model.table.n_groups
    counter = model.counter
    key = prev.group * 2 + prev.exited
    key += prev.level * (2 * n_groups)
    packed = counter.count_keys(key, field_table(n_groups))
    degree = counter.safe_degree
    if len(packed.words) == 1:  # the usual case: every field fits one int64 word
        above = packed.shifted(counter.shifts(tuple(range(N_LEVELS)))[prev.level])
        peers = packed.shifted(counter.shifts(tuple(range(FIELD_PEERS, FIELD_PEERS + n_groups)))[prev.group])
    else:
        above = packed.field(prev.level.astype(np.int64))
        peers = packed.field(FIELD_PEERS + prev.group)
    exited = packed.field(FIELD_EXITED)
    return rules.share(above, degree), rules.share(exited, degree), rules.share(peers, degree)



def step_participants(model: PowerModel) -> ParticipantState:
    """Apply every participant rule to all participants; return the new state."""
    prev, table, p = model.prev, model.table, model.dynamics
    above, exited_share, peers = perceive(model, prev)
    cap, align, pull, gap_seen, take = rules.member_view(prev.group, prev.values, table)
    level = rules.climb(prev.level, cap, prev.threshold, above, pull, align, model.climb_draws, p)
    commitment = rules.renew(prev.commitment, level, peers, pull, align, model.fade, p)
    level = rules.slip(level, cap, commitment, p)
    affiliated = prev.group > 0
    grievance = rules.aggrieve(prev.grievance, affiliated, gap_seen, take, level, p)
    model.state = ParticipantState(
        level=level, group=prev.group.copy(), values=prev.values, threshold=prev.threshold,
        commitment=commitment, grievance=grievance,
        exited=np.zeros(prev.size, dtype=bool), joined=np.zeros(prev.size, dtype=bool))

    leavers = np.flatnonzero(rules.leaves(affiliated, grievance, exited_share, commitment,
                                          prev.threshold, p))
    if leavers.size:
        rival, align_rival = rules.best_rival(prev.values[leavers], prev.group[leavers], table)
        model.move(leavers, rules.destination(align[leavers], rival, align_rival, p), exited=True)

    if table.n_groups > 1:
        _join(model, prev, grievance)
    return model.state


def _join(model: PowerModel, prev: ParticipantState, grievance: np.ndarray) -> None:
    table, p = model.table, model.dynamics
    # Only a draw below the highest possible join chance can lead to joining, so
    # the others are skipped here; the outcome is the same as checking everyone.
    ceiling = max(p.join_rate_open, p.join_rate_closed)
    slot = np.flatnonzero(model.join_draws[rules.DRAW_ACCEPT] < ceiling)
    u = model.join_draws[:, slot]
    who = model.free[slot]
    partner = pick_neighbour(model.adjacency, who, u[rules.DRAW_PARTNER])
    target = np.zeros(who.size, dtype=np.int64)
    has = partner >= 0
    target[has] = rules.partner_group(prev.group[partner[has]])
    cold = target == 0
    target[cold] = rules.reached_by(u[rules.DRAW_REACH, cold], table.outreach)
    chance = rules.join_prob(table.openness[target], rules.alignment(prev.values[who], table.values[target]),
                             grievance[who], model.dynamics)
    joins = (target > 0) & (u[rules.DRAW_ACCEPT] < chance)
    commitment = np.where(cold, table.reach_commitment[target], model.dynamics.join_commitment)
    model.move(who[joins], target[joins], exited=False, commitment=commitment[joins])
