"""Participants' state as arrays, and how a population is drawn at the start.

The model keeps every participant's state in one structure of arrays so the
vectorized driver can update all of them at once; each ``Participant`` agent
is a view on its own row (see ``agents.py``).

Thresholds are drawn from a distribution (:func:`draw_thresholds`), then given person by person
where the scenario says so and turned from numbers of neighbours into shares of one's degree
(:func:`sim.model.thresholds.personal_thresholds`): from then on every rule reads a share, as in Watts (2002).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.config.scenario import OrganizationSpec, PopulationSpec, TriggerSpec, check_ids
from sim.model.rules import alignment
from sim.vocabulary import Level

if TYPE_CHECKING:  # annotations only: `newpower list` imports this module (through the shocks) without SciPy
    import scipy.sparse as sp

#: Where a normal draw at or below 0 lands: the smallest positive threshold. Such a participant
#: follows the first neighbour above it (any drive > 0), as before instigators existed, but does
#: not act on its own: clipping piles a normal's lower tail on one value, which is no modeller's
#: choice of instigators (a threshold of exactly 0, docs/ODD.md 7.3).
FOLLOWER = float(np.nextafter(0.0, 1.0))


@dataclass
class ParticipantState:
    """All participants' state; row ``i`` belongs to participant ``i`` (graph node ``i``).

    Attributes:
        level: participation level (``Level`` values), int8.
        group: affiliation, 0 = none, ``k`` = the k-th organization (1-based); intp, so it
            indexes organization tables without conversion.
        values: values orientation, 0 old power .. 1 new power.
        threshold: personal threshold for following peers.
        propensity: personal propensity to participate, in (0, 1]; holding rung l needs
            commitment ``commitment_per_level * l / 5 / propensity`` (1: the easiest).
        highest: the highest rung reached in one's current organization (int8); climbing
            above it for the first time excites (``novelty``).
        commitment: commitment to one's participation and affiliation, in [0, 1].
        grievance: grievance against one's organization, in [0, 1].
        left: the group left in the last step, 0 if none (what neighbours perceive).
        joined: joined an organization in the last step.

    ``model.state`` is live: the vectorized driver writes each step into the arrays of the state
    before the previous one (``vectorized.StepBuffers``, no fresh gigabyte per step at ten million),
    so a state kept across steps changes under you two steps later. Keep ``state.copy()``.
    """

    level: np.ndarray
    group: np.ndarray
    values: np.ndarray
    threshold: np.ndarray
    propensity: np.ndarray
    highest: np.ndarray
    commitment: np.ndarray
    grievance: np.ndarray
    left: np.ndarray
    joined: np.ndarray

    @property
    def size(self) -> int:
        """Number of participants."""
        return self.level.size

    @property
    def exited(self) -> np.ndarray:
        """Who left an organization in the last step."""
        return self.left > 0

    def copy(self) -> ParticipantState:
        """A deep copy (the previous state that a synchronous update reads)."""
        return ParticipantState(**{f.name: getattr(self, f.name).copy() for f in dataclasses.fields(self)})


def draw_population(n: int, spec: PopulationSpec, rng: np.random.Generator) -> ParticipantState:
    """Draw thresholds (:func:`draw_thresholds`) and values (beta with the given mean and spread)."""
    threshold = draw_thresholds(n, spec, rng)
    values = _beta(spec.values_mean, spec.values_sd, n, rng)
    propensity = draw_propensity(n, spec, rng)
    return ParticipantState(
        level=np.zeros(n, dtype=np.int8),
        group=np.zeros(n, dtype=np.intp),
        values=values,
        threshold=threshold,
        propensity=propensity,
        highest=np.zeros(n, dtype=np.int8),
        commitment=np.zeros(n),
        grievance=np.zeros(n),
        left=np.zeros(n, dtype=np.intp),
        joined=np.zeros(n, dtype=bool),
    )


def draw_thresholds(n: int, spec: PopulationSpec, rng: np.random.Generator) -> np.ndarray:
    """Everyone's threshold from ``threshold_distribution``, in the threshold's unit (share or count).

    ``fixed``: ``threshold``. ``uniform``: on [``threshold_low``, ``threshold_high``). ``beta``: mean
    ``threshold``, spread ``threshold_sd``. ``normal``: Normal(``threshold``, ``threshold_sd``)
    (exactly ``threshold`` when the spread is 0), clipped to [:data:`FOLLOWER`, 1] for shares and
    to [:data:`FOLLOWER`, inf) for counts.
    """
    if spec.threshold_distribution == "fixed":
        return np.full(n, spec.threshold)
    if spec.threshold_distribution == "uniform":
        return rng.uniform(spec.threshold_low, spec.threshold_high, n)
    if spec.threshold_distribution == "beta":
        return _beta(spec.threshold, spec.threshold_sd, n, rng)
    top = 1.0 if spec.threshold_kind == "fraction" else math.inf
    drawn = (
        rng.normal(spec.threshold, spec.threshold_sd, n)
        if spec.threshold_sd > 0
        else np.full(n, spec.threshold)
    )
    return np.clip(drawn, FOLLOWER, top)


def draw_propensity(n: int, spec: PopulationSpec, rng: np.random.Generator) -> np.ndarray:
    """Each participant's propensity to participate, u**participation_inequality with u uniform in (0, 1].

    Participation inequality (Nielsen 2006; van Mierlo 2014): the effort a rung costs varies
    between people with a heavy tail. The cost 1/propensity = u**-b is Pareto with tail index
    1/b (Wilkinson 2008: the power law of contributions has an exponent set by the effort
    contributing takes); b = 0 makes everyone equal. Drawn whatever b, so that a knock-out
    (b = 0) leaves every other draw of the run as it was (common random numbers).
    """
    return (1.0 - rng.random(n)) ** spec.participation_inequality


def _beta(mean: float, sd: float, n: int, rng: np.random.Generator) -> np.ndarray:
    if sd < 1e-9 or mean in (0.0, 1.0):  # a spread this small is no spread (and would overflow)
        return np.full(n, mean)
    common = mean * (1 - mean) / sd**2 - 1  # method of moments
    return rng.beta(mean * common, (1 - mean) * common, n)


def enrol_members(
    state: ParticipantState,
    orgs: list[OrganizationSpec],
    caps: list[int],
    commitment: float,
    rng: np.random.Generator,
) -> None:
    """Give each organization its initial members, preferring the better aligned.

    Members are drawn without replacement among the unaffiliated with weights
    proportional to alignment, so communities start roughly sorted by values.
    """
    n = state.size
    for k, org in enumerate(orgs, start=1):
        n_members = round(org.initial_share * n)
        if n_members == 0:
            continue
        free = np.flatnonzero(state.group == 0)
        if free.size == 0:  # shares rounded up (many small organizations) already took everyone
            break
        weights = alignment(state.values[free], org.values) + 1e-9
        chosen = rng.choice(free, size=min(n_members, free.size), replace=False, p=weights / weights.sum())
        state.group[chosen] = k
        state.level[chosen] = min(int(Level.parse(org.initial_level)), caps[k - 1])
        state.highest[chosen] = state.level[chosen]
        state.commitment[chosen] = commitment


def choose_participants(
    pool: np.ndarray, k: int, how: str, degree: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Up to ``k`` participants from ``pool``: uniformly at random, or the best connected first ("hubs")."""
    k = min(k, pool.size)
    if k == 0:
        return pool[:0]
    if how == "hubs":
        order = np.lexsort((rng.random(pool.size), -degree[pool]))  # ties broken at random
        return pool[order[:k]]
    return rng.choice(pool, size=k, replace=False)


