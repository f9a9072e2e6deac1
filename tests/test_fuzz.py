"""Fuzz: every library scenario, mutated, either loads and runs or is refused with one ``SimError``.

Each example takes one library file (``sim/scenarios/*.toml``) and mutates it, either as
data (delete keys and tables, swap types, NaN, infinities, huge, negative and boundary
numbers, unicode and long strings, unknown keys, deep nesting, strategies and network
kinds swapped, shocks brought into the first steps) written back as TOML, or as text
(truncated, bytes inserted, lines deleted or repeated, binary garbage, a byte-order
mark, NUL bytes, integers of thousands of digits, deep brackets). Then
``sim.load_scenario`` and, when that succeeds, a 3-step run at ``network.n <= 200``
must either succeed or raise :class:`sim.SimError` whose message names the file (and,
for a :class:`sim.ScenarioError` raised on a value of the file, its key). Any other
exception, or an example outliving :data:`GUARD_SECONDS`, fails.

Profiles (environment variable ``NEWPOWER_FUZZ``, see docs/robustness.md):

- unset or ``ci``: :data:`CI_EXAMPLES` derandomized examples (the same ones every run);
- ``long``: ``NEWPOWER_FUZZ_EXAMPLES`` (default 5000) random examples; stops at the first
  failure and shrinks it to a minimal file;
- ``survey``: as ``long`` but tries every example, then prints the outcome table (tried,
  rejected cleanly, ran, tracebacks, hangs) and every distinct traceback with its file.

Files are written only to a temporary folder.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
import os
import re
import shutil
import signal
import time
import tomllib
import traceback
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import ScenarioError, SimError, load_scenario, run
from sim.config.scenario import NETWORK_KINDS
from sim.model.shocks import SHOCKS
from sim.model.strategies import STRATEGIES
from sim.scenarios import LIBRARY, names

PROFILE = os.environ.get("NEWPOWER_FUZZ", "ci")
CI_EXAMPLES = 500
LONG_EXAMPLES = int(os.environ.get("NEWPOWER_FUZZ_EXAMPLES", "5000"))
#: Per-example hypothesis deadline and hard guard (SIGALRM): an example needs well under a second.
DEADLINE_SECONDS = 10
GUARD_SECONDS = 60
MAX_N = 200
STEPS = 3

NAMES = tuple(names())
ORIGINALS = {name: (LIBRARY / f"{name}.toml").read_bytes() for name in NAMES}
PARSED = {name: tomllib.loads(text.decode()) for name, text in ORIGINALS.items()}


# ------------------------------------------------------------ TOML out


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """One TOML value on one line (tables inline), for the data types TOML has."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, Verbatim):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"not a TOML value: {value!r}")


def toml_document(data: dict) -> str:
    """A whole document: one ``key = value`` line per top-level key."""
    return "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in data.items())


# ------------------------------------------------------------ values


FLOAT_EDGES = (math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -0.0, -1e-12, 1 + 1e-12, 1e16)
INT_EDGES = (0, -1, 1, 2, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 10**30, 10_000_001)
STRING_EDGES = (
    "",
    " ",
    "\u202eright-to-left",
    "日本語",
    "😀" * 5,
    "\x00",
    "a\nb",
    "../../../../no_such_folder_fuzz/passwd",
    "/",
    ".",
    "status_quo ",
    "ÉCOLE",
    "1e9",
    "nan",
    "true",
    "module:Class",
    ":",
    "..:x",
    "no_such_module_fuzz:Strategy",
    "sim.model.strategies:Strategy",
    "sim.model.strategies:STRATEGIES",
)
LEVELS = ("CONSUMING", "SHARING", "SHAPING", "FUNDING", "PRODUCING", "CO_OWNING", "consuming", "NONE")

scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from(INT_EDGES),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(FLOAT_EDGES),
    st.text(max_size=30),
    st.sampled_from(STRING_EDGES + LEVELS + tuple(NETWORK_KINDS) + tuple(STRATEGIES) + tuple(SHOCKS)),
    st.integers(1_000, 120_000).map(lambda k: "é" * k),  # long strings
    st.datetimes(),
    st.dates(),
    st.times(),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=8,
)


