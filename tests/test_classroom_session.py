"""Class mode's session: joining, rounds, what is refused and logged, and many threads at once."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from helpers import state_arrays

from sim.errors import ClassError
from sim.faces.classroom.session import Choice, Classroom
from sim.model.power_model import PowerModel

SMALL = {"network.n": 300}


@pytest.fixture
def room() -> Classroom:
    return Classroom(seed=1003, max_students=8, overrides=SMALL)


def test_join_rejoin_and_leave(room):
    """A student joins with the code and gets a participant; the rejoin code gives the same one back;
    one who leaves can no longer act, and their participant follows the rules again."""
    a = room.join(room.join_code.lower(), "  Ada ")
    b = room.join(room.join_code, "Bo")
    assert a.nickname == "Ada" and a.participant != b.participant
    assert room.rejoin(a.rejoin_code) == a
    assert room.screen(a.rejoin_code).nickname == "Ada"
    room.leave(a.rejoin_code)
    with pytest.raises(ClassError, match="left"):
        room.rejoin(a.rejoin_code)
    r = room.open_round(room.teacher_token)
    assert not room.submit(a.rejoin_code, r, Choice.STAY)
    assert [e.event for e in room.log] == ["student has left", "student has left"]
    assert room.join(room.join_code, "Ada").participant not in (a.participant, b.participant)


def test_wrong_join_code_full_class_and_rotation(room):
    """A wrong code is refused and logged; the class holds max_students; a rotated code replaces the old."""
    with pytest.raises(ClassError, match="wrong join code"):
        room.join("ZZZZZZ" if room.join_code != "ZZZZZZ" else "YYYYYY", "Eve")
    for i in range(8):
        room.join(room.join_code, f"s{i}")
    with pytest.raises(ClassError, match="class full"):
        room.join(room.join_code, "late")
    old = room.join_code
    new = room.rotate_join_code(room.teacher_token)
    room.leave(room.students()[0].rejoin_code)
    with pytest.raises(ClassError, match="wrong join code"):
        room.join(old, "again") if old != new else room.join("ZZZZZZ" if new != "ZZZZZZ" else "YYYYYY", "x")
    assert room.join(new, "again").nickname == "again"
    assert [e.event for e in room.log].count("wrong join code") == 2


def test_teacher_token_required(room):
    """Every teacher call needs the token; a wrong one is refused, logged, and changes nothing."""
    for call in (
        lambda t: room.open_round(t),
        lambda t: room.run_crowd(t, 1),
        lambda t: room.rotate_join_code(t),
        lambda t: room.teacher_screen(t),
        lambda t: room.fire(t, "viral_moment"),
    ):
        with pytest.raises(ClassError, match="bad teacher token"):
            call("guess")
    with pytest.raises(ClassError, match="bad teacher token"):
        room.open_round("é" * 40)  # any text is compared safely, never a crash
    with pytest.raises(ClassError, match="wrong join code"):
        room.join("ÉÉÉÉÉÉ", "Eve")
    assert room.round == 0 and room.model.steps == 0 and len(room.log) == 7
    assert room.teacher_screen(room.teacher_token).round == 0


@pytest.mark.parametrize(
    "nickname, message",
    [("", "needed"), ("x" * 25, "too long"), ("a\nb", "control"), ("tab\tbed", "control"), (None, "text")],
)
def test_bad_nicknames_refused(room, nickname, message):
    with pytest.raises(ClassError, match=message):
        room.join(room.join_code, nickname)


def test_nicknames_escaped(room):
    """HTML in a nickname arrives escaped on every screen; 24 characters is the limit."""
    t = room.join(room.join_code, "<script>x</script>")
    assert t.nickname == "&lt;script&gt;x&lt;/script&gt;"
    assert room.teacher_screen(room.teacher_token).students[0].nickname == t.nickname
    assert room.join(room.join_code, "y" * 24).nickname == "y" * 24


def test_forged_replayed_late_and_disallowed_choices_change_nothing(room):
    """Another student's participant, a wrong or closed round, a second answer, a choice the model does
    not allow, an unknown code: all refused and logged, and the round's outcome is as without them."""
    a = room.join(room.join_code, "Ada")
    b = room.join(room.join_code, "Bo")
    assert not room.submit(a.rejoin_code, 1, Choice.STAY)  # no round open yet
    r = room.open_round(room.teacher_token)
    assert not room.submit(a.rejoin_code, r, Choice.STAY, participant=b.participant)
    assert not room.submit(b.student_id, r, Choice.STAY)  # the public id is not a rejoin code
    assert not room.submit(a.rejoin_code, r + 1, Choice.STAY)
    assert not room.submit(a.rejoin_code, r, "fly")
    not_allowed = next(c for c in Choice if c not in room.screen(a.rejoin_code).allowed)
    assert not room.submit(a.rejoin_code, r, not_allowed)
    assert room.submit(a.rejoin_code, r, Choice.STAY, participant=a.participant)
    assert not room.submit(a.rejoin_code, r, Choice.STAY)  # replayed
    events = [e.event for e in room.log]
    assert events == [
        "wrong round",
        "forged participant",
        "unknown rejoin code",
        "wrong round",
        "unknown choice",
        "choice not allowed",
        "replayed choice",
    ]
    assert not any(room.teacher_token in e.detail or a.rejoin_code in e.detail for e in room.log)
    room.close_round(room.teacher_token)
    assert not room.submit(b.rejoin_code, r, Choice.STAY)  # late
    rows = {row["nickname"]: row for row in room.rounds}
    assert rows["Ada"]["choice"] == "stay" and rows["Bo"]["choice"] == ""


