"""Scenario files: TOML in, a validated and frozen :class:`Scenario` out.

Input is checked in one place (:mod:`sim.config.spec`): every field of every spec
declares its type, its default and its allowed range next to its doc, and
:func:`sim.config.spec.build` checks all of them the same way, so an error always names the
file, the dotted key, the bad value and what is allowed.

Nothing in a scenario file is ever evaluated as code.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.config.spec import build, param
from sim.errors import ScenarioError
from sim.vocabulary import Level, OrgKind

NETWORK_KINDS = (
    "erdos_renyi",
    "watts_strogatz",
    "barabasi_albert",
    "stochastic_block",
    "edge_list",
    "graphml",
)


@dataclass(frozen=True)
class NetworkSpec:
    """The social graph participants live on."""

    kind: str = param("watts_strogatz", choices=NETWORK_KINDS, doc="graph generator or file format")
    n: int = param(1000, 2, 10_000_000, doc="number of participants (generated graphs)")
    mean_degree: float = param(10.0, 0.0, 1000.0, doc="mean number of ties")
    rewire_prob: float = param(0.1, 0.0, 1.0, doc="Watts-Strogatz rewiring probability")
    n_blocks: int = param(2, 1, 1000, doc="stochastic block model: number of blocks")
    mixing: float = param(0.1, 0.0, 1.0, doc="stochastic block model: share of ties across blocks")
    path: str = param("", doc="edge list or GraphML file, relative to the scenario file")


@dataclass(frozen=True)
class PopulationSpec:
    """How participants are drawn."""

    threshold: float = param(0.2, 0.0, 1.0, doc="mean personal threshold for following peers")
    threshold_sd: float = param(0.05, 0.0, 0.5, doc="spread of thresholds (normal, clipped to [0, 1])")
    values_mean: float = param(0.5, 0.0, 1.0, doc="mean values orientation (0 old power, 1 new power)")
    values_sd: float = param(0.2, 0.0, 0.5, doc="spread of values (beta distribution)")
    initial_commitment: float = param(0.5, 0.0, 1.0, doc="commitment of initial members")
    unaffiliated_max_level: str = param(
        "CONSUMING",
        choices=tuple(lv.name for lv in Level),
        doc="highest level reachable without an organization",
    )


@dataclass(frozen=True)
class DynamicsSpec:
    """Rates and weights of the behavioural rules (see docs/ODD.md, Submodels)."""

    peer_influence: float = param(1.0, 0.0, 10.0, doc="weight of the share of neighbours above one's level")
    model_pull: float = param(0.1, 0.0, 10.0, doc="pull up the scale per unit of an organization's openness")
    climb_prob: float = param(0.5, 0.0, 1.0, doc="chance per step to act on enough peer pressure")
    rung_difficulty: float = param(0.5, 0.0, 10.0, doc="extra threshold per rung already climbed")
    fickleness: float = param(0.1, 0.0, 1.0, doc="commitment fade rate of a fully new-power participant")
    fade_floor: float = param(
        0.2, 0.0, 1.0, doc="fade of a fully old-power participant, relative to fickleness"
    )
    renewal_rate: float = param(0.2, 0.0, 1.0, doc="rate at which participation and peers renew commitment")
    commitment_per_level: float = param(0.5, 0.0, 1.0, doc="commitment needed to hold the top level")
    grievance_rate: float = param(
        0.1, 0.0, 1.0, doc="growth of grievance per unit of values gap and value taken"
    )
    grievance_decay: float = param(0.05, 0.0, 1.0, doc="share of grievance forgotten per step")
    exit_contagion: float = param(0.5, 0.0, 10.0, doc="weight of the share of neighbours who just left")
    loyalty: float = param(0.5, 0.0, 10.0, doc="how much commitment holds a member back from leaving")
    switch_margin: float = param(
        0.1, 0.0, 1.0, doc="alignment gain needed to desert to a rival rather than to none"
    )
    join_rate_open: float = param(0.3, 0.0, 1.0, doc="join chance per contact with a fully open organization")
    join_rate_closed: float = param(
        0.02, 0.0, 1.0, doc="join chance per contact with a fully closed organization"
    )
    join_commitment: float = param(0.3, 0.0, 1.0, doc="commitment of a new member")
    revenue_rate: float = param(
        0.05, 0.0, 10.0, doc="stock earned per step per unit of value taken from all participants"
    )
    stock_decay: float = param(0.01, 0.0, 1.0, doc="share of stock lost per step (upkeep)")
    legitimacy_rate: float = param(
        0.1, 0.0, 1.0, doc="speed at which legitimacy tracks community contentment"
    )
    exposure_decay: float = param(0.1, 0.0, 1.0, doc="share of a leak's exposure forgotten per step")
    outreach_cost: float = param(0.05, 0.0, 10.0, doc="stock spent per step per unit of outreach")
    mobilization_cost: float = param(0.05, 0.0, 10.0, doc="stock spent per step per unit of mobilization")
    ads_cost: float = param(0.05, 0.0, 10.0, doc="stock spent per step per unit of ads")
    reform_cost: float = param(
        0.2, 0.0, 10.0, doc="stock spent per unit change of openness, values or transparency"
    )
    structure_yield: float = param(1.0, 0.0, 100.0, doc="stock gained per unit of current converted")
    structure_take: float = param(
        0.2, 0.0, 10.0, doc="value members feel taken per unit of structure (conversion is capture)"
    )
    lobby_weight: float = param(1.0, 0.0, 100.0, doc="campaign force per unit of stock spent")
    turnout_weight: float = param(10.0, 0.0, 100.0, doc="campaign force per unit of turnout (share of all)")
    campaign_legitimacy: float = param(0.1, 0.0, 1.0, doc="legitimacy a campaign's winner gains")


@dataclass(frozen=True)
class TriggerSpec:
    """Seed participants set in motion at the start (the spark of a surge)."""

    n_seeds: int = param(0, 0, 10_000_000, doc="how many participants start at the trigger level")
    level: str = param("SHARING", choices=tuple(lv.name for lv in Level), doc="their level")
    choose: str = param(
        "random", choices=("random", "hubs"), doc="uniformly at random, or highest degree first"
    )
    organization: str = param("", doc="draw seeds among this organization's members (empty: anyone)")


@dataclass(frozen=True)
class OrganizationSpec:
    """One institution or platform. ``None`` means "the default for its kind"."""

    name: str = param("", doc="unique name")
    kind: str = param(
        "institution", choices=tuple(k.value for k in OrgKind), doc="founded as old or new power"
    )
    openness: float | None = param(None, 0.0, 1.0, doc="model axis of the compass (0 closed, 1 open)")
    values: float | None = param(None, 0.0, 1.0, doc="values axis of the compass (0 old, 1 new power)")
    max_level: str = param(
        "",
        choices=("",) + tuple(lv.name for lv in Level),
        doc="highest level its model enables (empty: from openness)",
    )
    stock: float | None = param(None, 0.0, 1e9, doc="old-power stock: capital, access")
    legitimacy: float = param(0.7, 0.0, 1.0, doc="initial legitimacy")
    take_rate: float | None = param(None, 0.0, 1.0, doc="share of value it takes from its community")
    transparency: float | None = param(None, 0.0, 1.0, doc="how much of its values gap members can see")
    outreach: float = param(0.0, 0.0, 1.0, doc="chance per step of reaching an unaffiliated participant")
    ads: float = param(0.0, 0.0, 1.0, doc="paid reach that recruits without commitment")
    mobilization: float = param(0.0, 0.0, 1.0, doc="investment in moving members up the scale")
    structure: float = param(0.0, 0.0, 1.0, doc="share of its current converted into stock each step")
    initial_share: float = param(0.0, 0.0, 1.0, doc="share of all participants who start as members")
    initial_level: str = param(
        "CONSUMING", choices=tuple(lv.name for lv in Level), doc="level of initial members"
    )
    strategy: str = param("status_quo", doc="policy run every step: a registered name or 'module:Class'")
    strategy_params: Mapping[str, Any] = param({}, doc="the strategy's parameters (see `newpower list`)")


#: Defaults that differ by kind: an institution starts as a Castle, a platform as a Crowd.
KIND_DEFAULTS = {
    "institution": {"openness": 0.15, "values": 0.2, "stock": 1.0, "take_rate": 0.2, "transparency": 0.2},
    "platform": {"openness": 0.8, "values": 0.7, "stock": 0.1, "take_rate": 0.1, "transparency": 0.6},
}


@dataclass(frozen=True)
class ShockSchedule:
    """When a shock fires; its other keys are the shock's own parameters."""

    kind: str = param("", doc="the shock's registered kind (see `newpower list`)")
    step: int = param(1, 1, doc="first step at which it fires (1 = the first step)")
    every: int = param(0, 0, doc="repeat period in steps (0: once)")
    until: int = param(0, 0, doc="last step it may fire at (0: no end)")
    params: Mapping[str, Any] = param({}, doc="the shock's parameters")

    def fires_at(self, step: int) -> bool:
        """Whether the shock fires at ``step``."""
        if step < self.step or (self.until and step > self.until):
            return False
        return step == self.step if self.every == 0 else (step - self.step) % self.every == 0


