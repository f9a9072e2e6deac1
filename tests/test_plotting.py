"""Figures drawn from saved results: files, titles, legends, bands, the compass, network steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import CASTLE
from PIL import Image

from sim.faces.cli.main import main
from sim.figures import plotting
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
    """Every figure is a non-empty PNG of a readable size, and an SVG."""
    for stem in ("participation", "compass", "power", "community", "network"):
        with Image.open(two_runs / "figures" / f"{stem}.png") as image:
            assert image.format == "PNG" and image.width >= 900 and image.height >= 700
            pixels = np.asarray(image.convert("L"))
            assert pixels.std() > 10  # not a blank page
        assert (two_runs / "figures" / f"{stem}.svg").read_text()[:200].lstrip().startswith("<?xml")


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
    assert plotting.choose_steps(range(0, 151, 4), peak=None) == [0, 48, 100, 148]
    assert plotting.choose_steps([0, 4, 8, 150], wanted=[3, 149]) == [4, 150]
    assert plotting.choose_steps([0, 5, 10, 15, 20], peak=14) == [0, 5, 15, 20]  # the peak replaces 13.3
    results = load_results(two_runs)
    fig = plotting.network_figure(results, steps=[0, 10])
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert sorted(t.split(" (")[0] for t in titles) == ["step 0", "step 0", "step 10", "step 10"]


def test_level_colours_run_light_to_dark():
    """The participation scale is coloured from light (consuming) to dark (co-owning)."""
    from matplotlib.colors import to_rgb

    lightness = [sum(to_rgb(c)) for c in plotting.LEVEL_COLOURS]
    assert lightness == sorted(lightness, reverse=True)
    assert len(set(plotting.ORG_COLOURS)) == len(plotting.ORG_COLOURS)
