"""What a calibration fits: priors over dotted scenario keys, the options, and their checks.

Everything here is validated before any simulation runs: each prior's key is
proven to exist and to accept both ends of its range by loading the scenario
with them (and with every corner of the box of ranges, so that keys that
constrain each other are caught too); the observed series must fit inside the
scenario's steps; the fitted measures must be numeric per-step measures the
scenario reports.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pandas as pd

from sim.config.scenario import Scenario
from sim.config.source import parse_value
from sim.errors import InputError, ScenarioError, SimError
from sim.research.calibration.data import Observed
from sim.runs.runner import run

#: Keys a calibration sets itself, or that do not change a run.
RESERVED_KEYS = {
    "seed": "the seed is the calibration's (--seed)",
    "steps": "a run lasts until the last observed step",
    "replications": "runs per particle are --replications",
    "name": "not a number",
    "description": "not a number",
}

#: Corners of the prior box checked jointly (2**D loads), up to this many parameters.
MAX_CORNER_PARAMS = 8


class DistanceKind(StrEnum):
    """How a simulated series is compared with the observed one."""

    SERIES = "series"  #: root mean square gap over every observed step
    SUMMARY = "summary"  #: peak, peak step, half-life and final level (pyabc's adaptive distance)


@dataclass(frozen=True)
class Prior:
    """A uniform prior over one dotted scenario key.

    Attributes:
        key: the dotted scenario key, e.g. ``dynamics.fickleness``.
        low, high: the range, ``low < high``.
        integer: the key takes whole numbers (drawn values are rounded).
    """

    key: str
    low: float
    high: float
    integer: bool = False

    @property
    def width(self) -> float:
        """``high - low``."""
        return self.high - self.low

    def value(self, x: float) -> float | int:
        """A drawn value as the scenario takes it (rounded for an integer key)."""
        return round(x) if self.integer else float(x)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the manifest."""
        return {"key": self.key, "low": self.low, "high": self.high, "integer": self.integer}