SCHEDULE_KEYS = ("kind", "step", "every", "until")

DESIGNS = ("factorial", "latin_hypercube", "sobol")


@dataclass(frozen=True)
class SweepSpec:
    """A design of experiments over dotted scenario keys (``newpower sweep``).

    ``factors`` lists values (full factorial over lists, as in Agents.jl's
    ``paramscan``: only lists expand); ``ranges`` gives ``[low, high]`` for
    sampled designs (Latin hypercube, Sobol).
    """

    design: str = param("factorial", choices=DESIGNS, doc="factorial | latin_hypercube | sobol")
    samples: int = param(16, 1, 10_000_000, doc="points drawn by a sampled design (Sobol: base N)")
    replications: int = param(1, 1, 100_000, doc="runs (seeds) per point")
    factors: Mapping[str, Any] = param({}, doc="dotted key -> list of values (factorial)")
    ranges: Mapping[str, Any] = param({}, doc="dotted key -> [low, high] (sampled designs)")


@dataclass(frozen=True)
class DesertionSpec:
    """What counts as "the community deserted" for ``newpower stress``."""

    organization: str = param("", doc="the strategist's organization")
    measure: str = param("desertion_share", doc="summary measure of that organization")
    above: float = param(0.5, doc="desertion when the measure is above this value")


