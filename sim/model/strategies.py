"""Strategies: the article's playbook as policies an organization runs every step.

A strategy reads the organization's levers and what it can observe
(:class:`~sim.model.levers.Observation`) and returns new levers. It never sees the
organization, the participants or the dynamics; whatever follows from its
choices is decided by the rules. No rule knows which strategy is running.

To add a strategy: write a dataclass subclass of :class:`Strategy` with its
parameters as :func:`~sim.config.spec.param` fields and a ``decide`` method, and
decorate it with :func:`register`. To use your own without touching this
package, name it in a scenario by import path: ``strategy = "mypkg.mod:MyStrategy"``,
and opt in to importing it (``--allow-code``, ``allow_code=True``): see
docs/custom_strategies.md for a worked example.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

from sim.config.spec import Registry, build, param, shown
from sim.errors import ScenarioError
from sim.model.levers import Levers, Observation
from sim.vocabulary import N_LEVELS, TOP_LEVEL, Level, enabled_level

#: Every strategy by name; add one with the ``@register`` class decorator.
STRATEGIES = Registry("strategy", "name")


class Strategy:
    """A policy an organization runs every step. Subclasses are dataclasses.

    Attributes:
        name: the registered snake_case name.
        summary: one line for ``newpower list``.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""

    def decide(self, levers: Levers, seen: Observation) -> Levers:
        """Return this step's levers (the model clips them to their bounds)."""
        raise NotImplementedError


register = STRATEGIES.register


def toward(current: float, target: float, rate: float) -> float:
    """Move ``current`` toward ``target`` by at most ``rate`` (organizations change gradually)."""
    if current < target:
        return min(target, current + rate)
    return max(target, current - rate)


#: A strategy named by import path: ``package.module:Class`` (no relative imports).
IMPORT_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
OPT_IN = "--allow-code on the command line, allow_code=True in Python"


def resolve_strategy_class(
    name: str, source: str = "<scenario>", key: str = "strategy", *, allow_code: bool = False
) -> type[Strategy]:
    """The strategy class for a registered name or a ``"module:Class"`` import path.

    A module is imported only if the user opted in (``allow_code``) or has already imported
    it (it is in ``sys.modules``, for example from their own script): importing a module runs
    its code, and a scenario file is data.

    Raises:
        ScenarioError: for an unknown name, a malformed path, a module that may not be
            imported or fails to import, or a class that is not a Strategy dataclass.
    """
    if name in STRATEGIES:
        return STRATEGIES[name]
    if ":" not in name:
        raise ScenarioError(
            "unknown strategy",
            source=source,
            key=key,
            value=shown(name),
            allowed=", ".join(sorted(STRATEGIES)) + ", or an import path 'module:Class'",
        )
    if not IMPORT_PATH.fullmatch(name):
        raise ScenarioError(
            "not an import path",
            source=source,
            key=key,
            value=shown(name),
            allowed="'package.module:Class' (Python names, no relative imports)",
        )
    module_name, _, class_name = name.partition(":")
    module = _user_module(module_name, name, source, key, allow_code)
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Strategy) and dataclasses.is_dataclass(cls)):
        raise ScenarioError(
            f"{module_name} has no {class_name}" if cls is None else "not a Strategy dataclass",
            source=source,
            key=key,
            value=name,
            allowed="a @dataclass subclass of sim.model.strategies.Strategy",
        )
    return cls


def _user_module(module_name: str, name: str, source: str, key: str, allow_code: bool) -> ModuleType:
    """The module a strategy's import path names: already imported, or imported now if allowed."""
    if module_name in sys.modules:
        return sys.modules[module_name]
    if not allow_code:
        raise ScenarioError(
            f"names Python code ({module_name}), and importing code is off",
            source=source,
            key=key,
            value=name,
            allowed=f"a registered strategy, or opt in to importing it ({OPT_IN})",
        )
    try:
        return _import_near(module_name, source)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the module's own code may raise anything
        raise ScenarioError(
            f"cannot import strategy ({type(exc).__name__}: {shown(str(exc))})",
            source=source,
            key=key,
            value=name,
            allowed="an importable 'module:Class' on the Python path, the scenario's folder or the working folder",
        ) from None


