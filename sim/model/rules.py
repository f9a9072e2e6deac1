"""The model's rules, each written once: its formula, its doc and its source.

**Participant rules** (:func:`climb`, :func:`renew`, :func:`slip`, :func:`aggrieve`,
:func:`leaves`) are plain scalar functions of one participant's state, what it perceives of its
neighbours (:class:`Perceived`), what it sees of its organization (:class:`MemberView`) and the
named parameters ``p`` (:class:`KernelParams`, built from ``[dynamics]`` by :func:`kernel_params`).
:func:`update` chains them in their order. They use only +, -, *, /, comparisons, min/max and
abs, so ``kernels.py`` compiles them as they are (Numba, no fast-math) and both drivers get the
same bits: the per-agent driver calls the compiled :func:`update` for one participant, the
vectorized driver inlines it in one loop over everyone. Called from Python they run as written.

The **other rules** apply to NumPy arrays and scalars alike: perception shares, what members see,
where leavers go, joining, and the **organization rules** (pull, felt take, funded reach, revenue,
spending, stock, legitimacy, exposure) that ``PowerModel.build_table`` and ``Organization.step``
apply. Each participant rule is called once, in :func:`update`, and each organization rule once,
in one of those two: a rule can be switched off at that one call.

Equations and sources are in ``docs/ODD.md`` ("Submodels"), which names every function here.
Rules never look at strategies: they read only state (levels, values, commitment, grievance) and
organizations' levers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from sim.config.scenario import MECHANISM_NAMES
from sim.vocabulary import N_LEVELS, TOP_LEVEL, enabled_level

if TYPE_CHECKING:
    from sim.config.scenario import DynamicsSpec, Scenario

#: The participant phase of a step, in order (docs/ODD.md 3.2). Both drivers follow it,
#: ``Participant.step`` for one participant and ``vectorized.step_participants`` for everyone;
#: they differ only in how they count neighbours ("perceive") and what they cache ("view").
#: "update" is :func:`update` compiled, "leave" and "join" are ``PowerModel.leave`` and
#: ``PowerModel.join``, the same code for both.
PARTICIPANT_PHASES: tuple[tuple[str, str], ...] = (
    ("perceive", "shares of neighbours above one's level, who just left one's organization, active in it"),
    ("view", "what one sees of one's organization: cap, alignment, pull, visible gap, felt take"),
    ("update", "climb, renew commitment, slip, aggrieve; decide whether to leave"),
    ("leave", "leavers go to the best-aligned rival if it is clearly better, else to no organization"),
    ("join", "the unaffiliated may be reached by an organization or brought in by a contact"),
)

#: Rows of the per-step join uniforms shared by both drivers (``model.join_draws[row, slot]``).
DRAW_PARTNER, DRAW_REACH, DRAW_ACCEPT = range(3)
N_JOIN_DRAWS = 3

#: Per level: level / TOP_LEVEL, the share of the scale climbed.
_CLIMBED = np.arange(N_LEVELS, dtype=np.float64) / TOP_LEVEL


# ---------------------------------------------------------------------- the mechanisms


class Mechanism(NamedTuple):
    """A named mechanism of the model, and how to switch it off (a knock-out).

    A knock-out sets the parameters in ``off`` (dotted scenario keys) to the values that make the
    mechanism's effect nothing: a weight to 0, or a margin no rival can clear. Both drivers read
    only these parameters (through :class:`KernelParams` and the organization rules), so a
    knock-out needs no branch anywhere in the rules.
    """

    odd: str  # its section of docs/ODD.md
    doc: str
    off: Mapping[str, float]


#: Every mechanism of docs/ODD.md's Submodels that a scenario can knock out
#: (``[dynamics] knockout = [...]``, ``--knockout NAME``).
MECHANISMS: dict[str, Mechanism] = {
    "peer_influence": Mechanism(
        "7.3", "neighbours above one's level push one up the scale", {"dynamics.peer_influence": 0.0}
    ),
    "pull": Mechanism(
        "7.2",
        "an open model and funded mobilization pull members up the scale and renew them",
        {"dynamics.model_pull": 0.0, "dynamics.mobilization_pull": 0.0},
    ),
    "fickle_fade": Mechanism("7.4", "commitment fades each step (fickleness)", {"dynamics.fickleness": 0.0}),
    "slipping": Mechanism(
        "7.5", "a rung that commitment no longer holds is lost", {"dynamics.commitment_per_level": 0.0}
    ),
    "value_gap_grievance": Mechanism(
        "7.6", "the visible values gap feeds grievance", {"dynamics.value_gap_grievance": 0.0}
    ),
    "take_grievance": Mechanism(
        "7.6", "the value an organization takes feeds grievance", {"dynamics.take_grievance": 0.0}
    ),
    "exit_contagion": Mechanism(
        "7.7", "neighbours' exits feed one's own exit drive", {"dynamics.exit_contagion": 0.0}
    ),
    "desertion_to_rival": Mechanism(
        "7.8",
        "a leaver goes to a clearly better-aligned rival (else to none)",
        {"dynamics.switch_margin": 2.0},  # alignments differ by at most 1: no rival clears 2
    ),
    "outreach": Mechanism(
        "7.9", "funded outreach finds the unaffiliated and recruits them", {"dynamics.outreach_reach": 0.0}
    ),
    "ads": Mechanism(
        "7.9", "funded ads find the unaffiliated (without commitment)", {"dynamics.ads_reach": 0.0}
    ),
    "structure": Mechanism(
        "7.12",
        "current converted into stock, felt by members as a take",
        {"dynamics.structure_yield": 0.0, "dynamics.structure_take": 0.0},
    ),
    "participation_inequality": Mechanism(
        "7.5",
        "the effort holding a rung costs varies between people, with a heavy tail",
        {"population.participation_inequality": 0.0},
    ),
    "novelty": Mechanism(
        "7.4",
        "a first climb to a new rung raises commitment (the foot in the door)",
        {"dynamics.novelty": 0.0},
    ),
}
assert tuple(MECHANISMS) == MECHANISM_NAMES, "sim.config.scenario.MECHANISM_NAMES must name MECHANISMS"


def knock_out(scenario: Scenario) -> Scenario:
    """The scenario as the model runs it: each mechanism in ``[dynamics] knockout`` switched off.

    The knocked-out values bypass the range checks on purpose (a margin of 2 is out of the
    range a user may set); the scenario the user wrote, with its ``knockout`` list, is what
    manifests record.
    """
    tables: dict[str, dict[str, float]] = {}
    for name in scenario.dynamics.knockout:
        for key, value in MECHANISMS[name].off.items():
            table, field = key.split(".")
            tables.setdefault(table, {})[field] = value
    return dataclasses.replace(
        scenario,
        **{
            table: dataclasses.replace(getattr(scenario, table), **fields) for table, fields in tables.items()
        },
    )


# ------------------------------------------------------------------ what the rules read


class KernelParams(NamedTuple):
    """The ``[dynamics]`` parameters the compiled participant rules read, by name.

    :func:`kernel_params` fills each field from the spec's field of the same name, so the order
    of the fields matters nowhere. (A NamedTuple of floats is what Numba passes to compiled code.)
    """

    peer_influence: float
    rung_difficulty: float
    climb_prob: float
    novelty: float
    renewal_rate: float
    commitment_per_level: float
    grievance_rate: float
    grievance_decay: float
    value_gap_grievance: float
    take_grievance: float
    exit_contagion: float
    loyalty: float


def kernel_params(dynamics: DynamicsSpec) -> KernelParams:
    """The compiled rules' parameters, each taken from the ``[dynamics]`` field of the same name."""
    return KernelParams(**{name: float(getattr(dynamics, name)) for name in KernelParams._fields})