@dataclass(frozen=True)
class Scenario:
    """A whole validated scenario. Build it with :func:`load_scenario` or :func:`scenario_from_dict`."""

    name: str = param("scenario", doc="short name")
    description: str = param("", doc="one line on what it models")
    steps: int = param(100, 0, 10_000_000, doc="steps per run")
    seed: int = param(0, 0, 2**63 - 1, doc="root random seed")
    replications: int = param(1, 1, 100_000, doc="independent runs per point")
    network: NetworkSpec = field(default_factory=NetworkSpec)
    population: PopulationSpec = field(default_factory=PopulationSpec)
    dynamics: DynamicsSpec = field(default_factory=DynamicsSpec)
    trigger: TriggerSpec = field(default_factory=TriggerSpec)
    organizations: tuple[OrganizationSpec, ...] = ()
    shocks: tuple[ShockSchedule, ...] = ()
    sweep: SweepSpec = field(default_factory=SweepSpec)
    uncertain: Mapping[str, Any] = param(
        {}, doc="dotted key -> [low, high]: what the strategist can't control"
    )
    desertion: DesertionSpec = field(default_factory=DesertionSpec)
    source: str = field(default="<dict>", compare=False, metadata={"internal": True})
    raw: Mapping[str, Any] = field(
        default_factory=dict, compare=False, repr=False, metadata={"internal": True}
    )

    def organization(self, name: str) -> OrganizationSpec:
        """Return the organization called ``name``."""
        for org in self.organizations:
            if org.name == name:
                return org
        raise KeyError(name)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """Return a new scenario with dotted-key overrides applied and validated."""
        return scenario_from_dict(self.raw, source=self.source, overrides=overrides)

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain data (for manifests)."""
        out = dataclasses.asdict(self)
        out.pop("raw")
        out.pop("source")
        return out


def parse_value(text: str) -> Any:
    """An override value typed on a command line, read as a TOML value (numbers, booleans,
    quoted strings, arrays); anything that is not valid TOML is taken as a plain string."""
    text = text.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read a TOML scenario, apply dotted-key overrides, and validate everything.

    Args:
        path: the ``.toml`` file.
        overrides: e.g. ``{"network.mean_degree": 3.5, "organizations.Gazette.openness": 0.4}``.

    Raises:
        ScenarioError: naming the file, the key path, the bad value and what is allowed.
    """
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(
            "scenario file not found", source=str(path), allowed="an existing .toml file (see scenarios/)"
        )
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"not valid TOML: {exc}", source=str(path)) from None
    return scenario_from_dict(raw, source=str(path), overrides=overrides)


def scenario_from_dict(
    raw: Mapping[str, Any], *, source: str = "<dict>", overrides: Mapping[str, Any] | None = None
) -> Scenario:
    """Validate a plain mapping (as read from TOML) into a :class:`Scenario`."""
    data = copy.deepcopy(dict(raw))
    for key, value in (overrides or {}).items():
        _apply_override(data, key, value, source)
    try:
        scenario = build(Scenario, _nest_shock_params(data, source), source, "")
        scenario = dataclasses.replace(
            scenario,
            source=source,
            raw=data,
            organizations=tuple(_resolve_org(o, i, source) for i, o in enumerate(scenario.organizations)),
        )
        _check_cross_references(scenario)
    except ScenarioError as exc:
        _blame_override(exc, overrides or {}, source, dict(raw))
        raise
    return scenario


