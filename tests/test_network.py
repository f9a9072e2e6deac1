"""The social graph: generators, graph files, the CSR adjacency, packed neighbour counts, partner picks."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import InputError, SimError, load_scenario, run, scenario_from_dict
from sim.config.scenario import NetworkSpec
from sim.model.neighbours import NeighbourCounter, neighbour_order, pick_neighbour
from sim.model.network import adjacency, build_graph
from sim.model.power_model import PowerModel


def naive_counts(graph_adj, keys: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Per participant and field, the number of neighbours whose key counts towards that field, one by one."""
    n = graph_adj.shape[0]
    out = np.zeros((n, table.shape[1]), dtype=np.int64)
    for i in range(n):
        for j in neighbour_order(graph_adj, i):
            out[i] += table[keys[j]]
    return out


def all_fields(counts, n: int, n_fields: int) -> np.ndarray:
    """Read every field of every participant from packed counts (one array index per field)."""
    return np.stack([counts.field(np.full(n, f, dtype=np.int64)) for f in range(n_fields)], axis=1)


# ------------------------------------------------------------ generators


@pytest.mark.parametrize(
    "kind, extra, tolerance",
    [
        ("erdos_renyi", {}, 0.08),
        ("watts_strogatz", {"rewire_prob": 0.3}, 0.0),
        ("barabasi_albert", {}, 0.02),
        ("stochastic_block", {"n_blocks": 3, "mixing": 0.2}, 0.08),
        ("stochastic_block", {"n_blocks": 1, "mixing": 0.1}, 0.08),
    ],
)
def test_generators_size_and_mean_degree(kind, extra, tolerance):
    """Each generator builds a simple undirected graph on nodes 0..n-1 with roughly the asked mean degree
    (exactly for Watts-Strogatz; about 2m for Barabasi-Albert), whatever the number of blocks."""
    spec = NetworkSpec(kind=kind, n=2000, mean_degree=6.0, **extra)
    graph = build_graph(spec, np.random.default_rng(1))
    assert graph.number_of_nodes() == 2000
    assert sorted(graph.nodes) == list(range(2000))
    assert not graph.is_directed() and nx.number_of_selfloops(graph) == 0
    mean = 2 * graph.number_of_edges() / 2000
    assert mean == pytest.approx(6.0, rel=tolerance), mean


def test_stochastic_block_mixing_is_share_across_blocks():
    """In the stochastic block model about a share ``mixing`` of ties cross blocks."""
    spec = NetworkSpec(kind="stochastic_block", n=3000, mean_degree=8.0, n_blocks=3, mixing=0.25)
    graph = build_graph(spec, np.random.default_rng(2))
    sizes = [1000, 1000, 1000]
    block = np.repeat(np.arange(3), sizes)
    across = sum(block[u] != block[v] for u, v in graph.edges())
    assert across / graph.number_of_edges() == pytest.approx(0.25, abs=0.03)


def test_generator_seed_comes_from_rng():
    """The graph depends only on the generator passed in: same generator state, same graph."""
    spec = NetworkSpec(kind="erdos_renyi", n=300, mean_degree=4.0)
    a = build_graph(spec, np.random.default_rng(5))
    b = build_graph(spec, np.random.default_rng(5))
    c = build_graph(spec, np.random.default_rng(6))
    assert sorted(a.edges()) == sorted(b.edges())
    assert sorted(a.edges()) != sorted(c.edges())


@pytest.mark.parametrize(
    "network",
    [
        {"kind": "erdos_renyi", "mean_degree": 1e-20},
        {"kind": "stochastic_block", "mean_degree": 4.0, "n_blocks": 2, "mixing": 1e-20},
    ],
)
def test_tiny_positive_tie_probability_builds(network):
    """A valid but tiny mean degree or mixing (tie probability below ~1e-16) builds a graph
    (with essentially no such ties) instead of crashing inside NetworkX with ZeroDivisionError."""
    spec = NetworkSpec(n=50, **network)
    graph = build_graph(spec, np.random.default_rng(0))
    assert graph.number_of_nodes() == 50


# ------------------------------------------------------------ graph files


def _scenario_file(folder, kind: str, path: str) -> str:
    text = f'name = "file"\nsteps = 3\n[network]\nkind = "{kind}"\npath = "{path}"\n'
    scenario = folder / "scenario.toml"
    scenario.write_text(text)
    return scenario


