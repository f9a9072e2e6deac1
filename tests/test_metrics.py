"""What a run reports: desertion cascades, the surge's half-life, the summary and the time series."""

from __future__ import annotations

import math
import warnings

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import Quadrant, load_scenario, run
from sim.model.metrics import Turnover, half_life
from sim.model.network import adjacency
from sim.vocabulary import TOP_LEVEL, Level

WINDOW = 10


def track(
    graph: nx.Graph, steps: list[dict[int, int]], joins: list[dict[int, int]] | None = None
) -> Turnover:
    """Feed a turnover log a sequence of steps: exits ``{participant: group left}`` and joins
    ``{participant: group joined}`` (a leaver not rejoined anywhere goes to none)."""
    n = graph.number_of_nodes()
    log = Turnover(adjacency(graph))
    group = np.zeros(n, dtype=np.int16)
    joins = joins or [{} for _ in steps]
    for exits, arrivals in zip(steps, joins, strict=True):
        left = np.zeros(n, dtype=np.int16)  # ``update`` takes, per participant, the group left (0: stayed)
        for who, g in exits.items():
            left[who], group[who] = g, 0
        log.update(left)
        for who, g in arrivals.items():
            group[who] = g
        log.arrivals(group, np.array(sorted(arrivals), dtype=np.int64))
    return log


def largest(graph: nx.Graph, steps: list[dict[int, int]], joins=None) -> int:
    return track(graph, steps, joins).largest(WINDOW)


def reference_sizes(
    graph: nx.Graph, steps: list[dict[int, int]], joins: list[dict[int, int]], window: int
) -> list[int]:
    """Brute force: an exit (i, t, g) is a desertion unless i joins g at a step in (t, t + window];
    a desertion's parent is its lowest-numbered neighbour who deserted g at t - 1; a cascade is a
    tree of parents, sized by its distinct participants."""

    def returns(t: int, i: int, g: int) -> bool:
        return any(joins[s].get(i) == g for s in range(t + 1, min(len(steps), t + window + 1)))

    events = [(t, i, g) for t, exits in enumerate(steps) for i, g in exits.items() if not returns(t, i, g)]
    index = {(t, i): k for k, (t, i, _) in enumerate(events)}
    root = list(range(len(events)))
    for k, (t, i, g) in enumerate(events):
        parents = [index[t - 1, j] for j in sorted(graph.neighbors(i)) if (t - 1, j) in index]
        parents = [p for p in parents if events[p][2] == g]
        if parents:
            root[k] = root[parents[0]]  # parents come earlier, so their root is already final
    people: dict[int, set[int]] = {}
    for k, (_, i, _) in enumerate(events):
        people.setdefault(root[k], set()).add(i)
    return sorted((len(p) for p in people.values()), reverse=True)


# ------------------------------------------------------------ desertion and churn


def test_exit_that_returns_within_the_window_is_churn():
    """Leaving and coming back to the same organization within the window is churn, not desertion;
    coming back later, to another organization, or never is desertion."""
    graph = nx.empty_graph(4)
    exits = [{0: 1, 1: 1, 2: 1, 3: 1}] + [{} for _ in range(15)]
    joins = [{} for _ in range(16)]
    joins[3] = {0: 1}  # back after 3 steps: churn
    joins[12] = {1: 1}  # back after 12 steps: desertion (window 10)
    joins[2] = {2: 2}  # to another organization: desertion (to a rival)
    table = track(graph, exits, joins).per_step(3, WINDOW)
    assert table["churned"][1, 1] == 1 and table["deserted"][1, 1] == 3
    assert table["churned"].sum() == 1 and table["deserted"].sum() == 3
    assert table["deserted_to_rival"].sum() == 0  # its destination was none when it left
    assert track(graph, exits, joins).per_step(3, 12)["churned"].sum() == 2  # a longer window


def test_desertion_to_a_rival_is_recorded_with_its_destination():
    """A leaver who joins another organization in the same step deserted to a rival."""
    graph = nx.empty_graph(3)
    table = track(graph, [{0: 1, 1: 1}, {}], [{0: 2}, {}]).per_step(3, WINDOW)
    assert table["deserted"][1, 1] == 2 and table["deserted_to_rival"][1, 1] == 1


