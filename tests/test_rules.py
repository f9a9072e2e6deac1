"""Unit tests of the rules (``sim/model/rules.py``), as written and as compiled, the compass and the levels."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim import Level, Quadrant
from sim.config.scenario import DynamicsSpec
from sim.model import kernels, rules
from sim.vocabulary import N_LEVELS, TOP_LEVEL, enabled_level

P = DynamicsSpec()
K = rules.kernel_params(P)


def dyn(**changes) -> DynamicsSpec:
    """Default dynamics with some rates changed."""
    return dataclasses.replace(P, **changes)


def levels(*values) -> np.ndarray:
    """Levels as the model stores them (int8)."""
    return np.array(values, dtype=np.int8)


def kp(**changes) -> rules.KernelParams:
    """The compiled rules' parameters of the default dynamics with some rates changed."""
    return rules.kernel_params(dyn(**changes))


# ------------------------------------------------------------ climb


def test_climb_when_drive_reaches_threshold():
    """A consumer climbs when the share of neighbours above reaches its threshold (ties climb too)."""
    p = kp(peer_influence=1.0, climb_prob=1.0)
    out = [rules.climb(0, 5, 0.25, above, 0.0, 1.0, 0.5, p) for above in (0.5, 0.25, 0.2)]
    assert out == [1, 1, 0]


def test_climb_respects_cap():
    """Nobody climbs to or beyond its organization's cap, whatever the pressure."""
    p = kp(climb_prob=1.0)
    out = [rules.climb(level, cap, 0.01, 1.0, 1.0, 1.0, 0.0, p) for level, cap in ((0, 0), (2, 2), (3, 5))]
    assert out == [0, 2, 4]


def test_climb_higher_rungs_need_more():
    """At level L the need is threshold * (1 + rung_difficulty * L)."""
    p = kp(rung_difficulty=0.5, climb_prob=1.0, peer_influence=1.0)
    # threshold 0.25 at level 2 needs 0.5
    assert rules.climb(2, 5, 0.25, 0.5, 0.0, 1.0, 0.1, p) == 3
    assert rules.climb(2, 5, 0.25, 0.4375, 0.0, 1.0, 0.1, p) == 2


def test_climb_needs_positive_drive_and_a_lucky_draw():
    """Without any drive only an instigator (threshold exactly 0, Granovetter 1978) climbs, not the smallest
    positive threshold; a draw at or above climb_prob blocks everyone."""
    p = kp(climb_prob=0.5)
    assert rules.climb(0, 5, 0.0, 0.0, 0.0, 1.0, 0.1, p) == 1
    assert rules.climb(0, 5, 5e-324, 0.0, 0.0, 1.0, 0.1, p) == 0
    assert rules.climb(0, 5, 0.0, 0.0, 0.0, 1.0, 0.5, p) == 0
    assert rules.climb(0, 5, 0.1, 1.0, 0.0, 1.0, 0.5, p) == 0
    assert rules.climb(0, 5, 0.1, 1.0, 0.0, 1.0, 0.49, p) == 1


def test_climb_pull_and_alignment():
    """An open organization's pull can lift members without peers; misalignment damps the drive."""
    p = kp(climb_prob=1.0, peer_influence=1.0)
    assert rules.climb(0, 5, 0.2, 0.0, 0.25, 1.0, 0.0, p) == 1
    assert rules.climb(0, 5, 0.2, 0.0, 0.25, 0.5, 0.0, p) == 0


# ------------------------------------------------------------ commitment and slipping


def test_slip_when_commitment_too_low():
    """One rung down when commitment is below commitment_per_level * level / TOP_LEVEL; never below 0."""
    p = kp(commitment_per_level=0.5)
    cases = ((5, 0.49), (5, 0.5), (2, 0.1), (0, 0.0))
    assert [rules.slip(level, 5, commitment, 1.0, p) for level, commitment in cases] == [4, 5, 1, 0]


