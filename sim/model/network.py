"""The social graph: builders, and neighbour counts as one sparse product.

Graphs come from NetworkX generators or from a user's file. Participants are
numbered 0..n-1 in the graph's node order; the adjacency is a CSR matrix with
sorted column indices, so "the k-th neighbour of i" means the same in both
drivers.

:class:`NeighbourCounter` answers "how many of my neighbours are in state S?"
for several states S at once with a single integer sparse mat-vec. Each
participant contributes a small integer packed into bit fields of an int64
(one field per state it is in); the product sums every field separately, and
each participant reads back the field it needs. The fields are wide enough
for the largest degree, so no sum can carry into its neighbour field; the
counts are exact integers, identical to counting neighbours one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp

from sim.config.scenario import NetworkSpec
from sim.errors import InputError


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
    if spec.kind in ("edge_list", "graphml"):  # generators already number nodes 0..n-1
        graph = nx.convert_node_labels_to_integers(graph, ordering="default")
    return graph


def _stochastic_block(n: int, n_blocks: int, z: float, mixing: float, seed: int) -> nx.Graph:
    sizes = [n // n_blocks + (1 if b < n % n_blocks else 0) for b in range(n_blocks)]
    size = n / n_blocks
    # Choose p_in, p_out so that the mean degree is z and a share `mixing` of ties crosses blocks.
    within = z * (1 - mixing) if n_blocks > 1 else z  # one block: every tie is within it
    p_in = _probability(within / max(size - 1, 1))
    p_out = _probability(z * mixing / max(n - size, 1)) if n_blocks > 1 else 0.0
    probs = [[p_in if a == b else p_out for b in range(n_blocks)] for a in range(n_blocks)]
    graph = nx.stochastic_block_model(sizes, probs, seed=seed, sparse=True)
    return nx.Graph(graph)  # drop the block metadata graph attribute's partition sets


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


def adjacency(graph: nx.Graph) -> sp.csr_array:
    """Symmetric 0/1 adjacency in CSR form with sorted indices (int64 data for packed counts)."""
    n = graph.number_of_nodes()
    edges = np.fromiter(
        (v for e in graph.edges() for v in e), dtype=np.int64, count=2 * graph.number_of_edges()
    ).reshape(-1, 2)
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    adj = sp.csr_array((np.ones(rows.size, dtype=np.int64), (rows, cols)), shape=(n, n))
    adj.sum_duplicates()
    adj.sort_indices()
    return adj


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
        words = []
        for start in range(0, n_fields, self.per_word):
            block = table[:, start : start + self.per_word]
            weights = np.left_shift(np.int64(1), self.bits * np.arange(block.shape[1], dtype=np.int64))
            packed_table = self._pack(block, weights)
            words.append(self.adj @ packed_table[keys])
        return PackedCounts(words, self.bits, self.per_word)

    @staticmethod
    def _pack(block: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return (block.astype(np.int64) * weights).sum(axis=1)


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
