"""What a run reports: desertion cascades, the surge's half-life, the summary and the time series."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components

from sim import Quadrant
from sim.model.metrics import CascadeTracker, half_life
from sim.model.network import adjacency
from sim.vocabulary import TOP_LEVEL, Level


def track(graph: nx.Graph, steps: list[dict[int, int]]) -> CascadeTracker:
    """Feed a tracker a sequence of steps, each ``{participant: group it left}``."""
    n = graph.number_of_nodes()
    tracker = CascadeTracker(adjacency(graph))
    for exits in steps:  # ``update`` takes, per participant, the group left this step (0: stayed)
        left = np.zeros(n, dtype=np.int16)
        for who, group in exits.items():
            left[who] = group
        tracker.update(left)
    return tracker


def reference_largest(graph: nx.Graph, steps: list[dict[int, int]]) -> int:
    """Brute force: exit (i, t) links to exit (j, t-1) of a neighbour j who left the same organization;
    a cascade's size is the number of distinct participants among its linked exits."""
    events = [(t, i, g) for t, exits in enumerate(steps) for i, g in exits.items()]
    if not events:
        return 0
    index = {(t, i): k for k, (t, i, _) in enumerate(events)}
    src, dst = [], []
    for k, (t, i, g) in enumerate(events):
        for j in graph.neighbors(i):
            other = index.get((t - 1, j))
            if other is not None and events[other][2] == g:
                src.append(k)
                dst.append(other)
    m = len(events)
    _, label = connected_components(
        sp.coo_array((np.ones(len(src)), (src, dst)), shape=(m, m)), directed=False
    )
    people: dict[int, set[int]] = {}
    for k, (_, i, _) in enumerate(events):
        people.setdefault(int(label[k]), set()).add(i)
    return max(len(p) for p in people.values())


# ------------------------------------------------------------ cascades


def test_cascade_spreading_along_a_path():
    """Exits spreading one node per step along a path form one cascade counting every exit."""
    graph = nx.path_graph(8)
    tracker = track(graph, [{0: 1}, {1: 1}, {2: 1}, {3: 1}, {4: 1}])
    assert tracker.largest == 5


def test_no_exits_no_cascade():
    """Without exits the largest cascade is 0."""
    assert track(nx.path_graph(5), [{}, {}, {}]).largest == 0


def test_exits_from_different_organizations_do_not_merge():
    """Neighbours leaving different organizations, in the same step or one after the other, are separate."""
    graph = nx.path_graph(6)
    assert track(graph, [{0: 1, 1: 2, 2: 1}]).largest == 1
    assert track(graph, [{0: 1}, {1: 2}, {2: 1}, {3: 2}]).largest == 1
    assert track(graph, [{0: 1}, {1: 2}, {2: 2}]).largest == 2


def test_separate_clusters_stay_separate():
    """Two cascades spreading at the same time in parts of the graph that are not tied stay separate;
    the largest is the bigger one."""
    graph = nx.path_graph(12)
    tracker = track(graph, [{0: 1, 11: 1}, {1: 1, 10: 1}, {2: 1}, {}])
    assert tracker.largest == 3
    two_paths = nx.disjoint_union(nx.path_graph(5), nx.path_graph(5))  # nodes 0-4 and 5-9
    tracker = track(two_paths, [{4: 1, 5: 1}, {3: 1, 6: 1}, {2: 1, 7: 1}, {8: 1}])
    assert tracker.largest == 4


def test_gap_in_time_breaks_a_cascade():
    """An exit two steps after a neighbour's is a new cascade (links reach back one step only)."""
    graph = nx.path_graph(4)
    assert track(graph, [{0: 1}, {}, {1: 1}]).largest == 1
    assert track(graph, [{0: 1}, {1: 1}, {}, {2: 1}, {3: 1}]).largest == 2