class Perceived(NamedTuple):
    """What a participant perceives of its neighbours in the previous state, as shares of its degree.

    Scalars for one participant (per-agent driver) or arrays for everyone (vectorized driver).
    """

    above: Any  # neighbours above one's level
    exited: Any  # neighbours who just left one's own organization
    peers: Any  # neighbours active (SHARING or above) in one's own group


class MemberView(NamedTuple):
    """What a participant sees of its own organization (row 0 of the table if it has none).

    Scalars for one participant or arrays for everyone.
    """

    cap: Any  # the highest level its model enables
    align: Any  # value alignment; 1 for the unaffiliated
    pull: Any  # pull up the scale, from its open model and its mobilization
    gap_seen: Any  # the values gap it can see
    take: Any  # the share of value it feels taken


class Updated(NamedTuple):
    """A participant after :func:`update`: new level, highest rung, commitment, grievance, and whether it leaves."""

    level: Any
    highest: Any
    commitment: Any
    grievance: Any
    leave: Any


@dataclass
class OrgTable:
    """Organizations' levers as arrays indexed by group (0 = no organization).

    Rebuilt by the model before each participant phase, so both drivers read
    the same previous-step values. Row 0 stands for "no organization": the
    crowd's level cap, and zero for member, visibility, pull, take and reach.
    """

    member: np.ndarray
    openness: np.ndarray
    values: np.ndarray
    max_level: np.ndarray
    take: np.ndarray  # felt take (:func:`felt_take`)
    visibility: np.ndarray
    pull: np.ndarray  # :func:`organization_pull`
    reach: np.ndarray  # :func:`funded_reach`
    reach_commitment: np.ndarray

    @property
    def n_groups(self) -> int:
        """Number of groups including "none"."""
        return self.openness.size