class Verbatim(str):
    """TOML text written as is (deep nesting, which a recursive writer could not produce)."""


def nested(depth: int, table: bool) -> Verbatim:
    """Arrays or inline tables ``depth`` deep, as TOML text."""
    opener, closer = ("{a = ", "}") if table else ("[", "]")
    return Verbatim(opener * depth + "1" + closer * depth)


# ------------------------------------------------------------ mutations as data


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a parsed document: each key of each table and each item of each array."""
    found = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        found.append(prefix + (key,))
        found += paths(child, prefix + (key,))
    return found


def at(data: Any, path: tuple) -> Any:
    for key in path:
        data = data[key]
    return data


def dotted(path: tuple) -> str:
    return ".".join(map(str, path))


def op_delete(draw, data: dict) -> str:
    if not paths(data):
        return op_add_key(draw, data)
    path = draw(st.sampled_from(paths(data)))
    del at(data, path[:-1])[path[-1]]
    return f"delete {dotted(path)}"


def op_replace(draw, data: dict) -> str:
    if not paths(data):
        return op_add_key(draw, data)
    path = draw(st.sampled_from(paths(data)))
    at(data, path[:-1])[path[-1]] = value = draw(values)
    return f"set {dotted(path)} = {_short(value)}"


def op_numeric(draw, data: dict) -> str:
    numeric = [p for p in paths(data) if type(at(data, p)) in (int, float)]
    if not numeric:
        return op_replace(draw, data)
    path = draw(st.sampled_from(numeric))
    old = at(data, path)
    candidates = [
        -old,
        old * 1_000_000,
        old + 1,
        old - 1,
        old + 0.5,
        0,
        -1e-12,
        1 + 1e-12,
        math.nan,
        math.inf,
    ]
    at(data, path[:-1])[path[-1]] = value = draw(st.sampled_from(candidates))
    return f"set {dotted(path)} = {_short(value)}"


def op_add_key(draw, data: dict) -> str:
    tables = [()] + [p for p in paths(data) if isinstance(at(data, p), dict)]
    path = draw(st.sampled_from(tables))
    key = draw(st.text(max_size=15) | st.sampled_from(("n", "kind", "name", "step", "every", "strategy")))
    at(data, path)[key] = value = draw(values)
    return f"add {dotted(path + (key,))} = {_short(value)}"


def op_deep(draw, data: dict) -> str:
    if not paths(data):
        return op_add_key(draw, data)
    path = draw(st.sampled_from(paths(data)))
    depth = draw(st.integers(2, 1200))
    at(data, path[:-1])[path[-1]] = nested(depth, draw(st.booleans()))
    return f"nest {dotted(path)} {depth} deep"


def pick_table(draw, data: dict, array: str) -> tuple[int, dict] | None:
    """One table of an array of tables (``shocks``, ``organizations``), if the data still has one."""
    items = data.get(array)
    if not isinstance(items, list) or not items:
        return None
    i = draw(st.integers(0, len(items) - 1))
    return (i, items[i]) if isinstance(items[i], dict) else None


def op_shock_now(draw, data: dict) -> str:
    """Bring a shock into the steps that are run (a repeating one, sometimes)."""
    picked = pick_table(draw, data, "shocks")
    if picked is None:
        return op_replace(draw, data)
    i, shock = picked
    shock["step"] = draw(st.integers(1, STEPS))
    shock["every"] = draw(st.sampled_from((0, 0, 1, 2)))
    return f"shocks.{i} at step {shock['step']} every {shock['every']}"


def op_strategy(draw, data: dict) -> str:
    picked = pick_table(draw, data, "organizations")
    if picked is None:
        return op_replace(draw, data)
    i, org = picked
    org["strategy"] = draw(st.sampled_from(tuple(STRATEGIES)) | st.sampled_from(STRING_EDGES))
    if draw(st.booleans()):
        org["strategy_params"] = draw(st.dictionaries(st.text(max_size=10), scalars, max_size=3))
    return f"organizations.{i}.strategy = {org['strategy']!r}"


def op_network_kind(draw, data: dict) -> str:
    network = data.setdefault("network", {})
    if not isinstance(network, dict):
        return op_replace(draw, data)
    network["kind"] = kind = draw(st.sampled_from(NETWORK_KINDS))
    if kind in ("edge_list", "graphml") and draw(st.booleans()):
        network["path"] = draw(st.sampled_from(STRING_EDGES) | st.text(max_size=20))
    return f"network.kind = {kind!r}"


DATA_OPS = (
    op_delete,
    op_replace,
    op_replace,
    op_numeric,
    op_numeric,
    op_add_key,
    op_deep,
    op_shock_now,
    op_strategy,
    op_network_kind,
)


# ------------------------------------------------------------ mutations as text


def text_ops(draw, raw: bytes) -> tuple[bytes, str]:
    """One syntax-level mutation of a file's bytes."""
    lines = raw.split(b"\n")
    kind = draw(
        st.sampled_from(
            (
                "truncate",
                "insert",
                "delete_line",
                "repeat_line",
                "garbage",
                "bom",
                "nul",
                "digits",
                "brackets",
            )
        )
    )
    where = draw(st.integers(0, len(raw)))
    line = draw(st.integers(0, len(lines) - 1))
    if kind == "truncate":
        return raw[:where], f"truncated at byte {where}"
    if kind == "insert":
        blob = draw(
            st.binary(min_size=1, max_size=20) | st.sampled_from((b"[", b"]", b"=", b'"', b"\\", b"{"))
        )
        return raw[:where] + blob + raw[where:], f"inserted {blob!r} at byte {where}"
    if kind == "delete_line":
        return b"\n".join(lines[:line] + lines[line + 1 :]), f"deleted line {line + 1}"
    if kind == "repeat_line":
        return b"\n".join(lines[: line + 1] + lines[line:]), f"repeated line {line + 1}"
    if kind == "garbage":
        return draw(st.binary(max_size=400)), "binary garbage"
    if kind == "bom":
        return b"\xef\xbb\xbf" + raw, "UTF-8 byte-order mark"
    if kind == "nul":
        return raw[:where] + b"\x00" + raw[where:], f"NUL at byte {where}"
    if kind == "digits":
        digits = draw(st.integers(19, 6000))
        number = re.compile(rb"= *-?[0-9][0-9_.e+-]*")
        spots = list(number.finditer(raw))
        spot = spots[draw(st.integers(0, len(spots) - 1))] if spots else None
        if spot is None:
            return raw + b"\nbig = " + b"9" * digits + b"\n", f"integer of {digits} digits"
        return raw[: spot.start()] + b"= " + b"9" * digits + raw[spot.end() :], f"integer of {digits} digits"
    depth = draw(st.integers(2, 1200))
    opener, closer = draw(st.sampled_from(((b"[", b"]"), (b"{a=", b"}"))))
    return raw + b"\ndeep = " + opener * depth + b"1" + closer * depth + b"\n", f"{depth} nested brackets"


