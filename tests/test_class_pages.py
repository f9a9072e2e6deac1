"""Class mode's pages without a browser: the live push to every page, and what the pages say.

The browser test (tests/test_class_browser.py) plays a whole class; these check the parts that
decide whether it holds up: one page's failure never stops the others, a burst of changes costs a
page one or two refreshes, the projector's slow redraw waits for the phones, and what a tampered
click message or a hostile nickname can do to a page (nothing).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import pytest

pytest.importorskip("solara")

from sim.faces.classroom import live
from sim.faces.classroom.debrief_view import students_table
from sim.faces.classroom.session import Classroom
from sim.faces.classroom.student_view import (
    choice_label,
    neighbour_lines,
    parse_click,
    round_state,
)
from sim.faces.classroom.teacher_view import token_of
from sim.model.choices import Choice

SMALL = {"network.n": 300}


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_one_failing_page_never_stops_the_others(caplog):
    """A page whose refresh raises is logged and skipped; every other page still gets the new round."""
    room = Classroom(seed=1003, max_students=4, overrides=SMALL)
    seen: dict[str, int] = {}

    def good(name):
        return lambda: seen.__setitem__(name, room.round)

    def broken():
        raise RuntimeError("this student's page is broken")

    feeds = [
        live.PageFeed(contextlib.nullcontext(), good("a")),
        live.PageFeed(contextlib.nullcontext(), broken),
        live.PageFeed(contextlib.nullcontext(), good("b")),
        live.PageFeed(contextlib.nullcontext(), good("teacher"), projector=True),
    ]
    for feed in feeds:
        room.subscribe(feed.notify)
    with caplog.at_level(logging.ERROR, logger=live.__name__):
        room.open_round(room.teacher_token)
        wait_until(lambda: seen == {"a": 1, "b": 1, "teacher": 1})
    assert any("refreshing one page failed" in r.message for r in caplog.records)
    assert [e.event for e in room.log] == []  # the Classroom saw no failure: the page's lane caught it


def test_a_burst_of_changes_coalesces():
    """Fifty changes while a page is busy refreshing cost it at most two more refreshes, the last
    of which reads the latest state."""
    release = threading.Event()
    calls, last = [], []
    state = {"n": 0}

    def refresh():
        calls.append(1)
        release.wait(5)
        last.append(state["n"])

    feed = live.PageFeed(contextlib.nullcontext(), refresh)
    feed.notify()
    wait_until(lambda: calls)
    for i in range(50):
        state["n"] = i + 1
        feed.notify()
    release.set()
    wait_until(lambda: not feed._queued)
    assert 2 <= len(calls) <= 3
    assert last[-1] == 50


def test_the_projector_waits_for_the_phones():
    """The teacher's page (slow figures) is refreshed after the phones' pages of the same change."""
    order: list[str] = []
    lock = threading.Lock()

    def phone(i):
        def refresh():
            time.sleep(0.03)
            with lock:
                order.append(f"phone{i}")

        return refresh

    feeds = [live.PageFeed(contextlib.nullcontext(), lambda: order.append("projector"), projector=True)]
    feeds += [live.PageFeed(contextlib.nullcontext(), phone(i)) for i in range(8)]
    for feed in feeds:  # the projector subscribed first, as the teacher opens the page first
        feed.notify()
    wait_until(lambda: len(order) == 9)
    assert order[-1] == "projector"


def test_a_closed_page_is_not_refreshed():
    calls = []
    feed = live.PageFeed(contextlib.nullcontext(), lambda: calls.append(1))
    feed.closed = True
    feed.notify()
    time.sleep(0.1)
    assert calls == []


@pytest.mark.parametrize(
    "message",
    [
        "climb",
        ["climb"],
        {"round": "1", "choice": "climb"},
        {"round": 1},
        {"round": 1, "choice": 7},
        {"round": 1.5, "choice": "climb"},
    ],
)
def test_a_malformed_click_message_is_ignored(message):
    assert parse_click(message) is None


def test_a_click_message_keeps_only_what_it_may_say():
    """Round and choice (cut to 40 characters); a participant only if it is a number: the server
    compares it with the student's own and refuses a mismatch."""
    assert parse_click({"round": 2, "choice": "stay", "participant": 7}) == (2, "stay", 7)
    assert parse_click({"round": 2, "choice": "x" * 500, "participant": "7; drop"}) == (2, "x" * 40, None)


def test_forged_click_for_another_participant_changes_nothing():
    """What the page sends for another student's participant is refused and logged, and that
    student's answer stays open."""
    room = Classroom(seed=1003, max_students=4, overrides=SMALL)
    a, b = room.join(room.join_code, "A"), room.join(room.join_code, "B")
    r = room.open_round(room.teacher_token)
    round_, choice, participant = parse_click({"round": r, "choice": "stay", "participant": b.participant})
    assert not room.submit(a.rejoin_code, round_, choice, participant=participant)
    assert not room.screen(b.rejoin_code).answered and not room.screen(a.rejoin_code).answered
    assert room.log[-1].event == "forged participant"


def test_what_the_phone_says():
    """Choices in the student's own words; neighbours counted from the level up; the round's state."""
    room = Classroom(seed=1003, max_students=4, overrides=SMALL)
    t = room.join(room.join_code, "A")
    screen = room.screen(t.rejoin_code)
    assert round_state(screen)[0].startswith("Waiting for the teacher")
    room.open_round(room.teacher_token)
    screen = room.screen(t.rejoin_code)
    assert round_state(screen)[0] == "Round 1 is open: choose!"
    labels = {c: choice_label(c, screen) for c in screen.allowed}
    assert labels[Choice.STAY] == f"Stay at {screen.level}"
    if Choice.CLIMB in labels and screen.level == "consuming":
        assert labels[Choice.CLIMB] == "Climb to sharing"
    counts = {"consuming": 3, "sharing": 2, "funding": 1, "co-owning": 1, "climbed": 2, "left": 1, "total": 7}
    assert dict(neighbour_lines(counts)) == {
        "share or more": 4,
        "fund or more": 2,
        "climbed last round": 2,
        "left last round": 1,
        "neighbours in all": 7,
    }


def test_the_debrief_table_shows_nicknames_as_text():
    """A nickname with markup (escaped by the Classroom) reaches the teacher's table as text."""
    room = Classroom(seed=1003, max_students=4, overrides=SMALL)
    room.join(room.join_code, "<img src=x onerror=y>")
    room.open_round(room.teacher_token)
    room.close_round(room.teacher_token)
    table = students_table(room.debrief().students)
    assert "<img" not in table and "&lt;img src=x onerror=y&gt;" in table


def test_the_teacher_token_is_read_from_the_address():
    assert token_of("token=abc-_12") == "abc-_12"
    assert token_of("x=1&token=t%2B1") == "t+1"
    assert token_of("") == token_of(None) == ""