# ------------------------------------------------------------------------- perception


def share(count, safe_degree):
    """Fraction of neighbours ``count / degree``.

    ``safe_degree`` is the degree with isolated participants counted as 1: their
    count is always 0, so their share is 0 without a branch.
    """
    return count / safe_degree


def alignment(values, org_values):
    """Value alignment 1 - |v - w| in [0, 1] (Heimans & Timms: "New Power Values")."""
    return 1.0 - np.abs(values - org_values)


def visibility(transparency, exposure):
    """Share of an organization's values gap its members can see.

    Transparency shows the gap directly; a leak's exposure shows what
    transparency hid ("every organization is only a leak or a tweet away").
    """
    return transparency + (1.0 - transparency) * exposure


def member_view(group, values, table: OrgTable) -> MemberView:
    """What a participant sees of its own organization (one participant, or arrays of them).

    Members see their organization's cap, pull and felt take, their :func:`alignment` with it
    and the share of the values gap its :func:`visibility` lets them see. Unaffiliated
    participants (row 0) get the crowd's cap, alignment 1 and nothing else.
    """
    org_values = table.values[group]
    member = table.member[group]  # 1 for a member, 0 in row 0
    return MemberView(
        cap=table.max_level[group],
        align=member * alignment(values, org_values) + (1.0 - member),
        pull=table.pull[group],
        gap_seen=np.abs(values - org_values) * table.visibility[group],  # row 0 has zero visibility
        take=table.take[group],
    )


# -------------------------------------------------- participant rules (compiled, one participant)


def climb(level, cap, threshold, above_share, pull, align, u, p: KernelParams):
    """Climb one rung when peer pressure and pull reach the personal threshold.

    A threshold rule after Granovetter (1978) and Watts (2002): with
    ``pull = 0``, ``align = 1`` and ``rung_difficulty`` irrelevant at level 0,
    a consumer starts sharing when the share of neighbours above it reaches
    its threshold. Higher rungs need more pressure; the organization's model
    caps the climb ("which participation behaviours you are enabling").
    ``u`` is this step's climbing uniform, compared with ``climb_prob``.
    Some drive is needed, except for an instigator (threshold 0, Granovetter's
    "radical"), who needs nobody and acts on its own.
    """
    drive = align * (p.peer_influence * above_share + pull)
    need = threshold * (1.0 + p.rung_difficulty * level)
    if level < cap and (drive > 0.0 or threshold == 0.0) and drive >= need and u < p.climb_prob:
        return level + 1
    return level


