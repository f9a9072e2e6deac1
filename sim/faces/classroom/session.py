"""A class session: students join a running model as its participants; the teacher runs the rounds.

One :class:`Classroom` per ``newpower class`` server. A round is one model step: each student who
answers chooses for their own participant (``PowerModel.choose``: the choice replaces the rules
for that participant, docs/ODD.md 7.21), everyone else, and every student who did not answer,
follows the rules. Between rounds the teacher can run the simulated crowd for a few steps and
fire the teaching page's shocks.

Security (issue 15): the teacher's calls need the teacher token (``secrets``); students join with
a short join code the teacher can rotate, and act only through their own unguessable rejoin code,
so a student can choose only for their own participant. A choice counts only for the open round,
once, and only if the model allows it now; anything else changes nothing and is logged
(:attr:`Classroom.log`). Nicknames are length-limited, refused with control characters, and
HTML-escaped. Every method takes one lock, so page threads can call them at once; subscribers
are told the new :attr:`Classroom.version` after each change, outside the lock.
"""

from __future__ import annotations

import contextlib
import hmac
import html
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.config.source import find_scenario
from sim.errors import ClassError, SimError
from sim.faces.classroom import screens
from sim.faces.classroom.placement import Placement, place
from sim.faces.classroom.screens import StudentRow, StudentScreen, TeacherScreen, Ticket
from sim.faces.teaching import lesson
from sim.model.catalog import load_scenario
from sim.model.choices import Choice
from sim.model.power_model import PowerModel

MAX_NICKNAME = 24
JOIN_CODE_LENGTH = 6
#: Join-code letters: no 0/O, 1/I/L, so a code read off a projector is typed right.
JOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
#: How many messages (shocks fired) a screen shows, newest first.
MESSAGES = 5

__all__ = ["Choice", "ClassModel", "Classroom", "Placement", "StudentScreen", "TeacherScreen", "Ticket"]


class ClassModel(PowerModel):
    """The class's model: a ``PowerModel`` with the teaching page's focus organization and lock,
    so the page's shock buttons (``lesson.fire``) work on it unchanged."""

    def __init__(self, scenario, rng, focus: str) -> None:
        self.lock = threading.RLock()
        super().__init__(scenario, rng=rng)
        self.focus = focus


@dataclass
class Student:
    """A student of the class and what they did."""

    student_id: str
    rejoin_code: str
    participant: int
    nickname: str
    joined_round: int
    connected: bool = True
    left: bool = False
    answers: dict[int, Choice] = field(default_factory=dict)

    def ticket(self) -> Ticket:
        return Ticket(self.student_id, self.rejoin_code, self.participant, self.nickname)


@dataclass(frozen=True)
class SecurityEvent:
    """A refused request: when, in which round, what, and about whom (never a secret)."""

    time: float
    round: int
    event: str
    detail: str


