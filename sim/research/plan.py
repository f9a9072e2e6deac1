"""The plan of a sweep: its points, runs, seeds and run identities, from a design.

Designs (``[sweep]`` in a scenario, or ``newpower sweep`` options):

* ``factorial``: every combination of the listed values (``factors``); only lists expand.
* ``latin_hypercube``: ``samples`` points over ``ranges`` (``scipy.stats.qmc``, seeded).
* ``sobol``: ``samples`` points of a scrambled Sobol sequence over ``ranges``.

A sampled design may also list ``factors``: every sampled point is then run at every
combination of them. Integer keys (``steps``, a shock's ``step``) are rounded to integers.
A run's seed is spawned from the root seed by NumPy's ``SeedSequence`` with the spawn key
``(seed_index, replicate)``; its identity (``run_id``) hashes the point, the replicate and
the seed, so a resumed sweep recognises the runs already on disk.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import types
import typing
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.config.scenario import SCHEDULE_KEYS, Scenario, ShockSchedule
from sim.errors import ScenarioError

#: Scenario tables that describe experiments, not the model; workers drop them.
DESIGN_TABLES = ("sweep", "uncertain")


# ------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class Point:
    """One combination of overrides.

    Attributes:
        point_id: its position in the design.
        overrides: dotted key -> value.
        seed_index: the first part of its runs' seed spawn keys (points that
            share it share seeds: common random numbers, as in a stress test's
            strategies compared on the same futures).
    """

    point_id: int
    overrides: Mapping[str, Any]
    seed_index: int


@dataclass(frozen=True)
class RunSpec:
    """One run of one point: what a worker needs."""

    run_id: str
    point_id: int
    replicate: int
    seed: int
    overrides: Mapping[str, Any]


@dataclass
class SweepPlan:
    """Everything that defines a sweep's runs.

    Attributes:
        scenario: the base scenario (its ``sweep`` and ``uncertain`` tables are not run).
        points: the design.
        replications: runs per point.
        root_seed: the seed every run's seed is spawned from.
        every: keep every ``every``-th step of the time series (and the last); 0 keeps none.
        kind: ``"sweep"``, ``"sensitivity"`` or ``"stress"``.
        design: how the points were made (for the manifest).
        extra: what the analysis of this kind needs (for the manifest).
    """

    scenario: Scenario
    points: list[Point]
    replications: int = 1
    root_seed: int = 0
    every: int = 1
    kind: str = "sweep"
    design: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_raw(self) -> dict[str, Any]:
        """The base scenario as plain data, without its design tables."""
        return {k: v for k, v in self.scenario.raw.items() if k not in DESIGN_TABLES}

    @property
    def keys(self) -> list[str]:
        """The dotted keys the design varies, in order of first appearance."""
        out: dict[str, None] = {}
        for point in self.points:
            out.update(dict.fromkeys(point.overrides))
        return list(out)

    @property
    def n_runs(self) -> int:
        """Points times replications."""
        return len(self.points) * self.replications

    def runs(self) -> Iterator[RunSpec]:
        """Every run, replicate by replicate (so a partial sweep covers the whole design early)."""
        for replicate in range(self.replications):
            for point in self.points:
                seed = run_seed(self.root_seed, point.seed_index, replicate)
                yield RunSpec(
                    run_id(point.point_id, point.overrides, replicate, seed),
                    point.point_id,
                    replicate,
                    seed,
                    dict(point.overrides),
                )

    def identity(self) -> dict[str, Any]:
        """What must match for a folder's runs to belong to this sweep."""
        return {
            "kind": self.kind,
            "scenario": _digest(self.base_raw),
            "points": _digest([[p.overrides, p.seed_index] for p in self.points]),
            "n_points": len(self.points),
            "replications": self.replications,
            "root_seed": self.root_seed,
            "every": self.every,
        }


def run_seed(root: int, seed_index: int, replicate: int) -> int:
    """A run's seed: ``SeedSequence(root, spawn_key=(seed_index, replicate))`` as a 63-bit integer."""
    sequence = np.random.SeedSequence(int(root), spawn_key=(int(seed_index), int(replicate)))
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def run_id(point_id: int, overrides: Mapping[str, Any], replicate: int, seed: int) -> str:
    """A run's stable identity: a hash of its point (position and overrides), replicate and seed.

    The position is part of it because a design may hold the same overrides
    twice (a Morris grid) with the same seed (common random numbers).
    """
    return _digest(
        {"point": int(point_id), "overrides": dict(overrides), "replicate": int(replicate), "seed": int(seed)}
    )[:20]


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=_jsonable)
    return hashlib.sha256(text.encode()).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON data: {value!r}")


# ------------------------------------------------------------------ designs


