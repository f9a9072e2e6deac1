"""The rules compiled: Numba compiles what ``rules.py`` writes, and the loops that apply it to everyone.

``rules.py`` writes each participant rule once, as a plain scalar function, and chains them in
``rules.update``. This module makes every function of ``rules.py`` callable from compiled code
(``register_jitable``: compiled where it is called) and compiles

* :func:`update_one`: ``rules.update`` for one participant (the per-agent driver);
* :func:`update_participants`: the same for every participant in one pass over memory
  (the vectorized driver);
* :func:`unpack_shares` and :func:`count_neighbours`: perception's read-out (``rules.share``),
  from one packed word or straight from the graph's ties;
* :func:`tally_groups`: the organizations' tally, fused the same way.

No fast-math: IEEE arithmetic in the same order in every use, so the two drivers stay
bit-identical. Compiled code is cached on disk next to this file (``cache=True``).
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numba import njit
from numba.extending import register_jitable

from sim import vocabulary
from sim.model import rules
from sim.vocabulary import ACTIVE_LEVEL

_JIT = {"cache": True}

# Every function of rules.py may be called from compiled code: ``register_jitable`` compiles it
# where it is called (inlined by LLVM) and leaves it a plain function for Python callers.
for _, _rule in inspect.getmembers(rules, inspect.isfunction):
    if _rule.__module__ == rules.__name__:
        register_jitable(_rule)

#: Digest of the sources the compiled rules come from. Numba's on-disk cache checks only the file
#: that defines a compiled function (this one), not the rules it inlines from ``rules.py`` or the
#: constants it reads from ``vocabulary.py``: after a rule changed it would load the old machine
#: code. It does hash a function's closure into the cache key, so the functions that inline rules
#: are made by :func:`_compile_rules`, closed over this digest: editing a rule recompiles them.
RULES_DIGEST = hashlib.sha256(
    b"".join(Path(m.__file__).read_bytes() for m in (rules, vocabulary))
).hexdigest()


class RuleKernels(NamedTuple):
    """The compiled functions that inline rules (see :data:`RULES_DIGEST`)."""

    update_one: Callable
    update_participants: Callable
    unpack_shares: Callable
    count_neighbours: Callable


def _compile_rules(digest: str) -> RuleKernels:
    """Compile the functions that inline rules, each naming ``digest`` so that it keys their cache."""

    @njit(**_JIT)
    def update_one(
        level, highest, commitment, grievance, threshold, propensity, fade, affiliated, seen, view, u, p
    ):
        """``rules.update`` for one participant: the per-agent driver's "update" phase."""
        _ = digest  # a closure variable, hence part of the cache key
        return rules.update(
            level, highest, commitment, grievance, threshold, propensity, fade, affiliated, seen, view, u, p
        )

    @njit(**_JIT)
    def update_participants(
        level, highest, commitment, grievance, threshold, propensity, fade, group, seen, view, u, p, out
    ):
        """``rules.update`` for every participant, in one pass: the vectorized driver's "update" phase.

        Args:
            level, highest, commitment, grievance, threshold, propensity, group: the previous state's arrays.
            fade: everyone's ``rules.fade_rate``.
            seen: a ``rules.Perceived`` of arrays; view: a ``rules.MemberView`` of arrays.
            u: this step's climbing uniforms.
            p: the ``rules.KernelParams``.
            out: a ``rules.Updated`` of arrays (:func:`empty_updated`), every element overwritten;
                it may not share memory with the inputs.

        Returns:
            ``out``.
        """
        _ = digest  # a closure variable, hence part of the cache key
        for i in range(level.size):
            new = rules.update(
                level[i],
                highest[i],
                commitment[i],
                grievance[i],
                threshold[i],
                propensity[i],
                fade[i],
                group[i] > 0,
                rules.Perceived(seen.above[i], seen.exited[i], seen.peers[i]),
                rules.MemberView(view.cap[i], view.align[i], view.pull[i], view.gap_seen[i], view.take[i]),
                u[i],
                p,
            )
            out.level[i] = new.level
            out.highest[i] = new.highest
            out.commitment[i] = new.commitment
            out.grievance[i] = new.grievance
            out.leave[i] = new.leave
        return out

    @njit(**_JIT)
    def unpack_shares(word, level, group, level_shift, left_shift, peer_shift, mask, degree, out):
        """Perceived shares from one packed word of neighbour counts (see ``vectorized.perceive``).

        Each participant reads the count of neighbours above its level, who left its group and
        who are active in it, by shift and mask. Written into ``out`` (:func:`empty_perceived`).
        """
        _ = digest  # a closure variable, hence part of the cache key
        for i in range(word.size):
            w = word[i]
            out.above[i] = rules.share((w >> level_shift[level[i]]) & mask, degree[i])
            out.exited[i] = rules.share((w >> left_shift[group[i]]) & mask, degree[i])
            out.peers[i] = rules.share((w >> peer_shift[group[i]]) & mask, degree[i])
        return out

    @njit(**_JIT)
    def count_neighbours(indptr, indices, level, group, left, degree, out):
        """Perceived shares counted straight from the ties (CSR ``indptr``, ``indices``), into ``out``.

        Costs one pass over the ties whatever the number of organizations; the counts are the
        same integers as the packed product's.
        """
        _ = digest  # a closure variable, hence part of the cache key
        for i in range(level.size):
            lv, g = level[i], group[i]
            above = exited = peers = 0
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                above += level[j] > lv
                exited += (left[j] == g) & (g > 0)
                peers += (group[j] == g) & (level[j] >= ACTIVE_LEVEL)
            out.above[i] = rules.share(above, degree[i])
            out.exited[i] = rules.share(exited, degree[i])
            out.peers[i] = rules.share(peers, degree[i])
        return out

    return RuleKernels(update_one, update_participants, unpack_shares, count_neighbours)