def excite(commitment, level, highest, p: KernelParams):
    """A first climb to a rung never reached in one's organization raises commitment.

    Acting commits (the foot in the door: Freedman & Fraser 1966); a surge's newcomers arrive
    keen ("the immediate, visceral, and emotional", H&T) and their keenness then fades like any
    commitment. Climbing back to a rung held before does not excite again, so a surge's
    newcomers, once faded, stay down unless their propensity holds them up (:func:`slip`).
    """
    if level > highest:
        return commitment + p.novelty * (1.0 - commitment)
    return commitment


def renew(commitment, level, peer_share, pull, align, fade, p: KernelParams):
    """Commitment is renewed by one's own participation, active peers and pull; it fades otherwise.

    Even consumption renews a little (level 0 counts 1/N_LEVELS): "a magazine asks
    readers to renew their subscriptions". Unlike the other participant rules it clips with
    NumPy's minimum and maximum, so it also applies to arrays: a campaign renews everyone who
    showed up at once (``shocks.Campaign``).
    """
    support = np.minimum(0.5 * ((level + 1.0) / N_LEVELS + peer_share) + pull * align, 1.0)
    grown = commitment + p.renewal_rate * support * (1.0 - commitment) - fade * commitment
    return np.minimum(np.maximum(grown, 0.0), 1.0)


def slip(level, cap, commitment, propensity, p: KernelParams):
    """Slip one rung when commitment no longer holds the current level; never above the cap.

    Holding rung l needs commitment ``commitment_per_level * l / TOP_LEVEL / propensity``: the
    same commitment holds a high rung for the few to whom participating comes easily and not
    even SHARING for most (participation inequality: Nielsen 2006; van Mierlo 2014).
    """
    if level > 0 and commitment * propensity < p.commitment_per_level * (level / TOP_LEVEL):
        level = level - 1
    return min(level, cap)


def aggrieve(grievance, gap_seen, take, level, p: KernelParams):
    """Grievance grows with the visible values gap and with value taken, weighted by contribution.

    A member yields one unit of value for being there and one more per rung (:func:`revenue`),
    so the take it feels is ``take * (level + 1) / N_LEVELS``: even a consumer feels a little of
    what is taken from it. For the unaffiliated both are zero (row 0 of the organization
    table), so it only fades.
    """
    load = p.value_gap_grievance * gap_seen + p.take_grievance * take * ((level + 1.0) / N_LEVELS)
    grown = grievance + p.grievance_rate * load - p.grievance_decay * grievance
    return min(max(grown, 0.0), 1.0)


def leaves(affiliated, grievance, exit_share, commitment, threshold, p: KernelParams):
    """Exit when grievance plus peers' exits, less commitment, reach the threshold (a desertion cascade)."""
    drive = grievance + p.exit_contagion * exit_share - p.loyalty * commitment
    return affiliated and drive > 0.0 and drive >= threshold


def update(
    level,
    highest,
    commitment,
    grievance,
    threshold,
    propensity,
    fade,
    affiliated,
    seen,
    view,
    u,
    p: KernelParams,
):
    """The participant rules in their order, for one participant (the "update" phase).

    Each reads what the one before wrote: :func:`excite` the level after climbing, :func:`renew`
    the excited commitment, :func:`slip` the renewed commitment, :func:`aggrieve` the level
    after slipping, :func:`leaves` the new grievance and commitment. ``seen`` is a
    :class:`Perceived`, ``view`` a :class:`MemberView` (both of the previous state), ``fade``
    the participant's :func:`fade_rate`, ``u`` its climbing uniform.
    """
    level = climb(level, view.cap, threshold, seen.above, view.pull, view.align, u, p)
    commitment = excite(commitment, level, highest, p)
    highest = max(highest, level)
    commitment = renew(commitment, level, seen.peers, view.pull, view.align, fade, p)
    level = slip(level, view.cap, commitment, propensity, p)
    grievance = aggrieve(grievance, view.gap_seen, view.take, level, p)
    leave = leaves(affiliated, grievance, seen.exited, commitment, threshold, p)
    return Updated(level, highest, commitment, grievance, leave)


