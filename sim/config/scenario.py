"""Scenario files: TOML in, a validated and frozen :class:`Scenario` out.

Input is checked in one place (:mod:`sim.config.spec`): every field of every spec
declares its type, its default and its allowed range next to its doc, and
:func:`sim.config.spec.build` checks all of them the same way, so an error always names the
file, the dotted key, the bad value and what is allowed. The checks across fields that
need nothing but the data (unique names, shares, the sweep's tables) are here too; those
that need the model's registries (strategy names, shock kinds, organizations a shock
names) are in :mod:`sim.model.catalog`, whose ``load_scenario`` is the one ``sim`` exports.

Nothing in a scenario file is ever evaluated as code, and loading it here imports nothing:
a strategy named ``"module:Class"`` is only recorded, with whether the caller allowed
importing code (``allow_code``), for the model to decide.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.config.overrides import apply_override, blame_override
from sim.config.source import check_depth, find_scenario, parse_value, read_toml
from sim.config.spec import MAX_NAME, build, param, shown
from sim.config.thresholds import (
    FILE_NETWORKS,
    MAX_COUNT,
    THRESHOLD_DISTRIBUTIONS,
    THRESHOLD_KINDS,
    check_beta_spread,
    check_thresholds,
)
from sim.errors import ScenarioError
from sim.vocabulary import Level, OrgKind

__all__ = [
    "DESIGNS",
    "EXPERIMENT_TABLES",
    "FILE_NETWORKS",
    "KIND_DEFAULTS",
    "MAX_COMPLETE",
    "MECHANISM_NAMES",
    "NETWORK_GENERATORS",
    "NETWORK_KINDS",
    "SCHEDULE_KEYS",
    "SEED_CHOICES",
    "THRESHOLD_DISTRIBUTIONS",
    "THRESHOLD_KINDS",
    "DesertionSpec",
    "DynamicsSpec",
    "MeasuresSpec",
    "NetworkSpec",
    "OrganizationSpec",
    "PopulationSpec",
    "Scenario",
    "ShockSchedule",
    "SweepSpec",
    "TriggerSpec",
    "design_entries",
    "load_scenario",
    "parse_value",
    "scenario_from_dict",
]

NETWORK_KINDS = (
    "erdos_renyi",
    "watts_strogatz",
    "barabasi_albert",
    "stochastic_block",
    "complete",
    "edge_list",
    "graphml",
)
#: Libraries that can generate a network (``network.generator``); "auto" picks by size.
NETWORK_GENERATORS = ("auto", "networkx", "igraph")
#: The largest complete graph (everyone sees everyone: n(n - 1)/2 ties, all held in memory).
MAX_COMPLETE = 1000


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
    generator: str = param(
        "auto",
        choices=NETWORK_GENERATORS,
        doc="library that generates the graph: auto (NetworkX below 100,000 participants, igraph from there)",
    )


@dataclass(frozen=True)
class PopulationSpec:
    """How participants are drawn."""

    threshold: float = param(
        0.2,
        0.0,
        MAX_COUNT,
        doc="personal threshold for following peers: mean (normal, beta) or value (fixed)",
    )
    threshold_sd: float = param(0.05, 0.0, MAX_COUNT, doc="spread of thresholds (normal, clipped; beta)")
    threshold_distribution: str = param(
        "normal", choices=THRESHOLD_DISTRIBUTIONS, doc="how thresholds are drawn (docs/ODD.md 5)"
    )
    threshold_kind: str = param(
        "fraction",
        choices=THRESHOLD_KINDS,
        doc="a threshold is a share of one's neighbours, or a number of them",
    )
    threshold_low: float = param(0.0, 0.0, MAX_COUNT, doc="uniform: the lowest threshold")
    threshold_high: float = param(1.0, 0.0, MAX_COUNT, doc="uniform: the highest threshold")
    threshold_file: str = param(
        "", doc="CSV (id, threshold) of personal thresholds, relative to the scenario file"
    )
    threshold_attribute: str = param("", doc="GraphML node attribute holding personal thresholds")
    values_mean: float = param(0.5, 0.0, 1.0, doc="mean values orientation (0 old power, 1 new power)")
    values_sd: float = param(0.2, 0.0, 0.5, doc="spread of values (beta distribution)")
    initial_commitment: float = param(0.5, 0.0, 1.0, doc="commitment of initial members")
    participation_inequality: float = param(
        3.0,
        0.0,
        10.0,
        doc="heavy tail of the effort participating costs: propensity = u**this, u uniform in (0, 1]; 0: all equal",
    )
    unaffiliated_max_level: str = param(
        "CONSUMING",
        choices=tuple(lv.name for lv in Level),
        doc="highest level reachable without an organization",
    )


#: The mechanisms a scenario can knock out (``[dynamics] knockout``). What each one is, its
#: section of docs/ODD.md and what knocking it out sets are ``sim.model.rules.MECHANISMS``;
#: the names are here so that the data can be checked without the model.
MECHANISM_NAMES = (
    "peer_influence",
    "pull",
    "fickle_fade",
    "slipping",
    "value_gap_grievance",
    "take_grievance",
    "exit_contagion",
    "desertion_to_rival",
    "outreach",
    "ads",
    "structure",
    "participation_inequality",
    "novelty",
)


@dataclass(frozen=True)
class DynamicsSpec:
    """Rates and weights of the behavioural rules (see docs/ODD.md, Submodels)."""

    peer_influence: float = param(1.0, 0.0, 10.0, doc="weight of the share of neighbours above one's level")
    model_pull: float = param(0.0, 0.0, 10.0, doc="pull up the scale per unit of an organization's openness")
    mobilization_pull: float = param(1.0, 0.0, 10.0, doc="pull up the scale per unit of funded mobilization")
    climb_prob: float = param(0.5, 0.0, 1.0, doc="chance per step to act on enough peer pressure")
    rung_difficulty: float = param(0.5, 0.0, 10.0, doc="extra threshold per rung already climbed")
    fickleness: float = param(0.15, 0.0, 1.0, doc="commitment fade rate of a fully new-power participant")
    fade_floor: float = param(
        0.2, 0.0, 1.0, doc="fade of a fully old-power participant, relative to fickleness"
    )
    renewal_rate: float = param(0.08, 0.0, 1.0, doc="rate at which participation and peers renew commitment")
    novelty: float = param(
        0.8, 0.0, 1.0, doc="share of the way to full commitment a first climb to a new rung gives"
    )
    commitment_per_level: float = param(0.5, 0.0, 1.0, doc="commitment needed to hold the top level")
    grievance_rate: float = param(
        0.05, 0.0, 1.0, doc="growth of grievance per unit of values gap and value taken"
    )
    grievance_decay: float = param(0.05, 0.0, 1.0, doc="share of grievance forgotten per step")
    value_gap_grievance: float = param(
        1.0, 0.0, 10.0, doc="weight of the visible values gap in the growth of grievance"
    )
    take_grievance: float = param(1.0, 0.0, 10.0, doc="weight of the value taken in the growth of grievance")
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
    outreach_reach: float = param(
        1.0, 0.0, 10.0, doc="share of the unaffiliated found per unit of funded outreach"
    )
    ads_reach: float = param(1.0, 0.0, 10.0, doc="share of the unaffiliated found per unit of funded ads")
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
    turnout_weight: float = param(100.0, 0.0, 1000.0, doc="campaign force per unit of turnout (share of all)")
    campaign_legitimacy: float = param(0.1, 0.0, 1.0, doc="legitimacy a campaign's winner gains")
    knockout: tuple[str, ...] = param(
        (),
        choices=MECHANISM_NAMES,
        doc="mechanisms switched off (docs/ODD.md, Submodels; `newpower list`)",
    )


SEED_CHOICES = ("random", "hubs", "ids", "neighbourhood")


@dataclass(frozen=True)
class TriggerSpec:
    """Seed participants set in motion at the start (the spark of a surge)."""

    n_seeds: int = param(0, 0, 10_000_000, doc="how many participants start at the trigger level")
    level: str = param("SHARING", choices=tuple(lv.name for lv in Level), doc="their level")
    choose: str = param(
        "random",
        choices=SEED_CHOICES,
        doc="at random, highest degree first, the listed ids, or participants with their neighbours",
    )
    organization: str = param("", doc="draw seeds among this organization's members (empty: anyone)")
    ids: tuple[int, ...] = param(
        (), 0, MAX_COUNT, doc="participant numbers: the seeds (ids) or the centres (neighbourhood)"
    )


@dataclass(frozen=True)
class OrganizationSpec:
    """One institution or platform. ``None`` means "the default for its kind"."""

    name: str = param("", max_len=MAX_NAME, doc=f"unique name (at most {MAX_NAME} characters)")
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
#: Tables that configure experiments over many runs, not a single run.
EXPERIMENT_TABLES = ("sweep", "uncertain", "desertion")

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
class MeasuresSpec:
    """How a run's measures are taken (``[measures]``; they change no dynamics)."""

    desertion_window: int = param(
        10, 1, 1_000_000, doc="steps within which an exit that returns is churn, not desertion"
    )