def test_an_exit_at_the_end_of_the_run_counts_as_desertion():
    """Right-censored: nothing says a leaver in the last steps will come back."""
    table = track(nx.empty_graph(2), [{}, {0: 1}]).per_step(2, WINDOW)
    assert table["deserted"][2, 1] == 1 and table["churned"].sum() == 0


# ------------------------------------------------------------ cascades


def test_cascade_spreading_along_a_path():
    """Desertions spreading one node per step along a path form one cascade counting every one."""
    assert largest(nx.path_graph(8), [{0: 1}, {1: 1}, {2: 1}, {3: 1}, {4: 1}]) == 5


def test_no_exits_no_cascade():
    """Without exits the largest cascade is 0 and there are none."""
    log = track(nx.path_graph(5), [{}, {}, {}])
    assert log.largest(WINDOW) == 0 and log.cascade_sizes(WINDOW).size == 0


def test_exits_from_different_organizations_do_not_merge():
    """Neighbours leaving different organizations, in the same step or one after the other, are separate."""
    graph = nx.path_graph(6)
    assert largest(graph, [{0: 1, 1: 2, 2: 1}]) == 1
    assert largest(graph, [{0: 1}, {1: 2}, {2: 1}, {3: 2}]) == 1
    assert largest(graph, [{0: 1}, {1: 2}, {2: 2}]) == 2


def test_separate_clusters_stay_separate():
    """Two cascades spreading at the same time in parts of the graph that are not tied stay separate."""
    graph = nx.path_graph(12)
    assert largest(graph, [{0: 1, 11: 1}, {1: 1, 10: 1}, {2: 1}, {}]) == 3
    two_paths = nx.disjoint_union(nx.path_graph(5), nx.path_graph(5))  # nodes 0-4 and 5-9
    assert largest(two_paths, [{4: 1, 5: 1}, {3: 1, 6: 1}, {2: 1, 7: 1}, {8: 1}]) == 4


def test_gap_in_time_breaks_a_cascade():
    """A desertion two steps after a neighbour's is a new cascade (links reach back one step only)."""
    graph = nx.path_graph(4)
    assert largest(graph, [{0: 1}, {}, {1: 1}]) == 1
    assert largest(graph, [{0: 1}, {1: 1}, {}, {2: 1}, {3: 1}]) == 2


def test_a_desertion_has_one_parent():
    """A desertion tied to two earlier cascades joins one of them (a cascade is a tree), so a
    common shock that moves many at once does not chain them into one cascade."""
    assert sorted(track(nx.path_graph(5), [{0: 1, 4: 1}, {1: 1, 3: 1}, {2: 1}]).cascade_sizes(WINDOW)) == [
        2,
        3,
    ]
    star = nx.star_graph(20)  # the hub (0) leaves after all its 20 neighbours left together
    assert largest(star, [dict.fromkeys(range(1, 21), 1), {0: 1}]) == 2


def test_same_step_exits_are_not_linked():
    """Tied neighbours leaving in the same step cannot have caused each other (synchronous update)."""
    graph = nx.path_graph(6)
    assert largest(graph, [{2: 1, 3: 1}]) == 1
    assert largest(graph, [{2: 1, 3: 1}, {1: 1, 4: 1}]) == 2
    assert largest(graph, [{2: 1}, {1: 1, 3: 1}]) == 3  # both caught from 2's earlier desertion


def test_churn_is_not_part_of_a_cascade():
    """A neighbour who left and came back within the window links nothing."""
    graph = nx.path_graph(3)
    exits, joins = [{0: 1}, {1: 1}, {2: 1}, {}], [{}, {}, {1: 1}, {}]
    assert largest(graph, exits) == 3
    assert sorted(track(graph, exits, joins).cascade_sizes(WINDOW)) == [1, 1]


def test_participant_counted_once_per_cascade():
    """Someone who deserts, rejoins after the window and deserts again in one cascade counts once."""
    triangle = nx.cycle_graph(3)
    steps, joins = [{0: 1}, {1: 1}, {2: 1}, {0: 1}], [{}, {}, {0: 1}, {}]
    log = track(triangle, steps, joins)
    assert log.per_step(2, 1)["deserted"].sum() == 4  # back after 2 steps: beyond a window of 1
    assert log.largest(1) == 3