def seed_trigger(
    state: ParticipantState,
    spec: TriggerSpec,
    adjacency: sp.csr_array,
    group: int,
    caps: np.ndarray,
    rng: np.random.Generator,
    source: str = "",
) -> np.ndarray:
    """Set the trigger's seed participants in motion; return their indices.

    Seeds are drawn from the members of ``group`` (everyone if 0): ``n_seeds`` at random or the
    best connected (``choose`` = "random", "hubs"), the participants ``ids`` ("ids"), or centres
    (``ids``, else ``n_seeds`` at random) with all their neighbours in the pool ("neighbourhood",
    as Centola & Macy 2007 seed a complex contagion). Seeds start at the trigger level (at most
    what their model enables: ``caps`` by group) with full commitment (the spark of a surge).

    Raises:
        ScenarioError: for an id that is no participant (of a network read from a file), naming
            ``source`` and ``trigger.ids``.
    """
    pool = np.flatnonzero(state.group == group) if group else np.arange(state.size)
    degree = np.diff(adjacency.indptr)
    check_ids(spec.ids, state.size, source, "trigger.ids")
    ids = np.array(spec.ids, dtype=np.int64)
    if spec.choose == "ids":
        seeds = ids
    elif spec.choose == "neighbourhood":
        centres = ids if ids.size else choose_participants(pool, spec.n_seeds, "random", degree, rng)
        seeds = _with_neighbours(centres, adjacency, pool if group else None)
    else:
        seeds = choose_participants(pool, spec.n_seeds, spec.choose, degree, rng)
    if seeds.size == 0:
        return seeds
    state.level[seeds] = np.minimum(int(Level.parse(spec.level)), caps[state.group[seeds]])
    state.highest[seeds] = np.maximum(state.highest[seeds], state.level[seeds])
    state.commitment[seeds] = 1.0
    return seeds


def _with_neighbours(centres: np.ndarray, adjacency: sp.csr_array, pool: np.ndarray | None) -> np.ndarray:
    """``centres`` and all their neighbours (those in ``pool``, if given), sorted."""
    rows = [adjacency.indices[adjacency.indptr[c] : adjacency.indptr[c + 1]] for c in centres]
    everyone = np.union1d(centres, np.concatenate(rows)) if rows else centres
    return everyone if pool is None else np.intersect1d(everyone, pool)
