"""The run told in plain words (sim.figures.story) and its table of measures, from saved results only.

Synthetic results fix what each sentence must say (the surge, what happened, each organization's
arc, who deserted whom and where they went, each campaign); results missing what the model
reports today still make a story (the model will change); a real small run writes the same story
into ``summary.md``, and ``newpower plot`` writes it again from the files alone.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest
from helpers import CASTLE
from toy_results import toy

from sim.faces.cli.main import main
from sim.figures.measure_table import measure_rows, table_text
from sim.figures.measure_words import number, words
from sim.figures.story import moves, story_text, summary_markdown, tell
from sim.stats import bootstrap_interval, interval
from sim.storage.results import SUMMARY_MD, Results, load_results


def section(results: Results, title: str) -> str:
    """One part of the story as text (sentences and items)."""
    part = next(p for p in tell(results) if p.title == title)
    return " ".join(part.sentences + part.items)


# ------------------------------------------------------------------ what each part says


def test_the_surge_how_big_when_after_what_how_fast_it_faded(tmp_path):
    text = section(toy(tmp_path), "The surge")
    assert "from 1.0% of participants at step 0" in text
    assert "taking off at step 8, with the viral moment at step 8" in text
    assert "a peak of 50.0% at step 10" in text
    assert "halfway back to its start within 4 steps of the peak (by step 14)" in text
    assert "At the end (step 20) 1.0% were active" in text


def test_no_surge_is_said_plainly(tmp_path):
    flat = toy(tmp_path)
    flat.timeseries["active_fraction"] = 0.02
    flat.summary["runs"][0].update(peak_active_fraction=0.02, half_life=math.nan)
    text = section(flat, "The surge")
    assert text.startswith("There was no surge") and "2.0%" in text


def test_what_happened_lists_shocks_and_strategy_starts_in_order(tmp_path):
    part = next(p for p in tell(toy(tmp_path)) if p.title == "What happened")
    assert part.items == [
        "Hive's strategy, become the man, starts at step 5.",
        "Viral moment at step 8: 30 people jumped to funding.",
    ]


def test_each_organizations_arc_on_the_compass(tmp_path):
    text = section(toy(tmp_path), "The organizations on the compass")
    assert (
        "Hive (platform, become the man from step 5) went from Castle (0.30, 0.40) to Connector (0.30, 0.80)"
        in text
    )
    assert "community 100 \u2192 20 members" in text
    assert "Rival (platform) stayed a Crowd (0.80, 0.80); community 100 \u2192 180 members" in text


def test_who_deserted_whom_and_to_where(tmp_path):
    results = toy(tmp_path)
    flows = moves(results).set_index(["from", "to"])["n"].to_dict()
    assert flows == {(1, 2): 2, (1, 0): 1}  # participant 0 to the Rival, 1 to none, 2 to the Rival
    text = section(results, "Desertions")
    assert "Hive's community deserted it: it lost 80.0% of its peak community" in text
    assert "(100 members at step 0, 20 at the end)" in text
    assert "Rival 2 and no organization 1" in text
    assert "largest desertion cascade" in text and "12 participants" in text
    assert "Rival lost" not in text  # it lost nobody


def test_each_campaign_has_its_winner_with_turnout_against_stock(tmp_path):
    text = section(toy(tmp_path), "Campaigns")
    assert "Step 18 on a bill: Hive: 3 turned out of 20 members, 0.5 stock spent" in text
    assert "against Rival: 40 turned out of 180 members, 0.01 stock spent" in text
    assert "Rival won (force 2.01 against 0.65)" in text


def test_several_runs_are_summed_up_with_their_spread(tmp_path):
    results = toy(tmp_path, runs=3)
    text = section(results, "The surge")
    assert "51.0% on average (runs from 50.0% to 52.0%)" in text
    assert "at step 10 (in every run)" in text
    assert "in 3 of 3 runs" in text
    campaign = toy(tmp_path, runs=3, campaigns=pd.concat([toy(tmp_path).campaigns] * 3))
    campaign.campaigns["run"] = [0, 1, 2]
    campaign.campaigns["winner"] = ["Rival", "Rival", "Hive"]
    assert "Rival won in 2 of 3 runs; Hive won in 1 of 3 runs" in section(campaign, "Campaigns")


def test_a_story_from_whatever_the_results_hold(tmp_path):
    """A model that reports less (no quadrants, no summary, no events) or more (a new measure) still tells."""
    results = toy(tmp_path)
    bare = toy(
        tmp_path,
        timeseries=results.timeseries.drop(columns=["Hive.quadrant", "Rival.quadrant", "Rival.members"]),
        summary={"runs": [{"new_measure": 0.25, "n_participants": 200}]},
        events=None,
        campaigns=pd.DataFrame({"step": [3]}),  # no sides, no winner: left out
        snapshots=None,
    )
    titles = [p.title for p in tell(bare)]
    assert titles == ["The surge", "What happened", "The organizations on the compass", "Desertions"]
    assert "Connector (0.30, 0.80)" in section(bare, "The organizations on the compass")  # quadrant computed
    assert "went to" not in section(bare, "Desertions")  # no snapshots: no destinations claimed
    text = story_text(bare)
    assert "new_measure" in text and "0.25" in text
    assert summary_markdown(bare).startswith("# toy: a toy")


def test_an_event_without_a_sentence_is_worded_from_its_record(tmp_path):
    events = pd.DataFrame({"run": [0], "seed": [1], "step": [4], "kind": ["solar_flare"], "strength": [0.5]})
    part = next(p for p in tell(toy(tmp_path, events=events)) if p.title == "What happened")
    assert "Solar flare at step 4 (strength 0.5)." in part.items


# ------------------------------------------------------------------ the table of measures


def test_numbers_are_plain():
    assert number(1.843e-05) == "0.0000184"
    assert number(0.002353, share=True) == "0.2%"
    assert number(3000) == "3,000" and number(3000.0) == "3,000" and number(12345.6) == "12,346"
    assert number(0.8247) == "0.825" and number(float("nan")) == "n/a" and number("Crowd") == "Crowd"
    assert words("Uber.desertion_share").unit == "of its peak community"
    assert words("a_new_measure").name == "a_new_measure" and words("a_new_measure").unit == ""


def test_one_run_table_has_units_and_no_scientific_notation():
    rows = measure_rows([{"run": 0, "seed": 1, "n_participants": 3000, "Hive.final_current": 1.843e-05}])
    text = table_text(rows, 1)
    assert "interval" not in text
    assert re.search(r"n_participants\s+3,000\s+participants", text)
    assert "0.0000184" in text and "e-05" not in text


def test_intervals_only_where_runs_differ_and_shares_stay_in_0_1():
    runs = [
        {"n_participants": 300, "Hive.desertion_share": s, "Hive.final_members": m, "Hive.final_quadrant": q}
        for s, m, q in ((0.0, 10, "Crowd"), (0.0, 12, "Crowd"), (0.00706, 11, "Castle"))
    ]
    t = interval([r["Hive.desertion_share"] for r in runs])
    assert t["ci_low"] < 0  # the t-interval would leave [0, 1]
    rows = {r.measure: r for r in measure_rows(runs)}
    assert rows["n_participants"].interval == "(same in every run)"
    low, high = bootstrap_interval([r["Hive.desertion_share"] for r in runs])
    assert 0.0 <= low <= high <= 1.0
    assert rows["Hive.desertion_share"].interval.startswith("[0.0%, ")
    assert rows["Hive.final_members"].interval.startswith("[")
    assert rows["Hive.final_quadrant"].value == "Crowd (2 of 3), Castle (1 of 3)"


def test_bootstrap_interval_is_reproducible_and_within_the_values():
    values = [0.1, 0.5, 0.2, 0.9]
    assert bootstrap_interval(values) == bootstrap_interval(values)
    low, high = bootstrap_interval(values)
    assert 0.1 <= low < high <= 0.9
    assert all(math.isnan(v) for v in bootstrap_interval([0.3]))


# ------------------------------------------------------------------ a real run


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("story") / "out"
    argv = ["run", str(CASTLE), "--set", "network.n=200", "--steps", "12", "-r", "2", "--out", str(folder)]
    assert main([*argv, "--no-figures"]) == 0
    return folder


def test_a_real_run_writes_its_story_into_summary_md(real):
    text = (real / SUMMARY_MD).read_text(encoding="utf-8")
    assert text == summary_markdown(load_results(real))
    assert text.startswith("# castle_vs_crowd: ")
    for heading in ("## The surge", "## The organizations on the compass", "## Measures"):
        assert heading in text
    assert "Gazette" in text and "Commons" in text


def test_plot_writes_the_story_again_from_the_files_alone(real, capsys):
    before = (real / SUMMARY_MD).read_text(encoding="utf-8")
    (real / SUMMARY_MD).unlink()
    assert main(["plot", str(real)]) == 0
    assert (real / SUMMARY_MD).read_text(encoding="utf-8") == before
    assert "summary.md" in capsys.readouterr().out