def test_slip_enforces_cap():
    """Slipping also brings anyone above the cap down to it (e.g. a seed placed above its cap)."""
    assert [rules.slip(level, cap, 1.0, 1.0, K) for level, cap in ((4, 1), (3, 3))] == [1, 3]


def test_low_propensity_cannot_hold_what_high_propensity_holds():
    """The same commitment holds a rung for someone to whom participating comes easily, not for most."""
    p = kp(commitment_per_level=0.5)
    assert [rules.slip(2, 5, 0.3, propensity, p) for propensity in (1.0, 0.5, 0.2)] == [2, 1, 1]


def test_first_climb_to_a_new_rung_excites_and_a_return_does_not():
    """Climbing above the highest rung reached raises commitment by novelty; regaining an old rung does not."""
    p = kp(novelty=0.5)
    assert rules.excite(0.2, 2, 1, p) == pytest.approx(0.6)
    assert rules.excite(0.2, 2, 2, p) == 0.2 and rules.excite(0.2, 1, 3, p) == 0.2


def test_a_consumer_feels_some_of_the_take_and_a_producer_more():
    """A member yields 1 + level units of value, so even a consumer's grievance grows with the take."""
    p = kp(grievance_rate=0.1, grievance_decay=0.0)
    consumer, producer = rules.aggrieve(0.0, 0.0, 0.5, 0, p), rules.aggrieve(0.0, 0.0, 0.5, 4, p)
    assert 0.0 < consumer < producer


@settings(max_examples=60)
@given(
    commitment=st.floats(0, 1),
    level=st.integers(0, TOP_LEVEL),
    peer=st.floats(0, 1),
    pull=st.floats(0, 3),
    align=st.floats(0, 1),
    values=st.floats(0, 1),
    fickleness=st.floats(0, 1),
    fade_floor=st.floats(0, 1),
    renewal=st.floats(0, 1),
)
def test_renew_stays_in_unit_interval(
    commitment, level, peer, pull, align, values, fickleness, fade_floor, renewal
):
    """Renewed commitment stays in [0, 1] for any inputs in range."""
    p = dyn(fickleness=fickleness, fade_floor=fade_floor, renewal_rate=renewal)
    fade = rules.fade_rate(values, p)
    out = rules.renew(commitment, level, peer, pull, align, fade, rules.kernel_params(p))
    assert 0.0 <= out <= 1.0


def test_renew_grows_without_fade_and_fades_without_support():
    """With no fade commitment grows toward 1; with no renewal it decays by the fade rate."""
    grown = rules.renew(0.5, 0, 0.0, 0.0, 1.0, 0.0, kp(renewal_rate=0.2))
    assert grown == pytest.approx(0.5 + 0.2 * (0.5 * (1 / N_LEVELS)) * 0.5)
    faded = rules.renew(0.5, 3, 1.0, 0.0, 1.0, 0.1, kp(renewal_rate=0.0))
    assert faded == pytest.approx(0.45)


def test_renew_applies_to_arrays_as_to_one():
    """A campaign renews everyone who showed up at once: the same numbers as one by one."""
    commitment, level = np.array([0.1, 0.5, 0.9]), levels(0, 3, 5)
    together = rules.renew(commitment, level, 1.0, 0.0, 1.0, 0.0, P)
    one_by_one = [rules.renew(c, lv, 1.0, 0.0, 1.0, 0.0, P) for c, lv in zip(commitment, level, strict=True)]
    assert together.tobytes() == np.array(one_by_one).tobytes()


def test_fade_rate_by_values():
    """Old-power minds fade at fickleness * fade_floor, new-power minds at the full fickleness."""
    p = dyn(fickleness=0.2, fade_floor=0.25)
    assert rules.fade_rate(0.0, p) == pytest.approx(0.05)
    assert rules.fade_rate(1.0, p) == pytest.approx(0.2)


# ------------------------------------------------------------ grievance and exit


