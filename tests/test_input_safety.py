"""Hostile or clumsy scenario input: one clear line naming file, key and value; no code run unasked.

Each test feeds one kind of bad input that used to give a traceback, a late failure or a
misleading message, and checks the one-line ``ScenarioError`` (the CLI prints it and exits 2).
The opt-in tests use a module that writes a marker file when it is imported: without the
user's opt-in the marker must never appear.
"""

from __future__ import annotations

import importlib
import pickle
import sys
import uuid
from pathlib import Path

import pytest
from helpers import CASTLE

from sim import ScenarioError, load_scenario, scenario_from_dict
from sim.config import scenario as config
from sim.config.source import MAX_DEPTH, parse_value
from sim.config.spec import MAX_NAME
from sim.model.catalog import check_scenario
from sim.model.power_model import PowerModel
from sim.scenarios import LIBRARY


def error_of(path, **kwargs) -> str:
    """The one-line message of loading ``path``, which must fail with a ScenarioError."""
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, **kwargs)
    text = str(info.value)
    assert "\n" not in text
    return text


def assert_names(text: str, *parts: str) -> None:
    for part in parts:
        assert part in text, f"{part!r} not in {text!r}"


# ---------------------------------------------------------------- finding the file


def test_library_scenario_by_name():
    """A bare name (with or without .toml) finds the library scenario, from any working folder."""
    by_name = load_scenario("power_shift")
    assert by_name.source == str(LIBRARY / "power_shift.toml")
    assert load_scenario("power_shift.toml") == by_name == load_scenario(LIBRARY / "power_shift.toml")


def test_a_file_wins_over_the_library(tmp_path, monkeypatch):
    """A file of that name in the working folder is the user's: it is read, not the library's."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "power_shift.toml").write_text('name = "mine"\n')
    assert load_scenario("power_shift.toml").name == "mine"


def test_misspelt_library_name_suggests_the_closest():
    assert_names(error_of("power_shfit"), "power_shfit", "not found", "did you mean power_shift?")


def test_directory_says_it_is_a_directory(tmp_path):
    assert_names(error_of(tmp_path), str(tmp_path), "is a directory")


# ---------------------------------------------------------------- reading the file


@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a = ", "}")], ids=["arrays", "inline_tables"])
def test_deep_nesting_is_one_line(tmp_path, opening, closing):
    """500 nested arrays or inline tables (RecursionError in the parser) are refused naming the file."""
    path = tmp_path / "deep.toml"
    path.write_text("v = " + opening * 500 + "1" * (opening != "[") + closing * 500 + "\n")
    assert_names(error_of(path), str(path), "nested too deeply", f"at most {MAX_DEPTH} levels")


def test_nesting_the_parser_survives_is_refused_by_key(tmp_path):
    """Nesting the parser reads but later steps would not is refused naming the key."""
    path = tmp_path / "deep.toml"
    path.write_text("[sweep.factors]\nx = " + "[" * 40 + "]" * 40 + "\n")
    assert_names(error_of(path), str(path), "sweep.factors.x.0.0", "nested more than")


def test_deep_python_data_is_refused():
    """The same holds for data built in Python (``scenario_from_dict``)."""
    deep: list = []
    for _ in range(2000):
        deep = [deep]
    with pytest.raises(ScenarioError, match="nested more than"):
        scenario_from_dict({"uncertain": {"x": deep}}, source="mine")


def test_integer_too_long_to_read_names_file_line_and_key(tmp_path):
    """An integer of 4,400 digits (ValueError in the parser) names the file, the line and the key."""
    path = tmp_path / "big.toml"
    path.write_text('name = "x"\n[network]\nn = ' + "7" * 4400 + "\n")
    assert_names(error_of(path), str(path), "key 'network.n'", "line 3", "4,400 digits", "7777")


def test_integer_too_long_in_an_override():
    """The same integer in ``--set`` or in a Python override is one line naming the key."""
    with pytest.raises(ScenarioError) as info:
        parse_value("9" * 5000, key="network.n")
    assert_names(str(info.value), "--set", "network.n", "9999", "4,300 digits")
    text = error_of(CASTLE, overrides={"network.n": 10**5000})
    assert_names(text, str(CASTLE), "override network.n", "network.n", "5001 digits", "2 to 1e+07")


def test_number_beyond_64_bits_is_refused_at_load(tmp_path):
    """A seed or a step beyond what 64 bits hold is refused at load, not after the run (Parquet)."""
    path = tmp_path / "seed.toml"
    path.write_text("seed = 99999999999999999999999\n")
    assert_names(error_of(path), str(path), "seed", "99999999999999999999999", "out of range")
    path.write_text('[[organizations]]\nname = "A"\n[[shocks]]\nkind = "leak"\ntarget = "A"\nstep = 1e30\n')
    assert_names(error_of(path), str(path), "shocks.0.step", "64-bit", "9223372036854775807")


def test_byte_order_mark_is_accepted(tmp_path):
    """A UTF-8 byte-order mark (Windows editors) is not an "Invalid statement"."""
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + CASTLE.read_bytes())
    assert load_scenario(path) == load_scenario(CASTLE)


def test_long_organization_name_is_refused(tmp_path):
    """An organization name over the limit is refused at validation (figures would take minutes)."""
    path = tmp_path / "long.toml"
    path.write_text(f'[[organizations]]\nname = "{"N" * 100_000}"\n')
    text = error_of(path)
    assert_names(text, str(path), "organizations.0.name", "100,000 characters", f"at most {MAX_NAME}")
    assert len(text) < 400
    path.write_text(f'[[shocks]]\nkind = "rival_entry"\nname = "{"R" * (MAX_NAME + 1)}"\n')
    assert_names(error_of(path), str(path), "shocks.0.name", f"at most {MAX_NAME}")


def test_the_override_that_set_the_value_is_blamed():
    """``--set network.n=300 --set network=1``: the error is the second override's."""
    text = error_of(CASTLE, overrides={"network.n": 300, "network": 1})
    assert_names(text, "override network=1", "key 'network'", "expected a table")
    assert "network.n=" not in text
    text = error_of(CASTLE, overrides={"network": {"n": 1}, "steps": 5})
    assert_names(text, "override network=", "network.n")


