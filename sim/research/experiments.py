"""The playbook's experiments: each strategy's claims from the article, as hypotheses.

An experiment runs one scenario from ``scenarios/`` in several *arms* that differ only in
the strategy of one organization, and states claims about them: ``measure(a) - measure(b)``
should have a given sign. ``sim.research.playbook`` runs the arms on shared seeds and judges each
claim by its 95% interval. To test a new strategy, add an :class:`Experiment` here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Measure:
    """A number taken from one run: a summary key, a campaign field, or a time-series column."""

    label: str
    pick: Callable[[dict[str, Any]], float]


@dataclass(frozen=True)
class Claim:
    """A hypothesis: ``measure(a) - measure(b)`` has the sign ``direction`` (+1: a larger; -1: a smaller).

    Attributes:
        mechanisms: the named mechanisms (``sim.model.rules.MECHANISMS``) the claim rests on;
            the playbook re-runs it with each knocked out: **attributed** when the effect
            disappears, **misattributed** when it survives.
        by_construction: when the claim follows from a formula alone (a cap, a zero, a
            proportionality), that formula; such a claim is reported but not counted as a finding.
    """

    text: str
    measure: Measure
    a: str
    b: str
    direction: int
    mechanisms: tuple[str, ...] = ()
    by_construction: str = ""


@dataclass(frozen=True)
class Experiment:
    """One strategy's claims, tested by comparing arms of one scenario.

    Attributes:
        strategy: the strategy under test (its section in docs/strategies.md).
        scenario: scenario file name in ``scenarios/``.
        organization: the focal organization whose strategy differs between arms.
        arms: label -> strategy name (with optional params) for the focal organization.
        quote: the article passage.
        claims: the article's claim first, then what else the model should show
            (including trade-offs the article does not mention).
        series: time-series column plotted per arm (mean and 95% band).
        extra: further measures reported in the table.
    """

    strategy: str
    scenario: str
    organization: str
    arms: dict[str, dict[str, Any]]
    quote: str
    claims: tuple[Claim, ...]
    series: str
    series_label: str
    extra: tuple[Measure, ...] = field(default_factory=tuple)

    @property
    def measures(self) -> tuple[Measure, ...]:
        """Every measure reported, claims' first, without repeats."""
        seen: dict[str, Measure] = {}
        for m in (*(c.measure for c in self.claims), *self.extra):
            seen.setdefault(m.label, m)
        return tuple(seen.values())


def _summary(key: str) -> Callable[[dict[str, Any]], float]:
    return lambda run: float(run["summary"][key])


def _campaign(field_name: str) -> Callable[[dict[str, Any]], float]:
    return lambda run: float(run["campaigns"][0][field_name]) if run["campaigns"] else float("nan")


def _won(org: str) -> Callable[[dict[str, Any]], float]:
    return lambda run: float(run["campaigns"][0]["winner"] == org) if run["campaigns"] else float("nan")


def _last(column: str) -> Callable[[dict[str, Any]], float]:
    return lambda run: float(run["series"][column][-1])


def _at(column: str, step: int) -> Callable[[dict[str, Any]], float]:
    return lambda run: float(run["series"][column][step])


def _arm(strategy: str, **params: Any) -> dict[str, Any]:
    return {"strategy": strategy, "params": params}


GAZETTE_LEVEL = Measure("Gazette mean level at the end (0-5)", _last("Gazette.mean_level"))
GAZETTE_MEMBERS = Measure("Gazette members at the end", _summary("Gazette.final_members"))
GAZETTE_CURRENT = Measure("Gazette current at the end", _summary("Gazette.final_current"))
GAZETTE_ACTIVE = Measure("Gazette active members at the end", _last("Gazette.active"))
BRAND_TURNOUT = Measure("Brand turnout in the campaign (people)", _campaign("a_turnout"))
BRAND_PEAK = Measure("Brand peak community", _summary("Brand.peak_members"))
BRAND_LEGITIMACY = Measure("Brand legitimacy just after the leak (step 60)", _at("Brand.legitimacy", 60))
BANK_LOST = Measure("Bank share of peak community lost", _summary("Bank.desertion_share"))
BANK_STOCK = Measure("Bank stock at the end", _summary("Bank.final_stock"))
WIKI_TURNOUT = Measure("Wikipedia turnout in the campaign (people)", _campaign("b_turnout"))
WIKI_WON = Measure("Wikipedia won the campaign (share of runs)", _won("Wikipedia"))
POST_FORCE = Measure("Post campaign force", _campaign("a_force"))
POST_MEMBERS = Measure("Post members at the end", _summary("Post.final_members"))
POST_STOCK = Measure("Post stock at the end", _summary("Post.final_stock"))
FB_LOST = Measure("Facebook share of peak community lost", _summary("Facebook.desertion_share"))
FB_STOCK = Measure("Facebook stock at the end", _summary("Facebook.final_stock"))
RIVAL = Measure("Rival (Diaspora) members at the end", _summary("Diaspora.final_members"))
KS_STOCK = Measure("Kickstarter stock at the end", _summary("Kickstarter.final_stock"))
KS_LOST = Measure("Kickstarter share of peak community lost", _summary("Kickstarter.desertion_share"))

EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(
        strategy="status_quo",
        scenario="castle_vs_crowd.toml",
        organization="Gazette",
        arms={"status_quo": _arm("status_quo"), "movement_mindset": _arm("movement_mindset")},
        quote="Old power models tend to require little more than consumption.",
        claims=(
            Claim(
                "A Castle that keeps its course keeps a shallow affiliation: few members climb the scale",
                GAZETTE_LEVEL,
                "status_quo",
                "movement_mindset",
                -1,
                mechanisms=("pull",),
                by_construction="a Castle's closed model enables only CONSUMING (a cap), so its members' mean level is 0",
            ),
            Claim(
                "... but a long one: it keeps more members than one that mobilizes",
                GAZETTE_MEMBERS,
                "status_quo",
                "movement_mindset",
                +1,
                mechanisms=("value_gap_grievance", "exit_contagion"),
            ),
        ),
        series="Gazette.mean_level",
        series_label="Gazette members' mean level",
        extra=(Measure("Gazette stock at the end", _summary("Gazette.final_stock")),),
    ),
    Experiment(
        strategy="window_dressing",
        scenario="newspaper_comments.toml",
        organization="Gazette",
        arms={
            "window_dressing": _arm("window_dressing", start=20),
            "status_quo": _arm("status_quo"),
            "movement_mindset": _arm("movement_mindset", start=20),
        },
        quote="it isn't enough to add some window dressing",
        claims=(
            Claim(
                "A comments section without a change of values does not buy a lasting current "
                "(depth times commitment) like a real movement mindset",
                GAZETTE_CURRENT,
                "window_dressing",
                "movement_mindset",
                -1,
                mechanisms=("pull",),
            ),
            Claim(
                "A comments section buys no more active participants than doing nothing",
                GAZETTE_ACTIVE,
                "window_dressing",
                "status_quo",
                -1,
                mechanisms=("peer_influence",),
            ),
        ),
        series="Gazette.current",
        series_label="Gazette current (new power)",
        extra=(GAZETTE_LEVEL, GAZETTE_MEMBERS),
    ),
    Experiment(
        strategy="astroturf",
        scenario="astroturf_exposed.toml",
        organization="Brand",
        arms={
            "astroturf": _arm("astroturf", ads=0.3),
            "movement_mindset": _arm("movement_mindset"),
            "status_quo": _arm("status_quo"),
        },
        quote="a movement needs much more than ad campaigns or 'astroturfing'",
        claims=(
            Claim(
                "Ads recruit members who do not show up when called",
                BRAND_TURNOUT,
                "astroturf",
                "movement_mindset",
                -1,
                mechanisms=("ads",),
                by_construction="recruits by ads join with zero commitment, and turnout needs commitment (a zero)",
            ),
            Claim(
                "Ads do grow the community (they look like participation)",
                BRAND_PEAK,
                "astroturf",
                "status_quo",
                +1,
                mechanisms=("ads",),
            ),
            Claim(
                "A leak of astroturfing costs legitimacy",
                BRAND_LEGITIMACY,
                "astroturf",
                "status_quo",
                -1,
                mechanisms=("ads",),
            ),
        ),
        series="Brand.members",
        series_label="Brand members",
        extra=(Measure("Brand won the campaign (share of runs)", _won("Brand")),),
    ),
    Experiment(
        strategy="occupy_yourself",
        scenario="occupy_yourself.toml",
        organization="Bank",
        arms={
            "occupy_yourself": _arm("occupy_yourself", introspection_steps=20),
            "movement_mindset": _arm("movement_mindset"),
            "status_quo": _arm("status_quo"),
        },
        quote="This level of introspection has to precede any investment in new power mechanisms.",
        claims=(
            Claim(
                "Introspection before engagement leaves fewer deserters after a leak than "
                "engagement without it",
                BANK_LOST,
                "occupy_yourself",
                "movement_mindset",
                -1,
                mechanisms=("value_gap_grievance",),
            ),
            Claim(
                "... and fewer than keeping a closed Castle",
                BANK_LOST,
                "occupy_yourself",
                "status_quo",
                -1,
                mechanisms=("value_gap_grievance",),
            ),
            Claim(
                "Introspection is paid for in stock",
                BANK_STOCK,
                "occupy_yourself",
                "status_quo",
                -1,
                mechanisms=(),
                by_construction="reform costs stock per unit change of a lever (rules.reform_cost)",
            ),
        ),
        series="Bank.members",
        series_label="Bank members",
        extra=(Measure("Bank legitimacy at the end", _summary("Bank.final_legitimacy")),),
    ),
    Experiment(
        strategy="movement_mindset",
        scenario="sopa_blackout.toml",
        organization="Wikipedia",
        arms={
            "movement_mindset": _arm("movement_mindset", mobilization=0.2),
            "status_quo": _arm("status_quo"),
        },
        quote="A key new power question for all organizations is 'Who will really show up for you?'",
        claims=(
            Claim(
                "Investing in true believers builds turnout when the organization calls for action",
                WIKI_TURNOUT,
                "movement_mindset",
                "status_quo",
                +1,
                mechanisms=("pull",),
            ),
            Claim(
                "... and wins the campaign against the lobbyists more often",
                WIKI_WON,
                "movement_mindset",
                "status_quo",
                +1,
                mechanisms=("pull",),
            ),
        ),
        series="Wikipedia.mean_level",
        series_label="Wikipedia members' mean level",
        extra=(Measure("Wikipedia members at the end", _summary("Wikipedia.final_members")),),
    ),
    Experiment(
        strategy="go_bilingual",
        scenario="go_bilingual.toml",
        organization="Post",
        arms={
            "go_bilingual": _arm("go_bilingual"),
            "status_quo": _arm("status_quo"),
            "get_structural": _arm("get_structural"),
            "become_the_man": _arm("become_the_man"),
        },
        quote="the right strategy for the moment is often to go 'bilingual'",
        claims=(
            Claim(
                "Bilingual beats pure new power in a contest",
                POST_FORCE,
                "go_bilingual",
                "status_quo",
                +1,
                mechanisms=("outreach",),
            ),
            Claim(
                "Bilingual beats converting the current into stock (get structural)",
                POST_FORCE,
                "go_bilingual",
                "get_structural",
                +1,
                mechanisms=("structure",),
            ),
            Claim(
                "Bilingual beats taking on old-power values",
                POST_FORCE,
                "go_bilingual",
                "become_the_man",
                +1,
                mechanisms=("value_gap_grievance",),
            ),
            Claim(
                "Bilingual keeps a larger community than getting structural",
                POST_MEMBERS,
                "go_bilingual",
                "get_structural",
                +1,
                mechanisms=("structure",),
            ),
        ),
        series="Post.stock",
        series_label="Post stock (old power)",
        extra=(Measure("Post won the campaign (share of runs)", _won("Post")), POST_STOCK),
    ),
    Experiment(
        strategy="respect_community",
        scenario="facebook_rival.toml",
        organization="Facebook",
        arms={
            "respect_community": _arm("respect_community"),
            "status_quo": _arm("status_quo"),
            "become_the_man": _arm("become_the_man", start=10, drift=0.005),
        },
        quote="new power organizations should fear being deserted",
        claims=(
            Claim(
                "Keeping values aligned and sharing value keeps the community from deserting to a rival",
                FB_LOST,
                "respect_community",
                "status_quo",
                -1,
                mechanisms=("take_grievance", "value_gap_grievance", "desertion_to_rival"),
            ),
            Claim(
                "Respect is paid for in stock (it takes less)",
                FB_STOCK,
                "respect_community",
                "status_quo",
                -1,
                mechanisms=(),
                by_construction="revenue is proportional to the take rate (rules.revenue)",
            ),
        ),
        series="Facebook.members",
        series_label="Facebook members",
        extra=(
            RIVAL,
            Measure("Largest desertion cascade (participants)", _summary("largest_desertion_cascade")),
        ),
    ),
    Experiment(
        strategy="become_the_man",
        scenario="facebook_rival.toml",
        organization="Facebook",
        arms={
            "become_the_man": _arm("become_the_man", start=10, drift=0.005),
            "status_quo": _arm("status_quo"),
        },
        quote="Those who deploy new power models but default to old power values are especially at risk",
        claims=(
            Claim(
                "A platform whose values drift toward old power is deserted, to a rival promising new values",
                FB_LOST,
                "become_the_man",
                "status_quo",
                +1,
                mechanisms=("value_gap_grievance", "take_grievance", "desertion_to_rival"),
            ),
            Claim(
                "Becoming the Man does not pay: it ends with less stock",
                FB_STOCK,
                "become_the_man",
                "status_quo",
                -1,
                mechanisms=("take_grievance", "value_gap_grievance"),
            ),
        ),
        series="Facebook.members",
        series_label="Facebook members",
        extra=(RIVAL,),
    ),
    Experiment(
        strategy="get_structural",
        scenario="kickstarter_surge.toml",
        organization="Kickstarter",
        arms={"get_structural": _arm("get_structural"), "status_quo": _arm("status_quo")},
        quote="New power models will always have limited influence and impact unless they are "
        "operating within a superstructure designed to play to their strengths.",
        claims=(
            Claim(
                "Converting a surge into lasting stock makes power outlive the surge",
                KS_STOCK,
                "get_structural",
                "status_quo",
                +1,
                mechanisms=("structure",),
                by_construction="structure converts current into stock at a fixed yield (rules.update_stock)",
            ),
            Claim(
                "Conversion does not cost the community (no more desertion)",
                KS_LOST,
                "get_structural",
                "status_quo",
                -1,
                mechanisms=("structure",),
            ),
        ),
        series="Kickstarter.stock",
        series_label="Kickstarter stock (old power)",
        extra=(
            Measure("Kickstarter current at the end", _summary("Kickstarter.final_current")),
            Measure("Surge half-life (steps)", _summary("half_life")),
        ),
    ),
)