@settings(max_examples=50)
@given(
    g=st.floats(0, 1),
    gap=st.floats(0, 1),
    take=st.floats(0, 1),
    level=st.integers(0, TOP_LEVEL),
    rate=st.floats(0, 1),
    decay=st.floats(0, 1),
    affiliated=st.booleans(),
)
def test_aggrieve_stays_in_unit_interval(g, gap, take, level, rate, decay, affiliated):
    """Grievance stays in [0, 1]; without an organization (no visible gap, no take) it can only decay."""
    p = kp(grievance_rate=rate, grievance_decay=decay)
    gap, take = (gap, take) if affiliated else (0.0, 0.0)  # what member_view gives the unaffiliated
    out = rules.aggrieve(g, gap, take, level, p)
    assert 0.0 <= out <= 1.0
    if not affiliated:
        assert out <= g


def test_leaves_only_members_past_threshold():
    """Members leave when grievance + contagion - loyalty * commitment reaches their threshold;
    non-members never do."""
    p = kp(exit_contagion=1.0, loyalty=0.5)
    cases = [  # affiliated, grievance, exit share, commitment, threshold
        (True, 0.5, 0.0, 0.0, 0.5),
        (True, 0.25, 0.25, 0.5, 0.25),
        (True, 0.0, 0.5, 0.0, 0.75),
        (False, 0.9, 0.5, 0.0, 0.1),
        (True, 0.0, 0.0, 0.0, 0.0),
    ]
    assert [rules.leaves(*case, p) for case in cases] == [True, True, False, False, False]


def test_destination_rival_only_with_margin():
    """A leaver deserts to the rival only if it is better aligned by at least switch_margin; else to none."""
    p = dyn(switch_margin=0.25)
    out = rules.destination(
        np.array([0.5, 0.5, 0.5, 0.5]), np.array([2, 2, 3, 1]), np.array([0.75, 0.625, 1.0, -np.inf]), p
    )
    np.testing.assert_array_equal(out, [2, 0, 3, 0])


def _table(values, openness=None) -> rules.OrgTable:
    """An organization table for the given organizations' values (row 0 = none)."""
    n = len(values) + 1
    fields = {f.name: np.zeros(n) for f in dataclasses.fields(rules.OrgTable)}
    fields["member"] = np.array([0.0] + [1.0] * len(values))
    fields["values"] = np.array([0.0, *values])
    if openness is not None:
        fields["openness"] = np.array([0.0, *openness])
    return rules.OrgTable(**fields)


def test_best_rival_excludes_own_group():
    """The best rival is the best-aligned other organization; with a single organization there is none."""
    table = _table([0.1, 0.5, 0.9])
    rival, align = rules.best_rival(np.array([0.15, 0.15, 0.8]), np.array([1, 2, 3]), table)
    np.testing.assert_array_equal(rival, [2, 1, 2])
    np.testing.assert_allclose(align, [0.65, 0.95, 0.7])
    rival, align = rules.best_rival(np.array([0.3]), np.array([1]), _table([0.2]))
    assert rival[0] == 0 and align[0] == -np.inf


def test_member_view_of_members_and_of_the_unaffiliated():
    """Members see their alignment and the visible share of their values gap; the unaffiliated see
    alignment 1 and nothing to resent, whatever their values."""
    table = _table([0.2])
    table.visibility[1], table.pull[1], table.take[1], table.max_level[:] = 0.5, 0.3, 0.1, [1, 4]
    member = rules.member_view(np.array([1]), np.array([0.6]), table)
    assert member.cap[0] == 4 and member.pull[0] == 0.3 and member.take[0] == 0.1
    assert member.align[0] == pytest.approx(0.6) and member.gap_seen[0] == pytest.approx(0.2)
    none = rules.member_view(np.array([0, 0]), np.array([0.0, 1.0]), table)
    np.testing.assert_array_equal(none.align, [1.0, 1.0])
    np.testing.assert_array_equal(none.cap, [1, 1])
    assert not none.gap_seen.any() and not none.pull.any() and not none.take.any()


