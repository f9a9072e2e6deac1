"""The model's catalog of names: the checks of a scenario that need the strategy and shock registries.

:mod:`sim.config` validates a scenario's data and imports nothing of the model. What a
name means is known here: a strategy (registered, or ``"module:Class"`` imported only with
the user's opt-in), a shock kind and its parameters, the organizations a shock names or
adds (each kind's :class:`~sim.model.shocks.Reach`), and the organization a stress test
watches. :func:`load_scenario` and :func:`scenario_from_dict` are the config's plus
:func:`check_scenario`; they are what :mod:`sim` exports.

    >>> from sim.model.catalog import load_scenario
    >>> load_scenario("power_shift").name
    'power_shift'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.config import scenario as config
from sim.config.overrides import blame_override
from sim.config.scenario import Scenario, cannot_vary, design_entries
from sim.config.source import find_scenario, read_toml
from sim.config.spec import shown
from sim.errors import ScenarioError
from sim.model.shocks import Shock, make_shock
from sim.model.strategies import make_strategy


def load_scenario(
    path_or_name: str | Path, overrides: Mapping[str, Any] | None = None, *, allow_code: bool = False
) -> Scenario:
    """Read a scenario file or a library scenario, apply overrides, and check everything.

    Args:
        path_or_name: a ``.toml`` file, or a library scenario's name (``"power_shift"``).
        overrides: dotted keys and values, e.g. ``{"network.n": 500}``.
        allow_code: let strategies named ``"module:Class"`` import their module (it runs its
            code); without it only modules already imported (in ``sys.modules``) are used.

    Raises:
        ScenarioError: one line naming the file, the key, the bad value and what is allowed.
    """
    path = find_scenario(path_or_name)
    return scenario_from_dict(read_toml(path), source=str(path), overrides=overrides, allow_code=allow_code)


def scenario_from_dict(
    raw: Mapping[str, Any],
    *,
    source: str = "<dict>",
    overrides: Mapping[str, Any] | None = None,
    allow_code: bool = False,
) -> Scenario:
    """Validate a plain mapping (as read from TOML) into a :class:`Scenario`, names included.

    Without ``allow_code``, a scenario whose strategies name modules passes only if the
    user's program had already imported every one of them; the scenario then records
    ``allow_code=True``, so that worker processes (which start without them) may import
    those modules again.
    """
    scenario = config.scenario_from_dict(raw, source=source, overrides=overrides, allow_code=allow_code)
    try:
        named = _check_all(scenario)
    except ScenarioError as exc:
        blame_override(exc, overrides or {}, source, raw)
        raise
    if not allow_code and any(":" in name for name in named):
        scenario = dataclasses.replace(scenario, allow_code=True)
    return scenario


def check_scenario(scenario: Scenario) -> None:
    """Check every name in ``scenario`` that the model must know, also in its experiment tables.

    Raises:
        ScenarioError: for the first unknown or misused name.
    """
    _check_all(scenario)


def _check_all(sc: Scenario) -> set[str]:
    """:func:`check_scenario`, returning the strategy names it resolved."""
    named = _check_names(sc)
    for table, key, value in design_entries(sc):
        try:
            named |= _check_names(sc.variant(key, value))
        except ScenarioError as exc:
            raise cannot_vary(sc, table, key, value, exc) from None
    _check_desertion(sc)
    return named


def _check_names(sc: Scenario) -> set[str]:
    """Strategies, shock kinds and parameters, the organizations shocks add and name.

    Returns:
        The strategy names it resolved (organizations' and added organizations').
    """
    for i, org in enumerate(sc.organizations):
        make_strategy(
            org.strategy,
            org.strategy_params,
            source=sc.source,
            key=f"organizations.{i}.strategy",
            allow_code=sc.allow_code,
        )
    shocks = [
        make_shock(entry.kind, entry.params, source=sc.source, key=f"shocks.{i}")
        for i, entry in enumerate(sc.shocks)
    ]
    entrants = _check_entrants(sc, shocks)
    for i, shock in enumerate(shocks):
        _check_named(sc, i, shock, entrants)
    added = {getattr(shock, shock.reach.strategy) for shock in shocks if shock.reach.strategy}
    return {org.strategy for org in sc.organizations} | added


def _check_entrants(sc: Scenario, shocks: Sequence[Shock]) -> dict[str, tuple[int, int]]:
    """The organizations shocks add, by name: (step, shock index) of their entry.

    An added organization's name must be new, its strategy known, and the shock must not
    repeat (its second entry would find the name taken).
    """
    known = [o.name for o in sc.organizations]
    entrants: dict[str, tuple[int, int]] = {}
    for i, (entry, shock) in enumerate(zip(sc.shocks, shocks, strict=True)):
        reach = shock.reach
        if not reach.adds:
            continue
        if entry.every > 0:
            raise ScenarioError(
                f"a {entry.kind} adds an organization, so it cannot repeat",
                source=sc.source,
                key=f"shocks.{i}.every",
                value=entry.every,
                allowed="0 (once); schedule one shock per organization it adds",
            )
        name = getattr(shock, reach.adds)
        if name in known or name in entrants:
            raise ScenarioError(
                "an organization with this name already exists",
                source=sc.source,
                key=f"shocks.{i}.{reach.adds}",
                value=name,
                allowed="a new name",
            )
        strategy = getattr(shock, reach.strategy) if reach.strategy else ""
        if strategy:
            make_strategy(
                strategy, {}, source=sc.source, key=f"shocks.{i}.{reach.strategy}", allow_code=sc.allow_code
            )
        entrants[name] = (entry.step, i)
    return entrants


def _check_named(sc: Scenario, i: int, shock: Shock, entrants: Mapping[str, tuple[int, int]]) -> None:
    """Every organization shock ``i`` names exists when it first fires; distinct ones if it says so."""
    when = (sc.shocks[i].step, i)
    founders = [o.name for o in sc.organizations]
    named: list[str] = []
    for attr in shock.reach.names:
        name = getattr(shock, attr)
        if name == "" and attr in shock.reach.optional:
            continue
        if name in entrants and entrants[name] > when:
            problem = (
                f"names an organization that enters only at step {entrants[name][0]}",
                f"a step after the shock that adds it (shocks.{entrants[name][1]})",
            )
        elif name not in founders and name not in entrants:
            problem = ("no such organization", ", ".join(founders + list(entrants)) or "(none defined)")
        elif shock.reach.distinct and name in named:
            problem = (
                f"a {shock.kind} needs {len(shock.reach.names)} different organizations",
                f"an organization other than {name}",
            )
        else:
            named.append(name)
            continue
        raise ScenarioError(
            problem[0], source=sc.source, key=f"shocks.{i}.{attr}", value=shown(name), allowed=problem[1]
        )


def _check_desertion(sc: Scenario) -> None:
    """The organization a stress test watches is one the scenario has, at the start or later."""
    watched = sc.desertion.organization
    if not watched:
        return
    known = [o.name for o in sc.organizations]
    for entry in sc.shocks:
        shock = make_shock(entry.kind, entry.params, source=sc.source)
        if shock.reach.adds:
            known.append(getattr(shock, shock.reach.adds))
    if watched not in known:
        raise ScenarioError(
            "no such organization",
            source=sc.source,
            key="desertion.organization",
            value=shown(watched),
            allowed=", ".join(known) or "(none defined)",
        )
