"""Graph files read strictly: the accepted formats, every refusal one line naming scenario, file and line,
hardened GraphML, and where a file came from (for the manifest)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from sim import InputError, load_scenario, run, write_results
from sim.config.scenario import NetworkSpec
from sim.model import footprint, network_files
from sim.model.network import build_graph
from sim.model.network_files import MAX_LINE_BYTES, network_source
from sim.research.plan import plan_sweep
from sim.research.sweep import run_sweep


def scenario_with(folder: Path, kind: str, path: str) -> Path:
    """A scenario file in ``folder`` whose network is read from ``path``."""
    scenario = folder / "scenario.toml"
    scenario.write_text(f'name = "file"\nsteps = 3\n[network]\nkind = "{kind}"\npath = "{path}"\n')
    return scenario


def graph_of(tmp_path: Path, kind: str, content: bytes | str, name: str = "net.dat") -> nx.Graph:
    """Write ``content`` as a graph file beside a scenario and build its graph as a run would."""
    data = content.encode() if isinstance(content, str) else content
    (tmp_path / name).write_bytes(data)
    source = str(scenario_with(tmp_path, kind, name))
    return build_graph(NetworkSpec(kind=kind, path=name), np.random.default_rng(0), source=source)


def refusal(tmp_path: Path, kind: str, content: bytes | str, name: str = "net.dat") -> str:
    """The one-line message with which a graph file is refused."""
    with pytest.raises(InputError) as info:
        graph_of(tmp_path, kind, content, name)
    message = str(info.value)
    assert "\n" not in message, message
    assert str(tmp_path / "scenario.toml") in message and "network.path" in message, message
    return message


def ties(graph: nx.Graph) -> list[tuple[int, int]]:
    return sorted(tuple(sorted(e)) for e in graph.edges())


# ------------------------------------------------------------ edge lists: what is accepted


def test_edge_list_format(tmp_path):
    """Comments (whole-line and trailing), blank lines, tabs, CRLF and a byte-order mark are fine;
    self-loops are dropped and repeated ties merged; nodes are numbered in order of first appearance."""
    content = (
        "\ufeff# friends\r\n\r\nzoe\tamir  # met at school\r\namir bo\r\n\r\nbo bo\nzoe amir\n   \n# end\n"
    )
    graph = graph_of(tmp_path, "edge_list", content)
    assert list(graph.nodes) == [0, 1, 2]  # zoe, amir, bo
    assert ties(graph) == [(0, 1), (1, 2)]


def test_integer_ids_are_numbers(tmp_path):
    """In a file of integer ids, ``007`` and ``7`` are one participant; order is still first appearance."""
    graph = graph_of(tmp_path, "edge_list", "10 007\n7 3\n3 10\n")
    assert graph.number_of_nodes() == 3
    assert ties(graph) == [(0, 1), (0, 2), (1, 2)]


def test_names_may_look_like_numbers(tmp_path):
    """In a file of names (the first tie has a name), a later name made of digits is just a name."""
    graph = graph_of(tmp_path, "edge_list", "ana 1\n1 2\n2 bea\n")
    assert graph.number_of_nodes() == 4


# ------------------------------------------------------------ edge lists: what is refused


@pytest.mark.parametrize(
    "content, line, words",
    [
        ("0 1\n1 2 3\n", 2, "found 3"),
        ("0 1\n1 2 {'weight': 3}\n", 2, "found 4"),
        ("0 1\n\n2\n", 3, "found 1"),
        ("0 1\n1 x\n", 2, "must be integers"),
        ("0 1\n1 -2\n", 2, "must be integers"),
        ("0 1\n1 2.5\n", 2, "must be integers"),
        ("0 1\n1 " + "9" * 19 + "\n", 2, "longer than 18 digits"),
        (b"0 1\n1 \xff\xfe\n", 2, "not UTF-8"),
        (b"0 1\n" + b"1 2 " * (MAX_LINE_BYTES // 4 + 1) + b"\n", 2, f"longer than {MAX_LINE_BYTES}"),
        ("lonely\n", 1, "found 1"),
    ],
)
def test_first_bad_line_is_an_error(tmp_path, content, line, words):
    """The first line that is not two ids is refused, naming the scenario, the file and the line."""
    message = refusal(tmp_path, "edge_list", content)
    assert f"{tmp_path / 'net.dat'}, line {line}:" in message, message
    assert words in message, message


def test_passwd_like_file_is_refused_at_line_one(tmp_path):
    """A file that is not an edge list (here shaped like /etc/passwd, read through ``..``) is refused
    at its first line instead of "loading" as a graph of whatever lines happen to have spaces."""
    scenario_folder = tmp_path / "scenarios"
    scenario_folder.mkdir()
    (tmp_path / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\nsystem user:x:1:1:Some Daemon:/:/usr/sbin/nologin\n"
    )
    scenario = load_scenario(scenario_with(scenario_folder, "edge_list", "../passwd"))
    with pytest.raises(InputError) as info:
        run(scenario, steps=1)
    assert f"{(tmp_path / 'passwd').resolve()}, line 1: expected two node ids, found 1" in str(info.value)


@pytest.mark.parametrize("content", ["", "# only a comment\n\n", "a a\n"])
def test_fewer_than_two_nodes(tmp_path, content):
    """An empty file, or one whose ties are all self-loops of one node, is too small."""
    assert "at least 2 nodes" in refusal(tmp_path, "edge_list", content)


# ------------------------------------------------------------ what the path may name


def test_folder_pipe_and_odd_paths_are_refused(tmp_path):
    """A folder or a named pipe is not read (a pipe could block forever); a NUL byte or an overlong
    name in the path is refused in words."""
    (tmp_path / "sub").mkdir()
    source = str(scenario_with(tmp_path, "edge_list", "x"))
    os.mkfifo(tmp_path / "pipe")
    for path, words in [
        ("sub", "not a regular file"),
        ("pipe", "not a regular file"),
        ("a\0b", "NUL"),
        ("n" * 5000, "network file not found"),
        ("absent.txt", "network file not found"),
    ]:
        with pytest.raises(InputError, match=words) as info:
            build_graph(NetworkSpec(kind="edge_list", path=path), np.random.default_rng(0), source=source)
        assert source in str(info.value)


def test_network_source_records_files_outside_the_scenario_folder(tmp_path, monkeypatch):
    """``network_source`` gives the resolved file and whether it lies outside the scenario's folder
    (through ``..``, an absolute path or a symbolic link); generated networks have none."""
    inside, shared = tmp_path / "study", tmp_path / "shared"
    (inside / "data").mkdir(parents=True)
    shared.mkdir()
    (shared / "ties.txt").write_text("0 1\n")
    (inside / "data" / "ties.txt").write_text("0 1\n")
    (inside / "link.txt").symlink_to(shared / "ties.txt")
    source = str(inside / "scenario.toml")
    cases = {
        "data/ties.txt": (inside / "data" / "ties.txt", False),
        "../shared/ties.txt": (shared / "ties.txt", True),
        str(shared / "ties.txt"): (shared / "ties.txt", True),
        str(inside / "data" / "ties.txt"): (inside / "data" / "ties.txt", False),
        "link.txt": (shared / "ties.txt", True),
    }
    for path, (where, outside) in cases.items():
        got = network_source(NetworkSpec(kind="edge_list", path=path), source)
        assert got == {"kind": "edge_list", "path": str(where.resolve()), "outside_scenario_folder": outside}
    assert network_source(NetworkSpec(kind="watts_strogatz"), source) is None
    monkeypatch.chdir(inside)  # a scenario built from a dict: paths start at the working folder
    assert (
        network_source(NetworkSpec(kind="graphml", path="data/ties.txt"), "<dict>")["outside_scenario_folder"]
        is False
    )


def test_manifests_record_a_graph_file_outside_the_scenario_folder(tmp_path):
    """A run's manifest (and a sweep's) names the graph file read and says when it lies outside the
    scenario's folder; a generated network records none."""
    study, shared = tmp_path / "study", tmp_path / "shared"
    study.mkdir()
    shared.mkdir()
    (shared / "ties.txt").write_text("".join(f"{i} {(i + 1) % 30}\n" for i in range(30)))
    scenario = load_scenario(scenario_with(study, "edge_list", "../shared/ties.txt"))
    folder = write_results(scenario, out=tmp_path / "run", figures=False, steps=2)
    manifest = json.loads((folder / "manifest.json").read_text())
    expected = {
        "kind": "edge_list",
        "path": str((shared / "ties.txt").resolve()),
        "outside_scenario_folder": True,
    }
    assert manifest["network_file"] == expected
    swept = scenario.with_overrides({"sweep.factors": {"dynamics.fickleness": [0.1, 0.2]}})
    run_sweep(plan_sweep(swept), tmp_path / "sweep", workers=0, progress=False)
    assert json.loads((tmp_path / "sweep" / "sweep.json").read_text())["scenario"]["network_file"] == expected
    generated = write_results(load_scenario("watts_cascade"), out=tmp_path / "gen", figures=False, steps=1)
    assert json.loads((generated / "manifest.json").read_text())["network_file"] is None