# ---------------------------------------------------------------- what shocks name and add


def test_repeating_rival_entry_is_refused_at_load(tmp_path):
    """A rival that would enter again every 5 steps (its name then taken) is refused with file and key."""
    path = tmp_path / "rival.toml"
    path.write_text('[[shocks]]\nkind = "rival_entry"\nstep = 1\nevery = 5\n')
    assert_names(error_of(path), str(path), "shocks.0.every", "cannot repeat", "(got 5)")


def test_shock_naming_a_rival_before_it_enters_is_refused(tmp_path):
    """A leak at step 2 aimed at a rival entering at step 10 would fail during the run: refused at load."""
    path = tmp_path / "early.toml"
    path.write_text(
        '[[organizations]]\nname = "A"\n'
        '[[shocks]]\nkind = "leak"\nstep = 2\ntarget = "Rival"\n'
        '[[shocks]]\nkind = "rival_entry"\nstep = 10\n'
    )
    assert_names(error_of(path), str(path), "shocks.0.target", "'Rival'", "enters only at step 10")
    path.write_text(
        '[[organizations]]\nname = "A"\n'
        '[[shocks]]\nkind = "rival_entry"\nstep = 10\n'
        '[[shocks]]\nkind = "leak"\nstep = 10\ntarget = "Rival"\n'
    )
    assert [s.kind for s in load_scenario(path).shocks] == ["rival_entry", "leak"]


def test_campaign_sides_must_differ(tmp_path):
    path = tmp_path / "campaign.toml"
    path.write_text(
        '[[organizations]]\nname = "A"\n[[shocks]]\nkind = "campaign"\nside_a = "A"\nside_b = "A"\n'
    )
    assert_names(error_of(path), str(path), "shocks.0.side_b", "different organizations", "other than A")


def test_config_alone_imports_no_model_and_checks_no_names():
    """``sim.config`` checks the data only; the catalog adds the names (the full check ``sim`` exports)."""
    raw = {"organizations": [{"name": "A", "strategy": "blitz"}]}
    scenario = config.scenario_from_dict(raw, source="mine")  # data only: fine
    with pytest.raises(ScenarioError, match="unknown strategy"):
        check_scenario(scenario)
    with pytest.raises(ScenarioError, match="unknown strategy"):
        PowerModel(scenario)  # the model refuses it with the same message
    with pytest.raises(ScenarioError, match="organizations.0.strategy.*unknown strategy"):
        scenario_from_dict(raw, source="mine")