def test_join_prob_open_and_closed():
    """Joining per contact: join_rate_open for a fully open model, join_rate_closed for a closed one,
    scaled by alignment and by (1 - grievance)."""
    p = dyn(join_rate_open=0.5, join_rate_closed=0.1)
    assert rules.join_prob(1.0, 1.0, 0.0, p) == pytest.approx(0.5)
    assert rules.join_prob(0.0, 1.0, 0.0, p) == pytest.approx(0.1)
    assert rules.join_prob(1.0, 0.5, 0.5, p) == pytest.approx(0.125)


def test_reached_by_slices():
    """Reach cuts [0, 1) into consecutive slices, one per organization; beyond them nobody reaches;
    reach summing above 1 is rescaled so everyone is reached."""
    reach = np.array([0.0, 0.25, 0.0, 0.5])
    u = np.array([0.0, 0.24, 0.25, 0.74, 0.75, 0.99])
    np.testing.assert_array_equal(rules.reached_by(u, reach), [1, 1, 3, 3, 0, 0])
    heavy = np.array([0.0, 1.0, 1.0])
    np.testing.assert_array_equal(rules.reached_by(np.array([0.0, 0.49, 0.5, 0.999]), heavy), [1, 1, 2, 2])
    assert rules.reached_by(np.array([0.3]), np.array([0.0]))[0] == 0


# ------------------------------------------------------------ organizations


def test_update_stock_never_negative():
    """Stock is earned, decays and is spent; overspending is partly funded and leaves zero."""
    stock, funded = rules.update_stock(1.0, revenue=0.5, spending=0.25, decay=0.5)
    assert (stock, funded) == (0.75, 1.0)
    stock, funded = rules.update_stock(0.5, revenue=0.0, spending=1.0, decay=0.5)
    assert (stock, funded) == (0.0, 0.25)


def test_update_legitimacy_tracks_contentment():
    """Legitimacy moves toward contentment by the legitimacy rate and stays between the two."""
    assert rules.update_legitimacy(0.5, 1.0, 0.25) == pytest.approx(0.625)
    assert rules.update_legitimacy(0.5, 0.0, 1.0) == pytest.approx(0.0)


def test_alignment_and_visibility():
    """Alignment is 1 - |v - w|; visibility adds a leak's exposure to what transparency hid."""
    assert rules.alignment(0.25, 0.75) == 0.5
    assert rules.visibility(0.5, 0.0) == 0.5
    assert rules.visibility(0.5, 1.0) == 1.0
    assert rules.visibility(0.0, 0.5) == 0.5


def test_pull_and_reach_only_as_far_as_funded():
    """Mobilization and reach work only as far as the stock paid for them; an open model pulls anyway."""
    p = dyn(model_pull=0.2)
    assert rules.organization_pull(0.5, 0.4, 1.0, p) == pytest.approx(0.5)
    assert rules.organization_pull(0.5, 0.4, 0.0, p) == pytest.approx(0.1)
    assert rules.funded_reach(0.1, 0.3, 0.5, P) == pytest.approx(0.2)
    assert rules.funded_reach(0.1, 0.3, 0.0, P) == 0.0


def test_felt_take_adds_structure_and_is_capped():
    """Converting the current into stock is felt as take; the take felt never exceeds everything."""
    p = dyn(structure_take=0.5)
    assert rules.felt_take(0.1, 0.0, p) == pytest.approx(0.1)
    assert rules.felt_take(0.1, 0.4, p) == pytest.approx(0.3)
    assert rules.felt_take(0.9, 1.0, p) == 1.0


def test_revenue_and_spending():
    """Revenue grows with the take and with members and their levels; spending with costly levers."""
    p = dyn(revenue_rate=1.0, structure_yield=0.0)
    small = rules.revenue(0.2, 0.0, 10, 10.0, 0.0, 100, p)
    assert rules.revenue(0.4, 0.0, 10, 10.0, 0.0, 100, p) == pytest.approx(2 * small)
    assert rules.revenue(0.2, 0.0, 10, 30.0, 0.0, 100, p) > small
    assert rules.revenue(0.0, 0.0, 10, 10.0, 0.0, 100, p) == 0.0
    assert rules.spending(0.0, 0.0, 0.0, p) == 0.0
    assert rules.spending(0.1, 0.0, 0.0, p) < rules.spending(0.1, 0.1, 0.1, p)