_KERNELS = _compile_rules(RULES_DIGEST)


def empty_updated(n: int) -> rules.Updated:
    """Arrays for :func:`update_participants` to write ``n`` participants into."""
    return rules.Updated(
        np.empty(n, np.int8), np.empty(n, np.int8), np.empty(n), np.empty(n), np.empty(n, np.bool_)
    )


def empty_perceived(n: int) -> rules.Perceived:
    """Arrays for :func:`unpack_shares` or :func:`count_neighbours` to write ``n`` participants into."""
    return rules.Perceived(np.empty(n), np.empty(n), np.empty(n))


update_one = _KERNELS.update_one
update_participants = _KERNELS.update_participants
unpack_shares = _KERNELS.unpack_shares
count_neighbours = _KERNELS.count_neighbours


# ---------------------------------------------------------------- bookkeeping (no rules)


class Tally(NamedTuple):
    """Per group (0 = none): participants by level and the sums an organization's tally needs."""

    by_level: np.ndarray  # (groups, levels) participants
    grievance_sum: np.ndarray
    participation_sum: np.ndarray  # sum of level x commitment
    exits: np.ndarray  # left this group in the last step
    joins: np.ndarray  # joined it in the last step
    movers: np.ndarray  # who left or joined, in index order (filled up to the returned count)


@njit(**_JIT)
def tally_groups(group, level, grievance, commitment, left, joined, out):
    """Add every participant to its group's counts and sums in ``out`` (a zeroed :class:`Tally`).

    Also lists who left or joined (``out.movers``, in index order); returns how many.
    """
    k = 0
    for i in range(group.size):
        g = group[i]
        lv = level[i]
        out.by_level[g, lv] += 1
        out.grievance_sum[g] += grievance[i]
        out.participation_sum[g] += lv * commitment[i]
        moved = False
        if left[i] > 0:
            out.exits[left[i]] += 1
            moved = True
        if joined[i]:
            out.joins[g] += 1
            moved = True
        if moved:
            out.movers[k] = i
            k += 1
    return k


@njit(**_JIT)
def state_keys(level, group, left, n_groups, out):
    """Each participant's perception key ``(level * G + group) * G + left``, into ``out``.

    ``out`` may be of a narrower integer type than int64 when every key fits it.
    """
    for i in range(level.size):
        out[i] = (np.int64(level[i]) * n_groups + group[i]) * n_groups + left[i]
    return out
