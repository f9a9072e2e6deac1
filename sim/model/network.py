"""The social graph: builders, and neighbour counts as one sparse product.

Graphs come from NetworkX generators, from igraph's compiled generators (large
generated networks: straight into CSR, no NetworkX graph until someone asks for one),
or from a user's file. Participants are numbered 0..n-1 in the graph's node order;
the adjacency is a CSR matrix with sorted column indices, so "the k-th neighbour of i"
means the same in both drivers.

:class:`NeighbourCounter` answers "how many of my neighbours are in state S?"
for several states S at once with a single integer sparse mat-vec (compiled, one
pass over the ties: :func:`_packed_sums`). Each participant contributes a small integer packed into bit fields of an int64
(one field per state it is in); the product sums every field separately, and
each participant reads back the field it needs. The fields are wide enough
for the largest degree, so no sum can carry into its neighbour field; the
counts are exact integers, identical to counting neighbours one by one.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import scipy.sparse as sp
from numba import njit

from sim.config.scenario import FILE_NETWORKS, NetworkSpec
from sim.errors import InputError, SimError

if TYPE_CHECKING:
    import igraph

#: ``network.generator = "auto"`` uses igraph from this many participants on. Below it NetworkX
#: builds the graph as it always has, so every library scenario keeps its graph (and its golden
#: hashes); above it NetworkX's pure-Python generators and graph dominate a run's time and memory.
IGRAPH_FROM = 100_000
#: Networks NetworkX always makes, whatever ``network.generator`` says: files (NetworkX reads
#: them) and the complete graph (at most ``MAX_COMPLETE`` participants; no randomness in it).
NETWORKX_ONLY = (*FILE_NETWORKS, "complete")


@dataclass
class BuiltNetwork:
    """A scenario's social graph as built: the CSR adjacency, and the NetworkX graph if one was made.

    Attributes:
        adjacency: symmetric 0/1 CSR matrix (int64 data, sorted int32 indices while they fit).
        graph: the NetworkX graph it came from (NetworkX route and files), ``None`` for igraph.
        generator: ``"networkx"`` or ``"igraph"``, the route that built it.
    """

    adjacency: sp.csr_array
    graph: nx.Graph | None
    generator: str


def generator_for(spec: NetworkSpec) -> str:
    """The library that generates the graph: the scenario's choice, or by size for ``"auto"``."""
    if spec.kind in NETWORKX_ONLY:
        return "networkx"
    if spec.generator != "auto":
        return spec.generator
    return "igraph" if spec.n >= IGRAPH_FROM else "networkx"


def build_network(spec: NetworkSpec, rng: np.random.Generator, base_dir: Path | None = None) -> BuiltNetwork:
    """Build the social graph a scenario asks for, by the route :func:`generator_for` picks.

    Both routes draw one integer seed from ``rng`` first, so the rest of the run's random
    stream is the same whichever library made the graph; for the same seed and route the
    graph is always the same.
    """
    if generator_for(spec) == "igraph":
        return BuiltNetwork(igraph_adjacency(spec, rng), None, "igraph")
    graph = build_graph(spec, rng, base_dir)
    return BuiltNetwork(adjacency(graph), graph, "networkx")


