"""The memory estimate: close to measured peaks and never below them; a run that cannot fit is refused
before anything is built, in one line that says what to change."""

from __future__ import annotations

import importlib.util
import re
import sys
import time

import networkx as nx
import numpy as np
import pytest
from helpers import CASTLE, ROOT

from sim import load_scenario, run
from sim.config.scenario import NETWORK_KINDS, NetworkSpec
from sim.faces.cli.main import main
from sim.model import footprint, network
from sim.model.network import build_graph, expected_ties, generator_for

_spec = importlib.util.spec_from_file_location("bench_footprint", ROOT / "benchmarks" / "bench_footprint.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

TEN_MILLION = {"network.n": 10_000_000}


# ------------------------------------------------------------ the estimate against measured peaks


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind, n, z, driver",
    [
        ("watts_strogatz", 20_000, 10.0, "vectorized"),
        ("watts_strogatz", 100_000, 10.0, "vectorized"),  # igraph builds it (IGRAPH_FROM)
        ("watts_strogatz", 20_000, 10.0, "agents"),
        ("erdos_renyi", 20_000, 30.0, "vectorized"),
        ("edge_list", 20_000, 10.0, "vectorized"),
        ("graphml", 20_000, 10.0, "vectorized"),
    ],
)
def test_estimate_brackets_the_measured_peak(kind, n, z, driver, tmp_path):
    """In a fresh process, the peak resident memory of building the model and running 3 steps, above
    the process's size before, is never more than the estimate, and the estimate's size-dependent
    part (all but FIXED, the imports and kernel compilation, which a warm Numba cache or modules
    already imported by the parent partly spare) is at most TOLERANCE times the peak. (Every kind, and sizes up to 1,000,000, are compared by benchmarks/bench_footprint.py and in
    docs/robustness.md: too slow for the suite.)"""
    point = bench.measure(kind, n, z, driver, folder=tmp_path)
    measured = point["peak"] - point["before"]
    if kind in ("edge_list", "graphml"):
        ties = point["ties"]  # a file's ties are known when the check runs (after parsing)
        route = "networkx"
    else:
        spec = NetworkSpec(kind=kind, n=n, mean_degree=z)
        ties, route = expected_ties(spec), generator_for(spec)  # what the check uses
    needed = footprint.estimate(kind, point["n"], ties, driver, route)
    assert measured <= needed, (measured / 1e6, needed / 1e6)
    assert needed - footprint.FIXED <= footprint.TOLERANCE * measured, (measured / 1e6, needed / 1e6)


@pytest.mark.slow
@pytest.mark.parametrize("z", [4.0, 20.0])
def test_graphml_parse_estimate_brackets_the_measured_peak(z, tmp_path):
    """Parsing a GraphML file alone (its XML tree) peaks below the estimate from its size, and
    within TOLERANCE of it, for sparse and dense graphs."""
    point = bench.measure("graphml", 60_000, z, "-", folder=tmp_path, parse_only=True)
    measured = point["peak"] - point["before"]
    needed = footprint.PARSE_PER_BYTE["graphml"] * point["file_bytes"]
    assert measured <= needed <= footprint.TOLERANCE * measured, (measured / 1e6, needed / 1e6)


def test_estimate_grows_with_size_and_counts_the_heavier_driver():
    """More participants or ties never need less; an unknown driver counts the heavier one."""
    for kind in NETWORK_KINDS:
        small, large = footprint.estimate(kind, 1e4, 5e4), footprint.estimate(kind, 1e6, 5e6)
        assert footprint.FIXED < small < large
        assert footprint.estimate(kind, 1e4, 5e5) > small
        both = [footprint.estimate(kind, 1e5, 5e5, d) for d in footprint.DRIVERS]
        assert footprint.estimate(kind, 1e5, 5e5) == max(both)


# ------------------------------------------------------------ refusing before building


def no_graph_building(monkeypatch) -> None:
    """Make every graph generator fail the test if it is called."""
    for name in (
        "watts_strogatz_graph",
        "fast_gnp_random_graph",
        "barabasi_albert_graph",
        "stochastic_block_model",
    ):
        monkeypatch.setattr(nx, name, lambda *a, **k: pytest.fail("a graph was built"))
    monkeypatch.setattr(network, "igraph_adjacency", lambda *a, **k: pytest.fail("a graph was built"))


def test_ten_million_refused_before_anything_is_built(monkeypatch):
    """With 8 GB available, ten million participants are refused at once, before any graph is built:
    the message names the scenario, the key, the value, the memory needed and available, and the
    largest n that fits (which does fit, while 5% more would not)."""
    monkeypatch.setattr(footprint, "available", lambda: 8e9)
    no_graph_building(monkeypatch)
    spec = load_scenario(CASTLE, overrides=TEN_MILLION).network
    start = time.perf_counter()
    with pytest.raises(footprint.NotEnoughMemory) as info:
        build_graph(spec, np.random.default_rng(0), source=str(CASTLE), driver="vectorized")
    assert time.perf_counter() - start < 1
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{CASTLE}: key 'network.n': ") and "(got 10000000)" in message
    assert "8.0 GB is available" in message
    needed = float(re.search(r"needs about ([0-9.]+) GB", message).group(1)) * 1e9
    assert needed == pytest.approx(info.value.needed, rel=0.05) and needed > 8e9
    fits = int(re.search(r"network.n at most about ([0-9,]+)", message).group(1).replace(",", ""))
    for n, fit in ((fits, True), (int(fits * 1.05), False)):
        smaller = NetworkSpec(kind="watts_strogatz", n=n, mean_degree=spec.mean_degree)
        assert (footprint.estimate("watts_strogatz", n, expected_ties(smaller), "vectorized") <= 8e9) is fit


