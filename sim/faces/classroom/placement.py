"""Where students' participants are taken from: spread over the network, or one neighbourhood.

``SPREAD`` places students far apart (greedy farthest-point sampling on hop distance: each next
participant is one farthest from every one already taken), so each student sits among simulated
participants and what moves them is the crowd. ``CLUSTERED`` places them in one connected
neighbourhood (breadth-first from one participant), so students are each other's neighbours and
can set off, or stop, a cascade together. Ties are broken with the generator given (spawned from
the model's, never the global one); the same seed gives the same places.
"""

from __future__ import annotations

import enum

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, shortest_path


class Placement(enum.StrEnum):
    """How students' participants are chosen."""

    SPREAD = "spread"
    CLUSTERED = "clustered"


def place(adjacency: sp.csr_array, k: int, placement: Placement, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct participants (fewer if the network is smaller), in the order students get them."""
    n = adjacency.shape[0]
    k = min(int(k), n)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    start = int(rng.integers(n))
    if Placement(placement) is Placement.CLUSTERED:
        return clustered(adjacency, start, k, rng)
    return spread(adjacency, start, k, rng)


def spread(adjacency: sp.csr_array, start: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy farthest-point: from ``start``, repeatedly the participant farthest (in hops) from all taken.

    Another component counts as infinitely far, so every component gets a student before any
    gets a second one.
    """
    taken = [start]
    nearest = _hops(adjacency, start)
    for _ in range(k - 1):
        nearest[taken[-1]] = -1.0
        best = np.flatnonzero(nearest == nearest.max())
        pick = int(best[rng.integers(best.size)])
        taken.append(pick)
        nearest = np.minimum(nearest, _hops(adjacency, pick))
    return np.array(taken, dtype=np.int64)


def clustered(adjacency: sp.csr_array, start: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """A connected neighbourhood: breadth-first from ``start`` (then from others, if its component is small)."""
    order = list(breadth_first_order(adjacency, start, directed=False, return_predecessors=False))
    seen = np.zeros(adjacency.shape[0], dtype=bool)
    seen[order] = True
    while len(order) < k:  # a small component: continue from a random participant outside it
        rest = np.flatnonzero(~seen)
        more = breadth_first_order(
            adjacency, int(rest[rng.integers(rest.size)]), directed=False, return_predecessors=False
        )
        order.extend(int(i) for i in more)
        seen[more] = True
    return np.array(order[:k], dtype=np.int64)


def _hops(adjacency: sp.csr_array, source: int) -> np.ndarray:
    """Hop distances from ``source`` to everyone (inf: another component)."""
    return shortest_path(adjacency, directed=False, unweighted=True, indices=source)


def mean_distance(adjacency: sp.csr_array, who: np.ndarray) -> float:
    """Mean hop distance over pairs of ``who`` (pairs in different components are left out)."""
    who = np.asarray(who)
    if who.size < 2:
        return 0.0
    dist = shortest_path(adjacency, directed=False, unweighted=True, indices=who)[:, who]
    pairs = dist[np.triu_indices(who.size, k=1)]
    pairs = pairs[np.isfinite(pairs)]
    return float(pairs.mean()) if pairs.size else 0.0