def test_exposure_fades_and_ads_history_tracks_funded_ads():
    """A leak's exposure fades; the ads history moves toward the ads actually paid for."""
    p = dyn(exposure_decay=0.5)
    assert rules.fade_exposure(1.0, p) == 0.5
    assert rules.track_ads(0.0, 0.4, 1.0, p) == pytest.approx(0.2)
    assert rules.track_ads(0.4, 0.4, 0.0, p) == pytest.approx(0.2)


# ------------------------------------------------------------ parameters by name


def test_kernel_params_take_each_field_from_the_same_name():
    """Changing one ``[dynamics]`` field changes exactly the compiled parameter of that name."""
    base = rules.kernel_params(P)
    for name in rules.KernelParams._fields:
        changed = rules.kernel_params(dyn(**{name: getattr(P, name) / 2 + 0.125}))
        differs = {
            field for field in rules.KernelParams._fields if getattr(changed, field) != getattr(base, field)
        }
        assert differs == {name}
        assert getattr(changed, name) == getattr(P, name) / 2 + 0.125


#: Which parameters each participant rule reads (docs/ODD.md 7.3 to 7.7).
READS = {
    "climb": {"peer_influence", "rung_difficulty", "climb_prob"},
    "excite": {"novelty"},
    "renew": {"renewal_rate"},
    "slip": {"commitment_per_level"},
    "aggrieve": {"grievance_rate", "grievance_decay", "value_gap_grievance", "take_grievance"},
    "leaves": {"exit_contagion", "loyalty"},
}


def _rule_outputs(p: rules.KernelParams, seed: int = 5, n: int = 400) -> dict[str, list]:
    """Each participant rule's outputs over random inputs, with the parameters ``p``."""
    rng = np.random.default_rng(seed)
    level, cap = rng.integers(0, TOP_LEVEL + 1, n), rng.integers(0, TOP_LEVEL + 1, n)
    thr, above, pull, align, u, com, peer, gri, gap, take, fade = rng.random((11, n))
    highest, prop = rng.integers(0, TOP_LEVEL + 1, n), 1.0 - rng.random(n)
    aff = rng.random(n) < 0.8
    rows = range(n)
    return {
        "excite": [rules.excite(com[i], level[i], highest[i], p) for i in rows],
        "climb": [rules.climb(level[i], cap[i], thr[i], above[i], pull[i], align[i], u[i], p) for i in rows],
        "renew": [rules.renew(com[i], level[i], peer[i], pull[i], align[i], fade[i], p) for i in rows],
        "slip": [rules.slip(level[i], cap[i], com[i], prop[i], p) for i in rows],
        "aggrieve": [rules.aggrieve(gri[i], gap[i], take[i], level[i], p) for i in rows],
        "leaves": [rules.leaves(aff[i], gri[i], peer[i], com[i], thr[i], p) for i in rows],
    }


@pytest.mark.parametrize("name", rules.KernelParams._fields)
def test_each_parameter_moves_only_the_rule_that_reads_it(name):
    """Perturbing one ``[dynamics]`` rate, built into the compiled parameters, changes the outputs of
    the rule that reads it and of no other (a swapped name would move the wrong rule)."""
    base = dyn(
        peer_influence=1.0,
        rung_difficulty=0.5,
        climb_prob=0.5,
        renewal_rate=0.3,
        commitment_per_level=0.5,
        grievance_rate=0.3,
        grievance_decay=0.1,
        exit_contagion=0.5,
        loyalty=0.3,
    )
    before = _rule_outputs(rules.kernel_params(base))
    after = _rule_outputs(rules.kernel_params(dataclasses.replace(base, **{name: getattr(base, name) + 0.4})))
    moved = {rule for rule in before if before[rule] != after[rule]}
    assert moved == {rule for rule, reads in READS.items() if name in reads}


