"""The student's page in class mode: phone-sized, one participant of the network.

A student joins with the join code and a nickname, and then sees what their participant sees:
their rung and organization, what their neighbours did in the last round, what the organization
offers and takes, the round's state, the shocks the teacher fired, and one button per choice the
model allows them now. The page renders only :class:`~sim.faces.classroom.screens.StudentScreen`
(plain data the Classroom builds under its lock); every click goes through the Classroom, which
checks it (``Classroom.submit``), so what the page sends can never act for another participant.

The browser keeps the student's rejoin code (localStorage, ``rejoin_store.vue``): a reload or a
lost connection gives the same participant back. Nicknames arrive HTML-escaped from the
Classroom and are shown as text, never as markup.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

import solara

from sim.errors import ClassError
from sim.faces.classroom.live import use_live
from sim.faces.classroom.presence import OPEN_PAGES
from sim.faces.classroom.screens import StudentScreen, Ticket
from sim.faces.classroom.session import Classroom
from sim.model.choices import Choice
from sim.vocabulary import Level

logger = logging.getLogger(__name__)

#: The browser's localStorage key for the rejoin code.
STORAGE_KEY = "newpower-class-rejoin"
LEVELS = [lv.name.lower().replace("_", "-") for lv in Level]

STUDENT_CSS = """
.np-student { max-width: 380px; margin: 0 auto; padding: 8px 10px; font-size: 17px; line-height: 1.35; }
.np-student h1 { font-size: 22px; margin: 4px 0; }
.np-student .np-box { background: #f4f4f6; border-radius: 8px; padding: 6px 10px; margin: 6px 0; }
.np-student .np-big { font-size: 26px; font-weight: 700; }
.np-student .np-round-state { font-weight: 700; }
.np-student .np-open { color: #1b5e20; }
.np-student .np-closed { color: #555; }
.np-student .np-nbrs { display: grid; grid-template-columns: 1fr auto; gap: 0 12px; }
.np-student .np-message { background: #fff8e1; border-left: 5px solid #f9a825; padding: 4px 8px; margin: 4px 0; }
.np-student .np-refused { color: #b71c1c; font-weight: 700; }
.np-student .np-choices .v-btn { margin: 6px 0; text-transform: none !important; font-size: 18px !important; }
.np-student .np-small { font-size: 13px; color: #555; word-break: break-all; }
"""


@solara.component_vue("choices.vue")
def ChoiceButtons(
    round: int, round_open: bool, participant: int, choices: list, event_choose: Callable[[dict], None]
):
    """One button per allowed choice (choices.vue); a click sends round, choice and participant."""


@solara.component_vue("rejoin_store.vue")
def RejoinStore(storage_key: str, code: str, event_found: Callable[[str], None]):
    """Keeps the rejoin code in the browser's localStorage (rejoin_store.vue)."""


# ------------------------------------------------------------------ what the page says


def choice_label(choice: Choice, screen: StudentScreen) -> str:
    """A choice's button, in the words of the student's rung and organization."""
    here = LEVELS.index(screen.level) if screen.level in LEVELS else 0
    if choice is Choice.CLIMB:
        return f"Climb to {LEVELS[min(here + 1, len(LEVELS) - 1)]}"
    if choice is Choice.STAY:
        return f"Stay at {screen.level}"
    if choice is Choice.SLIP:
        return f"Slip to {LEVELS[max(here - 1, 0)]}"
    if choice is Choice.LEAVE:
        return f"Leave {screen.organization}" if screen.organization else "Leave"
    return "Join the rival" if screen.organization else "Join an organization"


def neighbour_lines(counts: dict[str, int]) -> list[tuple[str, int]]:
    """What the student reads about their neighbours: how many share, fund, climbed, left."""

    def at_least(level: str) -> int:
        return sum(counts.get(name, 0) for name in LEVELS[LEVELS.index(level) :])

    return [
        ("share or more", at_least("sharing")),
        ("fund or more", at_least("funding")),
        ("climbed last round", counts.get("climbed", 0)),
        ("left last round", counts.get("left", 0)),
        ("neighbours in all", counts.get("total", 0)),
    ]


def round_state(screen: StudentScreen, answered: bool | None = None) -> tuple[str, str]:
    """The round's state in words, and its CSS class (``answered``: as this page knows it)."""
    answered = screen.answered if answered is None else answered
    if screen.round == 0:
        return "Waiting for the teacher to open the first round.", "np-closed"
    if screen.round_open and answered:
        return f"Round {screen.round}: your answer is in. Wait for the teacher.", "np-open"
    if screen.round_open:
        return f"Round {screen.round} is open: choose!", "np-open"
    return f"Round {screen.round} is closed. Wait for the next one.", "np-closed"


def parse_click(data: object) -> tuple[int, str, int | None] | None:
    """A click's message from the page (round, choice, participant); None if it is malformed."""
    if not isinstance(data, dict):
        return None
    round_, choice, participant = data.get("round"), data.get("choice"), data.get("participant")
    if not isinstance(round_, int) or not isinstance(choice, str):
        return None
    return round_, choice[:40], participant if isinstance(participant, int) else None


# ------------------------------------------------------------------ the page


@solara.component
def StudentScreenView(classroom: Classroom, ticket: Ticket, on_leave: Callable[[], None]):
    """A joined student's screen, refreshed whenever the class changes."""

    def fetch() -> StudentScreen | None:
        try:
            return classroom.screen(ticket.rejoin_code)
        except ClassError:
            return None  # the student left (or the code is no longer known)

    screen = use_live(
        classroom.subscribe,
        fetch,
        key=_without_version,
        dependencies=[ticket.rejoin_code],
        gate=lambda: class_moment(classroom),
    )
    answer, set_answer = solara.use_state("")  # what this page sent this round ("" = nothing)
    refused, set_refused = solara.use_state("")

    def connect():
        from solara.server import kernel_context

        context = kernel_context.get_current_context()
        OPEN_PAGES.opened(classroom, ticket.rejoin_code, context)
        return lambda: OPEN_PAGES.closed(classroom, ticket.rejoin_code, context)

    solara.use_effect(connect, [ticket.rejoin_code])

    if screen is None:
        with solara.Column(classes=["np-student"]) as gone:
            solara.Text("You are no longer in the class.", classes=["np-gone"])
            solara.Button("Join again", on_click=on_leave)
        return gone

    round_now = screen.round if screen.round_open else -1
    shown_answer = answer if answer.startswith(f"{round_now}:") else ""
    answered = screen.answered or bool(shown_answer)  # this page's own answer shows at once

    def on_choose(data: dict) -> None:
        parsed = parse_click(data)
        if parsed is None:
            logger.warning("classroom: a malformed choice message from %s was ignored", ticket.student_id)
            set_refused("That answer was not understood.")
            return
        round_, choice, participant = parsed
        if classroom.submit(ticket.rejoin_code, round_, choice, participant=participant):
            set_answer(f"{round_}:{choice}")
            set_refused("")
        else:
            set_refused("That answer was not accepted (the round may have closed).")

    def leave() -> None:
        try:
            classroom.leave(ticket.rejoin_code)
        except ClassError:
            pass  # already gone
        on_leave()

    chose = shown_answer.split(":", 1)[1].replace("_", " ") if shown_answer else ""
    with solara.Column(classes=["np-student"], gap="0px") as page:
        # One HTML block, not a widget per line: a round's close then costs each phone one
        # message instead of twenty (60 phones on two cores; see benchmarks/bench_class.py).
        solara.HTML(tag="div", unsafe_innerHTML=screen_html(screen, answered, chose, refused))
        ChoiceButtons(
            round=screen.round,
            round_open=screen.round_open and not answered,
            participant=ticket.participant,
            choices=[{"value": c.value, "label": choice_label(c, screen)} for c in screen.allowed],
            event_choose=on_choose,
        )
        solara.HTML(
            tag="div",
            unsafe_innerHTML="".join(
                f"<div class='np-message'>{html.escape(m)}</div>" for m in screen.messages
            ),
        )
        solara.Text(f"Rejoin code: {ticket.rejoin_code}", classes=["np-small", "np-rejoin-code"])
        solara.Button("Leave the class", text=True, small=True, on_click=leave, classes=["np-leave"])
    return page


def screen_html(screen: StudentScreen, answered: bool, chose: str, refused: str) -> str:
    """The student's screen above the buttons, as HTML; every text escaped (the nickname arrives
    escaped from the Classroom)."""
    e = html.escape
    text, state_class = round_state(screen, answered)
    where = f" in {e(screen.organization)}" if screen.organization else " in no organization"
    neighbours = "".join(
        f"<span>{e(label)}</span><span class='np-nbr-{label.split()[0]}'>{value}</span>"
        for label, value in neighbour_lines(screen.neighbours_last_round)
    )
    parts = [
        f"<div class='np-nickname'>Hello, {screen.nickname}</div>",
        f"<div class='np-round-state {state_class}'>{e(text)}</div>",
        f"<div class='np-round' style='display: none'>{screen.round}</div>",
        (
            f"<div class='np-box'>You are <span class='np-big np-level'>{e(screen.level)}</span>"
            f"<span class='np-organization'>{where}</span></div>"
        ),
        f"<div class='np-box np-nbrs'>{neighbours}</div>",
        (
            f"<div class='np-box'><span class='np-offer'>{e(screen.offer)}</span><br>"
            f"<span class='np-take'>{e(screen.take)}</span></div>"
        ),
    ]
    if chose:
        parts.append(f"<div class='np-answer'>You chose: {e(chose)}</div>")
    if refused:
        parts.append(f"<div class='np-refused'>{e(refused)}</div>")
    return "".join(parts)


def class_moment(classroom: Classroom) -> tuple:
    """What every student's screen depends on besides the student's own acts: the round, the
    model's step, the shocks fired. Read without the lock: a stale reading only costs a fetch."""
    model = classroom.model
    return classroom.round, classroom.round_open, int(model.steps), len(model.events)


def _without_version(screen: StudentScreen | None):
    """What a screen shows, without the class-wide version (which changes when anyone acts)."""
    if screen is None:
        return None
    return (
        screen.round,
        screen.round_open,
        screen.answered,
        screen.level,
        screen.organization,
        tuple(sorted(screen.neighbours_last_round.items())),
        screen.offer,
        screen.take,
        screen.allowed,
        screen.messages,
    )


@solara.component
def JoinForm(classroom: Classroom, on_ticket: Callable[[Ticket], None]):
    """The join code and a nickname (or a rejoin code from another device)."""
    code, set_code = solara.use_state("")
    nickname, set_nickname = solara.use_state("")
    rejoin, set_rejoin = solara.use_state("")
    error, set_error = solara.use_state("")

    def join() -> None:
        try:
            on_ticket(classroom.join(code, nickname))
        except ClassError as exc:
            set_error(str(exc))

    def use_rejoin() -> None:
        try:
            on_ticket(classroom.rejoin(rejoin.strip()))
        except ClassError:
            set_error("That rejoin code is not known in this class.")

    with solara.Column(classes=["np-student", "np-join"]) as form:
        solara.Text("Join the class", classes=["np-big"])
        solara.InputText("Join code", value=code, on_value=set_code, continuous_update=True)
        solara.InputText("Nickname", value=nickname, on_value=set_nickname, continuous_update=True)
        solara.Button("Join", color="primary", on_click=join, classes=["np-join-button"], block=True)
        if error:
            solara.Text(error, classes=["np-refused", "np-join-error"])
        with solara.Details("Joined before on another device?"):
            solara.InputText("Rejoin code", value=rejoin, on_value=set_rejoin, continuous_update=True)
            solara.Button("Rejoin", on_click=use_rejoin, classes=["np-rejoin-button"])
    return form


@solara.component
def StudentPage(classroom: Classroom):
    """The join form, then the student's screen; the browser keeps the rejoin code."""
    ticket, set_ticket = solara.use_state(None)
    checked, set_checked = solara.use_state(False)  # whether the browser said what it stored

    def on_found(stored: str) -> None:
        if stored and ticket is None:
            try:
                set_ticket(classroom.rejoin(stored))
            except ClassError:
                pass  # a code from an earlier class, or one that left: join anew
        set_checked(True)

    solara.Style(STUDENT_CSS)
    solara.Title("newpower class")
    RejoinStore(storage_key=STORAGE_KEY, code=ticket.rejoin_code if ticket else "", event_found=on_found)
    if not checked:
        solara.Text("Connecting\u2026", classes=["np-student"])
    elif ticket is None:
        JoinForm(classroom, set_ticket)
    else:
        StudentScreenView(classroom, ticket, lambda: set_ticket(None)).key(ticket.rejoin_code)
