"""``newpower validate``: checks run on held-out seeds, the report and its figures come from saved data."""

from __future__ import annotations

import json

from sim import load_scenario
from sim.config.scenario import MECHANISM_NAMES
from sim.faces.cli.main import main
from sim.research import validation


def test_every_mechanism_has_a_scenario_where_its_knock_out_is_checked():
    """A new mechanism without a knock-out case would be a row that can never pass."""
    from sim.scenarios import LIBRARY

    for name in MECHANISM_NAMES:
        assert name in validation.KNOCKOUT_CASES, name
        scenario, overrides = validation.KNOCKOUT_CASES[name]
        assert (LIBRARY / f"{scenario}.toml").exists(), name
        load_scenario(scenario, overrides=overrides)  # the overrides name real keys


def test_a_tiny_validate_writes_the_report_its_data_and_figures(tmp_path, capsys):
    """One knock-out and one classic limit, quick: PASS/FAIL rows with numbers, a figure each,
    validation.json beside the report; the report states its run time."""
    code = main(["validate", "--quick", "--only", "exit_contagion,0.24", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    rows = json.loads((tmp_path / "validation.json").read_text())
    assert [r["name"] for r in rows] == ["Watts 2002, phi = 0.24", "knock-out exit_contagion"]
    assert code == (0 if all(r["status"] == "PASS" for r in rows) else 1)
    watts = rows[0]["numbers"]
    assert 1.0 < watts["window_low"] < 1.2 and 3.8 < watts["window_high"] < 3.9  # the analytic window
    knock = rows[1]["numbers"]["effects"]
    assert all(e["ci_low"] <= e["mean"] <= e["ci_high"] for e in knock.values())
    text = (tmp_path / "validation.md").read_text()
    assert "Run time:" in text and "held-out seeds 5000-5003" in text
    assert "| classic limit | [Watts 2002, phi = 0.24](#watts-2002-phi--024) |" in text
    for name in ("validation_watts_2002_phi_0_24.png", "validation_knock_out_exit_contagion.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 1000
    assert "wrote" in out


def test_a_check_whose_module_or_scenario_is_missing_is_not_run_but_listed(monkeypatch):
    """A check that needs what this installation lacks is reported NOT RUN, not dropped."""
    check = validation.Check("classic limit", "nothing", "-", "-", lambda plan: None, ("no_such_scenario",))
    monkeypatch.setattr(validation, "checks", lambda: (check,))
    rows, cpu = validation.run_checks(validation.QUICK)
    assert [(r.name, r.status) for r in rows] == [("nothing", "NOT RUN")] and cpu == 0


def test_checks_on_worker_processes_give_the_rows_of_one_process():
    """--workers only spreads the checks over processes: same rows, in report order, either way."""
    from sim.research.executors import LocalExecutor

    only = ("Granovetter", "knock-out novelty")
    alone, _ = validation.run_checks(validation.QUICK, only)
    with LocalExecutor(2) as executor:
        spread, cpu = validation.run_checks(validation.QUICK, only, executor=executor)
    assert len(alone) == 2 and spread == alone and cpu > 0


def test_unknown_words_for_only_exit_2(tmp_path, capsys):
    assert main(["validate", "--quick", "--only", "zzz", "--out", str(tmp_path)]) == 2
    assert "--only zzz" in capsys.readouterr().err


def test_a_fact_passes_only_when_every_scenario_shows_it(monkeypatch):
    """A stylized fact is one row over all the scenarios patterns checks it on: one FAIL fails it."""
    import sys
    import types

    fake = types.ModuleType("sim.research.patterns")
    rows = [
        {"scenario": "a", "fact": "SF1", "passed": True, "numbers": {"share": 0.6}, "detail": "ok"},
        {
            "scenario": "b",
            "fact": "SF1",
            "passed": False,
            "numbers": {"share": 0.3},
            "detail": "too few consume",
        },
    ]
    fake.check_all = lambda seeds, log, only: [r for r in rows if r["fact"] == only]
    monkeypatch.setitem(sys.modules, "sim.research.patterns", fake)
    outcome = validation._fact("SF1")(validation.QUICK)
    assert not outcome.passed and outcome.numbers == {"a.share": 0.6, "b.share": 0.3}
    assert "b FAIL: too few consume" in outcome.detail
    rows[1]["passed"] = True
    assert validation._fact("SF1")(validation.QUICK).passed


def test_quick_gives_a_fact_judged_on_an_interval_all_its_replications(monkeypatch):
    """--quick runs most facts on two seeds, but SF4's t interval on two runs (t = 12.7) could
    not tell a steady loss from none: it gets every quick replication."""
    import sys
    import types

    seen: dict[str, list[int]] = {}
    fake = types.ModuleType("sim.research.patterns")

    def check_all(seeds, log, only):
        seen[only] = list(seeds)
        return [{"scenario": "a", "fact": only, "passed": True, "numbers": {}, "detail": "ok"}]

    fake.check_all = check_all
    monkeypatch.setitem(sys.modules, "sim.research.patterns", fake)
    for code in ("SF1", "SF4"):
        validation._fact(code)(validation.QUICK)
    assert seen["SF1"] == validation.QUICK.seeds[:2]
    assert seen["SF4"] == validation.QUICK.seeds