class Classroom:
    """A running class: the model, the students, the rounds, the security log.

    Args:
        scenario: a scenario file or library name (default: the teaching page's).
        placement: where students' participants are taken from.
        seed: the model's seed (default: the scenario's).
        max_students: students at most in the class at once.
        crowd_steps: steps :meth:`run_crowd` runs by default.
        allow_code: let the scenario import strategies named ``"module:Class"``.
        overrides: scenario values to change, as ``newpower run --set`` takes them (``{"network.n": 500}``).
        teacher_token, join_code: given by ``newpower class``, which printed them (default: new ones).
    """

    def __init__(
        self,
        scenario: Path | str | None = None,
        *,
        placement: Placement | str = Placement.SPREAD,
        seed: int | None = None,
        max_students: int = 60,
        crowd_steps: int = 1,
        allow_code: bool = False,
        overrides: dict | None = None,
        teacher_token: str | None = None,
        join_code: str | None = None,
    ) -> None:
        if not isinstance(max_students, int) or max_students < 1:
            raise ClassError(f"max_students must be an integer >= 1, got {max_students!r}")
        if not isinstance(crowd_steps, int) or crowd_steps < 1:
            raise ClassError(f"crowd_steps must be an integer >= 1, got {crowd_steps!r}")
        try:
            self.placement = Placement(placement)
        except ValueError:
            allowed = ", ".join(p.value for p in Placement)
            raise ClassError(f"unknown placement {placement!r}; allowed: {allowed}") from None
        self.path = find_scenario(str(scenario)) if scenario else lesson.DEFAULT_SCENARIO
        self.scenario = load_scenario(self.path, overrides=overrides or None, allow_code=allow_code)
        self.seed = self.scenario.seed if seed is None else int(seed)
        self.model = ClassModel(self.scenario, self.seed, lesson.focus_name(self.scenario, ""))
        self.max_students, self.crowd_steps = max_students, crowd_steps
        # Places come from a generator spawned from the model's: the model's own stream is untouched.
        (spawned,) = self.model.rng.spawn(1)
        self._places = place(self.model.adjacency, 2 * max_students, self.placement, spawned)
        self.teacher_token = (
            check_secret(teacher_token, "teacher token", 24) if teacher_token else new_token()
        )
        self.join_code = (
            check_secret(join_code.upper(), "join code", JOIN_CODE_LENGTH) if join_code else new_join_code()
        )
        self.version = 0
        self._told = 0  # the last version subscribers were told
        self.round = 0
        self.round_open = False
        self.log: list[SecurityEvent] = []
        self.rounds: list[dict] = []  # per student per round: what they saw, chose and did
        self.snapshots: dict[int, dict[str, np.ndarray]] = {}
        self._students: dict[str, Student] = {}  # by rejoin code
        self._by_participant: dict[int, Student] = {}
        self._events_before = len(self.model.events)
        self._lock = threading.RLock()
        self._subscribers: list[Callable[[int], None]] = []
        self._snapshot()

    # ------------------------------------------------------------ pushing updates
    def subscribe(self, callback: Callable[[int], None]) -> Callable[[], None]:
        """Call ``callback(version)`` after every change; returns the function that unsubscribes."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    @contextlib.contextmanager
    def _session(self):
        """Hold the lock for one request; afterwards (lock released) tell subscribers if anything changed."""
        try:
            with self._lock:
                yield
        finally:
            self._notify()

    def _changed(self) -> None:
        """Count a change (under the lock); :meth:`_session` tells the subscribers once it is released."""
        self.version += 1

    def _notify(self) -> None:
        with self._lock:
            if self.version == self._told:
                return
            self._told = version = self.version
            callbacks = list(self._subscribers)
        for callback in callbacks:
            try:
                callback(version)
            except Exception as exc:  # noqa: BLE001 - one broken page never stops the class
                with self._lock:  # logged without a new version: telling it would call the broken page again
                    self.log.append(self._event("subscriber failed", f"{type(exc).__name__}: {exc}"))

    def _event(self, event: str, detail: str) -> SecurityEvent:
        return SecurityEvent(time.time(), self.round, event, _one_line(detail))

    def _record(self, event: str, detail: str) -> None:
        """Log a refused request; the teacher's count of them changes, so this is a change too."""
        with self._lock:
            self.log.append(self._event(event, detail))
            self._changed()

    def _refuse(self, event: str, detail: str) -> ClassError:
        """Log a refused request and return the one-line error to raise."""
        self._record(event, detail)
        return ClassError(f"{event}: {detail}")

    # ------------------------------------------------------------ students
    def join(self, code: str, nickname: str) -> Ticket:
        """Join the class with the join code: a participant of the network, a ticket to keep."""
        with self._session():
            if not isinstance(code, str) or not _same(code.strip().upper(), self.join_code):
                raise self._refuse("wrong join code", "a join was refused")
            name = check_nickname(nickname)
            if any(s.nickname == name and not s.left for s in self._students.values()):
                raise ClassError(f"nickname {name!r} is taken; choose another")
            if sum(not s.left for s in self._students.values()) >= self.max_students:
                raise self._refuse("class full", f"{self.max_students} students already")
            participant = self._free_place()
            student = Student(secrets.token_hex(4), secrets.token_urlsafe(16), participant, name, self.round)
            self._students[student.rejoin_code] = student
            self._by_participant[participant] = student
            self._changed()
        return student.ticket()

    def _free_place(self) -> int:
        for participant in self._places:
            if int(participant) not in self._by_participant:
                return int(participant)
        raise self._refuse("class full", "no participant left to give")

    def _student(self, rejoin_code: str, what: str) -> Student:
        """The student with this rejoin code, or a logged refusal."""
        student = self._students.get(rejoin_code) if isinstance(rejoin_code, str) else None
        if student is None:
            raise self._refuse("unknown rejoin code", f"{what} refused")
        if student.left:
            raise self._refuse("student has left", f"{what} by {student.nickname} refused")
        return student

    def rejoin(self, rejoin_code: str) -> Ticket:
        """Get one's participant back (a reload, a lost connection)."""
        with self._session():
            student = self._student(rejoin_code, "rejoin")
            student.connected = True
            self._changed()
        return student.ticket()

    def set_connected(self, rejoin_code: str, connected: bool) -> None:
        """The page says whether a student's screen is open (the teacher view shows it)."""
        with self._session():
            student = self._students.get(rejoin_code)
            if student is None or student.left or student.connected == connected:
                return
            student.connected = connected
            self._changed()

    def leave(self, rejoin_code: str) -> None:
        """Leave the class: the participant follows the model's rules again."""
        with self._session():
            student = self._student(rejoin_code, "leave")
            student.left, student.connected = True, False
            if self.round_open:
                student.answers.pop(self.round, None)  # back to the rules from this round on
            self._changed()

    def submit(
        self, rejoin_code: str, round: int, choice: Choice | str, participant: int | None = None
    ) -> bool:
        """A student's choice for the open round. False (and logged) if refused: an unknown code,
        another student's participant, a round not open, a second answer, a choice not allowed."""
        with self._session():
            try:
                student = self._student(rejoin_code, "choice")
            except ClassError:
                return False
            refusal = self._check_choice(student, round, choice, participant)
            if refusal:
                self._record(*refusal)
                return False
            student.answers[self.round] = Choice.parse(choice)
            self._changed()
        return True

    def _check_choice(self, student: Student, round, choice, participant) -> tuple[str, str] | None:
        who = f"{student.nickname} (participant {student.participant})"
        if participant is not None and participant != student.participant:
            return "forged participant", f"{who} tried to choose for participant {participant!r}"
        if not self.round_open or round != self.round:
            return (
                "wrong round",
                f"{who} answered round {round!r}; open: {self.round if self.round_open else 'none'}",
            )
        if self.round in student.answers:
            return "replayed choice", f"{who} answered round {self.round} twice"
        try:
            parsed = Choice.parse(choice)
        except ValueError:
            return "unknown choice", f"{who} sent {str(choice)[:40]!r}"
        if parsed not in self.model.allowed_choices(student.participant):
            return "choice not allowed", f"{who} cannot {parsed.value} now"
        return None

    def screen(self, rejoin_code: str) -> StudentScreen:
        """What this student's page shows now."""
        with self._session():
            student = self._student(rejoin_code, "screen")
            m, i = self.model, student.participant
            offer, take = screens.offer_and_take(m, i)
            org = m.organization_of_group(int(m.state.group[i]))
            return StudentScreen(
                nickname=student.nickname,
                round=self.round,
                round_open=self.round_open,
                answered=self.round_open and self.round in student.answers,
                level=screens.level_name(m.state.level[i]),
                organization=org.name if org else None,
                neighbours_last_round=screens.neighbourhood(m, i, self._levels_before).as_counts(),
                offer=offer,
                take=take,
                allowed=m.allowed_choices(i) if self.round_open else (),
                messages=self._messages(),
                version=self.version,
            )

    def _messages(self) -> tuple[str, ...]:
        fired = self.model.events[self._events_before :]
        return tuple(lesson.describe_event(e) for e in reversed(fired[-MESSAGES:]))

    def students(self) -> list[Student]:
        """Every student who joined, in joining order (a copy of the list)."""
        with self._lock:
            return list(self._students.values())

    # ------------------------------------------------------------ the teacher
    def check_token(self, token: str) -> None:
        """Refuse (and log) a call without the teacher's token."""
        if not isinstance(token, str) or not _same(token, self.teacher_token):
            raise self._refuse("bad teacher token", "a teacher's request was refused")

    def open_round(self, token: str) -> int:
        """Open the next round for answers; returns its number."""
        with self._session():
            self.check_token(token)
            if self.round_open:
                raise ClassError(f"round {self.round} is already open; close it first")
            self.round += 1
            self.round_open = True
            self._changed()
        return self.round

    def close_round(self, token: str) -> None:
        """Close the open round: one model step, answered students' choices replacing the rules for
        their participants (a choice no longer allowed, after a shock, is dropped and logged)."""
        with self._session():
            self.check_token(token)
            if not self.round_open:
                raise ClassError("no round is open; open one first")
            present = [s for s in self._students.values() if not s.left]
            chosen = {}
            for s in present:
                choice = s.answers.get(self.round)
                if choice is not None and choice not in self.model.allowed_choices(s.participant):
                    self._record("choice no longer allowed", f"{s.nickname} could no longer {choice.value}")
                    del s.answers[self.round]
                elif choice is not None:
                    chosen[s.participant] = choice
            before = {s.participant: self._seen(s) for s in present}
            self.model.choose(chosen)
            self._step()
            self.rounds.extend(self._round_rows(present, before))
            self.round_open = False
            self._changed()

    def _seen(self, student: Student) -> dict:
        """What a student's participant had around it when the round closed (before the step)."""
        m, i = self.model, student.participant
        near = screens.neighbourhood(m, i, self._levels_before)
        return {
            "level_before": int(m.state.level[i]),
            "group_before": int(m.state.group[i]),
            "threshold": float(m.state.threshold[i]),
            "degree": near.degree,
            "neighbours_above": near.above,
            "neighbours_climbed": near.climbed,
        }

    def _round_rows(self, present: list[Student], before: dict[int, dict]) -> list[dict]:
        s = self.model.state
        rows = []
        for student in present:
            i, seen = student.participant, before[student.participant]
            choice = student.answers.get(self.round)
            rows.append(
                {
                    "round": self.round,
                    "step": int(self.model.steps),
                    "student_id": student.student_id,
                    "nickname": student.nickname,
                    "participant": i,
                    "choice": choice.value if choice else "",
                    **seen,
                    "level_after": int(s.level[i]),
                    "group_after": int(s.group[i]),
                }
            )
        return rows

    @property
    def _levels_before(self) -> np.ndarray:
        """Everyone's levels before the last step (now, before the first): its snapshot."""
        steps = int(self.model.steps)
        return self.snapshots.get(steps - 1, self.snapshots[steps])["level"]

    def _step(self) -> None:
        with self.model.lock:
            self.model.step()
        self._snapshot()

    def _snapshot(self) -> None:
        s = self.model.state
        self.snapshots[int(self.model.steps)] = {"level": s.level.copy(), "group": s.group.copy()}

    def run_crowd(self, token: str, steps: int | None = None) -> None:
        """Run the simulated crowd (students' participants following the rules) between rounds."""
        with self._session():
            self.check_token(token)
            steps = self.crowd_steps if steps is None else steps
            if self.round_open:
                raise ClassError(f"round {self.round} is open; close it before running the crowd")
            if not isinstance(steps, int) or not 1 <= steps <= 1000:
                raise ClassError(f"steps must be an integer from 1 to 1000, got {steps!r}")
            for _ in range(steps):
                self._step()
            self._changed()

    def fire(self, token: str, kind: str) -> str:
        """Fire one of the teaching page's shocks now; returns the line every screen shows."""
        with self._session():
            self.check_token(token)
            buttons = {b.kind: b for b in lesson.SHOCK_BUTTONS}
            if kind not in buttons:
                raise ClassError(f"unknown shock {kind!r}; allowed: {', '.join(buttons)}")
            if not lesson.can_fire(self.model, buttons[kind]):
                raise ClassError(f"shock {kind!r} cannot fire now: it needs a second organization")
            try:
                record = lesson.fire(self.model, kind)
            except SimError as exc:
                raise ClassError(f"shock {kind!r} refused: {exc}") from None
            text = lesson.describe_event({"step": self.model.steps, "kind": kind, **record})
            self._changed()
        return text

    def rotate_join_code(self, token: str) -> str:
        """A new join code (the old one stops working; students already in keep their places)."""
        with self._session():
            self.check_token(token)
            self.join_code = new_join_code()
            self._changed()
        return self.join_code

    def teacher_screen(self, token: str) -> TeacherScreen:
        """What the teacher's projected view shows."""
        with self._session():
            self.check_token(token)
            rows = tuple(self._row(s) for s in self._students.values())
            return TeacherScreen(
                round=self.round,
                round_open=self.round_open,
                step=int(self.model.steps),
                join_code=self.join_code,
                students=rows,
                answered=sum(r.answered for r in rows),
                counts_by_level=screens.counts_by_level(self.model),
                messages=self._messages(),
                security_events=len(self.log),
                version=self.version,
                model=self.model,
                lock=self._lock,
            )

    def _row(self, s: Student) -> StudentRow:
        m, i = self.model, s.participant
        org = m.organization_of_group(int(m.state.group[i]))
        return StudentRow(
            s.student_id,
            s.nickname,
            i,
            self.round_open and self.round in s.answers,
            s.connected,
            s.left,
            screens.level_name(m.state.level[i]),
            org.name if org else None,
        )

    # ------------------------------------------------------------ afterwards
    def debrief(self):
        """The class against the simulated crowd (:class:`~sim.faces.classroom.debrief.Debrief`)."""
        from sim.faces.classroom.debrief import debrief

        with self._lock:
            return debrief(self)

    def write_results(self, out: Path | str | None = None, *, base: Path | str = "results") -> Path:
        """A results folder like ``newpower run``'s, with the class's tables and the security log."""
        from sim.faces.classroom.results import write_class_results

        with self._lock:
            return write_class_results(self, out, base=base)