# ------------------------------------------------------------ the mutants


@dataclasses.dataclass
class Mutant:
    """A mutated library file: its name, its bytes and what was done to it."""

    scenario: str
    content: bytes
    changes: list[str]
    as_data: bool

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        shown = self.content if len(self.content) < 4000 else self.content[:4000] + b"..."
        return f"Mutant({self.scenario!r}, changes={self.changes}, content={shown!r})"


@st.composite
def mutants(draw) -> Mutant:
    name = draw(st.sampled_from(NAMES))
    if draw(st.integers(0, 3)) == 0:
        content, change = text_ops(draw, ORIGINALS[name])
        return Mutant(name, content, [change], as_data=False)
    data = copy.deepcopy(PARSED[name])
    changes = [draw(st.sampled_from(DATA_OPS))(draw, data) for _ in range(draw(st.integers(1, 3)))]
    return Mutant(name, toml_document(data).encode("utf-8"), changes, as_data=True)


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


# ------------------------------------------------------------ trying one


class Hang(BaseException):
    """An example outlived its guard (BaseException: no ``except Exception`` under test can swallow it)."""


@contextmanager
def guard(seconds: float):
    """Raise :class:`Hang` in this (main) thread after ``seconds``."""

    def ring(signum, frame):
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclasses.dataclass
class Outcome:
    """What became of one mutant: ``rejected``, ``ran``, ``traceback``, ``hang`` or ``unclear``."""

    kind: str
    stage: str = ""
    error: BaseException | None = None
    detail: str = ""
    seconds: float = 0.0