@settings(max_examples=40)
@given(
    n=st.integers(2, 25),
    p=st.floats(0.05, 0.6),
    n_steps=st.integers(1, 8),
    n_groups=st.integers(1, 3),
    exit_p=st.floats(0.0, 0.6),
    join_p=st.floats(0.0, 0.6),
    window=st.integers(1, 4),
    seed=st.integers(0, 2**32),
)
def test_turnover_matches_a_brute_force_count(n, p, n_steps, n_groups, exit_p, join_p, window, seed):
    """On random graphs and random exits and rejoins the log's cascades equal a brute-force count:
    desertions (exits not back within the window), each tied to its first neighbour who deserted
    the same organization the step before; distinct participants per tree."""
    rng = np.random.default_rng(seed)
    graph = nx.gnp_random_graph(n, p, seed=int(rng.integers(2**31)))
    group = rng.integers(1, n_groups + 1, n)  # everyone starts in an organization
    steps, joins = [], []
    for _ in range(n_steps):
        out = {int(i): int(group[i]) for i in np.flatnonzero((group > 0) & (rng.random(n) < exit_p))}
        group[list(out)] = 0
        back = {
            int(i): int(rng.integers(1, n_groups + 1))
            for i in np.flatnonzero((group == 0) & (rng.random(n) < join_p))
        }
        back = {i: g for i, g in back.items() if i not in out}
        group[list(back)] = list(back.values())
        steps.append(out)
        joins.append(back)
    sizes = track(graph, steps, joins).cascade_sizes(window)
    assert list(sizes) == reference_sizes(graph, steps, joins, window)


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


# ------------------------------------------------------------ turnover in runs


def test_every_exit_is_either_desertion_or_churn(castle_run):
    """Per organization and step, desertions and churn add up to the exits; the totals are in the summary."""
    s, frame = castle_run.summary, castle_run.timeseries
    for org in ("Gazette", "Commons"):
        exits = frame[f"{org}.exits"].to_numpy()
        deserted, churned = frame[f"{org}.deserted"].to_numpy(), frame[f"{org}.churned"].to_numpy()
        np.testing.assert_array_equal(deserted + churned, exits)
        assert (frame[f"{org}.deserted_to_rival"] <= frame[f"{org}.deserted"]).all()
        assert s[f"{org}.desertions"] == deserted.sum() and s[f"{org}.churn"] == churned.sum()
        assert s[f"{org}.desertions_to_rival"] == frame[f"{org}.deserted_to_rival"].sum()
    assert s["Gazette.desertions"] + s["Commons.desertions"] > 0  # this run has desertions


def _without_rival(name: str, **overrides):
    from sim.config.scenario import scenario_from_dict

    scenario = load_scenario(name, overrides=overrides)
    raw = dict(scenario.raw)
    raw["shocks"] = [s for s in raw.get("shocks", []) if s["kind"] != "rival_entry"]
    return scenario_from_dict(raw, source=scenario.source)


def test_a_platform_that_becomes_the_man_without_a_rival_has_no_giant_cascade():
    """The issue's case: become_the_man with no rival once reported one cascade of 92% of everyone
    (exits that came back, and a leak's simultaneous exits, chained together). Nobody deserts to a
    rival, and the largest cascade is a small part of the community."""
    result = run(_without_rival("facebook_rival", **{"network.n": 1000}), seed=1000)
    s = result.summary
    assert s["Facebook.desertions_to_rival"] == 0
    assert s["largest_desertion_cascade"] <= 0.1 * s["Facebook.peak_members"]
    sizes = result.model.cascades.cascade_sizes(10)
    assert sizes.sum() <= s["Facebook.desertions"]  # distinct people per cascade, desertions only


