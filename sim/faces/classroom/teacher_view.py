"""The teacher's page in class mode: projected in front of the class.

It shows where and how to join (the address, the join code, a QR code of the address, a button
that rotates the code), the rounds (open, close, run the simulated crowd between rounds), the
teaching page's shock buttons, who has answered, the network with the students' participants
ringed, and the teaching page's participation and compass charts. After the rounds, the debrief
and "save results". Every action goes through the Classroom with the teacher's token (the page
reads it from its address, ``/teacher?token=...``); a page without the right token shows nothing
of the class.
"""

from __future__ import annotations

import html
import logging
import weakref
from collections.abc import Callable
from urllib.parse import parse_qs

import numpy as np
import segno
import solara

from sim.errors import ClassError
from sim.faces.classroom.live import use_live
from sim.faces.classroom.screens import TeacherScreen
from sim.faces.classroom.session import Classroom
from sim.faces.teaching.lesson import SHOCK_BUTTONS, can_fire
from sim.faces.teaching.views import CompassView, LevelsView, NetworkView

logger = logging.getLogger(__name__)

TEACHER_CSS = """
.np-teacher { font-size: 17px; line-height: 1.3; padding: 6px 12px; }
.np-teacher h2 { font-size: 24px; margin: 0 0 4px 0; }
.np-join-box { display: flex; gap: 14px; align-items: center; background: #f4f4f6; border-radius: 8px; padding: 6px 10px; }
.np-join-code { font-size: 44px; font-weight: 800; letter-spacing: 4px; font-family: monospace; }
.np-join-address { font-size: 20px; font-family: monospace; }
.np-qr svg { width: 150px; height: 150px; display: block; }
.np-controls { display: flex; flex-wrap: wrap; gap: 6px; margin: 6px 0; align-items: center; }
.np-controls .v-btn { text-transform: none !important; font-size: 16px !important; letter-spacing: 0 !important; }
.np-round-line { font-size: 22px; font-weight: 700; }
.np-students { columns: 3; column-gap: 14px; font-size: 15px; }
.np-student-row { break-inside: avoid; }
.np-answered { color: #1b5e20; font-weight: 700; }
.np-waiting { color: #999; }
.np-offline { color: #b71c1c; }
.np-message { background: #fff8e1; border-left: 5px solid #f9a825; padding: 3px 8px; margin: 2px 0; }
.np-error { color: #b71c1c; font-weight: 700; }
.np-figure { width: 100%; }
.np-debrief table { border-collapse: collapse; font-size: 15px; }
.np-debrief td, .np-debrief th { border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: left; }
"""


def qr_svg(address: str) -> str:
    """The join address as a QR code (inline SVG), made on this machine: no internet needed."""
    return segno.make(address, error="m").svg_inline(scale=4, border=2)


def token_of(search: str | None) -> str:
    """The teacher's token from the page's query string (``token=...``; "" if absent)."""
    values = parse_qs(search or "").get("token", [""])
    return values[0]


# ------------------------------------------------------------------ the figures


class ClassNetworkView(NetworkView):
    """The teaching page's network, with the students' participants ringed in black."""

    def __init__(self, model) -> None:
        super().__init__(model)
        self._index = np.full(model.n_participants, -1, dtype=np.int64)
        self._index[self.nodes] = np.arange(self.nodes.size)
        self._xy = np.asarray(self.dots.get_offsets())
        ax = self.dots.axes
        self.students = ax.scatter(
            [], [], s=150, facecolors="none", edgecolors="#000000", linewidths=2.0, zorder=3
        )

    def png_with_students(self, model, participants: list[int]) -> bytes:
        """The network now, with a ring around each student's participant."""
        shown = self._index[np.asarray(participants, dtype=np.int64)] if participants else np.array([], int)
        shown = shown[shown >= 0]
        self.students.set_offsets(self._xy[shown] if shown.size else np.zeros((0, 2)))
        self.dots.set_facecolor(self.palette[model.state.level[self.nodes]])
        self.title.set_text(f"The network at step {model.steps}: students ringed")
        self.subtitle.set_text(f"{model.active_fraction:.0%} take part\n(sharing or more)")
        return self.render([self.dots, self.students, self.title, self.subtitle], key=None)


