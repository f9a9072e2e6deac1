"""The playbook report: experiments run on shared seeds and verdicts follow the intervals."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model.strategies import STRATEGIES
from sim.research import playbook
from sim.runs.replicate import replication_seeds


def test_every_strategy_has_an_experiment():
    """docs/strategies.md covers the whole registry."""
    assert {e.strategy for e in playbook.EXPERIMENTS} == set(STRATEGIES)
    for exp in playbook.EXPERIMENTS:
        assert exp.claims and exp.strategy in exp.arms
        for claim in exp.claims:
            assert claim.a in exp.arms and claim.b in exp.arms and claim.direction in (-1, 1)


def test_interval_math_and_verdicts():
    """Mean/95% t-interval and the Welch difference agree with scipy; verdicts follow the sign."""
    from scipy import stats

    x = np.array([1.0, 2.0, 3.0, 4.0])
    mean, lo, hi = playbook.mean_ci(x)
    half = stats.t.ppf(0.975, 3) * x.std(ddof=1) / 2
    assert (mean, lo, hi) == (2.5, 2.5 - half, 2.5 + half)
    diff = playbook.difference_ci(x + 10, x)
    assert diff[0] == 10 and diff[1] > 0
    assert playbook.verdict(diff, +1) == "holds"
    assert playbook.verdict(diff, -1).startswith("does not hold")
    assert playbook.verdict(playbook.difference_ci(x, x[::-1]), +1).startswith("not shown")


def test_seeds_are_independent_and_reproducible():
    """Seeds spawned from one root are distinct and the same every time."""
    seeds = replication_seeds(7, 5)  # the playbook's seeds (sim.runs.replicate)
    assert len(set(seeds)) == 5 and seeds == replication_seeds(7, 5)


def test_report_writes_markdown_and_figures(tmp_path):
    """A tiny run of one experiment writes the report with its verdict and figure."""
    results = playbook.run_experiments(n_seeds=2, workers=1, only=("get_structural",))
    path = playbook.write_report(results, tmp_path, n_seeds=2, elapsed=0.0)
    text = path.read_text()
    assert "## get_structural" in text and "**Claims.**" in text
    assert "[`get_structural`](#get_structural)" in text  # GitHub anchors keep underscores
    assert "## Where the article's claims do not hold in the model" in text
    figure = tmp_path / "figures" / "strategy_get_structural.png"
    assert figure.stat().st_size > 1000


def test_worker_processes_give_the_runs_in_the_same_order(tmp_path):
    """Two worker processes (the sweep's executor) return every run, in task order, as one process does."""
    one = playbook.run_experiments(n_seeds=2, workers=1, only=("get_structural",))
    two = playbook.run_experiments(n_seeds=2, workers=2, only=("get_structural",))
    assert list(one["get_structural"]) == list(two["get_structural"])
    for arm, runs in one["get_structural"].items():
        # compared as text: a surge that never halves has half_life NaN, and NaN != NaN
        assert [repr(r["summary"]) for r in runs] == [repr(r["summary"]) for r in two["get_structural"][arm]]


def test_arguments_that_would_write_an_empty_report_are_refused(capsys, tmp_path):
    """--only with a misspelled strategy or --seeds 1 exit 2 naming the value; docs/ is not touched."""
    for argv, expected in (
        (["--only", "no_such"], "--only no_such: no such experiment"),
        (["--seeds", "1"], "--seeds 1: allowed: 2 or more"),
        (["--workers", "100000"], "--workers 100000"),
        (["--workers", "0"], "--workers 0: allowed: 1"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            playbook.main([*argv, "--out", str(tmp_path / "docs")])
        assert exit_info.value.code == 2
        assert expected in capsys.readouterr().err
    assert not (tmp_path / "docs").exists()