@dataclass(frozen=True)
class Scenario:
    """A whole validated scenario. Build it with :func:`load_scenario` or :func:`scenario_from_dict`."""

    name: str = param("scenario", max_len=MAX_NAME, doc="short name")
    description: str = param("", doc="one line on what it models")
    steps: int = param(100, 0, 10_000_000, doc="steps per run")
    burn_in: int = param(
        0,
        0,
        100_000,
        doc="unrecorded steps before step 0 in which the crowd settles (no shocks, no strategies)",
    )
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
    measures: MeasuresSpec = field(default_factory=MeasuresSpec)
    source: str = field(default="<dict>", compare=False, metadata={"internal": True})
    raw: Mapping[str, Any] = field(
        default_factory=dict, compare=False, repr=False, metadata={"internal": True}
    )
    #: Whether the modules its strategies name ("module:Class") may be imported: the user opted
    #: in, or their program had imported every one of them when it was loaded (so worker
    #: processes, which start without them, may import them again).
    allow_code: bool = field(default=False, compare=False, metadata={"internal": True})

    def organization(self, name: str) -> OrganizationSpec:
        """Return the organization called ``name``."""
        for org in self.organizations:
            if org.name == name:
                return org
        raise KeyError(name)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """Return a new scenario with dotted-key overrides applied and validated.

        Only the data is checked here; names that need the model's registries (a strategy,
        a shock kind) are checked when a model is built from it (see :mod:`sim.model.catalog`).
        """
        return scenario_from_dict(
            self.raw, source=self.source, overrides=overrides, allow_code=self.allow_code
        )

    def variant(self, key: str, value: Any) -> Scenario:
        """One point of an experiment: this scenario without its experiment tables, ``key`` set to ``value``."""
        plain = {k: v for k, v in self.raw.items() if k not in EXPERIMENT_TABLES}
        return scenario_from_dict(
            plain, source=self.source, overrides={key: value}, allow_code=self.allow_code
        )

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain data (for manifests)."""
        out = dataclasses.asdict(self)
        for internal in ("raw", "source", "allow_code"):
            out.pop(internal)
        return out


def load_scenario(
    path: str | Path, overrides: Mapping[str, Any] | None = None, *, allow_code: bool = False
) -> Scenario:
    """Read a TOML scenario, apply dotted-key overrides, and validate its data.

    This imports nothing and does not check names that need the model's registries; use
    :func:`sim.load_scenario` (:func:`sim.model.catalog.load_scenario`) for the whole check.

    Args:
        path: the ``.toml`` file, or the name of a library scenario (``"power_shift"``).
        overrides: e.g. ``{"network.mean_degree": 3.5, "organizations.Gazette.openness": 0.4}``.
        allow_code: whether strategies named ``"module:Class"`` may be imported (recorded only).

    Raises:
        ScenarioError: naming the file, the key path, the bad value and what is allowed.
    """
    path = find_scenario(path)
    return scenario_from_dict(read_toml(path), source=str(path), overrides=overrides, allow_code=allow_code)


def scenario_from_dict(
    raw: Mapping[str, Any],
    *,
    source: str = "<dict>",
    overrides: Mapping[str, Any] | None = None,
    allow_code: bool = False,
) -> Scenario:
    """Validate a plain mapping (as read from TOML) into a :class:`Scenario` (its data only)."""
    check_depth(raw, source)
    overrides = overrides or {}
    data = copy.deepcopy(dict(raw))
    for key, value in overrides.items():
        check_depth(value, f"{source} (override)", key)
        apply_override(data, key, value, source)
    try:
        scenario = build(Scenario, _nest_shock_params(data, source), source, "")
        scenario = dataclasses.replace(
            scenario,
            source=source,
            raw=data,
            allow_code=allow_code,
            organizations=tuple(_resolve_org(o, i, source) for i, o in enumerate(scenario.organizations)),
        )
        _check_data(scenario)
    except ScenarioError as exc:
        blame_override(exc, overrides, source, raw)
        raise
    return scenario


def _nest_shock_params(data: dict, source: str) -> dict:
    """``[[shocks]]`` tables mix schedule keys and the shock's parameters; split them."""
    shocks = data.get("shocks")
    if not isinstance(shocks, list):
        return data
    nested = []
    for i, table in enumerate(shocks):
        if not isinstance(table, Mapping):
            raise ScenarioError("expected a table", source=source, key=f"shocks.{i}", value=shown(table))
        nested.append(
            {
                **{k: v for k, v in table.items() if k in SCHEDULE_KEYS},
                "params": {k: v for k, v in table.items() if k not in SCHEDULE_KEYS},
            }
        )
    return {**data, "shocks": nested}


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