class ClassViews:
    """The teacher page's figures of one class (built once, redrawn when the model moves)."""

    def __init__(self, model) -> None:
        self.network = ClassNetworkView(model)
        self.levels = LevelsView()
        self.compass = CompassView()
        self._drawn: dict[str, tuple] = {}

    def draw(self, screen: TeacherScreen) -> dict[str, bytes]:
        """PNGs of the network, participation and compass; redrawn only when what they show changed."""
        model = screen.model
        participants = sorted(r.participant for r in screen.students if not r.left)
        with screen.lock:  # close_round steps the model: never draw it halfway
            key = (int(model.steps), len(model.events), len(model.organizations))
            out = {}
            for name, draw in (
                ("network", lambda: self.network.png_with_students(model, participants)),
                ("levels", lambda: self.levels.png(model)),
                ("compass", lambda: self.compass.png(model)),
            ):
                this_key = key + ((tuple(participants),) if name == "network" else ())
                cached = self._drawn.get(name)
                if cached is None or cached[0] != this_key:
                    self._drawn[name] = (this_key, draw())
                out[name] = self._drawn[name][1]
        return out


_VIEWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def class_views(model) -> ClassViews:
    """The figures of this class's model (one set per model)."""
    views = _VIEWS.get(model)
    if views is None:
        views = _VIEWS[model] = ClassViews(model)
    return views


# ------------------------------------------------------------------ the page


@solara.component
def JoinPanel(classroom: Classroom, token: str, screen: TeacherScreen, address: str):
    """Where and how students join, with a QR code of the address."""
    svg = solara.use_memo(lambda: qr_svg(address), [address])

    def rotate() -> None:
        classroom.rotate_join_code(token)

    with solara.Div(classes=["np-join-box"]) as panel:
        solara.HTML(tag="div", unsafe_innerHTML=svg, classes=["np-qr"])
        with solara.Column(gap="2px", style={"background": "transparent"}):
            solara.Text("Join at", classes=["np-label"])
            solara.Text(address, classes=["np-join-address"])
            solara.Text("with the code", classes=["np-label"])
            solara.Text(screen.join_code, classes=["np-join-code"])
            solara.Button("New code", on_click=rotate, small=True, classes=["np-rotate"])
    return panel


@solara.component
def RoundPanel(classroom: Classroom, token: str, screen: TeacherScreen):
    """The rounds, the crowd between them and the shock buttons."""
    steps, set_steps = solara.use_state(classroom.crowd_steps)
    error, set_error = solara.use_state("")

    def act(call: Callable[[], object]) -> None:
        try:
            call()
            set_error("")
        except ClassError as exc:
            set_error(str(exc))

    present = [r for r in screen.students if not r.left]
    if screen.round_open:
        line = f"Round {screen.round} open: {screen.answered} of {len(present)} answered"
    elif screen.round:
        line = f"Round {screen.round} closed (step {screen.step})"
    else:
        line = f"No round yet (step {screen.step}); {len(present)} students joined"
    with solara.Column(gap="2px") as panel:
        solara.Text(line, classes=["np-round-line"])
        solara.Text(str(screen.round), classes=["np-round"], style={"display": "none"})
        with solara.Div(classes=["np-controls"]):
            solara.Button(
                "Open round",
                color="success",
                disabled=screen.round_open,
                on_click=lambda: act(lambda: classroom.open_round(token)),
                classes=["np-open-round"],
            )
            solara.Button(
                "Close round",
                color="error",
                disabled=not screen.round_open,
                on_click=lambda: act(lambda: classroom.close_round(token)),
                classes=["np-close-round"],
            )
            solara.Button(
                f"Run the crowd {steps} step{'s' if steps != 1 else ''}",
                disabled=screen.round_open,
                on_click=lambda: act(lambda: classroom.run_crowd(token, steps)),
                classes=["np-run-crowd"],
            )
            solara.IntSlider("steps", value=steps, on_value=set_steps, min=1, max=20)
        with solara.Div(classes=["np-controls"]):
            for button in SHOCK_BUTTONS:
                solara.Button(
                    button.label,
                    on_click=lambda kind=button.kind: act(lambda: classroom.fire(token, kind)),
                    disabled=not can_fire(screen.model, button),
                    color=button.colour,
                    dark=True,
                    classes=[f"np-shock-{button.kind}"],
                )
        if error:
            solara.Text(error, classes=["np-error"])
        for message in screen.messages[:2]:
            solara.Text(message, classes=["np-message"])
    return panel


