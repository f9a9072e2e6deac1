"""The teaching page's logic without a browser: the model behind the sliders, the shock buttons,
what the class panel says, the figures (and their speed), the grid, and ``newpower ui``'s command."""

from __future__ import annotations

import argparse
import inspect
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
from helpers import ROOT
from mesa.visualization import solara_viz  # needs the viz extra (pip install -e '.[viz]'): fails, never skips

from sim.config.scenario import load_scenario
from sim.config.spec import param
from sim.errors import SimError
from sim.faces.teaching import app
from sim.faces.teaching import lesson as teaching
from sim.faces.teaching.app import GRID_LAYOUT, markdown_bold
from sim.faces.teaching.lesson import (
    SHOCK_BUTTONS,
    TeachingModel,
    can_fire,
    fire,
    headline,
    model_params,
    notice_text,
)
from sim.faces.teaching.views import ring_layout, views_of
from sim.model.shocks import SHOCKS, Button, Reach, Shock, register
from sim.model.strategies import STRATEGIES

TEACHING = ROOT / "sim" / "scenarios" / "teaching_surge.toml"
SMALL = {"n_participants": 400}


@pytest.fixture(autouse=True)
def _teaching_env(monkeypatch):
    monkeypatch.delenv(teaching.ENV_SCENARIO, raising=False)
    monkeypatch.delenv(teaching.ENV_ORGANIZATION, raising=False)
    monkeypatch.delenv(teaching.ENV_ALLOW_CODE, raising=False)


def small_model(**kwargs) -> TeachingModel:
    return TeachingModel(**{**SMALL, **kwargs})


# ---------------------------------------------------------------- the model behind the sliders


def test_default_model_is_the_teaching_scenario():
    """With no arguments the page opens the teaching scenario, 2,000 people, sliders on Hive."""
    model = TeachingModel()
    assert model.spec.name == "teaching_surge"
    assert model.n_participants == 2000
    assert model.focus == "Hive"
    assert [o.name for o in model.organizations] == ["Hive", "Gazette"]


def test_sliders_set_the_scenario():
    """Every slider reaches the scenario it builds from."""
    model = TeachingModel(
        fickleness=0.3,
        peer_influence=2.0,
        network_kind="barabasi_albert",
        n_participants=300,
        org_values=0.2,
        org_openness=0.4,
        strategy="go_bilingual",
    )
    assert model.dynamics.fickleness == 0.3
    assert model.dynamics.peer_influence == 2.0
    assert model.spec.network.kind == "barabasi_albert"
    assert model.n_participants == 300
    hive = model.organization("Hive")
    assert (hive.values, hive.openness) == (0.2, 0.4)
    assert hive.strategy.name == "go_bilingual"


def test_run_number_changes_the_draw_and_keeps_reproducibility():
    """The run number shifts the seed: same number, same world; another number, another world."""
    a, b, c = small_model(run=0), small_model(run=0), small_model(run=1)
    assert np.array_equal(a.state.values, b.state.values)
    assert not np.array_equal(a.state.values, c.state.values)


def test_model_params_match_the_model_signature():
    """Reset rebuilds ``type(model)(**params)``: every slider must be a keyword of TeachingModel."""
    scenario = load_scenario(TEACHING)
    params = model_params(scenario, "Hive", str(TEACHING))
    solara_viz._check_model_params(TeachingModel.__init__, params)  # raises on a bad or missing name
    signature = inspect.signature(TeachingModel.__init__).parameters
    assert set(params) <= set(signature)
    model = TeachingModel(**{**teaching.slider_values(params), "n_participants": 300})
    assert model.focus == "Hive"
    assert params["strategy"]["values"] == list(STRATEGIES)
    assert params["fickleness"]["value"] == scenario.dynamics.fickleness


def test_network_slider_covers_the_scenario_up_to_5000():
    """The size slider tops out at 2,000, or at a bigger scenario's size up to 5,000."""
    teaching = model_params(load_scenario(TEACHING), "Hive", "")["n_participants"]
    castle = model_params(load_scenario(ROOT / "scenarios" / "castle_vs_crowd.toml"), "Gazette", "")
    assert (teaching["value"], teaching["max"]) == (2000, 2000)
    assert (castle["n_participants"]["value"], castle["n_participants"]["max"]) == (5000, 5000)


