"""Both build routes give the same runs.

Large generated networks come from igraph straight into CSR, and the NetworkX graph, Mesa's
cells and the ``Participant`` agents are built only when something needs them. Neither changes
what a run computes: the per-agent driver on an igraph graph matches the vectorized driver, a
vectorized model with its agents built matches one without, and ``network.generator = "auto"``
keeps NetworkX (and so every library scenario's graph) below the size threshold.
"""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from helpers import CASTLE, GENERATED_KINDS, state_arrays, summaries_equal, summary_diff

from sim import load_scenario, run
from sim.config.scenario import NetworkSpec
from sim.model.agents import Participant
from sim.model.network import IGRAPH_FROM, build_network, generator_for
from sim.model.power_model import PowerModel


def castle(n: int = 300, generator: str = "igraph", **network):
    overrides = {"network.n": n, "network.generator": generator}
    overrides.update({f"network.{k}": v for k, v in network.items()})
    return load_scenario(CASTLE, overrides=overrides)


def assert_same(a, b) -> None:
    """Two runs with identical time series, summaries and final participant arrays."""
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries, check_exact=True)
    assert summaries_equal(a.summary, b.summary), summary_diff(a.summary, b.summary)
    for name, x in state_arrays(a.model.state).items():
        np.testing.assert_array_equal(x, getattr(b.model.state, name), err_msg=name)


def test_drivers_agree_on_an_igraph_network():
    """The per-agent driver (Mesa agents on a NetworkX graph made from igraph's CSR) matches the vectorized one."""
    scenario = castle()
    vec = run(scenario, seed=4, steps=30, driver="vectorized")
    agt = run(scenario, seed=4, steps=30, driver="agents")
    assert vec.model.generator == agt.model.generator == "igraph"
    assert_same(vec, agt)
    assert vec.timeseries["Commons.joins"].sum() > 0  # joins (which pick neighbours) were exercised


@pytest.mark.parametrize("generator", ["networkx", "igraph"])
def test_building_the_agents_changes_nothing(generator):
    """A vectorized model whose graph, cells and agents were built (eager) runs exactly as one without (lazy)."""
    scenario = castle(generator=generator)
    lazy = PowerModel(scenario, rng=8)
    eager = PowerModel(scenario, rng=8)
    assert len(eager.participants) == eager.n_participants
    for _ in range(25):
        lazy.step()
        eager.step()
    for name, x in state_arrays(lazy.state).items():
        np.testing.assert_array_equal(x, getattr(eager.state, name), err_msg=name)
    pd.testing.assert_frame_equal(lazy.recorder.frame(), eager.recorder.frame(), check_exact=True)


def test_vectorized_model_builds_no_agents_until_asked():
    """The vectorized driver needs only the CSR: no NetworkX graph, cells or participants until touched."""
    model = PowerModel(castle(), rng=1)
    assert model._graph is None
    assert not any(isinstance(a, Participant) for a in model.agents)
    graph = model.graph  # built from the CSR, the same ties
    assert list(graph.nodes) == list(range(model.n_participants))
    assert (nx.to_scipy_sparse_array(graph, nodelist=range(model.n_participants)) != model.adjacency).nnz == 0
    agent = model.participants[17]
    assert agent.index == 17 and agent.cell is model.space[17]
    assert sorted(a.index for a in agent.cell.neighborhood.agents) == sorted(graph.neighbors(17))


def test_agents_driver_builds_its_agents():
    model = PowerModel(castle(), rng=1, driver="agents")
    assert sum(isinstance(a, Participant) for a in model.agents) == model.n_participants


@pytest.mark.parametrize("kind", GENERATED_KINDS)
def test_igraph_networks_are_simple_reproducible_and_of_the_asked_degree(kind):
    spec = NetworkSpec(kind=kind, n=3000, mean_degree=8.0, generator="igraph", n_blocks=3, mixing=0.2)
    adj = build_network(spec, np.random.default_rng(5)).adjacency
    again = build_network(spec, np.random.default_rng(5)).adjacency
    other = build_network(spec, np.random.default_rng(6)).adjacency
    assert (adj != adj.T).nnz == 0 and adj.diagonal().sum() == 0 and set(np.unique(adj.data)) == {1}
    assert adj.has_sorted_indices and adj.indices.dtype == np.int32
    assert (adj != again).nnz == 0 and (adj != other).nnz > 0
    assert adj.nnz / 3000 == pytest.approx(8.0, rel=0.08)


def test_igraph_leaves_pythons_global_generator_alone():
    spec = NetworkSpec(kind="erdos_renyi", n=2000, mean_degree=6.0, generator="igraph")
    before = random.getstate()
    build_network(spec, np.random.default_rng(1))
    assert random.getstate() == before


def test_both_generators_consume_the_same_random_stream():
    """Whichever library made the graph, the model's generator continues from the same point."""
    expected = np.random.default_rng(9)
    expected.integers(2**31 - 1)  # the one seed a graph takes
    follows = expected.random()
    for generator in ("networkx", "igraph"):
        rng = np.random.default_rng(9)
        build_network(NetworkSpec(n=500, generator=generator), rng)
        assert rng.random() == follows


def test_auto_generator_picks_by_size():
    assert generator_for(NetworkSpec(n=IGRAPH_FROM - 1)) == "networkx"
    assert generator_for(NetworkSpec(n=IGRAPH_FROM)) == "igraph"
    assert generator_for(NetworkSpec(n=IGRAPH_FROM, generator="networkx")) == "networkx"
    assert generator_for(NetworkSpec(n=50, generator="igraph")) == "igraph"
    assert generator_for(NetworkSpec(kind="edge_list", n=IGRAPH_FROM, path="x.txt")) == "networkx"
    assert generator_for(NetworkSpec(kind="complete", n=50, generator="igraph")) == "networkx"


def test_unknown_generator_is_rejected():
    from sim import SimError

    with pytest.raises(SimError, match="network.generator"):
        castle(generator="networkit")