def attempt(mutant: Mutant, folder: Path, driver: str = "vectorized") -> Outcome:
    """Load the mutant from ``folder`` and run 3 steps; classify what happened and time it."""
    start = time.perf_counter()
    outcome = _attempt(mutant, folder, driver)
    outcome.seconds = time.perf_counter() - start
    return outcome


def _attempt(mutant: Mutant, folder: Path, driver: str) -> Outcome:
    path = folder / f"{mutant.scenario}.toml"
    path.write_bytes(mutant.content)
    stage = "load"
    try:
        with guard(GUARD_SECONDS):
            scenario = load_scenario(path)
            stage = "run"
            if scenario.network.n > MAX_N:
                scenario = scenario.with_overrides({"network.n": MAX_N})
            run(scenario, steps=STEPS, driver=driver)
    except Hang as exc:
        return Outcome("hang", stage, exc)
    except SimError as exc:
        return _judge_refusal(exc, path, stage, mutant)
    except Exception as exc:  # noqa: BLE001 - anything else is what this test exists to find
        return Outcome("traceback", stage, exc, "".join(traceback.format_exception(exc, limit=-6)))
    return Outcome("ran", stage)


def _judge_refusal(exc: SimError, path: Path, stage: str, mutant: Mutant) -> Outcome:
    """A clean refusal is one line naming the file (and the key of a value of the file)."""
    message = str(exc)
    if str(path) not in message:
        return Outcome("unclear", stage, exc, f"the file is not named: {message[:300]}")
    if "\n" in message.strip():
        return Outcome("unclear", stage, exc, f"more than one line: {message[:300]}")
    keyless = mutant.as_data and stage == "load" and isinstance(exc, ScenarioError) and exc.key is None
    if keyless and not message.split(str(path), 1)[1].startswith(": not valid TOML"):
        return Outcome("unclear", stage, exc, f"no key named: {message[:300]}")
    return Outcome("rejected", stage, exc)


# ------------------------------------------------------------ what the fuzz found


#: Minimal repros of failures this fuzz found (each a traceback or a two-line message before its
#: fix), kept as regression cases: each must now load and run, or be refused cleanly.
FOUND = {
    "nesting: tomllib recursion": b'name = "deep"\nx = ' + b"[" * 1000 + b"1" + b"]" * 1000 + b"\n",
    "integer of more than 4300 digits": b"steps = " + b"9" * 4301 + b"\n",
    "integer beyond float range for a number key": b"[network]\nmean_degree = " + b"9" * 400 + b"\n",
    "empty module in a strategy path": b'[[organizations]]\nname = "A"\nstrategy = ":"\n',
    "relative module in a strategy path": b'[[organizations]]\nname = "A"\nstrategy = "..:x"\n',
    "repeating rival_entry": (
        b'[network]\nn = 50\n[[shocks]]\nkind = "rival_entry"\nstep = 1\nevery = 1\nname = "R"\n'
    ),
    "graph file error at run time naming no scenario": b'[network]\nkind = "edge_list"\npath = "absent.txt"\n',
    "a key with a line break": b'[network]\n"a\\nb" = 1\n',
}


# ------------------------------------------------------------ the tests


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """The temporary folder mutants are written to, after a first run of each driver: compiling
    the kernels (on a cold Numba cache) must not count against the first example's deadline."""
    for driver in ("vectorized", "agents"):
        run(load_scenario(NAMES[0], overrides={"network.n": 50}), steps=1, driver=driver)
    folder = tmp_path_factory.mktemp("fuzz")
    if (LIBRARY / "data").is_dir():  # the data files library scenarios name, where they expect them
        shutil.copytree(LIBRARY / "data", folder / "data")
    return folder


