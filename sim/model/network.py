"""The social graph: builders, and neighbour counts as one sparse product.

Graphs come from NetworkX generators or from a user's file. Participants are
numbered 0..n-1 in the graph's node order; the adjacency is a CSR matrix with
sorted column indices, so "the k-th neighbour of i" means the same in both
drivers.

Graph files are read strictly (docs/robustness.md): the first line or element that
does not fit the format is an :class:`~sim.errors.InputError` naming the scenario,
the file and the line; nothing is skipped silently. GraphML goes through
``defusedxml``, which refuses DTDs, entities and external references whatever
version of expat is installed. Before a graph is built, :mod:`sim.model.footprint`
checks that the run fits in the memory available.

:class:`NeighbourCounter` answers "how many of my neighbours are in state S?"
for several states S at once with a single integer sparse mat-vec. Each
participant contributes a small integer packed into bit fields of an int64
(one field per state it is in); the product sums every field separately, and
each participant reads back the field it needs. The fields are wide enough
for the largest degree, so no sum can carry into its neighbour field; the
counts are exact integers, identical to counting neighbours one by one.
"""

from __future__ import annotations

import re
import stat
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
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