def test_scenario_and_organization_come_from_the_environment(monkeypatch):
    """``newpower ui FILE --organization NAME`` reaches the page through two environment variables."""
    monkeypatch.setenv(teaching.ENV_SCENARIO, str(ROOT / "scenarios" / "go_bilingual.toml"))
    monkeypatch.setenv(teaching.ENV_ORGANIZATION, "Times")
    model = TeachingModel(n_participants=300)
    assert model.spec.name == "go_bilingual"
    assert model.focus == "Times"
    monkeypatch.setenv(teaching.ENV_ORGANIZATION, "Nobody")
    with pytest.raises(SimError, match="Nobody"):
        TeachingModel(n_participants=300)


# ---------------------------------------------------------------- the shock buttons


def test_every_shock_button_changes_what_the_class_sees():
    """Each button changes a counter of the class panel (or its last-event line)."""
    model = small_model()
    before = headline(model)
    fire(model, "viral_moment")
    assert headline(model)["active_share"] > before["active_share"]
    fire(model, "leak")
    assert headline(model)["legitimacy"] < before["legitimacy"]
    fire(model, "rival_entry")
    assert headline(model)["organizations"] == before["organizations"] + 1
    fire(model, "fee_hike")
    assert headline(model)["take_rate"] == pytest.approx(before["take_rate"] + 0.15)
    fire(model, "campaign")
    assert model.campaigns and model.campaigns[-1]["winner"] in ("Hive", "Gazette", "Rival")
    assert [e["kind"] for e in model.events] == [b.kind for b in SHOCK_BUTTONS]
    assert "Winner" in teaching.describe_event(model.events[-1])


def test_rivals_get_unique_names():
    """Pressing Rival enters again brings Rival 2, Rival 3, ..."""
    model = small_model()
    for _ in range(3):
        fire(model, "rival_entry")
    assert [o.name for o in model.organizations][2:] == ["Rival", "Rival 2", "Rival 3"]


def test_campaign_needs_a_second_organization(monkeypatch):
    """With a single organization the Campaign button is disabled until a rival enters."""
    monkeypatch.setenv(teaching.ENV_SCENARIO, str(ROOT / "scenarios" / "kickstarter_surge.toml"))
    model = TeachingModel(n_participants=300)
    campaign = next(b for b in SHOCK_BUTTONS if b.kind == "campaign")
    assert not can_fire(model, campaign)
    fire(model, "rival_entry")
    assert can_fire(model, campaign)


def test_viral_moment_is_sized_to_the_network():
    """A viral moment sweeps 5% of the network (at least 20 people) up to funding."""
    model = small_model()
    record = fire(model, "viral_moment")
    assert record["participants"] == 20
    assert (
        TeachingModel().n_participants // 20
        == teaching.shock_params(TeachingModel(), "viral_moment")["n_participants"]
    )


# ---------------------------------------------------------------- what the class reads


def test_notice_follows_the_last_event():
    """The notice starts by saying nothing happened, then speaks of the last shock."""
    model = small_model()
    assert "Nothing has happened yet" in notice_text(model)
    fire(model, "viral_moment")
    assert "surge is spreading" in notice_text(model)
    for kind, words in [
        ("fee_hike", "the Man"),
        ("leak", "leak"),
        ("rival_entry", "Rival entered"),
        ("campaign", "show up"),
    ]:
        fire(model, kind)
        assert words in notice_text(model)


def test_markdown_bold_escapes_html():
    """The notice is rendered as escaped HTML with bold parts (no CDN-loaded Markdown renderer)."""
    assert markdown_bold("**a** <b> & c") == "<p><strong>a</strong> &lt;b&gt; &amp; c</p>"


def test_desertions_are_counted():
    """The desertion counter adds up every organization's exits since the start."""
    model = small_model()
    fire(model, "viral_moment")
    for _ in range(10):
        model.step()
    frame = model.recorder.frame()
    expected = int(sum(frame[f"{o.name}.exits"].fillna(0).sum() for o in model.organizations))
    assert headline(model)["desertions_total"] == expected


# ---------------------------------------------------------------- the lessons' claims, fast


def _run(model: TeachingModel, plan: dict[int, list[str]], steps: int) -> np.ndarray:
    active = []
    for step in range(steps):
        for kind in plan.get(step, []):
            fire(model, kind)
        model.step()
        active.append(model.active_fraction)
    return np.array(active)