def _import_near(module_name: str, source: str) -> ModuleType:
    """Import a user's module: from the Python path, else from the scenario's folder or the working folder."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise  # the module was found, and itself imports something missing
        extra = [str(Path(source).resolve().parent), str(Path.cwd())]
        sys.path[:0] = extra
        try:
            return importlib.import_module(module_name)
        finally:
            for entry in extra:
                sys.path.remove(entry)


def make_strategy(
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    source: str = "<scenario>",
    key: str = "strategy",
    allow_code: bool = False,
) -> Strategy:
    """Build a validated strategy instance from its name and parameters.

    Args:
        name: a registered name or ``"module:Class"``.
        params: the strategy's parameters.
        source: the scenario file, for error messages.
        key: the dotted key of the strategy's name (``organizations.0.strategy``).
        allow_code: whether a module it names may be imported (see :func:`resolve_strategy_class`).
    """
    cls = resolve_strategy_class(name, source, key, allow_code=allow_code)
    return build(cls, dict(params or {}), source, key.rsplit(".", 1)[0] + ".strategy_params.")


# ---------------------------------------------------------------- the playbook


@register
@dataclass
class StatusQuo(Strategy):
    """A Castle keeps its course: no lever moves."""

    name: ClassVar[str] = "status_quo"
    summary: ClassVar[str] = "keeps its course: no lever moves"

    def decide(self, levers: Levers, seen: Observation) -> Levers:
        """Return the levers unchanged."""
        return levers


@register
@dataclass
class WindowDressing(Strategy):
    """Adds a sharing channel ("a Facebook page", "a comments section") with no change of values.

    "Having a Facebook page is not the same thing as having a new power
    strategy" (Heimans & Timms 2014).
    """

    name: ClassVar[str] = "window_dressing"
    summary: ClassVar[str] = "adds a sharing channel (a comments section) without changing values"
    start: int = param(0, 0, doc="step at which the channel opens")
    openness: float = param(0.2, 0.0, 1.0, doc="openness of the model with the channel added")

    def decide(self, levers: Levers, seen: Observation) -> Levers:
        """From ``start``: enable SHARING and open the model just enough for it."""
        if seen.step < self.start:
            return levers
        return levers.replace(
            openness=max(levers.openness, self.openness), max_level=max(levers.max_level, Level.SHARING)
        )


@register
@dataclass
class Astroturf(Strategy):
    """Spends stock on ads that look like participation: people join without commitment.

    "To succeed, a movement needs much more than ad campaigns or 'astroturfing'."
    """

    name: ClassVar[str] = "astroturf"
    summary: ClassVar[str] = "spends stock on ads: members join without commitment; leaks expose it"
    start: int = param(0, 0, doc="step at which the ads start")
    ads: float = param(0.2, 0.0, 1.0, doc="paid reach per step")
    reserve: float = param(0.2, 0.0, 1e9, doc="stock below which the ads stop")

    def decide(self, levers: Levers, seen: Observation) -> Levers:
        """Buy ads while stock lasts above the reserve."""
        buying = seen.step >= self.start and seen.stock > self.reserve
        return levers.replace(ads=self.ads if buying else 0.0)


@register
@dataclass
class OccupyYourself(Strategy):
    """Introspection first: transparency and shared say, paid in stock, then open participation.

    "This level of introspection has to precede any investment in new power mechanisms."
    """

    name: ClassVar[str] = "occupy_yourself"
    summary: ClassVar[str] = "introspection first (transparency, values toward the community), then opens up"
    start: int = param(0, 0, doc="step at which introspection begins")
    introspection_steps: int = param(20, 0, doc="steps of introspection before opening")
    rate: float = param(0.05, 0.0, 1.0, doc="how far transparency, values and openness move per step")
    openness: float = param(0.7, 0.0, 1.0, doc="openness reached after introspection")
    mobilization: float = param(0.1, 0.0, 1.0, doc="mobilization once open")

    def decide(self, levers: Levers, seen: Observation) -> Levers:
        """Phase 1: transparency up, values toward the community. Phase 2: open the model."""
        if seen.step < self.start:
            return levers
        levers = levers.replace(
            transparency=toward(levers.transparency, 1.0, self.rate),
            values=toward(levers.values, seen.community_values, self.rate),
        )
        if seen.step < self.start + self.introspection_steps:
            return levers
        openness = toward(levers.openness, self.openness, self.rate)
        return levers.replace(
            openness=openness, max_level=_enabled(openness, levers.max_level), mobilization=self.mobilization
        )


@register
@dataclass
class MovementMindset(Strategy):
    """Enables higher participation and invests in true believers ("who will really show up for you?")."""

    name: ClassVar[str] = "movement_mindset"
    summary: ClassVar[str] = "enables higher levels and invests in mobilizing true believers"
    start: int = param(0, 0, doc="step at which the investment starts")
    mobilization: float = param(0.3, 0.0, 1.0, doc="investment in moving members up the scale")
    max_level: str = param("CO_OWNING", choices=tuple(lv.name for lv in Level), doc="levels enabled")

    def decide(self, levers: Levers, seen: Observation) -> Levers:
        """Enable the levels (opening the model as far as they need) and mobilize."""
        if seen.step < self.start:
            return levers
        level = Level.parse(self.max_level)
        return levers.replace(
            max_level=max(levers.max_level, level),
            openness=max(levers.openness, int(level) / N_LEVELS),
            mobilization=self.mobilization,
        )


@register
@dataclass
class GoBilingual(Strategy):
    """Keeps old-power capacities (stock, legitimacy) while building new-power ones, without old-power values.

    "They use institutional power without being institutionalized."
    """

    name: ClassVar[str] = "go_bilingual"
    summary: ClassVar[str] = "keeps its stock while building a community; values never move toward old power"
    start: int = param(0, 0, doc="step at which it starts")
    openness: float = param(0.7, 0.0, 1.0, doc="openness it builds toward")
    rate: float = param(0.02, 0.0, 1.0, doc="how far openness and values move per step")
    outreach: float = param(0.05, 0.0, 1.0, doc="outreach while stock is above the reserve")
    reserve: float = param(0.5, 0.0, 1.0, doc="share of its stock at start it keeps in reserve")
    structure: float = param(0.0, 0.0, 1.0, doc="share of its current turned into stock (see get_structural)")
    _initial_stock: float | None = dataclasses.field(default=None, repr=False, metadata={"internal": True})

    def decide(self, levers: Levers, seen: Observation) -> Levers:
        """Open gradually, align values upward only, fund outreach above a stock reserve."""
        if self._initial_stock is None:
            self._initial_stock = seen.stock
        if seen.step < self.start:
            return levers
        openness = toward(levers.openness, self.openness, self.rate)
        values = max(levers.values, toward(levers.values, seen.community_values, self.rate))
        funded = seen.stock > self.reserve * self._initial_stock
        return levers.replace(
            openness=openness,
            max_level=_enabled(openness, levers.max_level),
            values=values,
            outreach=self.outreach if funded else 0.0,
            structure=self.structure,
        )


@register
@dataclass
class RespectCommunity(Strategy):
    """Keeps values aligned with the community and shares value (co-ownership): "don't become the Man"."""

    name: ClassVar[str] = "respect_community"
    summary: ClassVar[str] = "tracks the community's values, takes a fair share, enables co-owning"
    rate: float = param(0.05, 0.0, 1.0, doc="how far values, take rate and transparency move per step")
    take_rate: float = param(0.05, 0.0, 1.0, doc="the fair share of value it keeps")
    transparency: float = param(0.9, 0.0, 1.0, doc="transparency it moves toward")

    def decide(self, levers: Levers, seen: Observation) -> Levers:
        """Values toward the community, take rate down, transparency up, co-owning enabled."""
        return levers.replace(
            values=toward(levers.values, seen.community_values, self.rate),
            take_rate=toward(levers.take_rate, self.take_rate, self.rate),
            transparency=toward(levers.transparency, self.transparency, self.rate),
            max_level=max(levers.max_level, Level.CO_OWNING),
            openness=max(levers.openness, TOP_LEVEL / N_LEVELS),
        )


@register
@dataclass
class BecomeTheMan(Strategy):
    """A platform whose values drift toward old power under investor pressure: it takes more, listens less.

    "Those who deploy new power models but default to old power values are
    especially at risk of alienating the communities that sustain them."
    """

    name: ClassVar[str] = "become_the_man"
    summary: ClassVar[str] = "values drift to old power under investor pressure; takes more, listens less"
    start: int = param(0, 0, doc="step at which investor pressure begins")
    drift: float = param(0.01, 0.0, 1.0, doc="per-step drift of values, take rate and transparency")
    floor_values: float = param(0.1, 0.0, 1.0, doc="values it drifts down to")
    ceiling_take: float = param(0.5, 0.0, 1.0, doc="take rate it drifts up to")

    def decide(self, levers: Levers, seen: Observation) -> Levers:
        """Drift values down, take rate up, transparency down."""
        if seen.step < self.start:
            return levers
        return levers.replace(
            values=toward(levers.values, self.floor_values, self.drift),
            take_rate=toward(levers.take_rate, self.ceiling_take, self.drift),
            transparency=toward(levers.transparency, 0.0, self.drift),
        )


@register
@dataclass
class GetStructural(Strategy):
    """Converts surges into lasting stock ("rules"), so that power outlives the surge."""

    name: ClassVar[str] = "get_structural"
    summary: ClassVar[str] = "converts its current into lasting stock, so power outlives a surge"
    structure: float = param(0.5, 0.0, 1.0, doc="share of its current turned into stock each step")

    def decide(self, levers: Levers, seen: Observation) -> Levers:
        """Convert a share of the current every step."""
        return levers.replace(structure=self.structure)


def _enabled(openness: float, current: Level) -> Level:
    """The levels an opened model enables (never fewer than before)."""
    return max(current, enabled_level(openness))