def _check_design(sc: Scenario) -> None:
    """Sweep factors, ranges and uncertainties must name keys that accept their values."""
    plain = {k: v for k, v in sc.raw.items() if k not in ("sweep", "uncertain", "desertion")}
    tables = [
        ("sweep.factors", sc.sweep.factors, "a list of values"),
        ("sweep.ranges", sc.sweep.ranges, "[low, high]"),
        ("uncertain", sc.uncertain, "[low, high]"),
    ]
    for table, entries, shape in tables:
        for key, values in entries.items():
            ranged = table != "sweep.factors"
            if (
                not isinstance(values, list)
                or not values
                or (
                    ranged
                    and (
                        len(values) != 2
                        or not all(isinstance(v, (int, float)) for v in values)
                        or values[0] > values[1]
                    )
                )
            ):
                raise ScenarioError(
                    f"expected {shape}",
                    source=sc.source,
                    key=f"{table}.{key}",
                    value=values,
                    allowed=shape + (" with low <= high" if ranged else ""),
                )
            for value in values:
                try:
                    scenario_from_dict(plain, source=sc.source, overrides={key: value})
                except ScenarioError as exc:
                    raise ScenarioError(
                        f"cannot vary this key: {exc.message}",
                        source=sc.source,
                        key=f"{table}.{key}",
                        value=value,
                        allowed=exc.allowed or "a dotted key of this scenario",
                    ) from None
    entrants = [s.params.get("name", "Rival") for s in sc.shocks if s.kind == "rival_entry"]
    known = [o.name for o in sc.organizations] + entrants
    if sc.desertion.organization and sc.desertion.organization not in known:
        raise ScenarioError(
            "no such organization",
            source=sc.source,
            key="desertion.organization",
            value=sc.desertion.organization,
            allowed=", ".join(known) or "(none defined)",
        )


def _nest_shock_params(data: dict, source: str) -> dict:
    """``[[shocks]]`` tables mix schedule keys and the shock's parameters; split them."""
    shocks = data.get("shocks")
    if not isinstance(shocks, list):
        return data
    nested = []
    for i, table in enumerate(shocks):
        if not isinstance(table, Mapping):
            raise ScenarioError("expected a table", source=source, key=f"shocks.{i}", value=table)
        nested.append(
            {
                **{k: v for k, v in table.items() if k in SCHEDULE_KEYS},
                "params": {k: v for k, v in table.items() if k not in SCHEDULE_KEYS},
            }
        )
    return {**data, "shocks": nested}


def _blame_override(exc: ScenarioError, overrides: Mapping[str, Any], source: str, data: dict) -> None:
    """If the bad key came from an override, say so in the message."""
    if exc.key is None:
        return
    error = exc.key.split(".")
    for key in overrides:
        mine = _canonical(key.split("."), data)
        # the same key, a key inside a table the override set, or a table the override created
        if _prefix(mine, error) or _prefix(error, mine):
            exc.source = f"{source} (override {key}={overrides[key]!r})"
            return


def _prefix(a: list[str], b: list[str]) -> bool:
    """Whether path ``a`` starts with path ``b`` (``*`` in ``b`` matches any item)."""
    return len(a) >= len(b) and all(y in ("*", x) for x, y in zip(a, b, strict=False))


def _canonical(parts: list[str], data: dict) -> list[str]:
    """Override path with list items named by index, as validation errors name them."""
    node: Any = data
    out = []
    for part in parts:
        if isinstance(node, list):
            names = [str(item.get("name", "")) if isinstance(item, Mapping) else "" for item in node]
            index = names.index(part) if part in names else (int(part) if part.isdigit() else -1)
            out.append(str(index))
            node = node[index] if 0 <= index < len(node) else None
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, Mapping) else None
    return out


# ---------------------------------------------------------------- internals


def _apply_override(data: dict, key: str, value: Any, source: str) -> None:
    where = f"{source} (override)"
    parts = key.split(".")
    if not all(parts):
        raise ScenarioError(
            "override key must be a dotted path",
            source=where,
            key=key,
            allowed="e.g. network.mean_degree or organizations.NAME.openness",
        )
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = node[_list_index(node, part, ".".join(parts[: depth + 1]), where)]
            continue
        if not isinstance(node, dict):
            raise ScenarioError(
                f"'{'.'.join(parts[:depth])}' holds a value, not a table",
                source=where,
                key=key,
                allowed="a dotted path to a value",
            )
        if part not in node:
            if part == "organizations":
                raise ScenarioError("this scenario has no organizations", source=where, key=key)
            node[part] = {}
        node = node[part]
    if not isinstance(node, (dict, list)):
        raise ScenarioError(
            f"'{'.'.join(parts[:-1])}' holds a value, not a table",
            source=where,
            key=key,
            allowed="a dotted path to a value",
        )
    if isinstance(node, list):
        raise ScenarioError(
            "cannot replace a whole organization", source=where, key=key, allowed="organizations.NAME.FIELD"
        )
    node[parts[-1]] = value