def plan_sweep(
    scenario: Scenario, *, root_seed: int | None = None, every: int = 1, common_seeds: bool = False
) -> SweepPlan:
    """The plan of the design declared in ``scenario.sweep``.

    Args:
        scenario: a validated scenario with a ``[sweep]`` table (CLI options
            are applied to it as overrides of ``sweep.*`` before this).
        root_seed: the root seed (default: the scenario's ``seed``).
        every: time-series thinning (1 keeps every step, 0 none).
        common_seeds: every point of replicate r gets the same seed (common
            random numbers: smoother response curves, correlated points);
            by default every run's seed is independent.

    Raises:
        ScenarioError: the design lists nothing to vary, or mixes lists and ranges wrongly.
    """
    spec = scenario.sweep
    root = scenario.seed if root_seed is None else int(root_seed)
    factors = {k: list(v) for k, v in spec.factors.items()}
    ranges = {k: tuple(v) for k, v in spec.ranges.items()}
    _check_design(scenario, factors, ranges)
    sampled = (
        [{}]
        if spec.design == "factorial"
        else sample_ranges(scenario, ranges, spec.samples, spec.design, root)
    )
    combos = [dict(zip(factors, values, strict=True)) for values in itertools.product(*factors.values())]
    points = [
        Point(i, {**s, **c}, 0 if common_seeds else i)
        for i, (s, c) in enumerate(itertools.product(sampled, combos))
    ]
    design = {
        "design": spec.design,
        "factors": factors,
        "ranges": {k: list(v) for k, v in ranges.items()},
        "samples": spec.samples if ranges else None,
        "common_seeds": common_seeds,
    }
    return SweepPlan(scenario, points, spec.replications, root, every, "sweep", design)


def _check_design(scenario: Scenario, factors: dict[str, list[Any]], ranges: dict[str, tuple]) -> None:
    """A factorial design lists values and nothing else; a sampled design has ranges.

    Raises:
        ScenarioError: naming the ``[sweep]`` key at fault.
    """
    design = scenario.sweep.design
    where = f"{scenario.source} [sweep]"
    if design == "factorial" and ranges:
        raise ScenarioError(
            "a factorial design expands lists, not ranges",
            source=where,
            key="sweep.ranges",
            value=list(ranges),
            allowed="factors = {key = [values]}, or design latin_hypercube | sobol",
        )
    if design == "factorial" and not factors:
        raise ScenarioError(
            "nothing to vary",
            source=where,
            key="sweep.factors",
            allowed="at least one dotted key with a list of values (or --factor KEY=V1,V2 on the command line)",
        )
    if design != "factorial" and not ranges:
        raise ScenarioError(
            f"a {design} design samples ranges",
            source=where,
            key="sweep.ranges",
            allowed="ranges = {key = [low, high]} (or --range KEY=LOW:HIGH)",
        )


def sample_ranges(
    scenario: Scenario, ranges: Mapping[str, Sequence[float]], samples: int, design: str, root_seed: int
) -> list[dict[str, Any]]:
    """Sampled points over ``ranges``: ``latin_hypercube`` or ``sobol`` (scrambled), seeded by the root seed.

    Integer keys are rounded to integers after scaling.
    """
    from scipy.stats import qmc

    keys = list(ranges)
    rng = np.random.default_rng(np.random.SeedSequence(int(root_seed), spawn_key=(2**32 - 1,)))
    if design == "latin_hypercube":
        unit = qmc.LatinHypercube(d=len(keys), rng=rng).random(samples)
    elif design == "sobol":
        sampler = qmc.Sobol(d=len(keys), scramble=True, rng=rng)
        with warnings.catch_warnings():  # "balance properties ... need n = 2**m": a documented trade-off
            warnings.simplefilter("ignore", UserWarning)
            unit = sampler.random(samples)
    else:
        raise ScenarioError(
            "unknown design", key="sweep.design", value=design, allowed="factorial | latin_hypercube | sobol"
        )
    lows = np.array([ranges[k][0] for k in keys], dtype=float)
    highs = np.array([ranges[k][1] for k in keys], dtype=float)
    values = qmc.scale(unit, lows, highs) if np.all(highs > lows) else lows + unit * (highs - lows)
    return [typed_point(scenario, dict(zip(keys, row, strict=True))) for row in values.tolist()]


def typed_point(scenario: Scenario, point: Mapping[str, Any]) -> dict[str, Any]:
    """Round the values of integer keys; make every number a plain Python number."""
    out = {}
    for key, value in point.items():
        if isinstance(value, (float, np.floating)) and value_type(scenario, key) is int:
            value = round(float(value))
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out


def value_type(scenario: Scenario, key: str) -> type | None:
    """The declared Python type of a dotted scenario key (``int``, ``float``, ``str``, ...), if known."""
    from sim.model.shocks import SHOCKS
    from sim.model.strategies import resolve_strategy_class

    parts = key.split(".")
    try:
        if parts[0] == "organizations" and len(parts) >= 3:
            names = [o.name for o in scenario.organizations]
            org = scenario.organizations[names.index(parts[1]) if parts[1] in names else int(parts[1])]
            if parts[2] == "strategy_params" and len(parts) == 4:
                return _field_type(
                    resolve_strategy_class(org.strategy, allow_code=scenario.allow_code), parts[3]
                )
            return _field_type(type(org), parts[2]) if len(parts) == 3 else None
        if parts[0] == "shocks" and len(parts) == 3:
            shock = scenario.shocks[int(parts[1])]
            if parts[2] in SCHEDULE_KEYS:
                return _field_type(ShockSchedule, parts[2])
            return _field_type(SHOCKS[shock.kind], parts[2])
        cls: Any = Scenario
        for part in parts:
            cls = _field_type(cls, part)
        return cls
    except (ValueError, IndexError, KeyError, TypeError, ScenarioError):
        return None


def _field_type(cls: type, name: str) -> Any:
    if not dataclasses.is_dataclass(cls):
        raise TypeError(name)
    hint = typing.get_type_hints(cls)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) else hint