# ---------------------------------------------------------------- checks across fields


def _check_data(sc: Scenario) -> None:
    """Every check across fields that needs nothing but the scenario's data."""
    _check_unique_names(sc)
    _check_shares(sc)
    _check_trigger(sc)
    _check_seed_ids(sc)
    _check_design(sc)
    _check_values_spread(sc)
    check_thresholds(sc)
    _check_network(sc)


def _check_unique_names(sc: Scenario) -> None:
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


def _check_shares(sc: Scenario) -> None:
    total = sum(o.initial_share for o in sc.organizations)
    if total > 1.0 + 1e-9:
        raise ScenarioError(
            "initial shares add up to more than 1",
            source=sc.source,
            key="organizations.*.initial_share",
            value=round(total, 6),
            allowed="a total of at most 1",
        )


def _check_trigger(sc: Scenario) -> None:
    names = [o.name for o in sc.organizations]
    if sc.trigger.organization and sc.trigger.organization not in names:
        raise ScenarioError(
            "no such organization",
            source=sc.source,
            key="trigger.organization",
            value=shown(sc.trigger.organization),
            allowed=", ".join(names) or "(none defined)",
        )


def _check_seed_ids(sc: Scenario) -> None:
    """``ids`` and ``n_seeds`` are alternatives, used by the ways of choosing that read them."""
    trigger = sc.trigger
    ids, choose = trigger.ids, trigger.choose
    # (what is wrong, message, key, value, what is allowed): the first that holds is the error
    problems = (
        (
            ids and choose not in ("ids", "neighbourhood"),
            f'ids are not used with choose = "{choose}"',
            "trigger.ids",
            shown(list(ids)),
            'choose = "ids" or "neighbourhood" (or no ids)',
        ),
        (
            ids and trigger.n_seeds,
            "give either ids or n_seeds (drawn at random), not both",
            "trigger.n_seeds",
            trigger.n_seeds,
            "0 when ids are given",
        ),
        (
            choose == "ids" and not ids,
            'choose = "ids" needs the participants\' numbers',
            "trigger.ids",
            None,
            "a non-empty list of participant numbers",
        ),
        (
            ids and trigger.organization,
            "ids name participants; organization draws among its members: give one or the other",
            "trigger.organization",
            shown(trigger.organization),
            '"" when ids are given',
        ),
    )
    for wrong, message, key, value, allowed in problems:
        if wrong:
            raise ScenarioError(message, source=sc.source, key=key, value=value, allowed=allowed)
    n = None if sc.network.kind in FILE_NETWORKS else sc.network.n  # a file's size is known when read
    check_ids(trigger.ids, n, sc.source, "trigger.ids")


