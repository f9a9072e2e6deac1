"""The teaching page: a Solara page on Mesa's SolaraViz, for a class in front of one screen.

Run it with ``newpower ui [SCENARIO]`` (or ``solara run sim/faces/teaching/app.py``). The page shows

* sliders for what a teacher wants to move (fickleness, peer influence, the network's kind
  and size, one organization's values, model and strategy, a run number), applied by Reset;
* SolaraViz's Play, Step and Reset;
* buttons that fire shocks while the model runs (viral moment, leak, rival enters, fee
  hike, campaign);
* the network coloured by participation level (a layout computed once per model and
  reused), participation by level over time, the New Power Compass with trajectories,
  community size and desertions, and a short panel that tells the class what to notice.

Each browser tab builds its own model (``Page`` memoizes one per session); nothing here
is shared between visitors. Figures are matplotlib, drawn with the object-oriented API
(no pyplot) and kept per model: a step only recolours the network's dots and redraws
the small charts, so one step with 2,000 participants redraws in well under a second.

The page reads two environment variables, set by ``newpower ui``:
``NEWPOWER_UI_SCENARIO`` (the scenario file; default ``scenarios/teaching_surge.toml``) and
``NEWPOWER_UI_ORGANIZATION`` (the organization the sliders and shocks act on; default the
scenario's first).
"""

from __future__ import annotations

import html

import solara
from mesa.visualization import SolaraViz
from mesa.visualization import solara_viz as _solara_viz
from mesa.visualization.utils import force_update

from sim.config.scenario import load_scenario
from sim.faces.teaching.lesson import (
    SHOCK_BUTTONS,
    TeachingModel,
    can_fire,
    describe_event,
    fire,
    focus_name,
    headline,
    model_params,
    notice_text,
    scenario_path,
    slider_values,
)
from sim.faces.teaching.views import views_of

# ------------------------------------------------------------------ the page (Solara, on Mesa's SolaraViz)

PAGE_TITLE = "New power vs old power \u2014 a classroom model (Heimans & Timms 2014)"

CSS = """
.np-panel { font-size: 17px; line-height: 1.3; }
.np-panel h2 { font-size: 26px; margin: 0; }
.np-counters { display: grid; grid-template-columns: repeat(3, 1fr); gap: 5px; margin: 2px 0 4px 0; }
.np-counter { background: #f4f4f6; border-radius: 6px; padding: 3px 8px; }
.np-counter .np-label { display: block; font-size: 14px; color: #555; white-space: nowrap; }
.np-counter .np-value { display: block; font-size: 24px; font-weight: 700; color: #1a1a1a; white-space: nowrap; }
.np-counter .np-desertions { font-size: 20px; line-height: 29px; }
.np-shocks { display: flex; flex-wrap: wrap; gap: 6px; margin: 2px 0 4px 0; }
.np-shocks .v-btn { font-size: 16px !important; text-transform: none !important; height: 40px !important;
                    letter-spacing: 0 !important; }
.np-notice { background: #fff8e1; border-left: 6px solid #f9a825; padding: 5px 10px; }
.np-notice p { margin: 0; font-size: 17px; }
.v-tabs { display: none !important; }  /* SolaraViz's page tabs: this page has one page */
.np-notice strong { font-weight: 700; }
.np-event { font-size: 15px; color: #333; margin: 2px 0; }
.np-figure { width: 100%; }
.vue-grid-item { overflow: auto; }
.v-input__slider { padding-top: 22px; }
.v-slider__thumb-label-container { display: block !important; }
.v-slider__thumb-label { font-size: 12px !important; }
.v-label { font-size: 15px !important; }
"""


#: Where each of the page's five panels sits on SolaraViz's 12-column grid (rows of 40 px).
GRID_LAYOUT = [
    {"i": 0, "x": 0, "y": 0, "w": 4, "h": 13},  # the class panel: counters, shocks, what to notice
    {"i": 1, "x": 4, "y": 0, "w": 8, "h": 13},  # the network
    {"i": 2, "x": 0, "y": 13, "w": 4, "h": 9},  # participation by level over time
    {"i": 3, "x": 4, "y": 13, "w": 4, "h": 9},  # the compass
    {"i": 4, "x": 8, "y": 13, "w": 4, "h": 9},  # community size and desertions
]

_mesa_initial_grid_layout = _solara_viz.make_initial_grid_layout