@solara.component
def StudentList(screen: TeacherScreen):
    """Who is in the class, their rung, and who has answered this round."""
    rows = []
    for row in screen.students:
        if row.left:
            continue
        if not row.connected:
            mark, css = "offline", "np-offline"
        elif screen.round_open:
            mark, css = ("answered", "np-answered") if row.answered else ("\u2026", "np-waiting")
        else:
            mark, css = "", ""
        # row.nickname is HTML-escaped by the Classroom: shown as markup it reads as typed
        rows.append(
            f"<div class='np-student-row'>{row.nickname} \u00b7 {html.escape(row.level)} "
            f"<span class='{css}'>{html.escape(mark)}</span></div>"
        )
    if screen.security_events:
        rows.append(f"<div class='np-security'>{screen.security_events} refused requests logged</div>")
    # One HTML block: 60 rows as one message when one student answers.
    return solara.HTML(tag="div", unsafe_innerHTML="".join(rows), classes=["np-students"])


@solara.component
def Figures(screen: TeacherScreen):
    """The network with the students ringed, participation by level, the compass."""
    pngs = class_views(screen.model).draw(screen)
    with solara.Columns([4, 3, 3]) as panel:
        solara.Image(pngs["network"], width="100%", classes=["np-figure", "np-network"])
        solara.Image(pngs["levels"], width="100%", classes=["np-figure", "np-levels"])
        solara.Image(pngs["compass"], width="100%", classes=["np-figure", "np-compass"])
    return panel


@solara.component
def ClassPanel(classroom: Classroom, token: str, address: str):
    """The class as the teacher runs it: join panel, rounds, students, figures."""
    screen = use_live(
        classroom.subscribe,
        lambda: classroom.teacher_screen(token),
        key=lambda s: (s.version,),
        projector=True,
    )
    with solara.Column(classes=["np-teacher"]) as panel:
        with solara.Columns([1, 1]):
            JoinPanel(classroom, token, screen, address)
            RoundPanel(classroom, token, screen)
        StudentList(screen)
        Figures(screen)
    return panel


@solara.component
def TeacherPage(classroom: Classroom, address: str, debrief_view: Callable | None = None):
    """The teacher's page: the class with the right token, nothing of it without."""
    router = solara.use_router()
    token = token_of(router.search)
    allowed = solara.use_memo(lambda: _token_ok(classroom, token), [token])
    showing, set_showing = solara.use_state("class")
    solara.Style(TEACHER_CSS)
    solara.Title("newpower class: teacher")
    if not allowed:
        solara.Text(
            "This page needs the teacher's token: open the teacher's address that `newpower class` printed.",
            classes=["np-teacher", "np-error", "np-no-token"],
        )
        return
    with solara.Row(classes=["np-teacher"]):
        solara.Button("The class", on_click=lambda: set_showing("class"), classes=["np-show-class"])
        solara.Button("Debrief", on_click=lambda: set_showing("debrief"), classes=["np-show-debrief"])
    if showing == "debrief" and debrief_view is not None:
        debrief_view(classroom, token)
    else:
        ClassPanel(classroom, token, address)


def _token_ok(classroom: Classroom, token: str) -> bool:
    try:
        classroom.check_token(token)
    except ClassError:
        return False
    return True
