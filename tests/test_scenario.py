"""Scenario files and overrides: validation, one clear error naming file, key, value and what is allowed."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from helpers import CASTLE, SCENARIOS, WATTS

from sim import Scenario, ScenarioError, SimError, load_scenario, scenario_from_dict
from sim.model.power_model import PowerModel

CASTLE_TEXT = CASTLE.read_text()


def write(tmp_path, text: str, name: str = "bad.toml"):
    """Write a scenario file into ``tmp_path`` and return its path."""
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path, overrides=None) -> ScenarioError:
    """Load a scenario that must fail; return the error."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides=overrides)
    return info.value


def assert_names(exc: ScenarioError, *parts: str) -> None:
    """The error's one-line message contains every part (file, key, value, allowed values)."""
    text = str(exc)
    assert "\n" not in text
    for part in parts:
        assert part in text, f"{part!r} not in {text!r}"


# ------------------------------------------------------------ shipped scenarios


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_scenarios_load_and_build(path):
    """Every shipped scenario validates, and a small version of it builds a model."""
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario)
    assert scenario.source == str(path)
    # A threshold file names participants 0..n-1, so its scenario keeps its size.
    n = scenario.network.n if scenario.population.threshold_file else 60
    small = scenario.with_overrides({"network.n": n})
    model = PowerModel(small, rng=0)
    assert model.n_participants == n


def test_castle_vs_crowd_contents():
    """The flagship file's organizations, trigger and explicit values are read as written."""
    sc = load_scenario(CASTLE)
    assert [o.name for o in sc.organizations] == ["Gazette", "Commons"]
    gazette, commons = sc.organization("Gazette"), sc.organization("Commons")
    assert (gazette.kind, gazette.openness, gazette.values, gazette.initial_share) == (
        "institution",
        0.15,
        0.2,
        0.5,
    )
    assert (commons.kind, commons.openness, commons.outreach) == ("platform", 0.85, 0.02)
    assert sc.trigger.organization == "Commons" and sc.trigger.level == "SHAPING"
    assert (sc.network.kind, sc.network.n, sc.steps, sc.seed) == ("watts_strogatz", 5000, 150, 42)
    with pytest.raises(KeyError):
        sc.organization("Nobody")


def test_defaults_fill_by_kind_and_normalize():
    """Omitted levers take their kind's defaults; level names are normalized; ints are accepted as floats."""
    sc = scenario_from_dict(
        {
            "network": {"n": 50, "mean_degree": 4},
            "trigger": {"level": "co-owning"},
            "organizations": [{"name": "I"}, {"name": "P", "kind": "platform"}],
        }
    )
    assert sc.network.mean_degree == 4.0 and isinstance(sc.network.mean_degree, float)
    assert sc.trigger.level == "CO_OWNING"
    inst, plat = sc.organizations
    assert (inst.openness, inst.values, inst.stock, inst.take_rate, inst.transparency) == (
        0.15,
        0.2,
        1.0,
        0.2,
        0.2,
    )
    assert (plat.openness, plat.values, plat.stock, plat.take_rate, plat.transparency) == (
        0.8,
        0.7,
        0.1,
        0.1,
        0.6,
    )
    n_float = scenario_from_dict({"network": {"n": 200.0}})
    assert n_float.network.n == 200 and isinstance(n_float.network.n, int)


def test_scenario_is_frozen_and_comparable():
    """A scenario is immutable, and loading the same file twice gives equal scenarios."""
    a, b = load_scenario(WATTS), load_scenario(WATTS)
    assert a == b
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.steps = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.network.n = 3  # type: ignore[misc]


def test_to_dict_round_trips():
    """``to_dict`` gives plain data that, written out as a manifest (JSON), validates back into an
    equal scenario."""
    sc = load_scenario(CASTLE)
    again = scenario_from_dict(json.loads(json.dumps(sc.to_dict())))
    assert again == sc


# ------------------------------------------------------------ bad files

