"""The social graph: builders, and neighbour counts as one sparse product.

Graphs come from NetworkX generators, from igraph's compiled generators (large
generated networks: straight into CSR, no NetworkX graph until someone asks for one),
or from a user's file. Participants are numbered 0..n-1 in the graph's node order;
the adjacency is a CSR matrix with sorted column indices, so "the k-th neighbour of i"
means the same in both drivers.

Graph files are read strictly (docs/robustness.md): the first line or element that
does not fit the format is an :class:`~sim.errors.InputError` naming the scenario,
the file and the line; nothing is skipped silently. GraphML goes through
``defusedxml``, which refuses DTDs, entities and external references whatever
version of expat is installed. Before a graph is built, :mod:`sim.model.footprint`
checks that the run fits in the memory available.

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
import re
import stat
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
import networkx as nx
import numpy as np
import scipy.sparse as sp
from defusedxml import DefusedXmlException

from sim.config.scenario import NetworkSpec
from sim.errors import InputError
from sim.model import footprint

#: Network kinds read from a file named by ``network.path``.
FILE_KINDS = ("edge_list", "graphml")
#: An edge list line longer than this is refused (a binary file or a runaway line, not an edge).
MAX_LINE_BYTES = 65_536
#: Integer ids have at most this many digits (they are participants' labels, not quantities).
MAX_ID_DIGITS = 18
#: An edge list is parsed in slices of this many lines; after each, the graph so far must fit in memory.
CHECK_EVERY_LINES = 1 << 20
GRAPHML_NS = "{http://graphml.graphdrawing.org/xmlns}"
_INTEGER = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() also accepts other scripts' digits
from numba import njit

from sim.config.scenario import FILE_NETWORKS
from sim.errors import SimError

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
    if spec.kind in FILE_KINDS:
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


# ------------------------------------------------------------ graph files


def scenario_folder(source: str | None) -> Path:
    """The folder a scenario's relative paths start from: its file's folder, else the working folder."""
    if source and source != "<dict>":
        return Path(source).parent
    return Path.cwd()


def resolve_network_path(spec: NetworkSpec, source: str | None, base_dir: Path | None = None) -> Path:
    """The absolute, normalised path of a scenario's graph file (symbolic links followed)."""
    folder = scenario_folder(source) if base_dir is None else base_dir
    if "\0" in spec.path:
        raise _file_error(spec.path, "a path cannot contain a NUL character", source)
    try:
        return (folder / spec.path).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop
        raise _file_error(spec.path, f"cannot resolve the path ({exc})", source) from None


def network_source(spec: NetworkSpec, scenario_source: str | None) -> dict[str, Any] | None:
    """Where a scenario's graph file is, for the run's manifest (None for a generated network).

    A graph file outside the scenario's folder is allowed (a shared data folder, say),
    but a reader of the results should see that it was used, so the manifest records it.

    Returns:
        ``{"kind", "path" (absolute), "outside_scenario_folder" (bool)}``.
    """
    if spec.kind not in FILE_KINDS:
        return None
    path = resolve_network_path(spec, scenario_source)
    folder = scenario_folder(scenario_source).resolve()
    return {"kind": spec.kind, "path": str(path), "outside_scenario_folder": not path.is_relative_to(folder)}


def _file_error(path: Path | str, problem: str, source: str | None, line: int | None = None) -> InputError:
    """One line: the scenario and its key, the graph file (and line), what is wrong."""
    where = f"{path}, line {line}" if line is not None else str(path)
    scenario = f"{source}: key 'network.path'" if source else "key 'network.path'"
    return InputError(f"{scenario}: {where}: {problem}")


def _graph_from_file(kind: str, path: Path, source: str | None, driver: str | None) -> nx.Graph:
    """Read, check and build the graph of a file; participants in the file's node order."""
    try:
        status = path.stat()
    except (OSError, ValueError):
        raise _file_error(path, "network file not found", source) from None
    if not stat.S_ISREG(status.st_mode):
        raise _file_error(path, "not a regular file (a folder, device or pipe)", source)

    def fits(n: int, ties: float) -> None:
        footprint.require(kind, n, ties, driver=driver, source=source, key="network.path")

    try:
        with path.open("rb") as fh:
            if kind == "edge_list":  # checked as it grows: its size says little about its graph
                n, ends = _read_edge_list(fh, path, source, fits)
                attributes: list[dict[str, Any]] = []
            else:  # a parsed XML tree is large, but in proportion to the file
                footprint.require_parse(kind, status.st_size, source=source, key="network.path")
                n, ends, attributes = _read_graphml(fh, path, source)
    except OSError as exc:
        raise _file_error(path, f"cannot read ({exc.strerror or exc})", source) from None
    if n < 2:
        raise _file_error(path, f"a network needs at least 2 nodes, found {n}", source)
    fits(n, len(ends) / 2)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    for i, data in enumerate(attributes):  # GraphML node data, e.g. population.threshold_attribute
        graph.nodes[i].update(data)
    graph.add_edges_from(zip(ends[0::2], ends[1::2], strict=True))
    graph.remove_edges_from(list(nx.selfloop_edges(graph)))
    return graph