def test_lesson_one_a_surge_spreads_and_fades():
    """Quiet until the viral moment; then a surge well beyond the sparks, which fades by half, and
    fades because of fickleness: without it the surge stays."""
    model = TeachingModel()
    active = _run(model, {5: ["viral_moment"]}, 90)
    assert active[:5].max() < 0.01
    peak = int(active.argmax())
    assert active[peak] > 0.1  # the sparks alone are 5%
    assert 6 <= peak <= 40
    assert active[-1] < 0.5 * active[peak]
    steady = _run(TeachingModel(fickleness=0.0), {5: ["viral_moment"]}, 90)
    assert steady[-1] > 0.8 * steady.max()


def test_lesson_two_a_fee_hike_sets_off_a_desertion_cascade():
    """Two fee hikes during the surge: exits more than twice as fast, a larger cascade, a smaller community."""
    plain, hiked = TeachingModel(), TeachingModel()
    _run(plain, {0: ["viral_moment"]}, 26)
    _run(hiked, {0: ["viral_moment"], 14: ["fee_hike", "fee_hike"]}, 26)
    exits = {
        name: max(row["Hive.exits"] for row in m.recorder.rows)
        for name, m in (("plain", plain), ("hiked", hiked))
    }
    assert exits["hiked"] > 2 * exits["plain"]
    assert hiked.cascades.largest(10) > 1.5 * plain.cascades.largest(10)
    assert hiked.focus_org.n_members < plain.focus_org.n_members


def test_lesson_three_strategies_differ_in_a_campaign():
    """After the same surge, the bilingual platform wins the campaign and become_the_man loses it."""
    winners = {}
    for strategy in ("go_bilingual", "become_the_man"):
        model = TeachingModel(strategy=strategy)
        _run(model, {0: ["viral_moment"], 25: ["campaign"]}, 26)
        winners[strategy] = model.campaigns[-1]["winner"]
    assert winners == {"go_bilingual": "Hive", "become_the_man": "Gazette"}


# ---------------------------------------------------------------- the figures


def test_network_layout_is_computed_once_and_kept():
    """One set of figures per model; the layout and the ties stay put between steps."""
    model = small_model()
    views = views_of(model)
    x0 = views.network.dots.get_offsets().copy()
    first = views.network.png(model)
    fire(model, "viral_moment")
    model.step()
    second = views.network.png(model)
    assert views_of(model) is views
    assert np.array_equal(views.network.dots.get_offsets(), x0)
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and first != second
    assert views_of(small_model()) is not views


def test_ring_layout_keeps_lattice_ties_short():
    """Watts-Strogatz nodes sit in ring order, so lattice neighbours are drawn close together."""
    x, y = ring_layout(2000)
    near = np.hypot(x[1:6] - x[0], y[1:6] - y[0]).max()
    far = np.hypot(x[1000] - x[0], y[1000] - y[0])
    assert near < 0.25  # a band 0.38 wide: lattice neighbours are at most five rows apart
    assert far > 1.0  # the opposite side of the ring
    assert np.all(np.hypot(x, y) <= 1.0)


def test_every_figure_draws_after_a_rival_enters():
    """A new organization appears on the compass and in the community chart."""
    model = small_model()
    views = views_of(model)
    views.community.png(model)
    fire(model, "rival_entry")
    model.step()
    for view in ("network", "levels", "compass", "community"):
        assert getattr(views, view).png(model)[:4] == b"\x89PNG"
    labels = [t.get_text() for t in views.community.top.get_legend().get_texts()]
    assert labels == ["Hive", "Gazette", "Rival"]


def test_the_page_uses_its_own_grid():
    """SolaraViz lays the five panels out as GRID_LAYOUT (Mesa 3.5 has no argument for it)."""
    assert solara_viz.make_initial_grid_layout is app.teaching_grid_layout
    layout = solara_viz.make_initial_grid_layout(len(app.COMPONENTS))
    assert [item["i"] for item in layout] == list(range(len(app.COMPONENTS))) == [g["i"] for g in GRID_LAYOUT]
    assert len(solara_viz.make_initial_grid_layout(2)) == 2  # other pages keep Mesa's default


# ---------------------------------------------------------------- newpower ui


def ui_parser() -> argparse.ArgumentParser:
    from sim.faces.cli.ui import register

    parser = argparse.ArgumentParser(prog="newpower")
    register(parser.add_subparsers(dest="command"))
    return parser