@dataclass(frozen=True)
class Options:
    """How to fit.

    Attributes:
        distance: ``series`` or ``summary`` (see :class:`DistanceKind`).
        noise: standard deviation of the Gaussian observation noise added to every simulated value.
        replications: runs per particle; their mean series is compared.
        populations: ABC-SMC generations (a resumed calibration runs until it has this many).
        population_size: particles per generation.
        min_acceptance: stop early when a generation accepts fewer than this share of its simulations.
        predictive: posterior draws simulated for the posterior predictive figure.
        seed: root seed of every random draw (``None``: the scenario's seed).
    """

    distance: DistanceKind = DistanceKind.SERIES
    noise: float = 0.0
    replications: int = 1
    populations: int = 8
    population_size: int = 200
    min_acceptance: float = 0.0
    predictive: int = 100
    seed: int | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "distance", DistanceKind(self.distance))
        except ValueError:
            raise SimError(
                f"--distance {self.distance!r} is not known; allowed: {', '.join(DistanceKind)}"
            ) from None
        counts = {
            "replications": self.replications,
            "populations": self.populations,
            "population-size": self.population_size,
            "predictive": self.predictive,
        }
        for name, value in counts.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SimError(f"--{name} must be a whole number of at least 1, got {value!r}")
        if not (math.isfinite(self.noise) and self.noise >= 0):
            raise SimError(f"--noise must be a standard deviation >= 0, got {self.noise!r}")
        if not 0 <= self.min_acceptance < 1:
            raise SimError(f"--min-acceptance must be in [0, 1), got {self.min_acceptance!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or self.seed < 0):
            raise SimError(f"--seed must be a non-negative integer, got {self.seed!r}")

    def identity(self) -> dict[str, Any]:
        """The options that define the fit (a resumed calibration must match them)."""
        return {
            "distance": str(self.distance),
            "noise": self.noise,
            "replications": self.replications,
            "population_size": self.population_size,
            "min_acceptance": self.min_acceptance,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Problem:
    """A checked calibration problem: a scenario, an observed series, priors.

    Build it with :func:`prepare`.
    """

    scenario: Scenario
    observed: Observed
    priors: tuple[Prior, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The fitted keys, in order."""
        return tuple(p.key for p in self.priors)


def parse_prior(text: str) -> Prior:
    """``"dynamics.fickleness=0:0.5"`` -> ``Prior("dynamics.fickleness", 0.0, 0.5)``.

    Raises:
        ScenarioError: not ``KEY=LOW:HIGH``, a bound that is not a finite number,
            or an empty or reversed range.
    """
    key, sep, rest = text.partition("=")
    key = key.strip()
    bounds = [parse_value(part) for part in rest.split(":")] if sep else []
    example = "e.g. --param dynamics.fickleness=0:0.5"
    if not key or len(bounds) != 2:
        raise ScenarioError(
            "a prior must look like KEY=LOW:HIGH", source="--param", key=text, allowed=example
        )
    for bound in bounds:
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
            raise ScenarioError(
                f"{bound!r} is not a finite number", source="--param", key=text, allowed=example
            )
    low, high = float(bounds[0]), float(bounds[1])
    if not low < high:
        what = "empty" if low == high else "reversed"
        raise ScenarioError(f"the range is {what}", source="--param", key=text, allowed="LOW < HIGH")
    return Prior(key, low, high)


def prepare(scenario: Scenario, observed: Observed, priors: Sequence[Prior]) -> Problem:
    """Check that the priors, the observed series and the scenario fit together.

    Raises:
        ScenarioError: a reserved, repeated or unknown key, or a range the key does not accept.
        InputError: the series is longer than the scenario's steps.
    """
    if not priors:
        raise ScenarioError("nothing to fit", source="--param", allowed="one or more --param KEY=LOW:HIGH")
    seen: set[str] = set()
    for prior in priors:
        if prior.key in RESERVED_KEYS:
            raise ScenarioError(
                f"cannot be fitted: {RESERVED_KEYS[prior.key]}",
                source="--param",
                key=prior.key,
                allowed="a dotted key of the scenario, e.g. dynamics.fickleness",
            )
        if prior.key in seen:
            raise ScenarioError("given twice", source="--param", key=prior.key, allowed="one prior per key")
        seen.add(prior.key)
    checked = tuple(_check_prior(scenario, p) for p in priors)
    _check_corners(scenario, checked)
    if observed.last_step > scenario.steps:
        raise InputError(
            f"{observed.path}: the series runs to step {observed.last_step}, longer than the scenario's "
            f"{scenario.steps} steps; allowed: steps up to {scenario.steps} (or --set steps={observed.last_step})"
        )
    check_measures(observed, reported_measures(scenario))
    return Problem(scenario, observed, checked)


def reported_measures(scenario: Scenario) -> dict[str, bool]:
    """The per-step measures the scenario reports, and whether each is numeric.

    Builds the model's initial state (``sim.run`` with ``steps=0``: no step is
    simulated) and reads its step-0 row, so the names are whatever the model
    reports today, organizations included.
    """
    frame = run(scenario, seed=scenario.seed, steps=0).timeseries
    return {str(name): pd.api.types.is_numeric_dtype(frame[name]) for name in frame.columns}


def check_measures(observed: Observed, reported: Mapping[str, bool]) -> None:
    """Every fitted measure must be a numeric per-step measure of the scenario.

    Args:
        observed: the observed series and its measures.
        reported: measure name -> whether it is numeric (from the model's step-0 row).

    Raises:
        InputError: naming the column, the measure and the measures allowed.
    """
    numeric = [name for name, ok in reported.items() if ok and name != "step"]
    for column, measure in zip(observed.columns, observed.measures, strict=True):
        if not reported.get(measure, False) or measure == "step":
            problem = "is not a number" if measure in reported else "is not reported by this scenario"
            raise InputError(
                f"{observed.path}: column {column!r} is fitted to measure {measure!r}, which {problem}; "
                f"allowed: {', '.join(numeric)} (name it with --measure)"
            )


def _check_prior(scenario: Scenario, prior: Prior) -> Prior:
    """Load the scenario with each end of the range; find out whether the key takes whole numbers."""
    for which, value in (("low", prior.low), ("high", prior.high)):
        _load(scenario, {prior.key: _number(value)}, f"the prior's {which} end {_number(value)!r}", prior)
    middle = prior.low + prior.width / 2
    if float(middle).is_integer():
        middle += prior.width / 4
    try:
        scenario.with_overrides({prior.key: middle})
        return prior
    except ScenarioError:
        if not (prior.low.is_integer() and prior.high.is_integer()):
            _load(scenario, {prior.key: middle}, f"a value inside the range ({middle!r})", prior)
    _load(scenario, {prior.key: round(middle)}, f"a value inside the range ({round(middle)})", prior)
    return Prior(prior.key, prior.low, prior.high, integer=True)


def _check_corners(scenario: Scenario, priors: tuple[Prior, ...]) -> None:
    """Keys can constrain each other (a spread and its mean): load every corner of the box."""
    if len(priors) < 2:
        return
    if len(priors) > MAX_CORNER_PARAMS:
        corners = [tuple(p.low for p in priors), tuple(p.high for p in priors)]
    else:
        corners = list(itertools.product(*((p.low, p.high) for p in priors)))
    for corner in corners:
        overrides = {p.key: p.value(v) for p, v in zip(priors, corner, strict=True)}
        _load(scenario, overrides, f"the corner {overrides} of the priors", None)


def _load(scenario: Scenario, overrides: dict[str, Any], what: str, prior: Prior | None) -> None:
    try:
        scenario.with_overrides(overrides)
    except ScenarioError as exc:
        where = f"--param {prior.key}={prior.low:g}:{prior.high:g}" if prior else "--param"
        unknown = exc.message.startswith(("unknown", "no such"))  # the key itself, whatever the value
        raise ScenarioError(
            exc.message if unknown else f"{what} is not accepted: {exc.message}",
            source=f"{scenario.source} ({where})",
            key=exc.key,
            value=exc.value,
            allowed=exc.allowed,
        ) from None


def _number(value: float) -> float | int:
    """A range end as typed: ``2`` stays an integer (so integer keys accept it)."""
    return int(value) if float(value).is_integer() else value
