"""Graph files: where a scenario's network file is, and reading it strictly.

An edge list or a GraphML file is read strictly (docs/robustness.md): the first line or element
that does not fit the format is an :class:`~sim.errors.InputError` naming the scenario, the file
and the line; nothing is skipped silently. GraphML goes through ``defusedxml``, which refuses
DTDs, entities and external references whatever version of expat is installed. While a file is
read, :mod:`sim.model.footprint` checks that its graph fits in the memory available.

This module reads files into node counts, ties and node data; :mod:`sim.model.network` builds the
graph from them. It imports neither NetworkX nor SciPy nor Numba, so that a command that only
records where a network file is (a sweep's parent process) does not load them.
"""

from __future__ import annotations

import re
import stat
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from sim.config.scenario import FILE_NETWORKS, NetworkSpec
from sim.errors import InputError
from sim.model import footprint

#: An edge list line longer than this is refused (a binary file or a runaway line, not an edge).
MAX_LINE_BYTES = 65_536
#: Integer ids have at most this many digits (they are participants' labels, not quantities).
MAX_ID_DIGITS = 18
#: An edge list is parsed in slices of this many lines; after each, the graph so far must fit in memory.
CHECK_EVERY_LINES = 1 << 20
GRAPHML_NS = "{http://graphml.graphdrawing.org/xmlns}"
_INTEGER = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() also accepts other scripts' digits


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
    if spec.kind not in FILE_NETWORKS:
        return None
    path = resolve_network_path(spec, scenario_source)
    folder = scenario_folder(scenario_source).resolve()
    return {"kind": spec.kind, "path": str(path), "outside_scenario_folder": not path.is_relative_to(folder)}


def _file_error(path: Path | str, problem: str, source: str | None, line: int | None = None) -> InputError:
    """One line: the scenario and its key, the graph file (and line), what is wrong."""
    where = f"{path}, line {line}" if line is not None else str(path)
    scenario = f"{source}: key 'network.path'" if source else "key 'network.path'"
    return InputError(f"{scenario}: {where}: {problem}")


def read_network_file(
    kind: str, path: Path, source: str | None, driver: str | None
) -> tuple[int, array, list[dict[str, Any]]]:
    """Read and check a graph file, and that its graph fits in memory.

    Returns:
        The number of nodes, the ties as a flat array of node indices (the file's node order),
        and each node's data (GraphML ``<data>``; empty for an edge list).
    """
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
    return n, ends, attributes


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
