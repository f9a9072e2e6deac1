"""Figures drawn from saved results: files, titles, legends, bands, the compass, the network's moments,
marks for shocks and strategy starts, and no text covering another (measured with ``get_window_extent``
after ``canvas.draw()``)."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import CASTLE
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.text import Text
from PIL import Image
from toy_results import toy

from sim.faces.cli.main import main
from sim.figures import network, plotting, style
from sim.figures.animate import animation_figure
from sim.figures.stress import StressArm, StressData, map_plot
from sim.figures.sweep import _response_figure
from sim.storage.results import load_results

TINY = ["--set", "network.n=200", "--steps", "10"]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> Path:
    """Two tiny replications in which the Gazette opens up (so its compass position moves)."""
    folder = tmp_path_factory.mktemp("plots") / "out"
    code = main(
        [
            "run",
            str(CASTLE),
            *TINY,
            "-r",
            "2",
            "--seed",
            "5",
            "--out",
            str(folder),
            "--svg",
            "--set",
            "organizations.Gazette.strategy=occupy_yourself",
            "--set",
            "organizations.Gazette.strategy_params.introspection_steps=2",
            "--set",
            "organizations.Gazette.strategy_params.rate=0.1",
        ]
    )
    assert code == 0
    return folder


def test_figures_are_real_images(two_runs):
    """Every figure is a non-empty PNG of a readable size, and an SVG when asked for (``--svg``)."""
    for stem in ("participation", "compass", "power", "community", "network"):
        with Image.open(two_runs / "figures" / f"{stem}.png") as image:
            assert image.format == "PNG" and image.width >= 900 and image.height >= 700
            pixels = np.asarray(image.convert("L"))
            assert pixels.std() > 10  # not a blank page
        assert (two_runs / "figures" / f"{stem}.svg").read_text()[:200].lstrip().startswith("<?xml")


def test_pngs_are_the_bytes_matplotlib_writes(two_runs, tmp_path):
    """Figures drawn here and compressed in a separate thread are the very files ``savefig`` writes."""
    results = load_results(two_runs)
    for stem, build in plotting.figure_builders(results).items():
        fig = build()
        FigureCanvasAgg(fig)
        fig.savefig(
            tmp_path / f"{stem}.png",
            dpi=style.DPI,
            metadata={"Software": None},
            pil_kwargs={"compress_level": plotting.PNG_COMPRESSION},
        )
        assert (tmp_path / f"{stem}.png").read_bytes() == (two_runs / "figures" / f"{stem}.png").read_bytes()


def test_line_figures_show_bands_with_replications(two_runs):
    """With two runs, line figures carry a 95% band and say so in a legend."""
    results = load_results(two_runs)
    fig = plotting.community_figure(results)
    size_ax = fig.axes[0]
    assert size_ax.collections, "no band drawn"
    labels = [t.get_text() for t in size_ax.get_legend().get_texts()]
    assert "95% interval (2 runs)" in labels and "Gazette" in labels and "Commons" in labels
    assert fig.get_suptitle() and all(ax.get_ylabel() for ax in fig.axes)


def test_every_figure_has_title_and_labelled_axes(two_runs):
    """Titles, axis labels (units) and legends, for every figure."""
    results = load_results(two_runs)
    for stem, build in plotting.figure_builders(results).items():
        fig = build()
        assert fig.get_suptitle(), stem
        labelled = [ax for ax in fig.axes if ax.get_ylabel() or ax.get_title()]
        assert labelled, stem
        legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + fig.legends
        assert legends, f"{stem} has no legend"


def test_compass_quadrants_and_trajectories(two_runs):
    """The compass: quadrants labelled as in the article, axes values (x) and model (y), start and end."""
    results = load_results(two_runs)
    fig = plotting.compass_figure(results)
    ax = fig.axes[0]
    texts = {t.get_text(): t.get_position() for t in ax.texts}
    assert texts["CASTLES"][0] < 0.5 and texts["CASTLES"][1] < 0.5
    assert texts["CONNECTORS"][0] < 0.5 and texts["CONNECTORS"][1] > 0.5
    assert texts["CHEERLEADERS"][0] > 0.5 and texts["CHEERLEADERS"][1] < 0.5
    assert texts["CROWDS"][0] > 0.5 and texts["CROWDS"][1] > 0.5
    assert ax.get_xlabel().startswith("VALUES") and "new power values" in ax.get_xlabel()
    assert ax.get_ylabel().startswith("MODEL") and "new power model" in ax.get_ylabel()
    gazette = results.band("Gazette.values")["mean"]
    assert gazette.iloc[-1] != gazette.iloc[0]  # the opened-up Gazette moved
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Gazette" in labels and any(label.startswith("start") for label in labels)
    assert any(label.startswith("end") for label in labels)


def test_participation_is_a_stacked_area_of_six_levels(two_runs):
    """The participation figure stacks the six levels, which add up to 100%."""
    results = load_results(two_runs)
    fig = plotting.participation_figure(results)
    top = fig.axes[0]
    labels = [t.get_text() for t in top.get_legend().get_texts()]
    assert labels == list(reversed(plotting.LEVEL_NAMES))
    assert len(top.collections) == 6
    assert "%" in top.get_ylabel()


def test_network_steps_are_chosen_and_overridable(two_runs):
    """Four default steps (start to end); ``plot --network-steps`` picks the nearest snapshots."""
    assert network.choose_steps(range(0, 151, 4), peak=None) == [0, 48, 100, 148]
    assert network.choose_steps([0, 4, 8, 150], wanted=[3, 149]) == [4, 150]
    assert network.choose_steps([0, 5, 10, 15, 20], peak=14) == [0, 5, 15, 20]  # the peak replaces 13.3
    results = load_results(two_runs)
    fig = network.network_figure(results, steps=[0, 10])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert sorted(t.split("\n")[-1].split(",")[0] for t in titles) == [
        "step 0",
        "step 0",
        "step 10",
        "step 10",
    ]


def test_level_colours_run_light_to_dark():
    """The participation scale is coloured from light (consuming) to dark (co-owning)."""
    from matplotlib.colors import to_rgb

    lightness = [sum(to_rgb(c)) for c in style.LEVEL_COLOURS]
    assert lightness == sorted(lightness, reverse=True)
    assert len(set(style.ORG_COLOURS)) == len(style.ORG_COLOURS)


# ------------------------------------------------------------------ the network's moments


def test_panels_are_the_moments_of_the_surge_labelled_honestly():
    """Start, rising, (near) the peak, faded halfway, end: chosen from the active share, never mislabelled."""
    steps = np.arange(0, 41)
    active = pd.Series(np.interp(steps, [0, 10, 15, 25, 40], [0.01, 0.3, 0.6, 0.1, 0.05]), index=steps)
    snapshots = list(range(0, 41, 4))  # the peak (15) falls between two snapshots
    panels = network.surge_panels(snapshots, active)
    assert [(p.step, p.role) for p in panels] == [
        (0, "start"),
        (12, "rising"),
        (16, "near the peak (step 15)"),
        (24, "faded halfway"),
        (40, "end"),
    ]
    on_peak = network.surge_panels(range(0, 41, 5), active)
    assert ("peak" in [p.role for p in on_peak]) and all(p.step == 15 for p in on_peak if p.role == "peak")
    flat = pd.Series(0.02, index=steps)
    assert {p.role for p in network.surge_panels(snapshots, flat)} == {""}  # no surge: no roles claimed
    assert len(network.surge_panels(snapshots, flat)) == network.N_PANELS


def test_network_figure_rings_who_deserted(tmp_path):
    """Participants who left an organization since the panel before are ringed in the colour of the one left."""
    results = toy(tmp_path)
    fig = network.network_figure(results, steps=[0, 10, 20])
    rings = [
        c
        for ax in fig.axes
        for c in ax.collections
        if isinstance(c, PathCollection) and len(c.get_facecolors()) == 0  # hollow markers: no face
    ]
    assert [len(r.get_offsets()) for r in rings] == [1, 2]  # 0 -> 10: participant 2; 10 -> 20: 0 and 1
    labels = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("left an organization") for label in labels)


# ------------------------------------------------------------------ marks and labels


@pytest.fixture(scope="module")
def shocked(tmp_path_factory) -> Path:
    """The flagship, small and short: a viral moment (step 15), two strategies starting (steps 20 and 30)."""
    folder = tmp_path_factory.mktemp("shocked") / "out"
    argv = ["run", "power_shift", "--set", "network.n=300", "--steps", "40", "--out", str(folder)]
    assert main([*argv, "--no-figures"]) == 0
    return folder


def marked_steps(ax) -> set[float]:
    """Steps of the dotted vertical lines on an axes."""
    return {
        float(line.get_xdata()[0])
        for line in ax.get_lines()
        if line.get_linestyle() == ":" and len(set(np.atleast_1d(line.get_xdata()))) == 1
    }


def test_time_series_figures_mark_shocks_and_strategy_starts(shocked):
    """Every time axis has a dotted line at each shock and strategy start; one axis per figure labels them."""
    results = load_results(shocked)
    for build in (plotting.participation_figure, plotting.power_figure, plotting.community_figure):
        fig = build(results)
        for ax in fig.axes:
            if ax.get_xlabel() == "step" or ax.get_lines():
                assert marked_steps(ax) == {15.0, 20.0, 30.0}, (build.__name__, ax.get_title())
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        for label in ("viral moment", "Facebook: become the man", "Gazette: go bilingual"):
            assert label in texts, (build.__name__, label)


def text_problems(fig) -> list[str]:
    """Texts that cover one another, or that are cut off by the figure's edge (tick labels aside)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ticks = {
        id(t) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis) for t in axis.get_ticklabels(which="both")
    }
    texts = [
        t
        for t in fig.findobj(Text)
        if t.get_visible()
        and t.get_text().strip()
        and id(t) not in ticks
        and (t.axes is None or t.axes.get_visible())
    ]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    problems = []
    for (a, box_a), (b, box_b) in combinations(boxes, 2):
        w = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        h = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        if w > 1 and h > 1:
            problems.append(f"{a!r} covers {b!r}")
    edge = fig.bbox
    for text, box in boxes:
        if box.x0 < edge.x0 - 1 or box.y0 < edge.y0 - 1 or box.x1 > edge.x1 + 1 or box.y1 > edge.y1 + 1:
            problems.append(f"{text!r} is cut off")
    return problems


