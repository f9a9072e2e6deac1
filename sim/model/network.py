"""The social graph: built from a scenario, as a CSR adjacency (and a NetworkX graph when one is asked for).

Graphs come from NetworkX generators, from igraph's compiled generators (large
generated networks: straight into CSR, no NetworkX graph until someone asks for one),
or from a user's file (read by :mod:`sim.model.network_files`). Participants are numbered
0..n-1 in the graph's node order; the adjacency is a CSR matrix with sorted column indices,
so "the k-th neighbour of i" means the same in both drivers. Before a graph is built,
:mod:`sim.model.footprint` checks that the run fits in the memory available. Counting
neighbours is :mod:`sim.model.neighbours`.
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

from sim.config.scenario import FILE_NETWORKS, NetworkSpec
from sim.errors import SimError
from sim.model import footprint
from sim.model.network_files import read_network_file, resolve_network_path

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


def build_network(
    spec: NetworkSpec,
    rng: np.random.Generator,
    base_dir: Path | None = None,
    *,
    source: str | None = None,
    driver: str | None = None,
) -> BuiltNetwork:
    """Build the social graph a scenario asks for, by the route :func:`generator_for` picks.

    Both routes draw one integer seed from ``rng`` first, so the rest of the run's random
    stream is the same whichever library made the graph; for the same seed and route the
    graph is always the same. Either route first checks that the run fits in memory
    (:mod:`sim.model.footprint`); ``source`` (the scenario) is named in every error.
    """
    if generator_for(spec) == "igraph":
        footprint.require(
            spec.kind, spec.n, expected_ties(spec), driver=driver, source=source, route="igraph"
        )
        return BuiltNetwork(igraph_adjacency(spec, rng), None, "igraph")
    graph = build_graph(spec, rng, base_dir, source=source, driver=driver)
    return BuiltNetwork(adjacency(graph), graph, "networkx")


def build_graph(
    spec: NetworkSpec,
    rng: np.random.Generator,
    base_dir: Path | None = None,
    *,
    source: str | None = None,
    driver: str | None = None,
) -> nx.Graph:
    """Build the social graph a scenario asks for, after checking that the run fits in memory.

    Args:
        spec: the ``[network]`` table.
        rng: the model's generator; NetworkX gets an integer seed drawn from it.
        base_dir: folder that relative file paths are resolved against (default: the
            folder of ``source``, else the working folder).
        source: the scenario file, named in every error.
        driver: the driver that will run the model, for the memory estimate (None: the
            more demanding one).

    Returns:
        An undirected simple graph whose nodes are 0..n-1.

    Raises:
        InputError: a graph file is missing or malformed.
        ScenarioError: the run would not fit in the memory available
            (:class:`sim.model.footprint.NotEnoughMemory`).
    """
    seed = int(rng.integers(2**31 - 1))
    if spec.kind in FILE_NETWORKS:
        path = resolve_network_path(spec, source, base_dir)
        return _graph_from_file(spec.kind, path, source, driver)
    n, z = spec.n, spec.mean_degree
    footprint.require(spec.kind, n, expected_ties(spec), driver=driver, source=source, key="network.n")
    if spec.kind == "erdos_renyi":
        graph = nx.fast_gnp_random_graph(n, _probability(z / max(n - 1, 1)), seed=seed)
    elif spec.kind == "watts_strogatz":
        graph = nx.watts_strogatz_graph(n, _lattice_degree(n, z), spec.rewire_prob, seed=seed)
    elif spec.kind == "barabasi_albert":
        graph = nx.barabasi_albert_graph(n, _attachments(n, z), seed=seed)
    elif spec.kind == "complete":  # everyone sees everyone (Granovetter's crowd)
        graph = nx.complete_graph(n)
    else:
        graph = _stochastic_block(n, spec.n_blocks, z, spec.mixing, seed)
    graph.remove_edges_from(list(nx.selfloop_edges(graph)))
    return graph


def expected_ties(spec: NetworkSpec) -> float:
    """How many ties a generated network of this spec has (on average), for the memory estimate."""
    n = spec.n
    if spec.kind == "watts_strogatz":
        return n * _lattice_degree(n, spec.mean_degree) / 2
    if spec.kind == "barabasi_albert":
        m = _attachments(n, spec.mean_degree)
        return (n - m) * m
    if spec.kind == "complete":
        return n * (n - 1) / 2
    return min(n * spec.mean_degree / 2, n * (n - 1) / 2)


def _lattice_degree(n: int, z: float) -> int:
    """Watts-Strogatz ring degree: the even number nearest ``z`` (at least 2), at most n - 1."""
    return min(max(2, round(z / 2) * 2), n - 1)


def _attachments(n: int, z: float) -> int:
    """Barabasi-Albert ties per new node: about z / 2, at least 1, at most n - 1."""
    return max(1, min(round(z / 2), n - 1))


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


def _graph_from_file(kind: str, path: Path, source: str | None, driver: str | None) -> nx.Graph:
    """The graph of a file (:func:`sim.model.network_files.read_network_file`); participants in the file's node order."""
    n, ends, attributes = read_network_file(kind, path, source, driver)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    for i, data in enumerate(attributes):  # GraphML node data, e.g. population.threshold_attribute
        graph.nodes[i].update(data)
    graph.add_edges_from(zip(ends[0::2], ends[1::2], strict=True))
    graph.remove_edges_from(list(nx.selfloop_edges(graph)))
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
