"""The playbook report: experiments run on shared seeds and verdicts follow the intervals."""

from __future__ import annotations

import numpy as np

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
    assert "## Where the article's claims do not hold in the model" in text
    figure = tmp_path / "figures" / "strategy_get_structural.png"
    assert figure.stat().st_size > 1000