def test_no_text_covers_another_in_any_run_figure(shocked, two_runs):
    for folder in (shocked, two_runs):
        results = load_results(folder)
        for stem, build in plotting.figure_builders(results).items():
            assert text_problems(build()) == [], stem


def close_ends(tmp_path, audit: bool = False):
    """Toy results in which two organizations end 0.03 apart on one line (Commons and Diaspora in the flagship)."""
    results = toy(tmp_path)
    frame = results.timeseries
    frame["Hive.values"], frame["Hive.openness"] = 0.87, 0.85
    frame["Rival.values"], frame["Rival.openness"] = 0.9, 0.85
    if audit:
        results.manifest["kind"] = "audit"
        results.audit = {
            "organizations": [
                {"organization": "Hive", "trend": "steady"},
                {"organization": "Rival", "trend": "steady"},
            ]
        }
    return results


@pytest.mark.parametrize("audit", [False, True])
def test_compass_labels_of_close_organizations_do_not_collide(tmp_path, audit):
    """The flagship's Commons used to hide under Diaspora (on the audit compass too)."""
    fig = plotting.compass_figure(close_ends(tmp_path, audit), audit=audit)
    assert text_problems(fig) == []
    labels = {t.get_text() for t in fig.axes[0].texts}
    assert {"Hive: steady", "Rival: steady"} <= labels if audit else {"Hive", "Rival"} <= labels