def test_unknown_strategy_in_sweep_factors_is_refused_at_load(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(
        '[[organizations]]\nname = "A"\n[sweep.factors]\n"organizations.A.strategy" = ["blitz"]\n'
    )
    assert_names(error_of(path), str(path), "sweep.factors.organizations.A.strategy", "'blitz'", "status_quo")


# ---------------------------------------------------------------- code only when asked


@pytest.fixture
def user_module(tmp_path):
    """A strategy module in the scenario's folder that leaves a marker file when it is imported."""
    name = f"np_user_{uuid.uuid4().hex}"
    marker = tmp_path / "imported.marker"
    (tmp_path / f"{name}.py").write_text(
        "from dataclasses import dataclass\n"
        "from pathlib import Path\n"
        "from typing import ClassVar\n"
        "from sim.model.strategies import Strategy\n"
        f"Path({str(marker)!r}).write_text('imported')\n"
        "@dataclass\n"
        "class Mine(Strategy):\n"
        "    name: ClassVar[str] = 'mine'\n"
        "    def decide(self, levers, seen):\n"
        "        return levers\n"
    )
    yield name, marker
    sys.modules.pop(name, None)


def _scenario_naming(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "uses_code.toml"
    path.write_text(text)
    return path


def test_module_is_not_imported_without_opt_in(tmp_path, user_module):
    """Loading (the API, the model, the catalog) never imports the module unless the user allows it."""
    name, marker = user_module
    path = _scenario_naming(tmp_path, f'[[organizations]]\nname = "A"\nstrategy = "{name}:Mine"\n')
    text = error_of(path)
    assert_names(
        text, str(path), "organizations.0.strategy", f"'{name}:Mine'", "--allow-code", "allow_code=True"
    )
    data_only = config.load_scenario(path)
    with pytest.raises(ScenarioError, match="--allow-code"):
        PowerModel(data_only)
    assert not marker.exists() and name not in sys.modules


def test_rival_strategy_is_not_imported_without_opt_in(tmp_path, user_module):
    name, marker = user_module
    path = _scenario_naming(tmp_path, f'[[shocks]]\nkind = "rival_entry"\nstrategy = "{name}:Mine"\n')
    assert_names(error_of(path), str(path), "shocks.0.strategy", "--allow-code")
    assert not marker.exists()


def test_opt_in_imports_and_travels_with_the_scenario(tmp_path, user_module):
    """With ``allow_code=True`` the module is imported, and the decision survives overrides and pickling."""
    name, marker = user_module
    path = _scenario_naming(
        tmp_path, f'[network]\nn = 50\n[[organizations]]\nname = "A"\nstrategy = "{name}:Mine"\n'
    )
    scenario = load_scenario(path, allow_code=True)
    assert marker.exists()
    assert scenario.allow_code and scenario.with_overrides({"steps": 3}).allow_code
    assert pickle.loads(pickle.dumps(scenario)).allow_code
    assert PowerModel(scenario, rng=0).organization("A").strategy.name == "mine"
    assert "allow_code" not in scenario.to_dict()


def test_a_module_the_user_imported_needs_no_opt_in(tmp_path, user_module, monkeypatch):
    """A module already imported by the user's own script is used as it is, here and in workers."""
    name, _ = user_module
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module(name)
    path = _scenario_naming(tmp_path, f'[[organizations]]\nname = "A"\nstrategy = "{name}:Mine"\n')
    scenario = load_scenario(path)
    assert scenario.organizations[0].strategy == f"{name}:Mine"
    assert scenario.allow_code  # the user trusted it: worker processes may import it again


@pytest.mark.parametrize(
    "value, words",
    [(":", "not an import path"), ("..:x", "not an import path"), ("this:X", "--allow-code")],
)
def test_malformed_or_unallowed_paths_are_one_line(tmp_path, value, words):
    """``":"``, a relative path, or an installed module without opt-in: one line, nothing imported."""
    before = set(sys.modules)
    path = _scenario_naming(tmp_path, f'[[organizations]]\nname = "A"\nstrategy = "{value}"\n')
    assert_names(error_of(path), str(path), "organizations.0.strategy", repr(value), words)
    assert "this" not in set(sys.modules) - before


@pytest.mark.parametrize(
    "body, words",
    [("raise ZeroDivisionError('boom')\n", "ZeroDivisionError: boom"), ("def (:\n", "SyntaxError")],
    ids=["raises", "syntax_error"],
)
def test_module_that_fails_to_import_is_one_line(tmp_path, body, words):
    """Even with the opt-in, a module that raises or does not parse is one message, not a traceback."""
    name = f"np_broken_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(body)
    path = _scenario_naming(tmp_path, f'[[organizations]]\nname = "A"\nstrategy = "{name}:X"\n')
    assert_names(error_of(path, allow_code=True), str(path), "cannot import strategy", words, f"'{name}:X'")
    assert name not in sys.modules
