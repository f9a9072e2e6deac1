"""The vectorized driver: the participant phase for everyone at once.

It follows ``rules.PARTICIPANT_PHASES`` as ``Participant.step()`` does, with the same rules,
uniforms and table. Only two phases are its own: perceiving (neighbour counts from one packed
integer sparse product, ``neighbours.NeighbourCounter``, or one pass over the ties) and viewing
(``MemberViews``, kept between steps). "update" is ``kernels.update_participants``
(``rules.update`` for everyone); "leave" and "join" are ``PowerModel.leave`` and
``PowerModel.join``, the code the per-agent driver calls too.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import numpy as np

from sim.model import kernels, rules
from sim.model.neighbours import key_dtype
from sim.model.population import ParticipantState
from sim.vocabulary import ACTIVE_LEVEL, N_LEVELS

if TYPE_CHECKING:
    from sim.model.power_model import PowerModel

# Field layout of the packed neighbour counts, for G groups (0 = none):
#   0 .. TOP_LEVEL  "level >= f + 1" (the top field is always empty, so the top level reads 0 above it)
#   N_LEVELS ..     "left group g in the last step" (g = 0 is always empty: nobody leaves "none")
#   then G fields   "active (SHARING or above) in group g"
FIELD_LEFT = N_LEVELS


def field_peers(n_groups: int) -> int:
    """First "active in group g" field."""
    return FIELD_LEFT + n_groups


def n_fields(n_groups: int) -> int:
    """Number of packed fields for ``n_groups`` groups (including "none")."""
    return field_peers(n_groups) + n_groups


@lru_cache(maxsize=32)
def field_table(n_groups: int) -> np.ndarray:
    """Fields a participant with key ``(level * G + group) * G + left`` counts towards."""
    level, group, left = np.meshgrid(
        np.arange(N_LEVELS), np.arange(n_groups), np.arange(n_groups), indexing="ij"
    )
    level, group, left = level.ravel(), group.ravel(), left.ravel()
    rows = np.arange(level.size)
    table = np.zeros((level.size, n_fields(n_groups)), dtype=bool)
    for f in range(N_LEVELS):
        table[:, f] = level >= f + 1
    table[rows, FIELD_LEFT + left] = left > 0
    table[rows, field_peers(n_groups) + group] = level >= ACTIVE_LEVEL
    table.setflags(write=False)
    return table


def perceive(model: PowerModel, prev: ParticipantState) -> rules.Perceived:
    """Shares of neighbours above one's level, who just left one's group, and active in it.

    While every field of the packed counts fits one int64 word (up to two or three
    organizations, depending on the largest degree), one integer sparse product counts them
    all. Beyond that the key table would grow with the cube of the number of groups, so the
    counts are taken straight from the ties: one pass, whatever the number of organizations.
    Both give the same integers, hence the same shares. Written into ``model.buffers``.
    """
    n_groups, counter, buffers = model.table.n_groups, model.counter, model.buffers
    seen = buffers.perceived
    if n_fields(n_groups) > counter.per_word:
        adj = model.adjacency
        return kernels.count_neighbours(
            adj.indptr, adj.indices, prev.level, prev.group, prev.left, counter.safe_degree, seen
        )
    table = field_table(n_groups)
    key = kernels.state_keys(prev.level, prev.group, prev.left, n_groups, buffers.keys(table.shape[0]))
    packed = counter.count_keys(key, table, out=buffers.word)
    return kernels.unpack_shares(
        packed.words[0],
        prev.level,
        prev.group,
        counter.shifts(tuple(range(N_LEVELS))),
        counter.shifts(tuple(range(FIELD_LEFT, FIELD_LEFT + n_groups))),
        counter.shifts(tuple(range(field_peers(n_groups), n_fields(n_groups)))),
        np.int64((1 << counter.bits) - 1),
        counter.safe_degree,
        seen,
    )


def step_participants(model: PowerModel) -> ParticipantState:
    """The participant phase (``rules.PARTICIPANT_PHASES``) for everyone; returns the new state."""
    prev = model.prev
    seen = perceive(model, prev)
    view = model.views.get(prev, model.table, moved=model.movers)
    new, leave = model.buffers.next_state(prev)
    updated = rules.Updated(new.level, new.highest, new.commitment, new.grievance, leave)
    kernels.update_participants(
        prev.level,
        prev.highest,
        prev.commitment,
        prev.grievance,
        prev.threshold,
        prev.propensity,
        model.fade,
        prev.group,
        seen,
        view,
        model.climb_draws,
        model.params,
        updated,
    )
    chosen = np.array(sorted(model.choices), dtype=np.int64)
    for i in chosen:  # human-chosen participants (class mode): the same call as Participant.update
        one = model.chosen_update(
            int(i), rules.Perceived(*(f[i] for f in seen)), rules.MemberView(*(f[i] for f in view))
        )
        for name, value in one._asdict().items():
            getattr(updated, name)[i] = value
    model.state = new
    leavers = np.flatnonzero(leave)
    if leavers.size:
        model.leave(leavers, view.align[leavers])
    model.follow_choices(chosen)
    model.join(model.rule_join_slots())
    return model.state


class StepBuffers:
    """The arrays a step writes, reused from step to step instead of allocated afresh.

    At ten million participants a step wrote about 1 GB of new arrays. Blocks that large come
    straight from the operating system (glibc maps blocks above 32 MiB and unmaps them when
    freed), so every step paid again for page faults that zero them. Reusing them changes no
    number: every kernel overwrites every element of what it is given.

    The new state is written into the arrays of the state before the previous one: with
    synchronous updates a step reads only the previous state, and the model keeps no older one.
    So a ``model.state`` kept by a caller holds its numbers for the next step, not beyond it:
    keep a ``copy()`` (as the runner's snapshots do).
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._spare: ParticipantState | None = None  # the state before the previous one
        self._keys: np.ndarray | None = None

    @cached_property
    def perceived(self) -> rules.Perceived:
        """What everyone perceives this step (``perceive``)."""
        return kernels.empty_perceived(self.n)

    @cached_property
    def word(self) -> np.ndarray:
        """The packed neighbour counts (``NeighbourCounter.count_keys``)."""
        return np.empty(self.n, dtype=np.int64)

    @cached_property
    def leave(self) -> np.ndarray:
        """Who leaves this step."""
        return np.empty(self.n, dtype=np.bool_)

    @cached_property
    def movers(self) -> np.ndarray:
        """Who left or joined, for the tally (``kernels.tally_groups``)."""
        return np.empty(self.n, dtype=np.int64)

    @cached_property
    def climb(self) -> np.ndarray:
        """This step's climbing uniforms (``PowerModel.draw_uniforms``)."""
        return np.empty(self.n, dtype=np.float32)

    @cached_property
    def _join_room(self) -> np.ndarray:
        return np.empty(rules.N_JOIN_DRAWS * self.n, dtype=np.float32)

    def join(self, k: int) -> np.ndarray:
        """Room for this step's join uniforms of ``k`` unaffiliated participants, shape (N_JOIN_DRAWS, k)."""
        return self._join_room[: rules.N_JOIN_DRAWS * k].reshape(rules.N_JOIN_DRAWS, k)

    def keys(self, n_keys: int) -> np.ndarray:
        """Everyone's perception key, in the narrowest type that holds ``n_keys`` keys."""
        dtype = key_dtype(n_keys)
        if self._keys is None or self._keys.dtype != dtype:
            self._keys = np.empty(self.n, dtype=dtype)
        return self._keys

    def next_state(self, prev: ParticipantState) -> tuple[ParticipantState, np.ndarray]:
        """The state this step writes, and who leaves: the participants' fixed traits are ``prev``'s,
        ``group`` a copy of ``prev``'s, nobody has just left or joined; level, highest rung,
        commitment and grievance are for ``update_participants`` to write."""
        spare, self._spare = self._spare, prev
        reused = {}
        for name in ("level", "highest", "commitment", "grievance", "group", "left", "joined"):
            mine, theirs = getattr(spare, name, None), getattr(prev, name)
            fits = mine is not None and mine is not theirs and mine.shape == theirs.shape
            reused[name] = mine if fits and mine.dtype == theirs.dtype else np.empty_like(theirs)
        np.copyto(reused["group"], prev.group)
        reused["left"].fill(0)
        reused["joined"].fill(False)
        state = ParticipantState(
            values=prev.values, threshold=prev.threshold, propensity=prev.propensity, **reused
        )
        return state, self.leave


class MemberViews:
    """``rules.member_view`` for everyone, kept between steps.

    A participant's view changes only when its organization's levers change
    or when it changes organization; so while the table of levers stays the
    same, only the participants who moved in the last step are recomputed.
    The result is identical to calling ``rules.member_view`` on everyone.
    """

    def __init__(self) -> None:
        self._table: rules.OrgTable | None = None
        self._views: rules.MemberView | None = None

    def get(
        self, prev: ParticipantState, table: rules.OrgTable, moved: np.ndarray | None = None
    ) -> rules.MemberView:
        """Every participant's :class:`rules.MemberView` (of arrays), from ``prev``.

        ``moved``: who left or joined in the last step, if already known.
        """
        if self._views is None or not _same_table(self._table, table):
            fresh = rules.member_view(prev.group, prev.values, table)
            self._views = rules.MemberView(**{name: np.asarray(v) for name, v in fresh._asdict().items()})
        else:
            moved = np.flatnonzero(prev.left | prev.joined) if moved is None else moved
            if moved.size:
                fresh = rules.member_view(prev.group[moved], prev.values[moved], table)
                for name, values in fresh._asdict().items():
                    getattr(self._views, name)[moved] = values
        self._table = table
        return self._views


def _same_table(a: rules.OrgTable, b: rules.OrgTable) -> bool:
    return a is b or all(
        np.array_equal(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
    )