def check_ids(ids: tuple[int, ...], n: int | None, source: str, key: str) -> None:
    """Participant numbers must be distinct and, when the network's size ``n`` is known, below it.

    Raises:
        ScenarioError: naming ``key.i`` of the first repeated or missing participant.
    """
    seen: set[int] = set()
    for i, number in enumerate(ids):
        if n is not None and number >= n:
            raise ScenarioError(
                "no such participant", source=source, key=f"{key}.{i}", value=number, allowed=f"0 to {n - 1}"
            )
        if number in seen:
            raise ScenarioError(
                "participant listed twice",
                source=source,
                key=f"{key}.{i}",
                value=number,
                allowed="distinct ids",
            )
        seen.add(number)


def _check_values_spread(sc: Scenario) -> None:
    pop = sc.population
    check_beta_spread(pop.values_mean, pop.values_sd, sc.source, "population.values_sd", "values_mean")


def _check_network(sc: Scenario) -> None:
    if sc.network.kind in FILE_NETWORKS and not sc.network.path:
        raise ScenarioError(
            "a file-based network needs a path",
            source=sc.source,
            key="network.path",
            allowed="a file path relative to the scenario",
        )
    if sc.network.kind == "complete" and sc.network.n > MAX_COMPLETE:
        raise ScenarioError(
            "too large for a complete graph",
            source=sc.source,
            key="network.n",
            value=sc.network.n,
            allowed=f'at most {MAX_COMPLETE} with network.kind = "complete"',
        )