def test_ui_defaults_to_this_machine_and_the_teaching_scenario():
    """``newpower ui`` serves on 127.0.0.1:8765 the teaching scenario, Solara in production mode."""
    from sim.faces.cli.ui import server_command

    args = ui_parser().parse_args(["ui", "--no-open"])
    command, env = server_command(args)
    assert command[1:3] == ["run", str(ROOT / "sim" / "faces" / "teaching" / "app.py")]
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--port") + 1] == "8765"
    assert "--production" in command and "--no-open" in command
    assert env[teaching.ENV_SCENARIO] == str(TEACHING)
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"


def test_ui_host_port_and_scenario_flags():
    """``--host`` exposes the page deliberately; ``--port`` and a scenario file are passed on."""
    from sim.faces.cli.ui import server_command

    args = ui_parser().parse_args(
        [
            "ui",
            "scenarios/go_bilingual.toml",
            "--host",
            "0.0.0.0",
            "--port",
            "9000",
            "--organization",
            "Times",
        ]
    )
    command, env = server_command(args)
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--port") + 1] == "9000"
    assert "--no-open" not in command
    assert env[teaching.ENV_SCENARIO].endswith("go_bilingual.toml")
    assert env[teaching.ENV_ORGANIZATION] == "Times"


def test_ui_stops_on_a_bad_scenario_before_serving(tmp_path):
    """A bad scenario file stops ``newpower ui`` with the usual one-line error, before any server starts."""
    from sim.faces.cli.ui import cmd_ui

    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[network]\nn = -5\n')
    args = ui_parser().parse_args(["ui", str(bad), "--no-open"])
    with pytest.raises(SimError, match="network.n"):
        cmd_ui(args)
    args = ui_parser().parse_args(["ui", "--organization", "Nobody"])
    with pytest.raises(SimError, match="Nobody"):
        cmd_ui(args)


def test_ui_imports_user_code_only_with_allow_code(tmp_path):
    """``newpower ui`` refuses a scenario naming a module unless started with ``--allow-code``."""
    from sim.faces.cli.ui import cmd_ui, server_command

    module = f"np_ui_{tmp_path.name.replace('-', '_')}"
    marker = tmp_path / "imported.marker"
    (tmp_path / f"{module}.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('x')\n"
    )
    scenario = tmp_path / "code.toml"
    scenario.write_text(f'[[organizations]]\nname = "A"\nstrategy = "{module}:Mine"\n')
    args = ui_parser().parse_args(["ui", str(scenario), "--no-open"])
    with pytest.raises(SimError, match="--allow-code"):
        cmd_ui(args)
    assert not marker.exists()
    assert server_command(args)[1][teaching.ENV_ALLOW_CODE] == "0"
    allowed = ui_parser().parse_args(["ui", str(scenario), "--no-open", "--allow-code"])
    assert server_command(allowed)[1][teaching.ENV_ALLOW_CODE] == "1"


def test_ui_finds_a_library_scenario_by_name():
    """``newpower ui power_shift`` serves the library's file."""
    from sim.faces.cli.ui import server_command

    _, env = server_command(ui_parser().parse_args(["ui", "power_shift", "--no-open"]))
    assert env[teaching.ENV_SCENARIO] == str(ROOT / "sim" / "scenarios" / "power_shift.toml")


def test_a_new_shock_kind_reaches_the_page_through_its_description():
    """A kind registered with a button is fired, described and noticed by the page with no page code."""

    @dataclass
    class Blackout(Shock):
        """Test kind: the focus organization's stock is wiped out."""

        kind: ClassVar[str] = "test_blackout"
        summary: ClassVar[str] = "test"
        reach: ClassVar[Reach] = Reach(names=("target",))
        button: ClassVar[Button] = Button("Blackout", "#000000")
        target: str = param("", doc="the organization")

        def apply(self, model):
            model.organization(self.target).stock = 0.0
            return {"target": self.target}

        @classmethod
        def page_params(cls, aim):
            return {"target": aim.focus}

    register(Blackout)
    try:
        model = small_model()
        assert teaching.shock_params(model, "test_blackout") == {"target": "Hive"}
        fire(model, "test_blackout")
        assert model.organization("Hive").stock == 0.0
        assert teaching.describe_event(model.events[-1]) == f"test_blackout at step {model.steps}."
        assert notice_text(model) == teaching.describe_event(model.events[-1])
    finally:
        SHOCKS.pop("test_blackout")
