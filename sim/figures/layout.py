"""Node positions for drawing the network, computed once per results folder.

The layout keeps the graph's own structure readable, so that a surge can be seen spreading along
ties: a Watts-Strogatz graph is drawn around its ring (NetworkX numbers its nodes around the
ring lattice it starts from, so lattice ties stay short and rewired shortcuts cross the middle);
a stochastic block model with its communities side by side, each laid out on its own; any other
graph by a spring layout. Every method takes the same sample of large graphs.

The spring layout is python-igraph's compiled Fruchterman-Reingold (NetworkX's pure-Python one
took 11.6 s for 2,000 nodes here). Graphs larger than ``max_nodes`` are drawn through a random
sample of ``sample`` nodes and the ties among them (their induced subgraph). All randomness
comes from a local generator seeded with ``seed`` (igraph is handed one of its own for the
call), so a layout is reproducible and never touches global random state. The layout is
computed once by ``newpower run`` and saved in the results folder (``layout.parquet``); figures
redrawn later read it from there.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: Graphs up to this many nodes are laid out whole.
MAX_NODES = 3000
#: Larger graphs are drawn through a random sample of this many nodes.
SAMPLE_NODES = 2000
#: Seed of the layout's own generator.
LAYOUT_SEED = 0
#: Iterations of the spring layout (igraph's default is 500; 100 is enough for a figure of 3,000 dots).
SPRING_ITERATIONS = 100
#: Layout methods, by the network kind they suit ("spring" for every other kind).
METHODS = {"watts_strogatz": "ring", "stochastic_block": "blocks"}
#: How each method is described in the manifest.
DESCRIPTIONS = {
    "ring": "ring (participants in index order around the Watts-Strogatz ring, in a band)",
    "blocks": "blocks (each community side by side around a circle, each a spring layout)",
    "spring": f"spring (igraph Fruchterman-Reingold, {SPRING_ITERATIONS} iterations)",
}


@dataclass(frozen=True)
class Layout:
    """Positions of the drawn nodes.

    Attributes:
        nodes: participant numbers of the drawn nodes (sorted).
        x: horizontal positions, within the unit disk.
        y: vertical positions, within the unit disk.
        n_total: number of participants in the whole graph.
        seed: seed of the layout's generator.
    """

    nodes: np.ndarray
    x: np.ndarray
    y: np.ndarray
    n_total: int
    seed: int
    method: str = "spring"

    @property
    def sampled(self) -> bool:
        """Whether only a sample of the graph is drawn."""
        return self.nodes.size < self.n_total

    def describe(self) -> dict:
        """A plain-data record of how the layout was made (for the manifest)."""
        return {
            "method": DESCRIPTIONS[self.method],
            "kind": self.method,
            "seed": self.seed,
            "n_drawn": int(self.nodes.size),
            "n_total": int(self.n_total),
            "sampled": self.sampled,
            "selection": "random sample, induced ties" if self.sampled else "all participants",
        }


def network_layout(
    adjacency: sp.sparray,
    seed: int = LAYOUT_SEED,
    max_nodes: int = MAX_NODES,
    sample: int = SAMPLE_NODES,
    kind: str = "",
    n_blocks: int = 1,
) -> Layout:
    """Lay out a graph (or a random sample of it) for drawing.

    Args:
        adjacency: symmetric adjacency matrix of the whole graph.
        seed: seed of the layout's own generator.
        max_nodes: graphs up to this size are laid out whole.
        sample: number of nodes drawn from larger graphs.
        kind: the network's kind (``network.kind``): a ring for ``watts_strogatz``, communities for
            ``stochastic_block``, a spring layout otherwise.
        n_blocks: the block model's number of communities (``network.n_blocks``).

    Returns:
        The drawn nodes and their positions.
    """
    n = adjacency.shape[0]
    rng = np.random.default_rng(seed)
    nodes = np.arange(n) if n <= max_nodes else np.sort(rng.choice(n, size=sample, replace=False))
    sub = sp.csr_array(adjacency)[nodes][:, nodes]
    method = METHODS.get(kind, "spring")
    if method == "ring":
        x, y = ring(nodes.size)
    elif method == "blocks":
        x, y = blocks(sub, block_of(nodes, n, n_blocks), rng)
    else:
        x, y = spring(sub, rng)
    return Layout(nodes, x, y, n, seed, method)


def ring(n: int, inner: float = 0.62, outer: float = 0.98) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``0 .. n-1`` in order around a ring: a band between two circles, filled in a snake.

    The band is cut into columns of ``rows`` positions, filled outward then inward in turn, so
    that consecutive positions stay next to each other; with few nodes the band is one circle.
    """
    if n == 0:
        return np.zeros(0), np.zeros(0)
    middle, width = (inner + outer) / 2, outer - inner
    rows = max(1, round(float(np.sqrt(n * width / (2 * np.pi * middle)))))
    columns = -(-n // rows)
    column, row = np.divmod(np.arange(n), rows)
    row = np.where(column % 2, rows - 1 - row, row)
    fraction = (row + 0.5) / rows
    radius = middle if rows == 1 else inner + width * fraction
    angle = 2 * np.pi * (column + fraction / 2) / columns
    return radius * np.cos(angle), radius * np.sin(angle)


def block_of(nodes: np.ndarray, n: int, n_blocks: int) -> np.ndarray:
    """The community of each node of a stochastic block model: consecutive blocks, the first ``n % B`` one larger."""
    n_blocks = max(1, min(int(n_blocks), max(n, 1)))
    sizes = np.full(n_blocks, n // n_blocks) + (np.arange(n_blocks) < n % n_blocks)
    return np.searchsorted(np.cumsum(sizes), nodes, side="right")


def blocks(
    adjacency: sp.sparray, community: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each community laid out on its own (spring) in a disk; the disks side by side around a circle."""
    labels = np.unique(community)
    x, y = np.zeros(community.size), np.zeros(community.size)
    if labels.size <= 1:
        return spring(adjacency, rng)
    centre = 1.0 / (1.0 + np.sin(np.pi / labels.size))  # disks of radius 1 - centre touch their neighbours
    size = min(1.0 - centre, 0.5) * 0.92
    csr = sp.csr_array(adjacency)
    for i, label in enumerate(labels):
        members = np.flatnonzero(community == label)
        bx, by = spring(csr[members][:, members], rng)
        angle = np.pi / 2 - 2 * np.pi * i / labels.size
        x[members] = centre * np.cos(angle) + size * bx
        y[members] = centre * np.sin(angle) + size * by
    return x, y


def induced_edges(adjacency: sp.sparray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ties among ``nodes``, each once, as (source, target) participant numbers."""
    sub = sp.triu(sp.csr_array(adjacency)[nodes][:, nodes], k=1).tocoo()
    return nodes[sub.row], nodes[sub.col]


def spring(
    adjacency: sp.sparray, rng: np.random.Generator, iterations: int = SPRING_ITERATIONS
) -> tuple[np.ndarray, np.ndarray]:
    """Fruchterman-Reingold positions (python-igraph's compiled layout) of a small graph, within the unit disk.

    The start positions come from ``rng``; igraph's own random draws (it jitters nodes while it
    cools) come from a ``random.Random`` seeded from ``rng`` and handed to igraph for this call
    only, so the layout is reproducible and global random state is never touched.
    """
    # imported here: only spring and block layouts need it, and importing igraph imports
    # matplotlib's pyplot (about a second), which a ring layout or --no-figures never uses
    import igraph

    n = adjacency.shape[0]
    if n == 0:
        return np.zeros(0), np.zeros(0)
    upper = sp.triu(sp.coo_array(adjacency), k=1).tocoo()
    graph = igraph.Graph(n=n, edges=np.column_stack([upper.row, upper.col]).tolist())
    start = rng.random((n, 2)).tolist()
    with _igraph_random(int(rng.integers(2**32))):
        coords = graph.layout_fruchterman_reingold(seed=start, niter=iterations)
    xy = np.asarray(coords.coords, dtype=np.float64).reshape(n, 2)
    return fit_unit_disk(xy[:, 0], xy[:, 1])


@contextlib.contextmanager
def _igraph_random(seed: int) -> Iterator[None]:
    """igraph draws from a generator of its own, seeded with ``seed``, inside the block (then from ``random`` again)."""
    import igraph

    igraph.set_random_number_generator(random.Random(seed))
    try:
        yield
    finally:
        igraph.set_random_number_generator(random)


def fit_unit_disk(x: np.ndarray, y: np.ndarray, keep: float = 0.995) -> tuple[np.ndarray, np.ndarray]:
    """Centre positions and scale them so that a share ``keep`` of nodes lies within radius 1.

    The few beyond (stragglers the forces left far out) are pulled in onto
    the rim, so they do not shrink the rest of the drawing.
    """
    x, y = x - np.median(x), y - np.median(y)
    radius = np.hypot(x, y)
    scale = float(np.quantile(radius, keep)) if radius.size else 1.0
    scale = scale if scale > 0 else 1.0
    shrink = np.minimum(1.0, scale / np.maximum(radius, 1e-12))
    return x * shrink / scale, y * shrink / scale