def _list_index(items: list, part: str, key: str, where: str) -> int:
    names = [str(item.get("name", "")) for item in items]
    if part in names:
        return names.index(part)
    if part.isdigit() and int(part) < len(items):
        return int(part)
    raise ScenarioError(
        "no such organization",
        source=where,
        key=key,
        value=part,
        allowed=", ".join(names) or "(none defined)",
    )


def _resolve_org(org: OrganizationSpec, index: int, source: str) -> OrganizationSpec:
    defaults = KIND_DEFAULTS[org.kind]
    filled = {k: v for k, v in defaults.items() if getattr(org, k) is None}
    org = dataclasses.replace(org, **filled)
    if not org.name:
        raise ScenarioError(
            "every organization needs a name",
            source=source,
            key=f"organizations.{index}.name",
            allowed="a unique non-empty string",
        )
    return org


def _check_cross_references(sc: Scenario) -> None:
    names = [o.name for o in sc.organizations]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise ScenarioError(
                "duplicate organization name",
                source=sc.source,
                key=f"organizations.{i}.name",
                value=name,
                allowed="unique names",
            )
    from sim.model.shocks import make_shock
    from sim.model.strategies import make_strategy

    for i, org in enumerate(sc.organizations):
        make_strategy(org.strategy, org.strategy_params, source=sc.source, key=f"organizations.{i}.strategy")
    known = list(names)
    for i, entry in enumerate(sc.shocks):
        shock = make_shock(entry.kind, entry.params, source=sc.source, key=f"shocks.{i}")
        if entry.kind == "rival_entry":
            if shock.name in known:
                raise ScenarioError(
                    "an organization with this name already exists",
                    source=sc.source,
                    key=f"shocks.{i}.name",
                    value=shock.name,
                    allowed="a new name",
                )
            if shock.strategy:
                make_strategy(shock.strategy, {}, source=sc.source, key=f"shocks.{i}.strategy")
            known.append(shock.name)
    for i, entry in enumerate(sc.shocks):
        shock = make_shock(entry.kind, entry.params, source=sc.source, key=f"shocks.{i}")
        for attr in ("target", "side_a", "side_b", "organization"):
            name = getattr(shock, attr, None)
            if name is None or (attr == "organization" and name == ""):
                continue
            if name not in known:
                raise ScenarioError(
                    "no such organization",
                    source=sc.source,
                    key=f"shocks.{i}.{attr}",
                    value=name,
                    allowed=", ".join(known) or "(none defined)",
                )
        if entry.kind == "campaign" and shock.side_a == shock.side_b:
            raise ScenarioError(
                "a campaign needs two different sides",
                source=sc.source,
                key=f"shocks.{i}.side_b",
                value=shock.side_b,
                allowed=f"an organization other than {shock.side_a}",
            )
    total = sum(o.initial_share for o in sc.organizations)
    if total > 1.0 + 1e-9:
        raise ScenarioError(
            "initial shares add up to more than 1",
            source=sc.source,
            key="organizations.*.initial_share",
            value=round(total, 6),
            allowed="a total of at most 1",
        )
    if sc.trigger.organization and sc.trigger.organization not in names:
        raise ScenarioError(
            "no such organization",
            source=sc.source,
            key="trigger.organization",
            value=sc.trigger.organization,
            allowed=", ".join(names) or "(none defined)",
        )
    _check_design(sc)
    var = sc.population.values_sd**2
    mean = sc.population.values_mean
    if var > 0 and var >= mean * (1 - mean):
        raise ScenarioError(
            "values spread too large for its mean (beta distribution)",
            source=sc.source,
            key="population.values_sd",
            value=sc.population.values_sd,
            allowed=f"less than {math.sqrt(mean * (1 - mean)):.3f} at values_mean={mean}",
        )
    net = sc.network
    if net.kind in ("edge_list", "graphml") and not net.path:
        raise ScenarioError(
            "a file-based network needs a path",
            source=sc.source,
            key="network.path",
            allowed="a file path relative to the scenario",
        )