def chosen(level, highest, commitment, grievance, fade, seen, view, p: KernelParams):
    """The "update" phase of a human-chosen participant: its chosen ``level`` replaces
    :func:`climb` and :func:`slip`; the rest follows from it as in :func:`update`.

    A student who climbs is excited by a new rung (:func:`excite`), renews or loses commitment
    (:func:`renew`) and grows grievance with what they now give (:func:`aggrieve`), exactly as a
    simulated participant at that level would. Whether it leaves is the student's choice too, so
    :func:`leaves` is not applied (``leave`` is False; the model moves it, ``PowerModel.follow_choices``).
    """
    commitment = excite(commitment, level, highest, p)
    highest = max(highest, level)
    commitment = renew(commitment, level, seen.peers, view.pull, view.align, fade, p)
    grievance = aggrieve(grievance, view.gap_seen, view.take, level, p)
    return Updated(level, highest, commitment, grievance, False)


def fade_rate(values, p: DynamicsSpec):
    """Per-step commitment fade: new-power minds are "quick to join ... reluctant to swear allegiance"."""
    return p.fickleness * (p.fade_floor + (1.0 - p.fade_floor) * values)


# --------------------------------------------------------------------- leaving and joining


def best_rival(values, group, table: OrgTable):
    """The best-aligned organization other than one's own, and that alignment.

    Args:
        values: values of the leavers, shape (k,).
        group: their current groups, shape (k,).

    Returns:
        ``(rival_group, rival_alignment)``; group 0 and alignment -inf when there is no rival.
    """
    values = np.atleast_1d(values)
    group = np.atleast_1d(group)
    if table.n_groups <= 2:
        return np.zeros(values.size, dtype=np.int64), np.full(values.size, -np.inf)
    align = alignment(values[:, None], table.values[None, 1:])
    align[np.arange(values.size), group - 1] = -np.inf
    best = np.argmax(align, axis=1)
    return best + 1, align[np.arange(values.size), best]


def destination(align_now, rival, align_rival, p: DynamicsSpec):
    """Desert to the rival only if it is better aligned by ``switch_margin``; else to no organization."""
    return np.where(align_rival - align_now >= p.switch_margin, rival, 0)


def join_prob(openness, align, grievance, p: DynamicsSpec):
    """Chance that one contact leads to joining: open models are easy to join ("joining is easier than ever")."""
    rate = p.join_rate_closed + (p.join_rate_open - p.join_rate_closed) * openness
    return rate * align * (1.0 - grievance)


def reached_by(u, reach):
    """Which organization's reach finds a participant: the group whose slice of [0, 1) holds ``u``; 0 if none."""
    cumulative = np.cumsum(reach[1:])
    if cumulative.size and cumulative[-1] > 1.0:
        cumulative = cumulative / cumulative[-1]
    found = np.searchsorted(cumulative, u, side="right")
    return np.where(found < cumulative.size, found + 1, 0)


def partner_group(partner_group_):
    """The group a contact can bring one into: their own (0 if they belong to none).

    How likely that is depends on the organization's openness (:func:`join_prob`),
    so closed models recruit slowly by word of mouth and open ones fast.
    """
    return partner_group_


# ------------------------------------------------ organization rules (one, or arrays of them)


def organization_pull(openness, mobilization, funded, p: DynamicsSpec):
    """Pull up the scale: an open model, and money spent on mobilization ("develop a mobilization capacity")."""
    return p.model_pull * openness + p.mobilization_pull * mobilization * funded


def felt_take(take_rate, structure, p: DynamicsSpec):
    """The take members feel: the take rate plus the capture of converting their current into stock."""
    return np.minimum(1.0, take_rate + p.structure_take * structure)