def test_animation_title_legends_and_compass_fit(shocked):
    """The GIF's title clears the panels' titles; its legends (the compass's too) are not cut off."""
    results = load_results(shocked)
    fig, show = animation_figure(results)
    for step in sorted(results.snapshots["step"].unique())[::5]:
        show(int(step))
        assert text_problems(fig) == [], step


def test_stress_map_legend_keeps_clear_of_the_panels(tmp_path):
    rng = np.random.default_rng(1)
    outcomes = pd.DataFrame({"strategy": "as is", "a": rng.random(60), "b": rng.random(60), "measure": 0.0})
    outcomes["deserted"] = (outcomes["a"] > 0.6) & (outcomes["b"] < 0.5)
    k = int(outcomes["deserted"].sum())
    arm = StressArm("as is", 60, k, (0.1, 0.3), {"a": (0.6, 1.0), "b": (0.0, 0.5)}, {})
    data = StressData(
        outcomes, [arm], "Hub", "desertion_share", 0.5, {"a": (0, 1), "b": (0, 1)}, {"a": "A", "b": "B"}
    )
    fig = map_plot(data)
    assert fig.legends and not fig.axes[0].get_legend()  # one legend, outside the panel
    FigureCanvasAgg(fig).draw()
    legend_box = fig.legends[0].get_window_extent(fig.canvas.get_renderer())
    panel = fig.axes[0].get_window_extent(fig.canvas.get_renderer())
    assert legend_box.y1 <= panel.y0
    assert text_problems(fig) == []