def check_nickname(nickname: str) -> str:
    """A nickname as shown: stripped, 1-24 characters, no control characters, HTML-escaped."""
    if not isinstance(nickname, str):
        raise ClassError("a nickname must be text")
    name = nickname.strip()
    if not name:
        raise ClassError("a nickname is needed; allowed: 1-24 characters")
    if len(name) > MAX_NICKNAME:
        raise ClassError(f"nickname too long ({len(name)} characters); allowed: 1-{MAX_NICKNAME}")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise ClassError("a nickname cannot hold control characters; allowed: letters, digits, spaces, signs")
    return html.escape(name)


def new_join_code() -> str:
    """A fresh join code: six letters and digits that cannot be misread."""
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def new_token() -> str:
    """A fresh teacher token (192 random bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def check_secret(value: str, what: str, length: int) -> str:
    """A given token or join code, if it is at least ``length`` URL-safe characters."""
    if not isinstance(value, str) or len(value) < length or not all(c.isalnum() or c in "-_" for c in value):
        raise ClassError(f"the {what} must be at least {length} letters, digits, '-' or '_'")
    return value


def _same(given: str, secret: str) -> bool:
    """Constant-time comparison of a given code with a secret (any text: compared as UTF-8 bytes)."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), secret.encode("utf-8"))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:200]