# ------------------------------------------------------------ GraphML


GRAPHML = '<?xml version="1.0"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">{}</graphml>\n'


def test_graphml_nested_graphs_and_data(tmp_path):
    """Nodes of nested graphs (yEd groups) count, in document order; data elements are ignored;
    a directed graph becomes undirected."""
    body = (
        '<key id="w" for="edge" attr.name="weight" attr.type="double"/>'
        '<graph edgedefault="directed"><node id="g"><graph id="g:"><node id="a"/><node id="b"/>'
        '<edge source="a" target="b"/></graph></node><node id="c"/>'
        '<edge source="c" target="a"><data key="w">x-not-a-number</data></edge>'
        '<edge source="b" target="a"/></graph>'
    )
    graph = graph_of(tmp_path, "graphml", GRAPHML.format(body), "g.graphml")
    assert graph.number_of_nodes() == 4  # g, a, b, c
    assert ties(graph) == [(1, 2), (1, 3)]


def test_graphml_node_data_is_typed(tmp_path):
    """Node data of keys declared for nodes is kept, typed by ``attr.type`` (defaults filled in), as
    NetworkX would read it; edge keys are ignored; a value not of its type is refused in words."""
    graph = nx.Graph()
    graph.add_nodes_from([("a", {"t": 0.25, "ok": True, "label": "x"}), ("b", {"t": 1}), ("c", {})])
    graph.add_edges_from([("a", "b"), ("b", "c")], w=2.0)
    nx.write_graphml(graph, tmp_path / "g.graphml")
    ours = graph_of(tmp_path, "graphml", (tmp_path / "g.graphml").read_bytes(), "g.graphml")
    theirs = nx.convert_node_labels_to_integers(nx.read_graphml(tmp_path / "g.graphml"))
    assert [ours.nodes[i] for i in ours] == [theirs.nodes[i] for i in theirs]
    body = (
        '<key id="t" for="node" attr.name="threshold" attr.type="double"><default>0.5</default></key>'
        '<graph><node id="a"><data key="t">0.1</data></node><node id="b"/></graph>'
    )
    typed = graph_of(tmp_path, "graphml", GRAPHML.format(body), "h.graphml")
    assert [typed.nodes[i]["threshold"] for i in typed] == [0.1, 0.5]
    bad = body.replace(">0.1<", ">high<")
    assert "node 1: threshold 'high' is not a float" in refusal(
        tmp_path, "graphml", GRAPHML.format(bad), "h.graphml"
    )
    unknown = body.replace('attr.type="double"', 'attr.type="complex"')
    assert "attr.type 'complex'" in refusal(tmp_path, "graphml", GRAPHML.format(unknown), "h.graphml")