def test_sweep_panels_have_plain_names_and_y_labels():
    rng = np.random.default_rng(2)
    summaries = pd.DataFrame(
        {
            "param:dynamics.fickleness": np.repeat([0.05, 0.1, 0.2], 4),
            "final_active_fraction": rng.random(12),
            "Uber.desertion_share": rng.random(12),
            "Uber.final_members": rng.integers(0, 900, 12),
        }
    )
    measures = ["final_active_fraction", "Uber.desertion_share", "Uber.final_members"]
    fig = _response_figure(
        summaries, "param:dynamics.fickleness", measures, None, {"scenario": {"name": "toy"}}
    )
    titles = [ax.get_title() for ax in fig.axes[:3]]
    assert titles == [
        "active at the end (sharing or above)",
        "Uber: share of its peak community lost",
        "Uber: community at the end",
    ]
    assert [ax.get_ylabel() for ax in fig.axes[:3]] == [
        "active at the end (sharing or above) (%)",
        "share of its peak community lost (%)",
        "community at the end (members)",
    ]
    assert text_problems(fig) == []


def test_second_process_takes_the_costliest_figures_up_to_about_half(monkeypatch):
    """With a second core, a forked helper draws the network figure and more, up to about half the
    work; on one core, or with two figures, everything is drawn here."""
    stems = ["participation", "compass", "power", "community", "network"]
    monkeypatch.setattr(plotting, "_may_fork", lambda: True)
    share = plotting.second_process_share(stems)
    cost = plotting.FIGURE_COST
    assert share[0] == "network" and set(share) < set(stems)
    helper, here = sum(cost[s] for s in share), sum(cost[s] for s in stems if s not in share)
    assert abs(helper - here) <= max(cost.values()) / 2
    assert plotting.second_process_share(["participation", "network"]) == []
    monkeypatch.setattr(plotting, "_may_fork", lambda: False)
    assert plotting.second_process_share(stems) == []


@pytest.mark.skipif(not plotting._may_fork(), reason="needs fork and two usable cores")
def test_a_failure_in_the_helper_process_is_raised_here(two_runs, monkeypatch, tmp_path):
    """A figure that fails in the forked helper fails the command, with the helper's error."""
    results = load_results(two_runs)
    results.folder = tmp_path
    (tmp_path / "figures").mkdir()
    original = plotting.figure_builders

    def with_a_broken_network(*args, **kwargs):
        builders = original(*args, **kwargs)
        builders["network"] = lambda: (_ for _ in ()).throw(ValueError("no layout to draw"))
        return builders

    monkeypatch.setattr(plotting, "figure_builders", with_a_broken_network)
    assert "network" in plotting.second_process_share(list(with_a_broken_network(results)))
    with pytest.raises(ValueError, match="no layout to draw"):
        plotting.draw_all(results)