def test_edge_list_relative_to_scenario(tmp_path, monkeypatch):
    """An edge list named relative to the scenario file is found from any working directory; comments,
    string labels and self-loops are handled; nodes are numbered in file order."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "ties.txt").write_text(
        "# a small network\nalice bob\nbob carol\ncarol dave\ndave dave\nalice carol\n"
    )
    scenario_path = _scenario_file(data, "edge_list", "ties.txt")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    scenario = load_scenario(scenario_path)
    model = PowerModel(scenario, rng=0)
    assert model.n_participants == 4
    assert sorted(map(tuple, map(sorted, model.graph.edges()))) == [(0, 1), (0, 2), (1, 2), (2, 3)]
    assert nx.number_of_selfloops(model.graph) == 0
    result = run(scenario, seed=1)
    assert len(result.timeseries) == 4


def test_graphml_file(tmp_path):
    """A GraphML file (here directed, with a self-loop) loads as a simple undirected graph on 0..n-1."""
    graph = nx.DiGraph()
    graph.add_edges_from([("a", "b"), ("b", "a"), ("b", "c"), ("c", "c"), ("c", "d"), ("e", "a")])
    nx.write_graphml(graph, tmp_path / "g.graphml")
    scenario = load_scenario(_scenario_file(tmp_path, "graphml", "g.graphml"))
    model = PowerModel(scenario, rng=0)
    assert model.n_participants == 5
    assert model.graph.number_of_edges() == 4
    assert nx.number_of_selfloops(model.graph) == 0
    np.testing.assert_array_equal(np.sort(model.counter.degree), [1, 1, 2, 2, 2])


def test_absolute_path(tmp_path):
    """An absolute file path is used as is."""
    (tmp_path / "abs.txt").write_text("0 1\n1 2\n")
    spec = NetworkSpec(kind="edge_list", path=str(tmp_path / "abs.txt"))
    assert build_graph(spec, np.random.default_rng(0), base_dir=tmp_path / "unrelated").number_of_nodes() == 3


@pytest.mark.parametrize("kind", ["edge_list", "graphml"])
def test_missing_network_file(tmp_path, kind):
    """A missing graph file raises ``InputError`` naming the resolved file and the key."""
    scenario = load_scenario(_scenario_file(tmp_path, kind, "absent.dat"))
    with pytest.raises(InputError) as info:
        run(scenario, seed=0, steps=1)
    assert str(tmp_path / "absent.dat") in str(info.value)
    assert "network.path" in str(info.value)
    assert isinstance(info.value, SimError)


@pytest.mark.parametrize(
    "kind, content",
    [
        ("graphml", b"<graphml><graph><node id='a'/><edge source='a'"),
        ("graphml", b"this is not xml at all"),
        ("edge_list", b"\xff\xfe\x00\x01 binary\n\x80\x81 \x82\n"),
        ("edge_list", b"lonely\n"),
        ("edge_list", b""),
    ],
)
def test_malformed_network_file(tmp_path, kind, content):
    """A malformed or too small graph file raises ``InputError`` naming the file (no parser traceback)."""
    (tmp_path / "net.dat").write_bytes(content)
    scenario = load_scenario(_scenario_file(tmp_path, kind, "net.dat"))
    with pytest.raises(InputError) as info:
        PowerModel(scenario, rng=0)
    assert str(tmp_path / "net.dat") in str(info.value)


# ------------------------------------------------------------ adjacency


def test_adjacency_is_symmetric_sorted_csr():
    """The adjacency is a symmetric 0/1 int64 CSR matrix with sorted column indices and no diagonal."""
    graph = nx.gnm_random_graph(120, 400, seed=3)
    adj = adjacency(graph)
    assert adj.dtype == np.int64 and adj.has_sorted_indices
    dense = adj.toarray()
    np.testing.assert_array_equal(dense, dense.T)
    assert set(np.unique(dense)) <= {0, 1} and not dense.diagonal().any()
    assert dense.sum() == 2 * graph.number_of_edges()
    for i in range(120):
        np.testing.assert_array_equal(neighbour_order(adj, i), sorted(graph.neighbors(i)))


# ------------------------------------------------------------ packed counts


@settings(max_examples=30)
@given(
    n=st.integers(2, 80),
    p=st.floats(0.0, 0.5),
    n_keys=st.integers(1, 12),
    n_fields=st.integers(1, 20),
    seed=st.integers(0, 2**32),
)
def test_count_keys_equals_naive_counts(n, p, n_keys, n_fields, seed):
    """Packed counts equal naive neighbour-by-neighbour counts for every participant and field,
    on random graphs with random keys and random key-to-field tables."""
    rng = np.random.default_rng(seed)
    graph = nx.gnp_random_graph(n, p, seed=int(rng.integers(2**31)))
    adj = adjacency(graph)
    keys = rng.integers(0, n_keys, n)
    table = rng.random((n_keys, n_fields)) < 0.5
    counter = NeighbourCounter(adj)
    counts = counter.count_keys(keys, table)
    expected = naive_counts(adj, keys, table)
    np.testing.assert_array_equal(all_fields(counts, n, n_fields), expected)
    index = rng.integers(0, n_fields, n)  # one (random) field per participant
    np.testing.assert_array_equal(counts.field(index), expected[np.arange(n), index])


@pytest.mark.parametrize("hub_degree", [1023, 1024, 3000])
def test_count_keys_several_words_with_a_hub(hub_degree):
    """With a high-degree hub the fields are wide and few fit in a word: counts spread over several
    int64 words stay exact, including a hub that counts all its neighbours in every field."""
    rng = np.random.default_rng(hub_degree)
    graph = nx.star_graph(hub_degree)  # node 0 is the hub
    extra = rng.integers(1, hub_degree + 1, size=(200, 2))
    graph.add_edges_from(e for e in map(tuple, extra) if e[0] != e[1])
    adj = adjacency(graph)
    counter = NeighbourCounter(adj)
    assert counter.bits == int(counter.degree.max()).bit_length()
    n_fields = 4 * counter.per_word + 3  # five words
    n = adj.shape[0]
    table = rng.random((9, n_fields)) < 0.5
    table[0] = True
    keys = rng.integers(1, 9, n)
    keys[1:] = np.where(rng.random(n - 1) < 0.5, 0, keys[1:])  # many leaves count in every field
    counts = counter.count_keys(keys, table)
    assert len(counts.words) == 5
    expected = naive_counts(adj, keys, table)
    np.testing.assert_array_equal(all_fields(counts, n, n_fields), expected)
    full = counter.count_keys(np.zeros(n, dtype=np.int64), np.ones((1, n_fields), dtype=bool))
    np.testing.assert_array_equal(all_fields(full, n, n_fields)[0], np.full(n_fields, counter.degree[0]))


def test_count_keys_beyond_64_words():
    """Counts stay available when the fields need more than 64 int64 words (many organizations
    on a graph with a hub), where ``np.choose`` cannot pick among the words."""
    graph = nx.star_graph(3000)  # 12-bit fields: 5 per word
    adj = adjacency(graph)
    counter = NeighbourCounter(adj)
    n_fields = 65 * counter.per_word + 1
    rng = np.random.default_rng(0)
    n = adj.shape[0]
    table = rng.random((3, n_fields)) < 0.5
    keys = rng.integers(0, 3, n)
    counts = counter.count_keys(keys, table)
    index = rng.integers(0, n_fields, n)
    expected = table[keys[1:], index[0]].sum()
    assert counts.field(index)[0] == expected


def test_count_keys_edgeless_graph():
    """A graph without ties counts zero everywhere."""
    adj = adjacency(nx.empty_graph(10))
    counts = NeighbourCounter(adj).count_keys(np.zeros(10, dtype=np.int64), np.ones((1, 3), dtype=bool))
    np.testing.assert_array_equal(all_fields(counts, 10, 3), 0)


# ------------------------------------------------------------ partner picks


def test_pick_neighbour_floor_u_degree():
    """``pick_neighbour`` picks the floor(u * degree)-th neighbour in sorted order, and -1 when isolated."""
    rng = np.random.default_rng(4)
    graph = nx.gnp_random_graph(200, 0.02, seed=4)
    adj = adjacency(graph)
    who = rng.permutation(200)[:150]
    u = rng.random(150, dtype=np.float32)
    u[:3] = [0.0, np.float32(1 - 2**-24), np.nextafter(np.float32(0.5), np.float32(0))]
    got = pick_neighbour(adj, who, u)
    degree = np.diff(adj.indptr)
    assert (degree == 0).any()  # isolated participants are exercised
    for k, i in enumerate(who):
        nbrs = sorted(graph.neighbors(int(i)))
        if not nbrs:
            assert got[k] == -1
        else:
            assert got[k] == nbrs[int(np.floor(np.float64(u[k]) * len(nbrs)))]


def test_pick_neighbour_edgeless_graph():
    """On a graph with no ties at all everyone is isolated, so every pick is -1."""
    adj = adjacency(nx.empty_graph(5))
    got = pick_neighbour(adj, np.arange(5), np.full(5, 0.5, dtype=np.float32))
    np.testing.assert_array_equal(got, -1)


def test_edgeless_graph_runs_with_organizations():
    """A scenario on a graph without ties (mean degree 0, allowed) runs with organizations in both drivers:
    nobody has a partner, so only outreach recruits."""
    raw = {
        "network": {"kind": "erdos_renyi", "n": 40, "mean_degree": 0.0},
        "organizations": [{"name": "P", "kind": "platform", "outreach": 0.5}],
    }
    scenario = scenario_from_dict(raw)
    for driver in ("vectorized", "agents"):
        result = run(scenario, seed=0, steps=5, driver=driver)
        assert result.timeseries["P.members"].iloc[-1] > 0