def _read_edge_list(
    fh, path: Path, source: str | None, fits: Callable[[int, float], None] | None = None
) -> tuple[int, array]:
    """Two node ids per line (integers on every line, or names), ``#`` comments, blank lines.

    Args:
        fh: the file, opened in binary mode.
        path: its path, for messages.
        source: the scenario, for messages.
        fits: called with the nodes and ties so far every :data:`CHECK_EVERY_LINES` lines;
            raises if their graph could not fit in memory (parsing costs far less than the graph).

    Returns:
        The number of nodes, and the ties as a flat array of node indices (first appearance order).
    """
    labels: dict[int | str, int] = {}
    ends = array("q")
    integers: bool | None = None  # decided by the first tie: a file of integer ids or of names
    number = 0
    while raw := fh.readline(MAX_LINE_BYTES + 1):
        number += 1
        if fits is not None and number % CHECK_EVERY_LINES == 0:
            fits(len(labels), len(ends) / 2)
        if len(raw) > MAX_LINE_BYTES:
            raise _file_error(path, f"line longer than {MAX_LINE_BYTES} bytes", source, number)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _file_error(
                path, f"not UTF-8 text (byte {exc.start + 1} of the line)", source, number
            ) from None
        if number == 1:
            text = text.removeprefix("\ufeff")  # a byte-order mark some editors write
        tokens = text.split("#", 1)[0].split()
        if not tokens:
            continue
        if len(tokens) != 2:
            raise _file_error(
                path, f"expected two node ids, found {len(tokens)}: {_excerpt(text)}", source, number
            )
        numeric = all(_INTEGER.fullmatch(t) for t in tokens)
        if integers is None:
            integers = numeric
        elif integers and not numeric:
            raise _file_error(
                path,
                f"node ids must be integers (as on the first tie), found {_excerpt(text)}",
                source,
                number,
            )
        for token in tokens:
            if integers and len(token.lstrip("0")) > MAX_ID_DIGITS:
                raise _file_error(path, f"integer id longer than {MAX_ID_DIGITS} digits", source, number)
            label = int(token.lstrip("0") or "0") if integers else token
            ends.append(labels.setdefault(label, len(labels)))
    return len(labels), ends


def _excerpt(text: str, width: int = 60) -> str:
    """A line, stripped and shortened, quoted for a message."""
    text = text.strip()
    return repr(text if len(text) <= width else text[: width - 3] + "...")


def _read_graphml(fh, path: Path, source: str | None) -> tuple[int, array, list[dict[str, Any]]]:
    """The nodes, edges and node data of a GraphML document's one graph (nested graphs included).

    Returns:
        The number of nodes, the ties as a flat array of node indices (document order), and each
        node's data (``<data>`` of keys declared for nodes, typed by their ``attr.type``).
    """
    try:
        root = safe_xml.parse(fh, forbid_dtd=True).getroot()
    except ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(": line ")[0]
        raise _file_error(
            path, f"not well-formed XML ({reason}, column {column + 1})", source, line
        ) from None
    except DefusedXmlException as exc:
        raise _file_error(
            path, f"refused: GraphML needs no DTD, entity or external reference ({exc})", source
        ) from None
    graph = _graphml_graph(root, path, source)
    labels: dict[str, int] = {}
    for k, node in enumerate(graph.iter(GRAPHML_NS + "node")):
        name = node.get("id")
        if name is None or name in labels:
            problem = "has no id" if name is None else f"repeats the id {name!r}"
            raise _file_error(path, f"node {k + 1} {problem}", source)
        labels[name] = len(labels)
    attributes = _node_data(root, graph, path, source)
    ends = array("q")
    for k, edge in enumerate(graph.iter(GRAPHML_NS + "edge")):
        for end in ("source", "target"):
            name = edge.get(end)
            if name not in labels:
                problem = f"has no {end}" if name is None else f"names {end} {name!r}, which is not a node"
                raise _file_error(path, f"edge {k + 1} {problem}", source)
            ends.append(labels[name])
    return len(labels), ends, attributes


def _boolean(text: str) -> bool:
    """GraphML's boolean as NetworkX reads it: true/false or 1/0, any case."""
    value = {"true": True, "false": False, "1": True, "0": False}.get(text.strip().lower())
    if value is None:
        raise ValueError(text)
    return value


#: GraphML's ``attr.type`` values and how their text is read.
GRAPHML_TYPES: dict[str, Callable[[str], Any]] = {
    "boolean": _boolean,
    "int": int,
    "long": int,
    "float": float,
    "double": float,
    "string": str,
}