@pytest.mark.parametrize(
    "body, words",
    [
        ('<graph><node id="a"/><node/></graph>', "node 2 has no id"),
        ('<graph><node id="a"/><node id="a"/></graph>', "node 2 repeats the id 'a'"),
        (
            '<graph><node id="a"/><node id="b"/><edge source="a" target="z"/></graph>',
            "edge 1 names target 'z'",
        ),
        ('<graph><node id="a"/><node id="b"/><edge target="a"/></graph>', "edge 1 has no source"),
        ('<graph><node id="a"/></graph><graph><node id="b"/></graph>', "expected one <graph>, found 2"),
        ("", "expected one <graph>, found 0"),
        ('<graph><node id="a"/><hyperedge><endpoint node="a"/></hyperedge></graph>', "hyperedges"),
    ],
)
def test_graphml_structure_errors(tmp_path, body, words):
    """A GraphML document that does not describe one graph of declared nodes is refused in words."""
    assert words in refusal(tmp_path, "graphml", GRAPHML.format(body), "g.graphml")


@pytest.mark.parametrize(
    "content, words",
    [
        ("<graphml><graph><node id='a'/></graph></graphml>", "not GraphML's <graphml>"),
        (
            '<?xml version="1.0"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n<graph>\n<node id="a">',
            "line 4",
        ),
        ("not xml", "line 1: not well-formed XML"),
    ],
)
def test_graphml_not_graphml(tmp_path, content, words):
    """Text that is not a GraphML document is refused (with the line of an XML error)."""
    assert words in refusal(tmp_path, "graphml", content, "g.graphml")


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE graphml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE graphml [<!ENTITY name "a">]>',  # one harmless entity: refused all the same
        '<!DOCTYPE graphml [<!ENTITY ext SYSTEM "file:///etc/hostname">]>',
        '<!DOCTYPE graphml SYSTEM "http://example.invalid/graphml.dtd">',
    ],
)
def test_graphml_refuses_dtds_and_entities(tmp_path, doctype):
    """Any DTD, entity or external reference is refused by the parser itself (defusedxml), not left to
    the expansion limits of whatever expat is installed: even one small internal entity, which every
    expat would expand, is refused."""
    body = '<graph><node id="&name;"/><node id="b"/></graph>' if "name" in doctype else "<graph/>"
    content = '<?xml version="1.0"?>\n' + doctype + GRAPHML.format(body).split("\n", 1)[1]
    assert "refused" in refusal(tmp_path, "graphml", content, "g.graphml")