def test_a_round_applies_choices_and_the_rest_follow_the_rules():
    """Students who answer do what they chose; a student who does not answer, and everyone else,
    ends the round exactly as in the same run without students."""
    room = Classroom(seed=1001, max_students=10, overrides=SMALL)
    plain = PowerModel(room.scenario, rng=1001)
    tickets = [room.join(room.join_code, f"s{i}") for i in range(10)]
    r = room.open_round(room.teacher_token)
    answered = {}
    for t in tickets[:6]:
        allowed = room.screen(t.rejoin_code).allowed
        choice = (
            Choice.CLIMB if Choice.CLIMB in allowed else Choice.SLIP if Choice.SLIP in allowed else allowed[0]
        )
        assert room.submit(t.rejoin_code, r, choice)
        answered[t.participant] = (choice, int(room.model.state.level[t.participant]))
    assert room.teacher_screen(room.teacher_token).answered == 6
    room.close_round(room.teacher_token)
    plain.step()
    for i, (choice, before) in answered.items():
        after = int(room.model.state.level[i])
        assert after == {Choice.CLIMB: before + 1, Choice.SLIP: before - 1}.get(choice, after)
    rest = np.setdiff1d(np.arange(plain.n_participants), list(answered))
    for name, a in state_arrays(room.model.state).items():
        np.testing.assert_array_equal(a[rest], state_arrays(plain.state)[name][rest], err_msg=name)
    assert [row["choice"] == "" for row in room.rounds] == [False] * 6 + [True] * 4


def test_crowd_steps_and_round_order(room):
    """The crowd runs between rounds, not during one; a round cannot be opened twice or closed unopened."""
    with pytest.raises(ClassError, match="no round is open"):
        room.close_round(room.teacher_token)
    room.run_crowd(room.teacher_token, 3)
    assert room.model.steps == 3
    room.open_round(room.teacher_token)
    with pytest.raises(ClassError, match="already open"):
        room.open_round(room.teacher_token)
    with pytest.raises(ClassError, match="close it"):
        room.run_crowd(room.teacher_token)
    room.close_round(room.teacher_token)
    assert room.model.steps == 4 and sorted(room.snapshots) == [0, 1, 2, 3, 4]


def test_subscribers_are_told_every_change_and_a_broken_one_stops_nothing(room):
    """Each change raises the version and calls every subscriber with it; a subscriber that fails is
    logged and the others still hear; after unsubscribing, nothing more."""
    heard = []

    def broken(_version):
        raise RuntimeError("page crashed")

    room.subscribe(broken)
    stop = room.subscribe(heard.append)
    t = room.join(room.join_code, "Ada")
    r = room.open_round(room.teacher_token)
    room.submit(t.rejoin_code, r, Choice.STAY)
    room.close_round(room.teacher_token)
    assert heard == [1, 2, 3, 4] and room.version == 4
    assert room.screen(t.rejoin_code).version == 4
    assert [e.event for e in room.log] == ["subscriber failed"] * 4
    assert not room.submit(t.rejoin_code, r, Choice.STAY)  # refused: the teacher's count of refusals changes
    assert heard == [1, 2, 3, 4, 5]
    stop()
    room.run_crowd(room.teacher_token, 1)
    assert heard == [1, 2, 3, 4, 5]


def test_shocks_reach_every_screen(room):
    t = room.join(room.join_code, "Ada")
    text = room.fire(room.teacher_token, "viral_moment")
    assert room.screen(t.rejoin_code).messages == (text,)
    assert "Viral moment" in text
    with pytest.raises(ClassError, match="unknown shock"):
        room.fire(room.teacher_token, "meteor")