def teaching_grid_layout(num_components: int) -> list[dict]:
    """SolaraViz's initial grid, arranged for this page (Mesa 3.5 has no argument for it)."""
    if num_components == len(GRID_LAYOUT):
        return [dict(item, moved=False) for item in GRID_LAYOUT]
    return _mesa_initial_grid_layout(num_components)


_solara_viz.make_initial_grid_layout = teaching_grid_layout


def markdown_bold(text: str) -> str:
    """The notice's tiny Markdown (``**bold**`` and paragraphs) as HTML, escaped.

    solara.Markdown would load Mermaid from the CDN; this keeps the page's assets small.
    """
    parts = html.escape(text).split("**")
    body = "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))
    return "".join(f"<p>{para}</p>" for para in body.split("\n\n"))


def _counter(label: str, value: str, name: str) -> None:
    with solara.Div(classes=["np-counter"]):
        solara.Text(label, classes=["np-label"])
        solara.Text(value, classes=["np-value", f"np-{name}"])


def ClassPanel(model: TeachingModel):
    """The counters the class reads, the shock buttons, and what to notice now."""
    with model.lock:
        h = headline(model)
        notice = notice_text(model)
        last = describe_event(model.events[-1]) if model.events else ""

    def on_fire(kind: str) -> None:
        fire(model, kind)
        force_update()

    with solara.Column(classes=["np-panel"], gap="4px") as panel:
        solara.HTML(tag="h2", unsafe_innerHTML=f"Step <span class='np-step'>{h['step']}</span>")
        with solara.Div(classes=["np-counters"]):
            _counter("taking part", f"{h['active_share']:.0%}", "active")
            if "focus" in h:
                _counter(f"{h['focus']} members", f"{h['members']:,}", "members")
                _counter(f"{h['focus']} takes", f"{h['take_rate']:.0%}", "take-rate")
                _counter(f"{h['focus']} legitimacy", f"{h['legitimacy']:.0%}", "legitimacy")
            _counter("organizations", str(h["organizations"]), "organizations")
            _counter("left: now / all", f"{h['desertions_now']} / {h['desertions_total']:,}", "desertions")
        with solara.Div(classes=["np-shocks"]):
            for button in SHOCK_BUTTONS:
                solara.Button(
                    button.label,
                    on_click=lambda kind=button.kind: on_fire(kind),
                    disabled=not can_fire(model, button),
                    color=button.colour,
                    dark=True,
                    classes=[f"np-shock-{button.kind}"],
                )
        solara.HTML(tag="div", unsafe_innerHTML=markdown_bold(notice), classes=["np-notice"])
        if last:
            solara.Text("Last: " + last, classes=["np-event", "np-last-event"])
        if "focus" in h:
            solara.Text(
                f"{h['focus']} is a {h['quadrant']}; strategy: {h['strategy']}.",
                classes=["np-event", "np-strategy"],
            )
    return panel


def _figure(model: TeachingModel, view: str):
    with model.lock:  # never draw a model halfway through a step
        png = getattr(views_of(model), view).png(model)
    return solara.Image(png, width="100%", classes=["np-figure", f"np-{view}"])


def NetworkPanel(model: TeachingModel):
    """The network coloured by participation level."""
    return _figure(model, "network")


def CompassPanel(model: TeachingModel):
    """The New Power Compass with trajectories."""
    return _figure(model, "compass")


def CommunityPanel(model: TeachingModel):
    """Community size and desertions."""
    return _figure(model, "community")


def LevelsPanel(model: TeachingModel):
    """Participation by level over time."""
    return _figure(model, "levels")


#: The panels, in the order of GRID_LAYOUT. Plain functions: SolaraViz wraps each so that it
#: redraws after every step or shock (its update counter).
COMPONENTS = [ClassPanel, NetworkPanel, LevelsPanel, CompassPanel, CommunityPanel]


@solara.component
def Page():
    """One page per browser tab, with its own model (built once per session)."""
    path = str(scenario_path())
    base = solara.use_memo(lambda: load_scenario(path), [path])
    focus = focus_name(base)
    params = solara.use_memo(lambda: model_params(base, focus, path), [path, focus])
    # Built here, once per browser tab (session), from the sliders' starting values: never shared.
    model = solara.use_memo(lambda: TeachingModel(**slider_values(params)), [path, focus])
    solara.Style(CSS)
    solara.Title(PAGE_TITLE)  # the browser tab says what the page says
    SolaraViz(model, components=COMPONENTS, model_params=params, name=PAGE_TITLE, play_interval=150)
