"""The debrief on the teacher's page: the class against the simulated crowd, and "save results".

It renders :class:`~sim.faces.classroom.debrief.Debrief` (the Classroom's reading of the session):
a few sentences, the class's active share against the crowd's per step, and per student how
their climbs relate to the threshold rule (with peers, alone, held back). "Save results" writes
the class's results folder (``Classroom.write_results``, where ``newpower class --out`` said).
"""

from __future__ import annotations

import html
import threading

import solara
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from sim.errors import SimError
from sim.faces.classroom import serve
from sim.faces.classroom.session import Classroom
from sim.faces.teaching.views import encode_png

#: The debrief table's columns, as the teacher reads them.
COLUMNS = (
    ("nickname", "student"),
    ("answered", "answered"),
    ("climbs", "climbs"),
    ("climbs_with_peers", "with peers"),
    ("climbs_alone", "alone"),
    ("held_back", "held back"),
    ("leaves", "left"),
)


def trajectory_png(trajectory) -> bytes:
    """The class's active share against the simulated crowd's, per step."""
    fig = Figure(figsize=(6.0, 3.2), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.12, right=0.97, top=0.86, bottom=0.17)
    if len(trajectory):
        ax.plot(
            trajectory["step"], trajectory["class_active"], color="#b0188a", linewidth=2.5, label="the class"
        )
        ax.plot(
            trajectory["step"],
            trajectory["crowd_active"],
            color="#2f6eba",
            linewidth=2.5,
            label="simulated crowd",
        )
        ax.legend(loc="upper right", frameon=False, fontsize=11)
    ax.set_ylim(0, 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.set_xlabel("step", fontsize=12)
    ax.set_ylabel("active (sharing or more)", fontsize=11)
    ax.set_title("The class against the crowd", fontsize=14, fontweight="bold", loc="left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    canvas.draw()
    return encode_png(canvas)


def students_table(students) -> str:
    """The per-student table as HTML (nicknames come escaped from the Classroom; numbers are numbers)."""
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in COLUMNS)
    rows = []
    for record in students.to_dict("records"):
        cells = [str(record["nickname"])] + [html.escape(str(record[name])) for name, _ in COLUMNS[1:]]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


@solara.component
def DebriefView(classroom: Classroom, token: str):
    """What the class did, read back; and the button that saves the results folder."""
    version = classroom.version
    debrief = solara.use_memo(classroom.debrief, [version])
    png = solara.use_memo(lambda: trajectory_png(debrief.trajectory), [version])
    saved, set_saved = solara.use_state("")

    def write() -> None:
        try:
            classroom.check_token(token)
            set_saved(f"Saved: {classroom.write_results(serve.results_folder())}")
        except SimError as exc:
            set_saved(f"Not saved: {exc}")

    def save() -> None:
        # Writing the folder (tables, figures, summary) takes seconds: off the page's thread,
        # so the projector keeps answering. Solara gives the thread this page's kernel context.
        set_saved("Saving\u2026")
        threading.Thread(target=write, name="classroom-save", daemon=True).start()

    with solara.Column(classes=["np-teacher", "np-debrief"]) as view:
        solara.HTML(tag="h2", unsafe_innerHTML="Debrief")
        for sentence in debrief.words():
            solara.Text(sentence, classes=["np-debrief-line"])
        solara.Image(png, width="640px", classes=["np-figure", "np-trajectory"])
        solara.HTML(
            tag="div", unsafe_innerHTML=students_table(debrief.students), classes=["np-debrief-table"]
        )
        with solara.Row():
            solara.Button("Save results", color="primary", on_click=save, classes=["np-save"])
        if saved:
            solara.Text(
                saved, classes=["np-saved"] if saved.startswith(("Saved", "Not saved")) else ["np-saving"]
            )
    return view