def test_many_threads_at_once():
    """40 students join from 40 threads at once, then each sends its choice 5 times at once: every
    student gets a distinct participant, exactly one choice each counts, the other 4 are replays."""
    room = Classroom(seed=1002, max_students=40, overrides=SMALL)
    tickets: list = [None] * 40
    barrier = threading.Barrier(40)

    def join(k):
        barrier.wait()
        tickets[k] = room.join(room.join_code, f"s{k}")

    _run_threads(join, 40)
    assert len({t.participant for t in tickets}) == 40
    r = room.open_round(room.teacher_token)
    accepted = []
    barrier = threading.Barrier(200)

    def submit(k):
        barrier.wait()
        if room.submit(tickets[k // 5].rejoin_code, r, Choice.STAY):
            accepted.append(k // 5)

    _run_threads(submit, 200)
    assert sorted(accepted) == list(range(40))
    assert [e.event for e in room.log] == ["replayed choice"] * 160
    room.close_round(room.teacher_token)
    assert sum(row["choice"] == "stay" for row in room.rounds) == 40


def _run_threads(target, n: int) -> None:
    threads = [threading.Thread(target=target, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_a_student_who_leaves_mid_round_is_handed_back_to_the_rules():
    """A student answers, then leaves before the round closes: their choice is dropped and their
    participant does what the rules say, as in the run without students."""
    room = Classroom(seed=1009, max_students=2, overrides=SMALL)
    plain = PowerModel(room.scenario, rng=1009)
    t = room.join(room.join_code, "Ada")
    r = room.open_round(room.teacher_token)
    allowed = room.screen(t.rejoin_code).allowed
    assert room.submit(t.rejoin_code, r, Choice.CLIMB if Choice.CLIMB in allowed else allowed[-1])
    room.leave(t.rejoin_code)
    room.close_round(room.teacher_token)
    plain.step()
    for name, a in state_arrays(room.model.state).items():
        np.testing.assert_array_equal(a, state_arrays(plain.state)[name], err_msg=name)
    assert room.rounds == []  # nobody was in the class when the round closed


# ------------------------------------------------------------------ who is online


def _page(status: str = "connected"):
    """A page's kernel context as Solara keeps it: its pages' connection status, and whether it closed."""
    from types import SimpleNamespace

    from solara.server.kernel_context import PageStatus

    return SimpleNamespace(page_status={"page": PageStatus(status)}, closed_event=threading.Event())


def _online(room: Classroom) -> dict[str, bool]:
    return {s.nickname: s.connected for s in room.students()}


def test_a_dropped_page_shows_offline_and_back_online(room):
    """A page whose connection dropped without closing (a locked phone, a killed browser) keeps its kernel
    for a day: the presence check shows the student offline anyway, online again when the page reconnects,
    and offline for good once the page closes. Another connected page keeps a student online."""
    from solara.server.kernel_context import PageStatus

    from sim.faces.classroom.presence import OpenPages

    pages = OpenPages(check_seconds=3600)  # checked by hand below
    a, b = room.join(room.join_code, "Ada"), room.join(room.join_code, "Bo")
    phone, bo_phone, bo_laptop = _page(), _page(), _page()
    pages.opened(room, a.rejoin_code, phone)
    pages.opened(room, b.rejoin_code, bo_phone)
    pages.opened(room, b.rejoin_code, bo_laptop)
    pages.check()
    assert _online(room) == {"Ada": True, "Bo": True}

    phone.page_status["page"] = PageStatus.DISCONNECTED
    bo_phone.page_status["page"] = PageStatus.DISCONNECTED
    pages.check()
    assert _online(room) == {"Ada": False, "Bo": True}  # Bo's laptop is still connected

    phone.page_status["page"] = PageStatus.CONNECTED
    pages.check()
    assert _online(room) == {"Ada": True, "Bo": True}

    pages.closed(room, b.rejoin_code, bo_laptop)
    assert _online(room) == {"Ada": True, "Bo": False}  # only a dropped page left
    phone.closed_event.set()
    pages.check()
    assert _online(room) == {"Ada": False, "Bo": False}


def test_the_presence_watcher_notices_a_dropped_page_by_itself(room):
    """The watcher checks every few seconds without being asked, and stops when no page is open."""
    from solara.server.kernel_context import PageStatus

    from sim.faces.classroom.presence import OpenPages

    pages = OpenPages(check_seconds=0.02)
    a = room.join(room.join_code, "Ada")
    phone = _page()
    pages.opened(room, a.rejoin_code, phone)
    phone.page_status["page"] = PageStatus.DISCONNECTED
    changed = threading.Event()
    room.subscribe(lambda _version: changed.set())
    assert changed.wait(10) and _online(room) == {"Ada": False}
    pages.closed(room, a.rejoin_code, phone)
    watcher = pages._watcher
    assert watcher is None or (watcher.join(10) is None and not watcher.is_alive())