def _node_data(root: Element, graph: Element, path: Path, source: str | None) -> list[dict[str, Any]]:
    """Each node's data (document order): its ``<data>`` children, then its keys' defaults.

    Raises:
        InputError: a key of unknown ``attr.type``, or a value that is not of its key's type.
    """
    keys: dict[str, tuple[str, Callable[[str], Any]]] = {}
    defaults: dict[str, Any] = {}
    for key in root.findall(GRAPHML_NS + "key"):
        if key.get("for", "all") not in ("node", "all") or key.get("id") is None:
            continue
        name, kind = key.get("attr.name", key.get("id")), key.get("attr.type", "string")
        if kind not in GRAPHML_TYPES:
            raise _file_error(
                path, f"key {key.get('id')!r} has attr.type {kind!r}, not one of GraphML's", source
            )
        keys[key.get("id")] = (name, GRAPHML_TYPES[kind])
        default = key.find(GRAPHML_NS + "default")
        if default is not None:
            defaults[name] = _typed(
                default.text or "", name, GRAPHML_TYPES[kind], f"key {key.get('id')!r}", path, source
            )
    found = []
    for k, node in enumerate(graph.iter(GRAPHML_NS + "node")):
        data = dict(defaults)
        for item in node.findall(GRAPHML_NS + "data"):
            if item.get("key") in keys:
                name, cast = keys[item.get("key")]
                data[name] = _typed(item.text or "", name, cast, f"node {k + 1}", path, source)
        found.append(data)
    return found


def _typed(
    text: str, name: str, cast: Callable[[str], Any], where: str, path: Path, source: str | None
) -> Any:
    try:
        return cast(text)
    except ValueError:
        raise _file_error(
            path, f"{where}: {name} {_excerpt(text)} is not a {cast.__name__.strip('_')}", source
        ) from None


def _graphml_graph(root: Element, path: Path, source: str | None) -> Element:
    """The document's one top-level ``<graph>``; anything else is an error."""
    if root.tag != GRAPHML_NS + "graphml":
        raise _file_error(
            path,
            f"the root element is {root.tag!r}, not GraphML's <graphml> (namespace {GRAPHML_NS[1:-1]})",
            source,
        )
    graphs = root.findall(GRAPHML_NS + "graph")
    if len(graphs) != 1:
        raise _file_error(path, f"expected one <graph>, found {len(graphs)}", source)
    if next(graphs[0].iter(GRAPHML_NS + "hyperedge"), None) is not None:
        raise _file_error(path, "hyperedges are not supported", source)
    return graphs[0]


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

    def count_keys(self, keys: np.ndarray, table: np.ndarray, out: np.ndarray | None = None) -> PackedCounts:
        """Count neighbours per field, where a participant's fields follow from a small key.

        Args:
            keys: int array (n_participants,): each participant's state key.
            table: bool array (n_keys, n_fields): ``table[key]`` lists the fields
                a participant with that key counts towards.
            out: optional int64 array (n_participants,) for the first word of sums (a caller
                counting every step reuses it); further words are new arrays.

        Returns:
            Packed sums; read one field per participant with :meth:`PackedCounts.field`.
            Packing costs one gather, whatever the number of fields.
        """
        n_fields = table.shape[1]
        # Small keys make the gather over neighbours read 2 bytes each, not 8.
        compact = keys.astype(key_dtype(table.shape[0]), copy=False)
        words = []
        for start in range(0, n_fields, self.per_word):
            block = table[:, start : start + self.per_word]
            weights = np.left_shift(np.int64(1), self.bits * np.arange(block.shape[1], dtype=np.int64))
            packed_table = self._pack(block, weights)
            into = out if out is not None and not words else np.empty(keys.size, dtype=np.int64)
            words.append(_packed_sums(self.adj.indptr, self.adj.indices, compact, packed_table, into))
        return PackedCounts(words, self.bits, self.per_word)

    @staticmethod
    def _pack(block: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return (block.astype(np.int64) * weights).sum(axis=1)


def key_dtype(n_keys: int) -> type[np.integer]:
    """The narrowest of int16 and int64 that holds keys below ``n_keys``."""
    return np.int16 if n_keys <= np.iinfo(np.int16).max else np.int64


@njit(cache=True)
def _packed_sums(
    indptr: np.ndarray, indices: np.ndarray, keys: np.ndarray, table: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """``A @ table[keys]`` for a 0/1 CSR ``A`` into ``out``, without materializing ``table[keys]`` or reading ``A.data``.

    The same integer sums as SciPy's product; one pass over the ties that reads 4-byte indices
    and small keys (most neighbours' keys share cache lines) instead of 8-byte data and values.
    """
    for i in range(indptr.size - 1):
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