def test_cascades_merge_through_a_bridge():
    """Two cascades joined by a later exit tied to both become one (a connected set of exits)."""
    graph = nx.path_graph(5)
    tracker = track(graph, [{0: 1, 4: 1}, {1: 1, 3: 1}, {2: 1}])
    assert tracker.largest == 5


def test_same_step_exits_are_not_linked():
    """Tied neighbours leaving in the same step cannot have caused each other (synchronous update):
    they are separate cascades unless a later or earlier exit links them."""
    graph = nx.path_graph(6)
    assert track(graph, [{2: 1, 3: 1}]).largest == 1
    assert track(graph, [{2: 1, 3: 1}, {1: 1, 4: 1}]).largest == 2
    assert track(graph, [{2: 1}, {1: 1, 3: 1}]).largest == 3  # linked through 2's earlier exit


def test_participant_counted_once_per_cascade():
    """Someone who leaves, rejoins and leaves again within one cascade counts once."""
    graph = nx.path_graph(3)
    assert track(graph, [{0: 1}, {1: 1}, {0: 1}]).largest == 2
    # two cascades from two organizations, each with the same two people
    assert track(graph, [{0: 1}, {1: 1, 0: 2}, {1: 2}]).largest == 2


@settings(max_examples=40)
@given(
    n=st.integers(2, 25),
    p=st.floats(0.05, 0.6),
    n_steps=st.integers(1, 6),
    n_groups=st.integers(1, 3),
    exit_p=st.floats(0.0, 0.6),
    seed=st.integers(0, 2**32),
)
def test_tracker_matches_space_time_components(n, p, n_steps, n_groups, exit_p, seed):
    """On random graphs and random exit sequences the tracker's largest cascade equals a brute-force count:
    exits linked by a tie, the same organization and consecutive steps; distinct participants per
    component."""
    rng = np.random.default_rng(seed)
    graph = nx.gnp_random_graph(n, p, seed=int(rng.integers(2**31)))
    steps = [
        {int(i): int(rng.integers(1, n_groups + 1)) for i in np.flatnonzero(rng.random(n) < exit_p)}
        for _ in range(n_steps)
    ]
    assert track(graph, steps).largest == reference_largest(graph, steps)


# ------------------------------------------------------------ half-life


def test_half_life_counts_steps_from_peak():
    """Half-life is the number of steps after the peak until the excess over the start has halved."""
    active = np.array([0.0, 0.5, 1.0, 0.75, 0.5, 0.25])
    assert half_life(active, 2) == 2.0
    active = np.array([0.25, 0.75, 0.5, 0.25])
    assert half_life(active, 1) == 1.0  # down to exactly half the excess counts


def test_half_life_nan_without_surge():
    """No surge (the peak is the start, flat or falling series): NaN."""
    assert math.isnan(half_life(np.array([0.3, 0.3, 0.3]), 0))
    assert math.isnan(half_life(np.array([0.5, 0.4, 0.1]), 0))


def test_half_life_nan_without_decay():
    """A surge that never falls back to half its excess: NaN."""
    assert math.isnan(half_life(np.array([0.0, 0.5, 1.0, 0.9, 0.8]), 2))
    assert math.isnan(half_life(np.array([0.0, 0.5, 1.0]), 2))


# ------------------------------------------------------------ summary and time series

LEVEL_COLUMNS = [f"n_{lv.name.lower()}" for lv in Level]
ORG_MEASURES = [
    "members",
    "active",
    "mean_level",
    "current",
    "stock",
    "legitimacy",
    "openness",
    "values",
    "quadrant",
    "mean_grievance",
    "joins",
    "exits",
]


def test_timeseries_columns(castle_run):
    """One row per step from 0, with level counts and every documented per-organization measure."""
    frame = castle_run.timeseries
    assert len(frame) == 41
    assert list(frame["step"]) == list(range(41)) and list(frame.index) == list(range(41))
    assert LEVEL_COLUMNS == [
        "n_consuming",
        "n_sharing",
        "n_shaping",
        "n_funding",
        "n_producing",
        "n_co_owning",
    ]
    for column in ["step", "active_fraction", "n_unaffiliated", *LEVEL_COLUMNS]:
        assert column in frame.columns, column
    for org in ("Gazette", "Commons"):
        for measure in ORG_MEASURES:
            assert f"{org}.{measure}" in frame.columns, f"{org}.{measure}"
    assert set(frame["Gazette.quadrant"]) <= {q.value for q in Quadrant}


