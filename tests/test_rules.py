"""Unit tests of the behavioural rules (``sim/model/rules.py``), the compass and the enabled levels."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import Level, Quadrant
from sim.config.scenario import DynamicsSpec
from sim.model import rules
from sim.vocabulary import enabled_level

P = DynamicsSpec()


def dyn(**changes) -> DynamicsSpec:
    """Default dynamics with some rates changed."""
    return dataclasses.replace(P, **changes)


def levels(*values) -> np.ndarray:
    """Levels as the model stores them (int8)."""
    return np.array(values, dtype=np.int8)


# ------------------------------------------------------------ climb


def test_climb_when_drive_reaches_threshold():
    """A consumer climbs when the share of neighbours above reaches its threshold (ties climb too)."""
    p = dyn(peer_influence=1.0, climb_prob=1.0)
    level = levels(0, 0, 0)
    out = rules.climb(
        level,
        cap=levels(5, 5, 5),
        threshold=np.array([0.25, 0.25, 0.25]),
        above_share=np.array([0.5, 0.25, 0.2]),
        pull=0.0,
        align=1.0,
        u=np.float32(0.5),
        p=p,
    )
    np.testing.assert_array_equal(out, [1, 1, 0])
    assert out.dtype == np.int8


def test_climb_respects_cap():
    """Nobody climbs to or beyond its organization's cap, whatever the pressure."""
    p = dyn(climb_prob=1.0)
    out = rules.climb(
        levels(0, 2, 3),
        cap=levels(0, 2, 5),
        threshold=np.zeros(3) + 0.01,
        above_share=np.ones(3),
        pull=1.0,
        align=1.0,
        u=np.float32(0.0),
        p=p,
    )
    np.testing.assert_array_equal(out, [0, 2, 4])


def test_climb_higher_rungs_need_more():
    """At level L the need is threshold * (1 + rung_difficulty * L)."""
    p = dyn(rung_difficulty=0.5, climb_prob=1.0, peer_influence=1.0)
    # threshold 0.25 at level 2 needs 0.5
    just = rules.climb(levels(2), levels(5), np.array([0.25]), np.array([0.5]), 0.0, 1.0, np.float32(0.1), p)
    short = rules.climb(
        levels(2), levels(5), np.array([0.25]), np.array([0.4375]), 0.0, 1.0, np.float32(0.1), p
    )
    assert just[0] == 3 and short[0] == 2


def test_climb_needs_positive_drive_and_a_lucky_draw():
    """A zero threshold does not make anyone climb without any drive; a draw at or above climb_prob blocks."""
    p = dyn(climb_prob=0.5)
    none = rules.climb(levels(0), levels(5), np.array([0.0]), np.array([0.0]), 0.0, 1.0, np.float32(0.1), p)
    assert none[0] == 0
    unlucky = rules.climb(
        levels(0), levels(5), np.array([0.1]), np.array([1.0]), 0.0, 1.0, np.float32(0.5), p
    )
    lucky = rules.climb(levels(0), levels(5), np.array([0.1]), np.array([1.0]), 0.0, 1.0, np.float32(0.49), p)
    assert unlucky[0] == 0 and lucky[0] == 1


def test_climb_pull_and_alignment():
    """An open organization's pull can lift members without peers; misalignment damps the drive."""
    p = dyn(climb_prob=1.0, peer_influence=1.0)
    pulled = rules.climb(levels(0), levels(5), np.array([0.2]), np.array([0.0]), 0.25, 1.0, np.float32(0), p)
    damped = rules.climb(levels(0), levels(5), np.array([0.2]), np.array([0.0]), 0.25, 0.5, np.float32(0), p)
    assert pulled[0] == 1 and damped[0] == 0


# ------------------------------------------------------------ commitment and slipping


def test_slip_when_commitment_too_low():
    """One rung down when commitment is below commitment_per_level * level / 5; never below 0."""
    p = dyn(commitment_per_level=0.5)
    out = rules.slip(
        levels(5, 5, 2, 0), cap=levels(5, 5, 5, 5), commitment=np.array([0.49, 0.5, 0.1, 0.0]), p=p
    )
    np.testing.assert_array_equal(out, [4, 5, 1, 0])
    assert out.dtype == np.int8


def test_slip_enforces_cap():
    """Slipping also brings anyone above the cap down to it (e.g. a seed placed above its cap)."""
    out = rules.slip(levels(4, 3), cap=levels(1, 3), commitment=np.array([1.0, 1.0]), p=P)
    np.testing.assert_array_equal(out, [1, 3])