def _check_design(sc: Scenario) -> None:
    """Sweep factors, ranges and uncertainties must name keys that accept their values."""
    for table, key, value in design_entries(sc):
        try:
            sc.variant(key, value)
        except ScenarioError as exc:
            raise cannot_vary(sc, table, key, value, exc) from None


def design_entries(sc: Scenario) -> Iterator[tuple[str, str, Any]]:
    """Every (table, dotted key, value) an experiment table of ``sc`` varies, checked for shape.

    Raises:
        ScenarioError: for an entry that is not a non-empty list (factors) or ``[low, high]``.
    """
    tables = [
        ("sweep.factors", sc.sweep.factors, False),
        ("sweep.ranges", sc.sweep.ranges, True),
        ("uncertain", sc.uncertain, True),
    ]
    for table, entries, ranged in tables:
        for key, values in entries.items():
            _check_shape(sc, f"{table}.{key}", values, ranged)
            for value in values:
                yield table, key, value


def _check_shape(sc: Scenario, where: str, values: Any, ranged: bool) -> None:
    shape = "[low, high]" if ranged else "a list of values"
    good = isinstance(values, list) and bool(values)
    if good and ranged:
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        good = len(values) == 2 and numbers and values[0] <= values[1]
    if not good:
        raise ScenarioError(
            f"expected {shape}",
            source=sc.source,
            key=where,
            value=shown(values),
            allowed=shape + (" with low <= high" if ranged else ""),
        )


def cannot_vary(sc: Scenario, table: str, key: str, value: Any, exc: ScenarioError) -> ScenarioError:
    """The error for an experiment table's value that its key does not accept (``exc`` says why)."""
    return ScenarioError(
        f"cannot vary this key: {exc.message}",
        source=sc.source,
        key=f"{table}.{key}",
        value=shown(value),
        allowed=exc.allowed or "a dotted key of this scenario",
    )
