"""Personal thresholds: the ``[population]`` keys that shape them, and the CSV files that list them.

A threshold is a share of one's neighbours (``threshold_kind = "fraction"``, Watts 2002) or a
number of them (``"count"``, Centola & Macy 2007). It is drawn from ``threshold_distribution``
(normal, fixed, uniform, beta) and may be given person by person, from a CSV file
(``threshold_file``: columns ``id`` and ``threshold``) or from a GraphML node attribute
(``threshold_attribute``). The cross-field checks of these keys and the strict reader of
threshold files live here, so every error names the file, the key (and the line), the value
and what is allowed (docs/ODD.md 7.3).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import TYPE_CHECKING

from sim.config.spec import shown
from sim.errors import ScenarioError

if TYPE_CHECKING:
    from sim.config.scenario import PopulationSpec, Scenario

__all__ = [
    "FILE_NETWORKS",
    "MAX_COUNT",
    "MAX_THRESHOLD_BYTES",
    "THRESHOLD_DISTRIBUTIONS",
    "THRESHOLD_KINDS",
    "as_threshold",
    "check_beta_spread",
    "check_thresholds",
    "read_threshold_file",
    "resolve",
    "threshold_allowed",
]

THRESHOLD_DISTRIBUTIONS = ("normal", "fixed", "uniform", "beta")
THRESHOLD_KINDS = ("fraction", "count")
#: The largest threshold as a count of neighbours (no participant has more neighbours).
MAX_COUNT = 10_000_000
#: The largest threshold file read (one short row per participant: ten million rows fit).
MAX_THRESHOLD_BYTES = 500_000_000
#: Network kinds read from a file: their participants are numbered in the file's node order.
FILE_NETWORKS = ("edge_list", "graphml")
_FILE_KEY = "population.threshold_file"


def check_thresholds(sc: Scenario) -> None:
    """Shares stay in [0, 1]; each distribution's parameters and each data source must make sense.

    Raises:
        ScenarioError: naming the scenario file, the ``population.*`` key, its value and what is allowed.
    """
    pop, source = sc.population, sc.source
    if pop.threshold_kind == "fraction":
        _check_fraction_limits(pop, source)
    if pop.threshold_distribution == "uniform" and pop.threshold_low > pop.threshold_high:
        raise ScenarioError(
            "the uniform distribution's lowest threshold is above its highest",
            source=source,
            key="population.threshold_low",
            value=pop.threshold_low,
            allowed=f"at most threshold_high = {pop.threshold_high:g}",
        )
    if pop.threshold_distribution == "beta":
        _check_beta_thresholds(pop, source)
    _check_threshold_data(pop, sc.network.kind, source)


def _check_fraction_limits(pop: PopulationSpec, source: str) -> None:
    limits = {"threshold": 1.0, "threshold_sd": 0.5, "threshold_low": 1.0, "threshold_high": 1.0}
    for name, limit in limits.items():
        if getattr(pop, name) > limit:
            raise ScenarioError(
                "out of range",
                source=source,
                key=f"population.{name}",
                value=getattr(pop, name),
                allowed=f'0 to {limit:g} (a share of neighbours; threshold_kind = "count" for a number)',
            )


def _check_beta_thresholds(pop: PopulationSpec, source: str) -> None:
    if pop.threshold_kind != "fraction":
        raise ScenarioError(
            "a beta distribution draws shares in [0, 1], not numbers of neighbours",
            source=source,
            key="population.threshold_kind",
            value=pop.threshold_kind,
            allowed='"fraction" with threshold_distribution = "beta"',
        )
    check_beta_spread(pop.threshold, pop.threshold_sd, source, "population.threshold_sd", "threshold")


def check_beta_spread(mean: float, sd: float, source: str, key: str, mean_key: str) -> None:
    """A beta distribution with this mean exists only for a variance below mean * (1 - mean).

    Raises:
        ScenarioError: naming ``key`` (the spread) and the largest spread allowed at this mean.
    """
    if sd > 0 and sd**2 >= mean * (1 - mean):
        raise ScenarioError(
            f"{mean_key.replace('_mean', '')} spread too large for its mean (beta distribution)",
            source=source,
            key=key,
            value=sd,
            allowed=f"less than {math.sqrt(mean * (1 - mean)):.3f} at {mean_key}={mean}",
        )


def _check_threshold_data(pop: PopulationSpec, kind: str, source: str) -> None:
    """A threshold file names participants by number; an attribute needs a GraphML network."""
    if pop.threshold_file and pop.threshold_attribute:
        raise ScenarioError(
            "thresholds come from a file or from a node attribute, not both",
            source=source,
            key="population.threshold_attribute",
            value=shown(pop.threshold_attribute),
            allowed='"" when threshold_file is given',
        )
    if pop.threshold_file and kind in FILE_NETWORKS:
        raise ScenarioError(
            "a threshold file names participants by number, which only generated networks have",
            source=source,
            key=_FILE_KEY,
            value=shown(pop.threshold_file),
            allowed=f'"" with network.kind = "{kind}" (put thresholds in a GraphML node attribute)',
        )
    if pop.threshold_attribute and kind != "graphml":
        raise ScenarioError(
            "node attributes are read from a GraphML network",
            source=source,
            key="population.threshold_attribute",
            value=shown(pop.threshold_attribute),
            allowed=f'"" with network.kind = "{kind}", or network.kind = "graphml"',
        )


def resolve(path: str, base_dir: Path | None) -> Path:
    """A path given in a scenario file, relative to that file's folder (as ``network.path``)."""
    resolved = Path(path)
    return base_dir / resolved if base_dir is not None and not resolved.is_absolute() else resolved