def test_summary_keys_and_consistency(castle_run):
    """The summary has the documented keys, and they agree with the time series they come from."""
    s, frame = castle_run.summary, castle_run.timeseries
    for key in [
        "final_active_fraction",
        "peak_active_fraction",
        "peak_step",
        "half_life",
        "largest_desertion_cascade",
        "n_participants",
        "steps",
    ]:
        assert key in s, key
    active = frame["active_fraction"].to_numpy()
    assert s["final_active_fraction"] == active[-1]
    assert s["peak_active_fraction"] == active.max()
    assert s["peak_step"] == int(np.argmax(active))
    assert (s["n_participants"], s["steps"]) == (300, 40)
    hl = half_life(active, int(np.argmax(active)))
    assert (math.isnan(hl) and math.isnan(s["half_life"])) or s["half_life"] == hl
    total_exits = int(frame["Gazette.exits"].sum() + frame["Commons.exits"].sum())
    assert 0 <= s["largest_desertion_cascade"] <= total_exits
    assert s["largest_desertion_cascade"] > 0  # this run has desertions
    for org in ("Gazette", "Commons"):
        members = frame[f"{org}.members"].to_numpy()
        for key in ("desertion_share", "final_quadrant", "final_openness", "final_values"):
            assert f"{org}.{key}" in s, f"{org}.{key}"
        peak = members.max()
        assert s[f"{org}.desertion_share"] == pytest.approx(max(0, peak - members[-1]) / peak)
        assert 0.0 <= s[f"{org}.desertion_share"] <= 1.0
        assert s[f"{org}.final_openness"] == frame[f"{org}.openness"].iloc[-1]
        assert s[f"{org}.final_values"] == frame[f"{org}.values"].iloc[-1]
        assert (
            s[f"{org}.final_quadrant"]
            == Quadrant.of(s[f"{org}.final_openness"], s[f"{org}.final_values"]).value
        )


def test_timeseries_counts_agree_with_final_state(castle_run):
    """The last row's level counts and memberships are those of the final participant state."""
    frame, state = castle_run.timeseries, castle_run.model.state
    last = frame.iloc[-1]
    np.testing.assert_array_equal(
        last[LEVEL_COLUMNS].to_numpy(dtype=int), np.bincount(state.level, minlength=6)
    )
    for k, org in enumerate(("Gazette", "Commons"), start=1):
        assert last[f"{org}.members"] == (state.group == k).sum()
        assert last[f"{org}.active"] == ((state.group == k) & (state.level >= 1)).sum()
    assert last["n_unaffiliated"] == (state.group == 0).sum()


def test_tally_sums_agree_with_the_state(castle_run):
    """Each organization's tallied sums, current, joins and exits are those of its members now."""
    model, state = castle_run.model, castle_run.model.state
    assert state.exited.any() or state.joined.any()  # the last step moved someone
    for org in model.organizations:
        mine = state.group == org.group
        assert org.level_sum == state.level[mine].sum()
        assert org.grievance_sum == pytest.approx(state.grievance[mine].sum(), rel=1e-12)
        participation = (state.level[mine] * state.commitment[mine]).sum() / TOP_LEVEL
        assert org.participation_sum == pytest.approx(participation, rel=1e-12)
        assert org.current == pytest.approx(participation / model.n_participants, rel=1e-12)
        assert org.n_exits == (state.left == org.group).sum()
        assert org.n_joins == (state.joined & mine).sum()
    np.testing.assert_array_equal(np.sort(model.movers), np.flatnonzero(state.exited | state.joined))
