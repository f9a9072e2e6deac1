"""Participants' state as arrays, and how a population is drawn at the start.

The model keeps every participant's state in one structure of arrays so the
vectorized driver can update all of them at once; each ``Participant`` agent
is a view on its own row (see ``agents.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from sim.config.scenario import OrganizationSpec, PopulationSpec, TriggerSpec
from sim.model.rules import alignment
from sim.vocabulary import Level


@dataclass
class ParticipantState:
    """All participants' state; row ``i`` belongs to participant ``i`` (graph node ``i``).

    Attributes:
        level: participation level (``Level`` values), int8.
        group: affiliation, 0 = none, ``k`` = the k-th organization (1-based); intp, so it
            indexes organization tables without conversion.
        values: values orientation, 0 old power .. 1 new power.
        threshold: personal threshold for following peers.
        commitment: commitment to one's participation and affiliation, in [0, 1].
        grievance: grievance against one's organization, in [0, 1].
        left: the group left in the last step, 0 if none (what neighbours perceive).
        joined: joined an organization in the last step.
    """

    level: np.ndarray
    group: np.ndarray
    values: np.ndarray
    threshold: np.ndarray
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
    """Draw thresholds (normal, clipped) and values (beta with the given mean and spread)."""
    threshold = (
        np.clip(rng.normal(spec.threshold, spec.threshold_sd, n), 0.0, 1.0)
        if spec.threshold_sd > 0
        else np.full(n, spec.threshold)
    )
    values = _beta(spec.values_mean, spec.values_sd, n, rng)
    return ParticipantState(
        level=np.zeros(n, dtype=np.int8),
        group=np.zeros(n, dtype=np.intp),
        values=values,
        threshold=threshold,
        commitment=np.zeros(n),
        grievance=np.zeros(n),
        left=np.zeros(n, dtype=np.intp),
        joined=np.zeros(n, dtype=bool),
    )


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
    degree: np.ndarray,
    group: int,
    caps: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Set the trigger's seed participants in motion; return their indices.

    Seeds start at the trigger level (at most what their model enables: ``caps``
    by group) with full commitment (the spark of a surge).
    """
    pool = np.flatnonzero(state.group == group) if group else np.arange(state.size)
    seeds = choose_participants(pool, spec.n_seeds, spec.choose, degree, rng)
    if seeds.size == 0:
        return seeds
    state.level[seeds] = np.minimum(int(Level.parse(spec.level)), caps[state.group[seeds]])
    state.commitment[seeds] = 1.0
    return seeds