@settings(max_examples=60)
@given(
    commitment=st.floats(0, 1),
    level=st.integers(0, 5),
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
    out = rules.renew(np.array([commitment]), levels(level), np.array([peer]), pull, align, fade, p)
    assert 0.0 <= out[0] <= 1.0


def test_renew_grows_without_fade_and_fades_without_support():
    """With no fade commitment grows toward 1; with no renewal it decays by the fade rate."""
    grown = rules.renew(np.array([0.5]), levels(0), np.array([0.0]), 0.0, 1.0, 0.0, dyn(renewal_rate=0.2))
    assert grown[0] == pytest.approx(0.5 + 0.2 * (0.5 * (1 / 6)) * 0.5)
    faded = rules.renew(np.array([0.5]), levels(3), np.array([1.0]), 0.0, 1.0, 0.1, dyn(renewal_rate=0.0))
    assert faded[0] == pytest.approx(0.45)


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
    level=st.integers(0, 5),
    rate=st.floats(0, 1),
    decay=st.floats(0, 1),
    affiliated=st.booleans(),
)
def test_aggrieve_stays_in_unit_interval(g, gap, take, level, rate, decay, affiliated):
    """Grievance stays in [0, 1]; without an organization (no visible gap, no take) it can only decay."""
    p = dyn(grievance_rate=rate, grievance_decay=decay)
    gap, take = (gap, take) if affiliated else (0.0, 0.0)  # what member_view gives the unaffiliated
    out = rules.aggrieve(np.array([g]), np.array([gap]), np.array([take]), levels(level), p)
    assert 0.0 <= out[0] <= 1.0
    if not affiliated:
        assert out[0] <= g


def test_leaves_only_members_past_threshold():
    """Members leave when grievance + contagion - loyalty * commitment reaches their threshold;
    non-members never do."""
    p = dyn(exit_contagion=1.0, loyalty=0.5)
    out = rules.leaves(
        affiliated=np.array([True, True, True, False, True]),
        grievance=np.array([0.5, 0.25, 0.0, 0.9, 0.0]),
        exit_share=np.array([0.0, 0.25, 0.5, 0.5, 0.0]),
        commitment=np.array([0.0, 0.5, 0.0, 0.0, 0.0]),
        threshold=np.array([0.5, 0.25, 0.75, 0.1, 0.0]),
        p=p,
    )
    np.testing.assert_array_equal(out, [True, True, False, False, False])


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


def test_join_prob_open_and_closed():
    """Joining per contact: join_rate_open for a fully open model, join_rate_closed for a closed one,
    scaled by alignment and by (1 - grievance)."""
    p = dyn(join_rate_open=0.5, join_rate_closed=0.1)
    assert rules.join_prob(1.0, 1.0, 0.0, p) == pytest.approx(0.5)
    assert rules.join_prob(0.0, 1.0, 0.0, p) == pytest.approx(0.1)
    assert rules.join_prob(1.0, 0.5, 0.5, p) == pytest.approx(0.125)


def test_reached_by_slices():
    """Outreach cuts [0, 1) into consecutive slices, one per organization; beyond them nobody reaches;
    outreach summing above 1 is rescaled so everyone is reached."""
    outreach = np.array([0.0, 0.25, 0.0, 0.5])
    u = np.array([0.0, 0.24, 0.25, 0.74, 0.75, 0.99])
    np.testing.assert_array_equal(rules.reached_by(u, outreach), [1, 1, 3, 3, 0, 0])
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


# ------------------------------------------------------------ scalar and vector agree


@settings(max_examples=40)
@given(seed=st.integers(0, 2**32), size=st.integers(1, 30))
def test_rules_give_same_bits_for_one_or_all(seed, size):
    """Every participant rule gives bit-identical results applied to one participant's scalars
    (the agents driver) or to arrays of all (the vectorized driver)."""
    rng = np.random.default_rng(seed)
    p = dyn(
        **{
            name: float(rng.random())
            for name in (
                "fickleness",
                "fade_floor",
                "renewal_rate",
                "commitment_per_level",
                "grievance_rate",
                "grievance_decay",
                "climb_prob",
                "switch_margin",
            )
        },
        rung_difficulty=float(rng.random() * 2),
        loyalty=float(rng.random()),
    )
    level = rng.integers(0, 6, size).astype(np.int8)
    cap = rng.integers(0, 6, size).astype(np.int8)
    thr, above, pull, align = rng.random(size), rng.random(size), rng.random(size), rng.random(size)
    u = rng.random(size, dtype=np.float32)
    com, peer, gri, gap, take, vals = (rng.random(size) for _ in range(6))
    aff = rng.random(size) < 0.5
    fade = rules.fade_rate(vals, p)
    vec = {
        "climb": rules.climb(level, cap, thr, above, pull, align, u, p),
        "renew": rules.renew(com, level, peer, pull, align, fade, p),
        "slip": rules.slip(level, cap, com, p),
        "aggrieve": rules.aggrieve(gri, gap, take, level, p),
        "leaves": rules.leaves(aff, gri, peer, com, thr, p),
    }
    for i in range(size):
        one = {
            "climb": rules.climb(level[i], cap[i], thr[i], above[i], pull[i], align[i], u[i], p),
            "renew": rules.renew(
                com[i], level[i], peer[i], pull[i], align[i], rules.fade_rate(vals[i], p), p
            ),
            "slip": rules.slip(level[i], cap[i], com[i], p),
            "aggrieve": rules.aggrieve(gri[i], gap[i], take[i], level[i], p),
            "leaves": rules.leaves(aff[i], gri[i], peer[i], com[i], thr[i], p),
        }
        for name, value in one.items():
            assert np.asarray(value).tobytes() == vec[name][i : i + 1].tobytes(), (name, i)


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