def build_graph(spec: NetworkSpec, rng: np.random.Generator, base_dir: Path | None = None) -> nx.Graph:
    """Build the social graph a scenario asks for.

    Args:
        spec: the ``[network]`` table.
        rng: the model's generator; NetworkX gets an integer seed drawn from it.
        base_dir: folder that relative file paths are resolved against.

    Returns:
        An undirected simple graph whose nodes are 0..n-1.
    """
    seed = int(rng.integers(2**31 - 1))
    n, z = spec.n, spec.mean_degree
    if spec.kind == "erdos_renyi":
        graph = nx.fast_gnp_random_graph(n, _probability(z / max(n - 1, 1)), seed=seed)
    elif spec.kind == "watts_strogatz":
        k = max(2, round(z / 2) * 2)
        graph = nx.watts_strogatz_graph(n, min(k, n - 1), spec.rewire_prob, seed=seed)
    elif spec.kind == "barabasi_albert":
        m = max(1, min(round(z / 2), n - 1))
        graph = nx.barabasi_albert_graph(n, m, seed=seed)
    elif spec.kind == "stochastic_block":
        graph = _stochastic_block(n, spec.n_blocks, z, spec.mixing, seed)
    elif spec.kind == "complete":  # everyone sees everyone (Granovetter's crowd)
        graph = nx.complete_graph(n)
    else:
        graph = _read_graph_file(spec, base_dir)
    graph.remove_edges_from(list(nx.selfloop_edges(graph)))
    if spec.kind in FILE_NETWORKS:  # generators already number nodes 0..n-1
        graph = nx.convert_node_labels_to_integers(graph, ordering="default")
    return graph


def _stochastic_block(n: int, n_blocks: int, z: float, mixing: float, seed: int) -> nx.Graph:
    sizes, probs = _block_design(n, n_blocks, z, mixing)
    graph = nx.stochastic_block_model(sizes, probs, seed=seed, sparse=True)
    return nx.Graph(graph)  # drop the block metadata graph attribute's partition sets