FUZZ_SETTINGS = settings(
    max_examples=CI_EXAMPLES if PROFILE == "ci" else LONG_EXAMPLES,
    derandomize=PROFILE == "ci",
    deadline=DEADLINE_SECONDS * 1000,
    database=None,  # write nothing outside the temporary folder
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)


def test_serializer_round_trips_every_library_file():
    """The TOML writer the data mutations use reads back to the same data (so a data mutation
    tests the value it meant to, not a syntax error of the writer)."""
    for name, data in PARSED.items():
        assert tomllib.loads(toml_document(data)) == data, name
    tricky = {"a": ['\x7f\x00"\\', "日本語"], "b": {"": math.inf, "c d": [[], {}]}, "e": 10**40}
    assert tomllib.loads(toml_document(tricky)) == tricky


@pytest.mark.skipif(PROFILE == "survey", reason="the survey runs instead")
@FUZZ_SETTINGS
@given(mutant=mutants(), driver=st.sampled_from(("vectorized", "vectorized", "agents")))
def test_mutated_scenarios_load_and_run_or_fail_cleanly(mutant, driver, folder):
    """Every mutant loads and runs 3 steps, or is refused with one SimError line naming the file
    (and the key where a value is to blame); no other exception, no hang."""
    outcome = attempt(mutant, folder, driver)
    assert outcome.kind in ("rejected", "ran"), (outcome.kind, outcome.stage, outcome.detail or outcome.error)


@pytest.mark.parametrize("name", FOUND)
def test_what_the_fuzz_found_is_refused_cleanly(name, tmp_path):
    """Each failure the fuzz once found now loads and runs, or is refused with one line naming the file."""
    outcome = attempt(Mutant("repro", FOUND[name], [name], as_data=False), tmp_path)
    assert outcome.kind in ("rejected", "ran"), (outcome.kind, outcome.detail or outcome.error)


@pytest.mark.skipif(PROFILE != "survey", reason="on demand: NEWPOWER_FUZZ=survey")
def test_survey(folder, capsys):
    """Try LONG_EXAMPLES mutants without stopping at the first failure; print the outcome table and
    each distinct failure once; fail if there was any."""
    outcomes: list[tuple[Mutant, Outcome]] = []

    @settings(FUZZ_SETTINGS, deadline=None)
    @given(mutant=mutants(), driver=st.sampled_from(("vectorized", "vectorized", "agents")))
    def explore(mutant, driver):
        outcomes.append((mutant, attempt(mutant, folder, driver)))

    explore()
    table = Counter(o.kind for _, o in outcomes)
    rejected = Counter(o.stage for _, o in outcomes if o.kind == "rejected")
    slow = sum(o.seconds > DEADLINE_SECONDS for _, o in outcomes)
    distinct: dict[str, tuple[Mutant, Outcome]] = {}
    for mutant, outcome in outcomes:
        if outcome.kind not in ("rejected", "ran"):
            error = outcome.error
            signature = f"{outcome.kind} {type(error).__name__} {re.sub(r'[0-9]+', 'N', str(error))[:80]}"
            distinct.setdefault(signature, (mutant, outcome))
    with capsys.disabled():
        print(
            f"\nfuzz survey: {len(outcomes)} tried, {table['rejected']} rejected cleanly "
            f"({rejected['load']} at load, {rejected['run']} at run), {table['ran']} ran, "
            f"{table['traceback']} tracebacks, {table['unclear']} unclear messages, {table['hang']} hangs; "
            f"{slow} over the {DEADLINE_SECONDS} s deadline, slowest "
            f"{max((o.seconds for _, o in outcomes), default=0):.1f} s"
        )
        for signature, (mutant, outcome) in distinct.items():
            print(
                f"\n--- {signature}\n{mutant.scenario}: {mutant.changes}\n{outcome.detail or outcome.error}"
            )
    assert not distinct and not slow, f"{len(distinct)} distinct failures, {slow} slow (printed above)"