# ------------------------------------------------------------ at run time, through the model


def test_run_time_errors_name_the_scenario(tmp_path):
    """An error in a graph file found when a run starts names the scenario file too."""
    (tmp_path / "ties.txt").write_text("0 1\n1 2 3\n")
    scenario = load_scenario(scenario_with(tmp_path, "edge_list", "ties.txt"))
    with pytest.raises(InputError) as info:
        run(scenario, steps=1)
    assert str(tmp_path / "scenario.toml") in str(info.value)
    assert f"{tmp_path / 'ties.txt'}, line 2" in str(info.value)


def test_edge_list_too_big_for_memory_is_refused_while_reading(tmp_path, monkeypatch):
    """An edge list whose graph would not fit in memory is refused while it is read, as soon as the
    ties read so far are too many (here before line 9,000, whose error is never reached), and
    nothing is built."""
    monkeypatch.setattr(footprint, "available", lambda: footprint.estimate("edge_list", 3_000, 3_000))
    monkeypatch.setattr(network_files, "CHECK_EVERY_LINES", 1000)
    monkeypatch.setattr(nx.Graph, "add_edges_from", lambda *a, **k: pytest.fail("graph built"))
    lines = [f"{i} {i + 1}\n" for i in range(10_000)]
    lines[9_000] = "bad line here\n"
    (tmp_path / "ties.txt").write_text("".join(lines))
    source = str(scenario_with(tmp_path, "edge_list", "ties.txt"))
    with pytest.raises(footprint.NotEnoughMemory) as info:
        build_graph(NetworkSpec(kind="edge_list", path="ties.txt"), np.random.default_rng(0), source=source)
    assert str(info.value).startswith(f"{source}: key 'network.path': the run needs about")
    assert "4,000 participants and about 3,999 ties" in str(info.value)  # the check at line 4,000


def test_graph_file_too_big_for_memory_is_refused_before_building(tmp_path, monkeypatch):
    """A graph whose file parses but whose graph would not fit is refused before it is built."""
    monkeypatch.setattr(footprint, "available", lambda: footprint.estimate("edge_list", 900, 900))
    monkeypatch.setattr(nx.Graph, "add_edges_from", lambda *a, **k: pytest.fail("graph built"))
    (tmp_path / "ties.txt").write_text("".join(f"{i} {i + 1}\n" for i in range(1000)))
    source = str(scenario_with(tmp_path, "edge_list", "ties.txt"))
    with pytest.raises(footprint.NotEnoughMemory) as info:
        build_graph(NetworkSpec(kind="edge_list", path="ties.txt"), np.random.default_rng(0), source=source)
    assert "1,001 participants and about 1,000 ties" in str(info.value)


def test_graphml_too_big_to_parse_is_refused_before_parsing(tmp_path, monkeypatch):
    """A GraphML file whose XML tree alone would not fit is refused from its size, before parsing."""
    monkeypatch.setattr(footprint, "available", lambda: 1000.0)
    monkeypatch.setattr(network_files.safe_xml, "parse", lambda *a, **k: pytest.fail("parsed"))
    body = "<graph>" + "".join(f'<node id="{i}"/>' for i in range(100)) + "</graph>"
    (tmp_path / "g.graphml").write_text(GRAPHML.format(body))
    source = str(scenario_with(tmp_path, "graphml", "g.graphml"))
    with pytest.raises(footprint.NotEnoughMemory, match="reading this .* graphml file needs about"):
        build_graph(NetworkSpec(kind="graphml", path="g.graphml"), np.random.default_rng(0), source=source)