@pytest.mark.parametrize("name", ["kickstarter_surge", "uber_fee_hike", "facebook_rival"])
def test_a_cascade_never_exceeds_the_community_it_left(name):
    """Cascades count desertions from one organization, so none is larger than that community at its peak."""
    result = run(load_scenario(name, overrides={"network.n": 800}), seed=1001, steps=120)
    peaks = [result.summary[f"{o.name}.peak_members"] for o in result.model.organizations]
    assert 0 < result.summary["largest_desertion_cascade"] <= max(peaks)
    assert result.summary["desertion_cascade_median"] <= result.summary["desertion_cascade_p90"]


def test_cascade_sizes_of_one_organization_only():
    """Asked for one organization, the cascades are that organization's alone, as in the full list."""
    graph = nx.path_graph(8)
    log = track(graph, [{0: 1, 5: 2}, {1: 1, 6: 2}, {2: 1}])
    assert log.cascade_sizes(WINDOW).tolist() == [3, 2]
    assert log.cascade_sizes(WINDOW, group=1).tolist() == [3]
    assert log.cascade_sizes(WINDOW, group=2).tolist() == [2]
    assert log.cascade_sizes(WINDOW, group=3).size == 0


def test_cascades_name_their_participants_and_organization():
    """Each cascade as its participants and the organization deserted, largest first, matching the sizes
    (class mode's debrief finds the largest one that holds a student)."""
    log = track(nx.path_graph(8), [{0: 1, 5: 2}, {1: 1, 6: 2}, {2: 1}])
    found = log.cascades(WINDOW)
    assert [(who.tolist(), group) for who, group in found] == [([0, 1, 2], 1), ([5, 6], 2)]
    assert [who.size for who, _ in found] == log.cascade_sizes(WINDOW).tolist()
    assert track(nx.path_graph(5), [{}, {}]).cascades(WINDOW) == []


def test_a_run_of_no_steps_reports_no_turnover():
    """Before any step nobody has left: no desertion, no churn, no cascade, and no share of a community
    lost (an organization is at its peak). The turnover log answers from an empty record without failing."""
    result = run(load_scenario("power_shift", overrides={"network.n": 400}), seed=1000, steps=0)
    s = result.summary
    assert s["desertion_cascades"] == 0 and s["largest_desertion_cascade"] == 0
    names = [c.removesuffix(".peak_members") for c in s if c.endswith(".peak_members")]
    assert names
    for name in names:
        assert s[f"{name}.peak_members"] == s[f"{name}.final_members"] > 0
        assert s[f"{name}.desertion_share"] == 0.0
        assert s[f"{name}.desertions"] == s[f"{name}.desertions_to_rival"] == s[f"{name}.churn"] == 0
    assert Turnover(adjacency(nx.path_graph(3))).cascade_sizes(WINDOW).size == 0


def test_an_organization_at_its_peak_at_the_end_lost_no_share():
    """desertion_share is the part of its peak community an organization lost by the end: nothing when
    it ends at its peak, and exactly (peak - final) / peak otherwise."""
    result = run(load_scenario("power_shift", overrides={"network.n": 400}), seed=1001, steps=30)
    s = result.summary
    names = [c.removesuffix(".peak_members") for c in s if c.endswith(".peak_members")]
    at_peak = [n for n in names if s[f"{n}.final_members"] == s[f"{n}.peak_members"] > 0]
    below = [n for n in names if s[f"{n}.final_members"] < s[f"{n}.peak_members"]]
    assert at_peak and below  # both cases occur in this run
    for name in at_peak:
        assert s[f"{name}.desertion_share"] == 0.0
    for name in below:
        peak, final = s[f"{name}.peak_members"], s[f"{name}.final_members"]
        assert s[f"{name}.desertion_share"] == pytest.approx((peak - final) / peak)


def test_the_measures_are_computed_without_numpy_warnings():
    """Desertions whose neighbours stayed, or left another organization, are sorted into cascades
    silently: a user's run prints no RuntimeWarning (a division by zero among booleans once would)."""
    graph = nx.path_graph(6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log = track(graph, [{0: 1, 3: 2}, {1: 1, 4: 1}, {2: 2}], [{}, {}, {0: 1}])
        assert log.cascade_sizes(WINDOW).tolist() == [1, 1, 1, 1]  # 0 came back: churn
        assert log.per_step(3, WINDOW)["churned"].sum() == 1