def test_a_run_is_refused_before_anything_is_built(monkeypatch):
    """Through ``sim.run`` (where igraph would build ten million, needing about 5 GB) the same refusal
    comes before the model builds anything."""
    monkeypatch.setattr(footprint, "available", lambda: 2e9)
    no_graph_building(monkeypatch)
    with pytest.raises(footprint.NotEnoughMemory, match="key 'network.n'"):
        run(load_scenario(CASTLE, overrides=TEN_MILLION), steps=1)


def test_a_run_refusal_names_the_scenario(monkeypatch):
    """Through ``sim.run`` the refusal names the scenario file."""
    monkeypatch.setattr(footprint, "available", lambda: 2e9)
    no_graph_building(monkeypatch)
    with pytest.raises(footprint.NotEnoughMemory, match=str(CASTLE)):
        run(load_scenario(CASTLE, overrides=TEN_MILLION), steps=1)


def test_command_line_refusal_is_one_line(monkeypatch, capsys, tmp_path):
    """``newpower run`` on a scenario that cannot fit exits 2 with one ``newpower: error:`` line."""
    monkeypatch.setattr(footprint, "available", lambda: 2e9)
    no_graph_building(monkeypatch)
    code = main(
        ["run", str(CASTLE), "--set", "network.n=10000000", "--steps", "1", "--out", str(tmp_path / "out")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("newpower: error:"), err
    assert "network.n" in err and "2.0 GB is available" in err


def test_a_run_that_fits_is_not_refused(monkeypatch):
    """The check refuses nothing that fits: a small run goes ahead with only a little memory free."""
    monkeypatch.setattr(footprint, "available", lambda: 2e8)
    spec = NetworkSpec(kind="watts_strogatz", n=2000, mean_degree=10.0)
    assert build_graph(spec, np.random.default_rng(0)).number_of_nodes() == 2000


def test_skip_variable_and_unknown_memory_refuse_nothing(monkeypatch):
    """``NEWPOWER_SKIP_MEMORY_CHECK=1`` turns the check off; so does a machine whose memory cannot be read."""
    monkeypatch.setattr(footprint, "available", lambda: 1.0)
    monkeypatch.setenv(footprint.SKIP_VARIABLE, "1")
    footprint.require("watts_strogatz", 1e7, 5e7)
    monkeypatch.delenv(footprint.SKIP_VARIABLE)
    with pytest.raises(footprint.NotEnoughMemory):
        footprint.require("watts_strogatz", 1e7, 5e7)
    monkeypatch.setattr(footprint, "available", lambda: None)
    footprint.require("watts_strogatz", 1e7, 5e7)


# ------------------------------------------------------------ reading the available memory


def test_available_without_psutil_reads_proc_meminfo(monkeypatch, tmp_path):
    """Without psutil the system's figure is MemAvailable of /proc/meminfo (kB)."""
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil now fails
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16000000 kB\nMemFree:   100 kB\nMemAvailable:    3000000 kB\n")
    assert footprint._system_available(meminfo) == 3_000_000 * 1024
    assert footprint._system_available(tmp_path / "absent") is None


def test_container_limit_bounds_the_available_memory(monkeypatch, tmp_path):
    """Inside a container, what its memory limit still allows counts when it is less (cgroup v2 and v1;
    no limit counts for nothing)."""
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "memory.max").write_text("2000000000\n")
    (v2 / "memory.current").write_text("500000000\n")
    assert footprint._cgroup_headroom(v2) == 1_500_000_000
    (v2 / "memory.max").write_text("max\n")
    assert footprint._cgroup_headroom(v2) is None
    v1 = tmp_path / "v1" / "memory"
    v1.mkdir(parents=True)
    (v1 / "memory.limit_in_bytes").write_text("1000000000\n")
    (v1 / "memory.usage_in_bytes").write_text("400000000\n")
    assert footprint._cgroup_headroom(tmp_path / "v1") == 600_000_000
    (v1 / "memory.limit_in_bytes").write_text(str(2**63 - 4096))
    assert footprint._cgroup_headroom(tmp_path / "v1") is None
    monkeypatch.setattr(footprint, "_system_available", lambda: 5e9)
    monkeypatch.setattr(footprint, "_cgroup_headroom", lambda: 1e9)
    assert footprint.available() == 1e9
    monkeypatch.setattr(footprint, "_cgroup_headroom", lambda: None)
    assert footprint.available() == 5e9