def funded_reach(outreach, ads, funded, p: DynamicsSpec):
    """The share of the unaffiliated an organization's outreach and ads find, as far as its stock paid."""
    return (p.outreach_reach * outreach + p.ads_reach * ads) * funded


def reach_commitment(outreach, ads, p: DynamicsSpec):
    """Commitment of someone recruited by reach: paid ads recruit "without commitment".

    The share of an organization's reach that is ads brings no commitment;
    genuine outreach brings a new member's usual commitment.
    """
    join_commitment = p.join_commitment
    outreach, ads = p.outreach_reach * outreach, p.ads_reach * ads
    reach = outreach + ads
    return np.where(
        reach > 0.0, join_commitment * outreach / np.where(reach > 0.0, reach, 1.0), join_commitment
    )


def current(weighted_participation, n_participants):
    """New power as a current: the community's participation flow, sum(level/TOP_LEVEL * commitment) / N."""
    return weighted_participation / n_participants


def revenue(take_rate, structure, n_members, level_sum, current, n_participants, p: DynamicsSpec):
    """Old power earned: a share of the value its community creates, plus the current made structure.

    Each member yields one unit for being there and one more per rung ("a manufacturer asks
    customers to buy its shoes"); structure converts a share of the current into stock.
    """
    value_created = (n_members + level_sum) / n_participants
    return p.revenue_rate * take_rate * value_created + p.structure_yield * structure * current


def spending(outreach, ads, mobilization, p: DynamicsSpec):
    """What the levers that cost stock every step cost: outreach, ads and mobilization."""
    return p.outreach_cost * outreach + p.ads_cost * ads + p.mobilization_cost * mobilization


def update_stock(stock, revenue, spending, decay):
    """Old power as a currency: earned from value taken, spent on levers, worn by upkeep; never negative.

    Returns:
        ``(new_stock, funded)``: the stock, and the share of the spending it could pay for.
    """
    available = stock * (1.0 - decay) + revenue
    funded = 1.0 if spending <= available else available / spending
    return max(0.0, available - spending), funded


def update_legitimacy(legitimacy, contentment, rate):
    """Legitimacy drifts toward the community's contentment (1 - mean grievance)."""
    return legitimacy + rate * (contentment - legitimacy)


def fade_exposure(exposure, p: DynamicsSpec):
    """A leak's exposure fades by ``exposure_decay`` each step."""
    return exposure * (1.0 - p.exposure_decay)


def track_ads(ads_history, ads, funded, p: DynamicsSpec):
    """A moving average of paid reach, in [0, 1]: what a leak can reveal as astroturfing."""
    return ads_history + p.exposure_decay * (ads * funded - ads_history)


def reform_cost(before, after, p: DynamicsSpec):
    """Stock spent on changing one's model or values: organizational change is not free."""
    return p.reform_cost * (
        abs(after.values - before.values)
        + abs(after.openness - before.openness)
        + abs(after.transparency - before.transparency)
    )


def partial_reform(before, after, share):
    """Levers moved only ``share`` of the way on the costly axes (openness, values, transparency).

    The levels enabled follow: no more than before, or than the openness reached enables.
    """
    moved = after.replace(
        **{
            axis: getattr(before, axis) + share * (getattr(after, axis) - getattr(before, axis))
            for axis in ("openness", "values", "transparency")
        }
    )
    reachable = max(before.max_level, enabled_level(moved.openness))
    return moved.replace(max_level=min(after.max_level, reachable))


# ------------------------------------------------------------------------------ campaigns


def turnout_prob(level, commitment, align):
    """Chance a member shows up when called: true believers do, consumers and astroturfed joiners don't.

    "A key new power question for all organizations is 'Who will really show up for you?'"
    """
    return _CLIMBED[level] * commitment * align


def campaign_force(stock_spent, turnout_share, p: DynamicsSpec):
    """Power as "the ability to produce intended effects" (Russell): lobbyists plus an army of citizens."""
    return p.lobby_weight * stock_spent + p.turnout_weight * turnout_share
