"""Every scenario in scenarios/ cites its source and runs briefly with its headline measures."""

from __future__ import annotations

import math

import pytest
from helpers import ROOT

from sim import load_scenario, run

LIBRARY = sorted((ROOT / "scenarios").glob("*.toml"))


def test_library_has_the_article_cases():
    """At least eight scenarios drawn from the article, plus the Watts validation limit."""
    names = {p.stem for p in LIBRARY}
    assert len(names) >= 9
    assert {
        "castle_vs_crowd",
        "newspaper_comments",
        "facebook_rival",
        "uber_fee_hike",
        "ted_opening",
        "sopa_blackout",
        "kickstarter_surge",
        "go_bilingual",
        "occupy_yourself",
        "watts_cascade",
    } <= names


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_scenario_opens_with_its_citation(path):
    """The file starts with a comment citing the passage or paper it models."""
    head = path.read_text().splitlines()[0]
    cited = ("Heimans & Timms", "Watts", "Granovetter", "Centola & Macy")
    assert head.startswith("#") and any(source in head for source in cited)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_scenario_runs_and_reports_headline(path):
    """A short, small run produces the headline measures for every organization."""
    scenario = load_scenario(path, overrides={"network.n": 300})
    steps = min(scenario.steps, max([s.step for s in scenario.shocks] + [0]) + 5)
    result = run(scenario, steps=steps)
    summary = result.summary
    assert 0.0 <= summary["final_active_fraction"] <= 1.0
    assert summary["largest_desertion_cascade"] >= 0
    for org in result.model.organizations:
        assert summary[f"{org.name}.final_quadrant"] in ("Castle", "Connector", "Cheerleader", "Crowd")
        assert not math.isnan(summary[f"{org.name}.desertion_share"])
    for entry in scenario.shocks:
        if entry.kind == "campaign":
            assert len(result.campaigns) >= 1 and "winner" in result.campaigns