# ------------------------------------------------------------ compiled and plain, one and all


def _random_participants(seed: int, size: int):
    """Random previous states, perceptions, views and draws for ``size`` participants."""
    rng = np.random.default_rng(seed)
    p = rules.kernel_params(
        dyn(
            **{
                name: float(rng.random())
                for name in (
                    "renewal_rate",
                    "commitment_per_level",
                    "grievance_rate",
                    "grievance_decay",
                    "climb_prob",
                    "exit_contagion",
                )
            },
            peer_influence=float(rng.random() * 2),
            rung_difficulty=float(rng.random() * 2),
            loyalty=float(rng.random()),
        )
    )
    level = rng.integers(0, TOP_LEVEL + 1, size).astype(np.int8)
    group = rng.integers(0, 3, size).astype(np.intp)
    commitment, grievance, threshold, fade = (rng.random(size) for _ in range(4))
    highest = rng.integers(0, TOP_LEVEL + 1, size).astype(np.int8)
    propensity = 1.0 - rng.random(size)
    seen = rules.Perceived(*(rng.random(size) for _ in rules.Perceived._fields))
    view = rules.MemberView(
        cap=rng.integers(0, TOP_LEVEL + 1, size).astype(np.int8),
        align=rng.random(size),
        pull=rng.random(size) * 0.5,
        gap_seen=rng.random(size),
        take=rng.random(size),
    )
    u = rng.random(size, dtype=np.float32)
    return (level, highest, commitment, grievance, threshold, propensity, fade, group), seen, view, u, p


def _row(columns, i):
    """One participant's entries of a NamedTuple of arrays."""
    return type(columns)(*(column[i] for column in columns))


@settings(max_examples=40)
@given(seed=st.integers(0, 2**32), size=st.integers(1, 30))
def test_update_gives_same_bits_for_one_or_all(seed, size):
    """The compiled chain gives bit-identical results for one participant (the per-agent driver's
    ``update_one``) and for everyone at once (the vectorized driver's fused loop)."""
    (level, highest, commitment, grievance, threshold, propensity, fade, group), seen, view, u, p = (
        _random_participants(seed, size)
    )
    everyone = kernels.update_participants(
        level,
        highest,
        commitment,
        grievance,
        threshold,
        propensity,
        fade,
        group,
        seen,
        view,
        u,
        p,
        kernels.empty_updated(size),
    )
    for i in range(size):
        own = (
            level[i],
            highest[i],
            commitment[i],
            grievance[i],
            threshold[i],
            propensity[i],
            fade[i],
            group[i] > 0,
        )
        one = kernels.update_one(*own, _row(seen, i), _row(view, i), u[i], p)
        for name in rules.Updated._fields:
            expected = getattr(everyone, name)[i : i + 1]
            assert np.asarray(getattr(one, name), dtype=expected.dtype).tobytes() == expected.tobytes(), (
                name,
                i,
            )


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32), size=st.integers(1, 20))
def test_compiled_update_is_the_rules_as_written(seed, size):
    """The compiled chain computes what ``rules.update`` computes when Python runs it as written."""
    (level, highest, commitment, grievance, threshold, propensity, fade, group), seen, view, u, p = (
        _random_participants(seed, size)
    )
    for i in range(size):
        args = (
            int(level[i]),
            int(highest[i]),
            float(commitment[i]),
            float(grievance[i]),
            float(threshold[i]),
            float(propensity[i]),
            float(fade[i]),
        )
        seen_i = rules.Perceived(**{name: float(getattr(seen, name)[i]) for name in rules.Perceived._fields})
        shares = ("align", "pull", "gap_seen", "take")
        view_i = rules.MemberView(
            cap=int(view.cap[i]), **{name: float(getattr(view, name)[i]) for name in shares}
        )
        plain = rules.update(*args, bool(group[i] > 0), seen_i, view_i, float(u[i]), p)
        compiled = kernels.update_one(*args, bool(group[i] > 0), seen_i, view_i, float(u[i]), p)
        assert tuple(plain) == tuple(compiled)


