"""The participant rules compiled: each rule once, as scalar code, and loops that apply them.

Every rule of ``rules.py`` that runs for every participant every step is written here once,
as plain scalar Python compiled by Numba, and used three ways:

* as a NumPy ufunc (``climb``, ``renew``, ...), which is what ``rules.py`` exposes and what the
  per-agent driver calls for one participant (and tests call for arrays);
* inlined into :func:`update_participants`, the vectorized driver's loop, which applies the
  whole chain (climb, renew, slip, aggrieve, leave) in one pass over memory;
* :func:`unpack_shares` and :func:`tally_groups` fuse the perception read-out and the
  organizations' tally the same way.

No fast-math: IEEE arithmetic in the same order in every use, so the two drivers stay
bit-identical. Compiled code is cached next to this file (``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, vectorize

_JIT = {"cache": True}
_INT = ("int8", "int64")


def _sigs(template: str) -> list[str]:
    return [template.format(i=i) for i in _INT]


# ---------------------------------------------------------------- the rules, once


def _climb(level, cap, threshold, above_share, pull, align, u, influence, difficulty, prob):
    drive = align * (influence * above_share + pull)
    need = threshold * (1.0 + difficulty * level)
    if level < cap and drive > 0.0 and drive >= need and u < prob:
        return level + 1
    return level


def _renew(commitment, level, peer_share, pull, align, fade, rate):
    support = 0.5 * ((level + 1.0) / 6.0 + peer_share) + pull * align
    support = min(support, 1.0)
    grown = commitment + rate * support * (1.0 - commitment) - fade * commitment
    return min(max(grown, 0.0), 1.0)


def _slip(level, cap, commitment, per_level):
    if level > 0 and commitment < per_level * (level / 5.0):
        level = level - 1
    return min(level, cap)


def _aggrieve(grievance, gap_seen, take, level, rate, decay):
    grown = grievance + rate * (gap_seen + take * (level / 5.0)) - decay * grievance
    return min(max(grown, 0.0), 1.0)


def _leaves(affiliated, grievance, exit_share, commitment, threshold, contagion, loyalty):
    drive = grievance + contagion * exit_share - loyalty * commitment
    return affiliated and drive > 0.0 and drive >= threshold


# ---------------------------------------------------------------- as ufuncs (one or all)

climb = vectorize(_sigs("{i}({i}, {i}, f8, f8, f8, f8, f8, f8, f8, f8)"), **_JIT)(_climb)
renew = vectorize(_sigs("f8(f8, {i}, f8, f8, f8, f8, f8)"), **_JIT)(_renew)
slip = vectorize(_sigs("{i}({i}, {i}, f8, f8)"), **_JIT)(_slip)
aggrieve = vectorize(_sigs("f8(f8, f8, f8, {i}, f8, f8)"), **_JIT)(_aggrieve)
leaves = vectorize(["b1(b1, f8, f8, f8, f8, f8, f8)"], **_JIT)(_leaves)

_climb1 = njit(inline="always", **_JIT)(_climb)
_renew1 = njit(inline="always", **_JIT)(_renew)
_slip1 = njit(inline="always", **_JIT)(_slip)
_aggrieve1 = njit(inline="always", **_JIT)(_aggrieve)
_leaves1 = njit(inline="always", **_JIT)(_leaves)


# ---------------------------------------------------------------- fused loops


@njit(**_JIT)
def update_participants(
    level0,
    commitment0,
    grievance0,
    threshold,
    fade,
    group,
    above,
    left_share,
    peers,
    cap,
    align,
    pull,
    gap_seen,
    take,
    climb_u,
    params,
    level,
    commitment,
    grievance,
    leave,
):
    """Climb, renew, slip, aggrieve and decide to leave, for every participant, in one pass.

    ``params`` = (peer_influence, rung_difficulty, climb_prob, renewal_rate,
    commitment_per_level, grievance_rate, grievance_decay, exit_contagion, loyalty).
    Outputs are written into ``level``, ``commitment``, ``grievance`` and ``leave``.
    """
    influence, difficulty, prob, rate, per_level, g_rate, g_decay, contagion, loyalty = params
    for i in range(level0.size):
        lv = _climb1(
            level0[i],
            cap[i],
            threshold[i],
            above[i],
            pull[i],
            align[i],
            climb_u[i],
            influence,
            difficulty,
            prob,
        )
        c = _renew1(commitment0[i], lv, peers[i], pull[i], align[i], fade[i], rate)
        lv = _slip1(lv, cap[i], c, per_level)
        g = _aggrieve1(grievance0[i], gap_seen[i], take[i], lv, g_rate, g_decay)
        level[i] = lv
        commitment[i] = c
        grievance[i] = g
        leave[i] = _leaves1(group[i] > 0, g, left_share[i], c, threshold[i], contagion, loyalty)


@njit(**_JIT)
def unpack_shares(word, level, group, level_shift, left_shift, peer_shift, mask, degree, above, left, peers):
    """Shares of neighbours above one's level, who left one's group, active in it (one packed word)."""
    for i in range(word.size):
        w = word[i]
        d = degree[i]
        above[i] = ((w >> level_shift[level[i]]) & mask) / d
        left[i] = ((w >> left_shift[group[i]]) & mask) / d
        peers[i] = ((w >> peer_shift[group[i]]) & mask) / d


@njit(**_JIT)
def tally_groups(
    group,
    level,
    grievance,
    commitment,
    left,
    joined,
    by_level,
    grievance_sum,
    participation_sum,
    exits,
    joins,
    movers,
):
    """Per group: participants by level, summed grievance and level x commitment, exits, joins.

    Also lists who left or joined (``movers``, in index order); returns how many.
    """
    k = 0
    for i in range(group.size):
        g = group[i]
        lv = level[i]
        by_level[g, lv] += 1
        grievance_sum[g] += grievance[i]
        participation_sum[g] += lv * commitment[i]
        moved = False
        if left[i] > 0:
            exits[left[i]] += 1
            moved = True
        if joined[i]:
            joins[g] += 1
            moved = True
        if moved:
            movers[k] = i
            k += 1
    return k


@njit(**_JIT)
def state_keys(level, group, left, n_groups):
    """Each participant's perception key ``(level * G + group) * G + left``."""
    keys = np.empty(level.size, dtype=np.int64)
    for i in range(level.size):
        keys[i] = (np.int64(level[i]) * n_groups + group[i]) * n_groups + left[i]
    return keys


def empty_like_state(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Output arrays for :func:`update_participants`."""
    return (np.empty(n, dtype=np.int8), np.empty(n), np.empty(n), np.empty(n, dtype=np.bool_))
