"""Class mode's pages (Solara): students join at ``/``, the teacher runs the class at ``/teacher``.

``newpower class`` serves this file (``solara run sim/faces/classroom/app.py``); every page of the
server process shares its one Classroom (``sim.faces.classroom.serve.current``). Each browser tab
is its own Solara session; a change any page makes (the teacher closing a round, a student
answering) reaches every other open page through the Classroom's subscribers
(:mod:`sim.faces.classroom.live`).

* ``/``: the student's phone page (:mod:`sim.faces.classroom.student_view`);
* ``/teacher?token=...``: the projected teacher's page (:mod:`sim.faces.classroom.teacher_view`),
  with the debrief (:mod:`sim.faces.classroom.debrief_view`).

Like the teaching page, the pages load no file from the internet (their browser files come from
Solara's local copy, ``scripts/install_ui_assets.sh``, and the QR code is drawn here).
"""

from __future__ import annotations

import solara
import solara.server.settings

from sim.faces.classroom import serve
from sim.faces.classroom.debrief_view import DebriefView
from sim.faces.classroom.session import Classroom
from sim.faces.classroom.student_view import StudentPage
from sim.faces.classroom.teacher_view import TeacherPage

#: Write each page's websocket messages from the thread that renders it instead of handing every
#: message to the event loop (Solara's setting, checked per connection; it falls back by itself
#: where it cannot): a round's close sends to 60 phones at once.
solara.server.settings.server.sync_ws_write = True


def classroom() -> Classroom:
    """The server's one Classroom."""
    return serve.current()


def join_address() -> str:
    """Where students join: the address ``newpower class`` printed, else this page's own host."""
    printed = serve.join_url()
    if printed:
        return printed
    headers = solara.lab.headers.value or {}
    host = (headers.get("host") or ["127.0.0.1"])[0]
    return f"http://{host}/"


@solara.component
def Student():
    """The student's page (``/``)."""
    StudentPage(classroom())


@solara.component
def Teacher():
    """The teacher's page (``/teacher?token=...``)."""
    TeacherPage(classroom(), join_address(), DebriefView)


@solara.component
def Layout(children=()):
    """The pages as they are, without Solara's app bar: nothing on a student's screen leads elsewhere."""
    return solara.Column(children=list(children), style={"padding": "0"})


#: The root route's layout is every page's layout (Solara applies the "/" route's to all).
routes = [
    solara.Route(path="/", component=Student, label="join", layout=Layout),
    solara.Route(path="teacher", component=Teacher, label="teacher"),
]
