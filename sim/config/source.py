"""Where a scenario comes from: a library name or a file, read as plain TOML data.

Reading is where hostile or clumsy input arrives first, so every way it can fail is one
:class:`~sim.errors.ScenarioError` naming the file: a missing file (with "did you mean ..."
for a misspelt library name), a directory or a FIFO, a file over :data:`MAX_BYTES`, bytes
that are not UTF-8, invalid TOML, arrays or tables nested deeper than :data:`MAX_DEPTH`,
and integers longer than Python converts (4,300 digits). A UTF-8 byte-order mark, which
some Windows editors write, is accepted.
"""

from __future__ import annotations

import codecs
import difflib
import re
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.config.spec import shown
from sim.errors import ScenarioError
from sim.scenarios import LIBRARY, names

#: Deepest nesting of tables and arrays a scenario may have (the library's deepest is 4).
MAX_DEPTH = 32
#: Largest scenario file read (the library's largest is about 2 kB).
MAX_BYTES = 10_000_000
_TABLE_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]*?)\s*\]\]?")


def find_scenario(path_or_name: str | Path) -> Path:
    """The scenario file meant by ``path_or_name``: a path, or the name of a library scenario.

    A file at that path wins; otherwise a bare name (``power_shift`` or ``power_shift.toml``)
    is looked up in the library (:mod:`sim.scenarios`).

    Raises:
        ScenarioError: for a directory, something that is not a regular file, or nothing at
            all (suggesting the closest library names).
    """
    path = Path(path_or_name)
    if path.is_file():
        return path
    bare = len(path.parts) == 1 and path.suffix in ("", ".toml")
    if bare and (LIBRARY / f"{path.stem}.toml").is_file():
        return LIBRARY / f"{path.stem}.toml"
    if path.is_dir():
        raise ScenarioError(
            "is a directory, not a scenario file", source=str(path), allowed="a .toml file or a library name"
        )
    if path.exists():
        raise ScenarioError("is not a regular file", source=str(path), allowed="a .toml file")
    close = difflib.get_close_matches(path.stem, names(), n=3) if bare else []
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    raise ScenarioError(
        f"scenario file not found{hint}",
        source=str(path),
        allowed="an existing .toml file, or a library scenario: " + ", ".join(names()),
    )


def read_toml(path: Path) -> dict[str, Any]:
    """The plain data of a TOML file, checked to be no deeper than :data:`MAX_DEPTH`.

    Raises:
        ScenarioError: naming the file, for anything that is not a readable, valid TOML file.
    """
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ScenarioError(
                f"file too large ({size:,} bytes)", source=source, allowed=f"at most {MAX_BYTES:,} bytes"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"cannot read the file ({exc.strerror})", source=source) from None
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"not valid TOML: not UTF-8 text (byte {exc.start})", source=source, allowed="a UTF-8 file"
        ) from None
    raw = parse_toml(text, source)
    check_depth(raw, source)
    return raw


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML text; every failure is a ScenarioError naming ``source``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML: {exc}", source=source) from None
    except RecursionError:
        raise ScenarioError(
            "not valid TOML: arrays or inline tables nested too deeply",
            source=source,
            allowed=f"at most {MAX_DEPTH} levels",
        ) from None
    except ValueError as exc:  # Python's limit on converting long digit strings to int
        raise _long_integer(text, source) or ScenarioError(f"not valid TOML: {exc}", source=source) from None


def _long_integer(text: str, source: str) -> ScenarioError | None:
    """An error naming the line and key of the first integer too long to convert, if any."""
    limit = sys.get_int_max_str_digits()
    table = ""
    for number, line in enumerate(text.splitlines(), 1):
        header = _TABLE_HEADER.match(line)
        if header:
            table = header.group(1)
        digits = re.search(rf"\d[\d_]{{{limit},}}", line)
        if digits is None:
            continue
        name = line[: digits.start()].split("=", 1)[0].strip() if "=" in line[: digits.start()] else ""
        count = sum(c.isdigit() for c in digits.group())
        return ScenarioError(
            f"line {number}: an integer of {count:,} digits",
            source=source,
            key=".".join(part for part in (table, name) if part) or None,
            value=shown(digits.group()),
            allowed=f"at most {limit:,} digits",
        )
    return None


def parse_value(text: str, key: str | None = None) -> Any:
    """A value typed on a command line (``--set KEY=TEXT``), read as a TOML value.

    Numbers, booleans, quoted strings and arrays are read as such; anything else that is
    not valid TOML is taken as a plain string.

    Raises:
        ScenarioError: for a value nested too deeply or an integer too long to convert.
    """
    text = text.strip()
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except (RecursionError, ValueError):
        raise ScenarioError(
            f"cannot read the value {shown(text)!r}: nested too deeply or an integer too long",
            source="--set",
            key=key,
            allowed=f"a TOML value at most {MAX_DEPTH} levels deep, integers of at most "
            f"{sys.get_int_max_str_digits():,} digits",
        ) from None
    check_depth(value, "--set", key or "")
    return value


def check_depth(data: Any, source: str, key: str = "") -> None:
    """Refuse data with tables or arrays nested deeper than :data:`MAX_DEPTH` (without recursing).

    Deeper data would overflow Python's stack later (copying, validating, printing).
    """
    stack = [(data, key, 0)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, Mapping):
            children = [(v, f"{where}.{k}" if where else str(k)) for k, v in node.items()]
        elif isinstance(node, list):
            children = [(v, f"{where}.{i}" if where else str(i)) for i, v in enumerate(node)]
        else:
            continue
        if depth >= MAX_DEPTH:
            raise ScenarioError(
                f"nested more than {MAX_DEPTH} levels deep",
                source=source,
                key=shown(where) or "(top)",
                allowed=f"at most {MAX_DEPTH} levels of tables and arrays",
            )
        stack.extend((child, path, depth + 1) for child, path in children)