# ------------------------------------------------------------ compass and levels


@pytest.mark.parametrize(
    "openness, values, quadrant",
    [
        (0.1, 0.1, Quadrant.CASTLE),
        (0.9, 0.1, Quadrant.CONNECTOR),
        (0.1, 0.9, Quadrant.CHEERLEADER),
        (0.9, 0.9, Quadrant.CROWD),
        (0.5, 0.5, Quadrant.CROWD),  # 0.5 counts as new on both axes
        (0.4999, 0.5, Quadrant.CHEERLEADER),
        (0.5, 0.4999, Quadrant.CONNECTOR),
        (0.0, 0.0, Quadrant.CASTLE),
        (1.0, 1.0, Quadrant.CROWD),
    ],
)
def test_quadrant_of(openness, values, quadrant):
    """The New Power Compass: model axis x values axis, split at 0.5."""
    assert Quadrant.of(openness, values) is quadrant


@pytest.mark.parametrize(
    "openness, level",
    [
        (0.0, Level.CONSUMING),
        (0.15, Level.CONSUMING),
        (0.17, Level.SHARING),
        (0.34, Level.SHAPING),
        (0.5, Level.FUNDING),
        (0.7, Level.PRODUCING),
        (0.85, Level.CO_OWNING),
        (1.0, Level.CO_OWNING),
    ],
)
def test_enabled_level_bands(openness, level):
    """A model's default top level cuts the openness axis into six equal bands (closed: consuming only)."""
    assert enabled_level(openness) is level


def test_enabled_level_monotone():
    """More open models never enable fewer levels."""
    grid = np.linspace(0, 1, 1001)
    got = [int(enabled_level(float(x))) for x in grid]
    assert got == sorted(got) and got[0] == 0 and got[-1] == 5


def test_level_parse():
    """Level names parse case-insensitively, with dashes or underscores."""
    assert Level.parse("co-owning") is Level.CO_OWNING
    assert Level.parse(" Sharing ") is Level.SHARING
    with pytest.raises(KeyError):
        Level.parse("leading")


_PROBE = """
import sys
from sim.model import kernels, rules
p = rules.KernelParams(*(0.5 for _ in rules.KernelParams._fields))
seen, view = rules.Perceived(0.5, 0.0, 0.5), rules.MemberView(5, 1.0, 0.2, 0.1, 0.1)
compiled = kernels.update_one(1, 1, 0.5, 0.2, 0.1, 1.0, 0.05, True, seen, view, 0.25, p)
plain = rules.update(1, 1, 0.5, 0.2, 0.1, 1.0, 0.05, True, seen, view, 0.25, p)
print(repr(compiled.commitment), repr(float(plain.commitment)), kernels.update_one.stats.cache_hits.total())
"""


@pytest.mark.slow
def test_editing_a_rule_recompiles_the_cached_kernels(tmp_path):
    """Compiled rules are cached on disk, yet a rule edited in ``rules.py`` is what runs next time
    (Numba alone would reload the machine code compiled from the old rule)."""
    shutil.copytree(Path(sim.__file__).parent, tmp_path / "sim", ignore=shutil.ignore_patterns("__pycache__"))

    def probe() -> tuple[str, str, int]:
        out = subprocess.run(
            [sys.executable, "-c", _PROBE], cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)},
            capture_output=True, text=True, check=True, timeout=300,
        )  # fmt: skip
        compiled, plain, hits = out.stdout.split()
        return compiled, plain, int(hits)

    first = probe()
    assert first[0] == first[1]
    assert probe() == (first[0], first[1], 1)  # unchanged rules: loaded from the cache
    rules_file = tmp_path / "sim" / "model" / "rules.py"
    source = rules_file.read_text()
    assert source.count("support = np.minimum(0.5 *") == 1
    rules_file.write_text(source.replace("support = np.minimum(0.5 *", "support = np.minimum(0.25 *"))
    edited = probe()
    assert edited[0] == edited[1] != first[0]