def _block_design(n: int, n_blocks: int, z: float, mixing: float) -> tuple[list[int], list[list[float]]]:
    """Block sizes and tie probabilities with mean degree z and a share ``mixing`` of ties across blocks."""
    sizes = [n // n_blocks + (1 if b < n % n_blocks else 0) for b in range(n_blocks)]
    size = n / n_blocks
    within = z * (1 - mixing) if n_blocks > 1 else z  # one block: every tie is within it
    p_in = _probability(within / max(size - 1, 1))
    p_out = _probability(z * mixing / max(n - size, 1)) if n_blocks > 1 else 0.0
    return sizes, [[p_in if a == b else p_out for b in range(n_blocks)] for a in range(n_blocks)]


def _probability(p: float) -> float:
    """A tie probability in [0, 1]; below 1e-12 it is 0 (NetworkX's fast generators divide by log(1 - p))."""
    return 0.0 if p < 1e-12 else min(1.0, p)


def _read_graph_file(spec: NetworkSpec, base_dir: Path | None) -> nx.Graph:
    path = Path(spec.path)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise InputError(f"{path}: network file not found (key 'network.path')")
    try:
        if spec.kind == "graphml":
            graph = nx.Graph(nx.read_graphml(path))
        else:
            graph = nx.read_edgelist(path, comments="#", nodetype=str, data=False)
    except Exception as exc:  # NetworkX raises many types for malformed files
        raise InputError(f"{path}: cannot read as {spec.kind} ({exc}); key 'network.path'") from None
    if graph.number_of_nodes() < 2:
        raise InputError(f"{path}: network needs at least 2 nodes, found {graph.number_of_nodes()}")
    return graph


def igraph_adjacency(spec: NetworkSpec, rng: np.random.Generator) -> sp.csr_array:
    """A generated graph from igraph's compiled generators, straight into CSR (no NetworkX graph).

    The generators are igraph's own, so the graph differs from NetworkX's for the same seed
    (docs/ODD.md, Initialization, says how); it is the same for the same seed every time.
    """
    seed = int(rng.integers(2**31 - 1))
    n, z = spec.n, spec.mean_degree
    with _seeded_igraph(seed) as ig:
        if spec.kind == "erdos_renyi":
            graph = ig.Graph.Erdos_Renyi(n, p=_probability(z / max(n - 1, 1)))
        elif spec.kind == "watts_strogatz":
            k = min(max(2, round(z / 2) * 2), n - 1)
            # Rewiring that may make a parallel tie is twice as fast as rewiring that avoids
            # them; the few it makes (about 5 per million ties) merge in the CSR below.
            graph = ig.Graph.Watts_Strogatz(1, n, k // 2, spec.rewire_prob, "multi")
        elif spec.kind == "barabasi_albert":
            graph = ig.Graph.Barabasi(n, max(1, min(round(z / 2), n - 1)))
        elif spec.kind == "stochastic_block":
            sizes, probs = _block_design(n, spec.n_blocks, z, spec.mixing)
            graph = ig.Graph.SBM(probs, sizes)
        else:
            raise SimError(
                f"network.kind {spec.kind!r} is not generated by igraph; {generator_for(spec)!r} makes it"
            )
    return _igraph_to_csr(graph)


@contextmanager
def _seeded_igraph(seed: int) -> Iterator:
    """igraph drawing from its own seeded generator, not from Python's global ``random``.

    python-igraph's default generator is the ``random`` module; its C generator cannot be
    seeded. A private ``random.Random(seed)`` makes the graph reproducible and leaves the
    global generator untouched; igraph's default is restored afterwards.
    """
    import igraph as ig  # imported here: only large generated networks need it

    ig.set_random_number_generator(random.Random(seed))
    try:
        yield ig
    finally:
        ig.set_random_number_generator(random)


def _igraph_to_csr(graph: igraph.Graph) -> sp.csr_array:
    """CSR of an igraph graph without self-loops, read vertex by vertex; parallel ties merge into one.

    Reading neighbour lists one vertex at a time (igraph lists them sorted) keeps the export
    to the CSR arrays themselves: igraph's edge list would be a Python list of tuples several
    times larger.
    """
    n, m = graph.vcount(), graph.ecount()
    index = _index_dtype(2 * m)
    indptr = np.zeros(n + 1, dtype=index)
    np.cumsum(np.asarray(graph.degree(), dtype=index), out=indptr[1:])
    indices = np.fromiter(chain.from_iterable(map(graph.neighbors, range(n))), dtype=index, count=2 * m)
    adj = sp.csr_array((np.ones(indices.size, dtype=np.int64), indices, indptr), shape=(n, n))
    adj.sum_duplicates()  # sorted already; merges parallel ties (their sums become 1 below)
    adj.data[:] = 1
    return _with_index(adj, index)


def _index_dtype(nnz: int) -> type:
    """int32 indices while they fit (half the memory of int64; the same neighbours)."""
    return np.int32 if nnz < np.iinfo(np.int32).max else np.int64


def adjacency(graph: nx.Graph) -> sp.csr_array:
    """Symmetric 0/1 adjacency in CSR form with sorted indices (int64 data for packed counts)."""
    n = graph.number_of_nodes()
    index = _index_dtype(2 * graph.number_of_edges())
    edges = np.fromiter(
        (v for e in graph.edges() for v in e), dtype=index, count=2 * graph.number_of_edges()
    ).reshape(-1, 2)
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    adj = sp.csr_array((np.ones(rows.size, dtype=np.int64), (rows, cols)), shape=(n, n))
    adj.sum_duplicates()
    adj.sort_indices()
    return _with_index(adj, index)


def _with_index(adj: sp.csr_array, index: type) -> sp.csr_array:
    """The same matrix with ``index`` indices (SciPy may widen them while building)."""
    adj.indptr = adj.indptr.astype(index, copy=False)
    adj.indices = adj.indices.astype(index, copy=False)
    return adj


def graph_from_adjacency(adj: sp.csr_array) -> nx.Graph:
    """The NetworkX graph of a CSR adjacency: nodes 0..n-1 in order, each tie once."""
    graph = nx.Graph()
    graph.add_nodes_from(range(adj.shape[0]))
    upper = sp.triu(adj, k=1, format="coo")
    graph.add_edges_from(zip(upper.row.tolist(), upper.col.tolist()))
    return graph


@dataclass
class PackedCounts:
    """The result of one :meth:`NeighbourCounter.count` call."""

    words: list[np.ndarray]
    bits: int
    per_word: int

    def field(self, index: np.ndarray | int) -> np.ndarray:
        """Per participant, the neighbour count in field ``index[i]`` (or one field for all)."""
        mask = (1 << self.bits) - 1
        if np.ndim(index) == 0:
            word, offset = divmod(int(index), self.per_word)
            return (self.words[word] >> (offset * self.bits)) & mask
        index = np.asarray(index, dtype=np.int64)
        if len(self.words) == 1:
            return (self.words[0] >> (index * self.bits)) & mask
        word = index // self.per_word
        picked = np.stack(self.words)[word, np.arange(index.size)]
        return (picked >> ((index % self.per_word) * self.bits)) & mask


class NeighbourCounter:
    """Count, for every participant, neighbours in each of several states, in one product.

    Args:
        adj: the CSR adjacency (int64 data, 0/1).
    """

    def __init__(self, adj: sp.csr_array) -> None:
        self.adj = adj
        degree = np.diff(adj.indptr)
        self.degree = degree
        self.safe_degree = np.maximum(degree, 1).astype(np.float64)  # isolated: count 0 of 1
        max_degree = int(degree.max()) if degree.size else 0
        self.bits = max(1, max_degree.bit_length())
        self.per_word = 63 // self.bits
        self._shift_tables: dict[tuple, np.ndarray] = {}

    def shifts(self, fields: tuple[int, ...]) -> np.ndarray:
        """Bit shifts of the given fields within their words, as a lookup table (cached)."""
        if fields not in self._shift_tables:
            self._shift_tables[fields] = (np.asarray(fields, dtype=np.int64) % self.per_word) * self.bits
        return self._shift_tables[fields]

    def count_keys(self, keys: np.ndarray, table: np.ndarray) -> PackedCounts:
        """Count neighbours per field, where a participant's fields follow from a small key.

        Args:
            keys: int array (n_participants,): each participant's state key.
            table: bool array (n_keys, n_fields): ``table[key]`` lists the fields
                a participant with that key counts towards.

        Returns:
            Packed sums; read one field per participant with :meth:`PackedCounts.field`.
            Packing costs one gather, whatever the number of fields.
        """
        n_fields = table.shape[1]
        # Small keys make the gather over neighbours read 2 bytes each, not 8.
        compact = keys.astype(np.int16) if table.shape[0] <= np.iinfo(np.int16).max else keys
        words = []
        for start in range(0, n_fields, self.per_word):
            block = table[:, start : start + self.per_word]
            weights = np.left_shift(np.int64(1), self.bits * np.arange(block.shape[1], dtype=np.int64))
            packed_table = self._pack(block, weights)
            words.append(_packed_sums(self.adj.indptr, self.adj.indices, compact, packed_table))
        return PackedCounts(words, self.bits, self.per_word)

    @staticmethod
    def _pack(block: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return (block.astype(np.int64) * weights).sum(axis=1)


@njit(cache=True)
def _packed_sums(indptr: np.ndarray, indices: np.ndarray, keys: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``A @ table[keys]`` for a 0/1 CSR ``A``, without materializing ``table[keys]`` or reading ``A.data``.

    The same integer sums as SciPy's product; one pass over the ties that reads 4-byte indices
    and small keys (most neighbours' keys share cache lines) instead of 8-byte data and values.
    """
    n = indptr.size - 1
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        total = np.int64(0)
        for k in range(indptr[i], indptr[i + 1]):
            total += table[keys[indices[k]]]
        out[i] = total
    return out


def neighbour_order(adj: sp.csr_array, i: int) -> np.ndarray:
    """The neighbours of participant ``i`` in the canonical (sorted) order."""
    return adj.indices[adj.indptr[i] : adj.indptr[i + 1]]


def pick_neighbour(adj: sp.csr_array, who: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each participant in ``who``, the neighbour at position floor(u * degree); -1 if isolated."""
    start = adj.indptr[who]
    degree = adj.indptr[who + 1] - start
    if adj.indices.size == 0:  # a graph without ties: everyone is isolated
        return np.full(np.shape(who), -1, dtype=np.int64)
    offset = np.floor(u.astype(np.float64) * degree).astype(np.int64)
    safe = np.where(degree > 0, start + offset, 0)
    return np.where(degree > 0, adj.indices[safe], -1)