def as_threshold(value: object, kind: str) -> float | None:
    """``value`` as a threshold of ``kind`` (a share in [0, 1] or a count up to :data:`MAX_COUNT`), else None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    top = 1.0 if kind == "fraction" else float(MAX_COUNT)
    return number if 0.0 <= number <= top else None


def threshold_allowed(kind: str) -> str:
    """What a threshold of ``kind`` may be, for error messages."""
    top = 1.0 if kind == "fraction" else float(MAX_COUNT)
    return f"a number from 0 to {top:g} (threshold_kind = {kind!r})"


def read_threshold_file(path: Path, n: int, kind: str) -> tuple[list[int], list[float]]:
    """Participant numbers and thresholds from a CSV file with the columns ``id`` and ``threshold``.

    The first line that is neither blank nor a ``#`` comment names the columns (others may follow
    and are ignored); then one line per participant, each participant at most once. The first bad
    line is an error.

    Raises:
        ScenarioError: naming the file, the line and ``population.threshold_file``.
    """
    rows = csv.reader(_read_text(path).splitlines())
    header: list[str] | None = None
    first_line: dict[int, int] = {}  # participant -> the line that gave its threshold
    values: list[float] = []
    for row in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            if "id" not in header or "threshold" not in header:
                raise _line_error(
                    path, line, "expected the columns id and threshold", row, "a first line id,threshold"
                )
            continue
        number, threshold = _parse_row(path, line, row, header, n, kind)
        if number in first_line:
            message = f"participant {number} listed twice (first on line {first_line[number]})"
            raise _line_error(path, line, message, str(number), "each id once")
        first_line[number] = line
        values.append(threshold)
    if not values:
        raise _line_error(
            path, None, "no thresholds in the file", None, "a line id,threshold, then one per participant"
        )
    return list(first_line), values


def _parse_row(
    path: Path, line: int, row: list[str], header: list[str], n: int, kind: str
) -> tuple[int, float]:
    """One line's participant number and threshold, or the error naming the line."""
    if len(row) != len(header):
        raise _line_error(
            path, line, f"expected {len(header)} fields", row, f"one value per column: {header}"
        )
    who, value = row[header.index("id")].strip(), row[header.index("threshold")].strip()
    number = int(who) if who.isascii() and who.isdigit() and len(who) < 19 else None
    if number is None or number >= n:
        raise _line_error(path, line, "no such participant", who, f"a participant number from 0 to {n - 1}")
    threshold = as_threshold(value, kind)
    if threshold is None:
        raise _line_error(path, line, "not a threshold", value, threshold_allowed(kind))
    return number, threshold


def _line_error(path: Path, line: int | None, message: str, value: object, allowed: str) -> ScenarioError:
    where = f"line {line}: " if line is not None else ""
    text = ",".join(value) if isinstance(value, list) else value
    return ScenarioError(where + message, source=str(path), key=_FILE_KEY, value=shown(text), allowed=allowed)


def _read_text(path: Path) -> str:
    """The text of a threshold file; every way of failing to read it names the file and the key."""
    if not path.is_file():
        what = "is not a regular file" if path.exists() else "threshold file not found"
        raise ScenarioError(
            what, source=str(path), key=_FILE_KEY, allowed="a CSV file, relative to the scenario file"
        )
    try:
        if path.stat().st_size > MAX_THRESHOLD_BYTES:
            raise ScenarioError(
                "file too large",
                source=str(path),
                key=_FILE_KEY,
                allowed=f"at most {MAX_THRESHOLD_BYTES:,} bytes",
            )
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ScenarioError(
            f"cannot read the file ({exc.strerror})", source=str(path), key=_FILE_KEY
        ) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"not UTF-8 text (byte {exc.start})", source=str(path), key=_FILE_KEY, allowed="a UTF-8 CSV file"
        ) from None