BAD_FILES = {
    # id: (file text, parts the message must name besides the file)
    "unknown_key": ("[network]\nsize = 10\n", ["network.size", "unknown key", "mean_degree", "rewire_prob"]),
    "unknown_top_key": ("stepz = 10\n", ["stepz", "unknown key", "steps", "network"]),
    "wrong_type_int": ('[network]\nn = "big"\n', ["network.n", "'big'", "2 to 1e+07"]),
    "float_for_int": ("[network]\nn = 10.5\n", ["network.n", "10.5", "integer"]),
    "bool_for_float": ("[network]\nmean_degree = true\n", ["network.mean_degree", "True", "0 to 1000"]),
    "nan_number": ("[population]\nthreshold = nan\n", ["population.threshold", "nan", "0 to 1"]),
    "wrong_type_str": ("[network]\nkind = 3\n", ["network.kind", "3", "erdos_renyi"]),
    "out_of_range_low": ("[network]\nmean_degree = -1\n", ["network.mean_degree", "-1", "0 to 1000"]),
    "out_of_range_high": ("[population]\nthreshold = 1.5\n", ["population.threshold", "1.5", "0 to 1"]),
    "out_of_range_int": ("[network]\nn = 1\n", ["network.n", "1", "2 to 1e+07"]),
    "bad_network_kind": (
        '[network]\nkind = "lattice"\n',
        [
            "network.kind",
            "'lattice'",
            "erdos_renyi",
            "watts_strogatz",
            "barabasi_albert",
            "stochastic_block",
            "edge_list",
            "graphml",
        ],
    ),
    "bad_level": ('[trigger]\nlevel = "leading"\n', ["trigger.level", "'leading'", "CONSUMING", "CO_OWNING"]),
    "bad_choose": ('[trigger]\nchoose = "best"\n', ["trigger.choose", "'best'", "random", "hubs"]),
    "bad_org_kind": (
        '[[organizations]]\nname = "A"\nkind = "church"\n',
        ["organizations.0.kind", "'church'", "institution", "platform"],
    ),
    "org_out_of_range": (
        '[[organizations]]\nname = "A"\nopenness = 1.2\n',
        ["organizations.0.openness", "1.2", "0 to 1"],
    ),
    "org_unknown_key": (
        '[[organizations]]\nname = "A"\nopeness = 0.2\n',
        ["organizations.0.openess", "unknown key", "openness"],
    ),
    "duplicate_org_names": (
        '[[organizations]]\nname = "A"\n[[organizations]]\nname = "B"\n[[organizations]]\nname = "A"\n',
        ["organizations.2.name", "duplicate", "'A'", "unique"],
    ),
    "org_without_name": ('[[organizations]]\nkind = "platform"\n', ["organizations.0.name", "name"]),
    "initial_shares_over_one": (
        (
            '[[organizations]]\nname = "A"\ninitial_share = 0.7\n'
            '[[organizations]]\nname = "B"\ninitial_share = 0.5\n'
        ),
        ["initial_share", "1.2", "at most 1"],
    ),
    "unknown_trigger_org": (
        '[trigger]\norganization = "Nobody"\n[[organizations]]\nname = "A"\n[[organizations]]\nname = "B"\n',
        ["trigger.organization", "'Nobody'", "A, B"],
    ),
    "trigger_org_without_orgs": (
        '[trigger]\norganization = "Nobody"\n',
        ["trigger.organization", "'Nobody'"],
    ),
    "unknown_strategy": (
        '[[organizations]]\nname = "A"\nstrategy = "blitzkrieg"\n',
        ["organizations.0.strategy", "'blitzkrieg'", "status_quo"],
    ),
    "values_sd_too_large": (
        "[population]\nvalues_mean = 0.9\nvalues_sd = 0.45\n",
        ["population.values_sd", "0.45", "less than"],
    ),
    "file_network_without_path": ('[network]\nkind = "edge_list"\n', ["network.path", "path"]),
    "table_expected": ("network = 5\n", ["network", "5", "table"]),
    # thresholds (docs/ODD.md 7.3)
    "bad_threshold_kind": (
        '[population]\nthreshold_kind = "percent"\n',
        ["population.threshold_kind", "fraction", "count"],
    ),
    "bad_threshold_distribution": (
        '[population]\nthreshold_distribution = "gamma"\n',
        ["population.threshold_distribution", "'gamma'", "normal", "fixed", "uniform", "beta"],
    ),
    "share_above_one": (
        "[population]\nthreshold = 2.0\n",
        ["population.threshold", "2.0", "0 to 1", '"count"'],
    ),
    "uniform_low_above_high": (
        '[population]\nthreshold_distribution = "uniform"\nthreshold_low = 0.6\nthreshold_high = 0.4\n',
        ["population.threshold_low", "0.6", "at most threshold_high = 0.4"],
    ),
    "beta_of_counts": (
        '[population]\nthreshold_distribution = "beta"\nthreshold_kind = "count"\nthreshold = 0.5\n',
        ["population.threshold_kind", "'count'", '"fraction"'],
    ),
    "beta_spread_too_large": (
        '[population]\nthreshold_distribution = "beta"\nthreshold = 0.1\nthreshold_sd = 0.4\n',
        ["population.threshold_sd", "0.4", "less than 0.300"],
    ),
    "threshold_file_and_attribute": (
        '[population]\nthreshold_file = "t.csv"\nthreshold_attribute = "phi"\n',
        ["population.threshold_attribute", "'phi'", "threshold_file"],
    ),
    "threshold_file_with_file_network": (
        '[network]\nkind = "edge_list"\npath = "e.txt"\n[population]\nthreshold_file = "t.csv"\n',
        ["population.threshold_file", "'t.csv'", "GraphML node attribute"],
    ),
    "threshold_attribute_without_graphml": (
        '[population]\nthreshold_attribute = "phi"\n',
        ["population.threshold_attribute", "'phi'", 'network.kind = "graphml"'],
    ),
    "complete_too_large": ('[network]\nkind = "complete"\nn = 5000\n', ["network.n", "5000", "at most 1000"]),
    # targeted seeding
    "ids_with_random": ("[trigger]\nids = [1, 2]\n", ["trigger.ids", "[1, 2]", '"neighbourhood"']),
    "ids_and_n_seeds": (
        '[trigger]\nchoose = "ids"\nids = [1]\nn_seeds = 3\n',
        ["trigger.n_seeds", "3", "0 when ids are given"],
    ),
    "choose_ids_without_ids": ('[trigger]\nchoose = "ids"\n', ["trigger.ids", "participant numbers"]),
    "ids_with_organization": (
        '[trigger]\nchoose = "ids"\nids = [1]\norganization = "A"\n[[organizations]]\nname = "A"\n',
        ["trigger.organization", "'A'", "ids"],
    ),
    "id_beyond_network": (
        '[network]\nn = 100\n[trigger]\nchoose = "ids"\nids = [3, 100]\n',
        ["trigger.ids.1", "100", "0 to 99"],
    ),
    "id_twice": ('[trigger]\nchoose = "neighbourhood"\nids = [4, 4]\n', ["trigger.ids.1", "4", "distinct"]),
    "id_negative": ('[trigger]\nchoose = "ids"\nids = [-1]\n', ["trigger.ids.0", "-1", "0 to 1e+07"]),
    "id_not_integer": ('[trigger]\nchoose = "ids"\nids = [1.5]\n', ["trigger.ids.0", "1.5", "integer"]),
    "ids_not_a_list": ('[trigger]\nchoose = "ids"\nids = 3\n', ["trigger.ids", "3", "array"]),
    "array_expected": ('[organizations]\nname = "A"\n', ["organizations", "array"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_names_file_key_value_allowed(tmp_path, case):
    """Each kind of bad input raises ``ScenarioError`` naming the file, the dotted key, the bad value
    and what is allowed, on one line."""
    text, parts = BAD_FILES[case]
    path = write(tmp_path, text)
    exc = error_of(path)
    assert isinstance(exc, SimError)
    assert_names(exc, str(path), *parts)


def test_missing_file(tmp_path):
    """A missing scenario file raises ``ScenarioError`` naming the file."""
    path = tmp_path / "nowhere" / "missing.toml"
    assert_names(error_of(path), str(path), "not found")


def test_directory_is_not_a_scenario(tmp_path):
    """A folder given as the scenario raises ``ScenarioError`` naming it."""
    assert_names(error_of(tmp_path), str(tmp_path), "is a directory")


@pytest.mark.parametrize(
    "text",
    ['name = "unclosed\n', "[network\nn = 3\n", "steps = = 3\n", "[network]\nn = 3\n[network]\nn = 4\n"],
    ids=["string", "table", "value", "duplicate_table"],
)
def test_invalid_toml(tmp_path, text):
    """Syntactically invalid TOML raises ``ScenarioError`` naming the file (never a parser traceback)."""
    path = write(tmp_path, text)
    assert_names(error_of(path), str(path), "TOML")


def test_non_utf8_file_is_invalid_toml(tmp_path):
    """A file that is not UTF-8 (TOML must be UTF-8) raises ``ScenarioError`` naming the file,
    not a bare ``UnicodeDecodeError``."""
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "Caf\u00e9"\n'.encode("latin-1"))
    exc = error_of(path)
    assert_names(exc, str(path))


def test_tiny_values_sd_draws_finite_values():
    """A values spread that passes validation (tiny but positive) still draws finite values in [0, 1].

    With ``values_sd`` around 1e-160 the beta parameters overflow (NaN values) and below
    ~1e-162 ``sd**2`` underflows to 0 (ZeroDivisionError while drawing).
    """
    for sd in (1e-160, 1e-170):
        scenario = scenario_from_dict(
            {"network": {"n": 20, "mean_degree": 2}, "population": {"values_sd": sd}}
        )
        model = PowerModel(scenario, rng=0)
        assert np.all(np.isfinite(model.state.values))
        assert np.all((model.state.values >= 0) & (model.state.values <= 1))


# ------------------------------------------------------------ overrides


def test_override_dotted_keys():
    """Dotted overrides replace values in any table, add omitted ones, and leave the file's others."""
    sc = load_scenario(
        WATTS,
        overrides={
            "network.n": 123,
            "network.mean_degree": 2.5,
            "population.threshold": 0.3,
            "dynamics.loyalty": 0.7,
            "steps": 9,
        },
    )
    assert (sc.network.n, sc.network.mean_degree, sc.population.threshold, sc.steps) == (123, 2.5, 0.3, 9)
    assert sc.dynamics.loyalty == 0.7
    assert sc.network.kind == "erdos_renyi" and sc.population.threshold_sd == 0.0


def test_override_organization_by_name_and_index():
    """``organizations.NAME.field`` and ``organizations.INDEX.field`` change that organization only."""
    sc = load_scenario(
        CASTLE, overrides={"organizations.Gazette.openness": 0.4, "organizations.1.take_rate": 0.3}
    )
    assert sc.organization("Gazette").openness == 0.4
    assert sc.organization("Commons").take_rate == 0.3
    assert sc.organization("Gazette").take_rate == 0.25 and sc.organization("Commons").openness == 0.85


def test_overrides_do_not_mutate_inputs():
    """Overriding neither changes the override mapping nor the raw data of an earlier scenario."""
    raw = {"network": {"n": 50}, "organizations": [{"name": "A", "openness": 0.1}]}
    overrides = {"organizations.A.openness": 0.9, "network.n": 60}
    sc = scenario_from_dict(raw, overrides=overrides)
    assert raw == {"network": {"n": 50}, "organizations": [{"name": "A", "openness": 0.1}]}
    assert overrides == {"organizations.A.openness": 0.9, "network.n": 60}
    assert sc.organization("A").openness == 0.9 and sc.network.n == 60


def test_with_overrides():
    """``Scenario.with_overrides`` returns a new validated scenario, keeps earlier overrides and the
    source, and leaves the original unchanged."""
    base = load_scenario(CASTLE, overrides={"network.n": 500})
    changed = base.with_overrides({"organizations.Commons.outreach": 0.1, "network.mean_degree": 6})
    assert changed.network.n == 500 and changed.network.mean_degree == 6.0
    assert changed.organization("Commons").outreach == 0.1
    assert base.organization("Commons").outreach == 0.02 and base.network.mean_degree == 10.0
    assert changed.source == base.source == str(CASTLE)
    assert base.with_overrides({}) == base
    exc = pytest.raises(ScenarioError, base.with_overrides, {"network.n": 0}).value
    assert_names(exc, str(CASTLE), "override", "network.n", "0", "2 to 1e+07")


@pytest.mark.parametrize(
    "overrides, parts",
    [
        ({"network.n": 1}, ["network.n", "override network.n=1", "2 to 1e+07"]),
        ({"network.kind": "lattice"}, ["network.kind", "override", "'lattice'", "erdos_renyi"]),
        ({"network.nodes": 5}, ["network.nodes", "override", "unknown key", "mean_degree"]),
        ({"organizations.Gazette.openness": 2}, ["organizations.0.openness", "override", "0 to 1"]),
        ({"organizations.1.values": -0.5}, ["organizations.1.values", "override", "-0.5", "0 to 1"]),
        ({"organizations.Commons.initial_share": 0.6}, ["initial_share", "override", "1.1", "at most 1"]),
        (
            {"organizations.Commons.name": "Gazette"},
            ["organizations.1.name", "override", "'Gazette'", "unique"],
        ),
        (
            {"organizations.Commons.strategy": "blitz"},
            ["organizations.1.strategy", "override", "'blitz'", "status_quo"],
        ),
        (
            {"trigger.organization": "Nobody"},
            ["trigger.organization", "override", "'Nobody'", "Gazette, Commons"],
        ),
    ],
)
def test_override_errors_mention_override(overrides, parts):
    """A bad override names the file, the override, the key, the value and what is allowed."""
    assert_names(error_of(CASTLE, overrides), str(CASTLE), *parts)


def test_override_unknown_organization():
    """An override naming an organization that does not exist lists the organizations there are."""
    exc = error_of(CASTLE, {"organizations.Herald.openness": 0.5})
    assert_names(exc, str(CASTLE), "override", "organizations.Herald", "'Herald'", "Gazette, Commons")
    exc = error_of(CASTLE, {"organizations.7.openness": 0.5})
    assert_names(exc, str(CASTLE), "override", "organizations.7", "Gazette, Commons")


def test_override_organization_when_there_are_none():
    """Overriding an organization of a scenario without organizations is an error naming the key."""
    assert_names(
        error_of(WATTS, {"organizations.0.openness": 0.5}),
        str(WATTS),
        "override",
        "organizations.0.openness",
        "no organizations",
    )


def test_override_whole_organization_is_an_error():
    """An override may set an organization's field, not replace the organization."""
    assert_names(
        error_of(CASTLE, {"organizations.Gazette": 1}),
        "override",
        "organizations.Gazette",
        "organizations.NAME.FIELD",
    )


@pytest.mark.parametrize("key", ["network..n", ".n", "network."])
def test_override_malformed_key(key):
    """An override key with an empty part is rejected with an example of a dotted key."""
    assert_names(error_of(WATTS, {key: 1}), "override", key, "network.mean_degree")


def test_override_unknown_table_mentions_override():
    """A misspelt table in an override (``netwrk.n``) is blamed on the override, like a misspelt key is."""
    exc = error_of(WATTS, {"netwrk.n": 100})
    assert_names(exc, str(WATTS), "netwrk", "unknown key", "override")


@pytest.mark.parametrize("key", ["network.n.size", "name.first", "organizations.Gazette.name.x"])
def test_override_through_a_value_is_a_scenario_error(key):
    """An override that descends into a plain value (``network.n.size``) is a ``ScenarioError`` naming
    the override key, not a ``TypeError``."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(CASTLE, overrides={key: 1})
    assert_names(info.value, key)


def test_file_error_not_blamed_on_unrelated_override():
    """An invalid value that comes from the file is not blamed on an override of another organization's
    same field (``organizations.A.openness`` must not take the blame for ``organizations.1.openness``)."""
    raw = {"organizations": [{"name": "A", "openness": 0.3}, {"name": "B", "openness": 1.5}]}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(raw, source="file.toml", overrides={"organizations.A.openness": 0.4})
    text = str(info.value)
    assert "organizations.1.openness" in text and "1.5" in text
    assert "override" not in text, text


def test_errors_are_sim_errors_with_fields(tmp_path):
    """``ScenarioError`` keeps its parts as attributes (source, key, value, allowed) for callers."""
    exc = error_of(write(tmp_path, "[network]\nmean_degree = 2000\n"))
    assert exc.key == "network.mean_degree"
    assert exc.value == 2000
    assert exc.allowed == "0 to 1000"
    assert exc.source == str(tmp_path / "bad.toml")
    assert math.isfinite(exc.value)


# ------------------------------------------------------------ threshold data files

BAD_THRESHOLD_FILES = {
    # id: (CSV text, parts the message must name besides the file and the key)
    "no_header": ("0,0.1\n1,0.2\n", ["line 1", "id and threshold"]),
    "bad_id": ("id,threshold\n0,0.1\nseven,0.2\n", ["line 3", "no such participant", "'seven'", "0 to 9"]),
    "id_beyond_network": ("id,threshold\n10,0.1\n", ["line 2", "'10'", "0 to 9"]),
    "id_twice": ("# comment\nid,threshold\n3,0.1\n\n3,0.2\n", ["line 5", "listed twice", "first on line 3"]),
    "not_a_number": ("id,threshold\n0,high\n", ["line 2", "not a threshold", "'high'", "0 to 1"]),
    "share_above_one": ("id,threshold\n0,1.5\n", ["line 2", "'1.5'", "'fraction'"]),
    "missing_field": ("id,threshold\n0\n", ["line 2", "expected 2 fields"]),
    "empty": ("id,threshold\n", ["no thresholds"]),
}


def _threshold_scenario(tmp_path, csv_text: str | None, extra: str = "") -> Scenario:
    """A 10-participant scenario reading thresholds from ``t.csv`` in ``tmp_path`` (written unless None)."""
    if csv_text is not None:
        (tmp_path / "t.csv").write_text(csv_text)
    text = f'[network]\nn = 10\nmean_degree = 4\n[population]\nthreshold_file = "t.csv"\n{extra}'
    return load_scenario(write(tmp_path, text, "s.toml"))


@pytest.mark.parametrize("case", sorted(BAD_THRESHOLD_FILES))
def test_bad_threshold_file_names_file_line_key(tmp_path, case):
    """The first bad line of a threshold file is an error naming the file, the line, the key and the value."""
    text, parts = BAD_THRESHOLD_FILES[case]
    scenario = _threshold_scenario(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        PowerModel(scenario, rng=0)
    assert_names(info.value, str(tmp_path / "t.csv"), "population.threshold_file", *parts)


def test_missing_threshold_file(tmp_path):
    """A threshold file that is not there is named with the key, relative to the scenario's folder."""
    with pytest.raises(ScenarioError) as info:
        PowerModel(_threshold_scenario(tmp_path, None), rng=0)
    assert_names(info.value, str(tmp_path / "t.csv"), "population.threshold_file", "not found")


def test_threshold_file_sets_listed_participants(tmp_path):
    """Listed participants take the file's threshold (extra columns ignored); the others keep the drawn one."""
    csv_text = "id,threshold,note\n2,0.7,x\n5,0,instigator\n"
    extra = 'threshold_distribution = "fixed"\nthreshold = 0.3\n'
    model = PowerModel(_threshold_scenario(tmp_path, csv_text, extra), rng=0)
    expected = np.full(10, 0.3)
    expected[[2, 5]] = [0.7, 0.0]
    np.testing.assert_array_equal(model.state.threshold, expected)


GRAPHML = """<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="phi" for="node" attr.name="phi" attr.type="{type}"/>
  <graph edgedefault="undirected">
    <node id="a"><data key="phi">{a}</data></node>
    <node id="b"/>
    <node id="c"><data key="phi">2</data></node>
    <edge source="a" target="b"/><edge source="b" target="c"/><edge source="a" target="c"/>
  </graph>
</graphml>
"""


def _graphml_scenario(tmp_path, a: str, attr_type: str = "double", name: str = "phi") -> Scenario:
    (tmp_path / "g.graphml").write_text(GRAPHML.format(type=attr_type, a=a))
    text = (
        '[network]\nkind = "graphml"\npath = "g.graphml"\n'
        f'[population]\nthreshold_kind = "count"\nthreshold_attribute = "{name}"\n'
        'threshold_distribution = "fixed"\nthreshold = 1.0\n'
    )
    return load_scenario(write(tmp_path, text, "s.toml"))


def test_graphml_attribute_gives_thresholds(tmp_path):
    """Nodes carrying the attribute take it (counts become shares of one's 2 neighbours); others keep the drawn one."""
    model = PowerModel(_graphml_scenario(tmp_path, "0"), rng=0)
    np.testing.assert_array_equal(model.state.threshold, [0.0, 0.5, 1.0])


@pytest.mark.parametrize(
    ("a", "attr_type", "name", "parts"),
    [
        ("lots", "string", "phi", ["participant 0", "not a threshold", "'lots'"]),
        ("-1", "double", "phi", ["participant 0", "got -1.0", "0 to 1e+07"]),
        ("0", "double", "theta", ["no node has this attribute", "'theta'", "phi"]),
    ],
)
def test_bad_graphml_attribute_names_file_and_key(tmp_path, a, attr_type, name, parts):
    """A missing attribute or a value that is no threshold names the network file and the key."""
    with pytest.raises(ScenarioError) as info:
        PowerModel(_graphml_scenario(tmp_path, a, attr_type, name), rng=0)
    assert_names(info.value, str(tmp_path / "g.graphml"), "population.threshold_attribute", *parts)


def test_seed_id_beyond_a_file_network_is_named_when_built(tmp_path):
    """A network read from a file has its size only once read: an id beyond it is an error at build time."""
    (tmp_path / "e.txt").write_text("a b\nb c\n")
    text = '[network]\nkind = "edge_list"\npath = "e.txt"\n[trigger]\nchoose = "ids"\nids = [1, 3]\n'
    scenario = load_scenario(write(tmp_path, text, "s.toml"))
    with pytest.raises(ScenarioError) as info:
        PowerModel(scenario, rng=0)
    assert_names(info.value, str(tmp_path / "s.toml"), "trigger.ids.1", "3", "0 to 2")
