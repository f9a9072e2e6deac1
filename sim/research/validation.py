"""The validation report: stylized facts, classic limits and knock-outs, each PASS or FAIL with numbers.

``newpower validate [--quick] [--out DIR]`` (``sim/faces/cli/validate.py``) runs every check
of :data:`CHECKS` with replications, saves what each measured (``validation.json`` beside the
report) and writes ``validation.md`` with one figure per check (drawn from the saved data by
:mod:`sim.figures.validation`). Three groups of checks:

- **stylized facts** (pattern-oriented modelling, Grimm et al. 2005): the patterns of
  ``sim.research.patterns`` (SF1-SF5), when that module is present;
- **classic limits**: the published threshold models the model reduces to
  (:mod:`sim.research.classics`: Watts 2002 at two thresholds against the analytic cascade
  window, and Granovetter 1978 and Centola & Macy 2007 where their scenarios exist);
- **knock-outs**: each named mechanism (``sim.model.rules.MECHANISMS``), switched off in the
  scenario where it should matter, must change something measurable (paired on common seeds).

To add a check, add a :class:`Check` to :data:`CHECKS` (a function of the :class:`Plan` that
returns a :class:`Outcome`) and, if it needs its own figure, a drawer in
:mod:`sim.figures.validation`. Seeds are the held-out set (5000-...): nothing here was tuned.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.research.executors import Executor, InlineExecutor
from sim.stats import interval

#: First seed of the checks: the held-out set (tuning uses 1000-1019 only).
FIRST_SEED = 5000


@dataclass(frozen=True)
class Plan:
    """How much to run: replications (the classic limits' cascade frequencies need more) and
    the network size of the knock-outs."""

    quick: bool
    replications: int
    classic_replications: int
    knockout_n: int | None

    @property
    def seeds(self) -> list[int]:
        """The held-out seeds of every check."""
        return list(range(FIRST_SEED, FIRST_SEED + self.replications))

    @property
    def classic_seeds(self) -> list[int]:
        """The held-out seeds of the classic limits."""
        return list(range(FIRST_SEED, FIRST_SEED + self.classic_replications))


QUICK = Plan(quick=True, replications=4, classic_replications=8, knockout_n=500)
FULL = Plan(quick=False, replications=20, classic_replications=20, knockout_n=None)


@dataclass(frozen=True)
class Outcome:
    """What one check found: its verdict, a line with the numbers, and the data of its figure."""

    passed: bool
    detail: str
    numbers: dict[str, Any] = field(default_factory=dict)
    figure: str = ""  # the drawer's name in sim.figures.validation ("" for none)


@dataclass(frozen=True)
class Check:
    """One row of the report."""

    group: str
    name: str
    claim: str
    source: str
    run: Callable[[Plan], Outcome]
    needs: tuple[str, ...] = ()  # library scenarios (or "module:sim.research.x") it needs

    def available(self) -> bool:
        """Whether what the check needs exists in this installation."""
        from sim.scenarios import LIBRARY

        for need in self.needs:
            if need.startswith("module:"):
                if importlib.util.find_spec(need.removeprefix("module:")) is None:
                    return False
            elif not (LIBRARY / f"{need}.toml").exists():
                return False
        return True


# ------------------------------------------------------------------ classic limits


def _classic(verdict) -> Outcome:
    numbers = dict(verdict.numbers)
    detail = ", ".join(f"{k} = {v:.3g}" for k, v in numbers.items() if isinstance(v, float))
    return Outcome(bool(verdict.passed), detail, numbers, figure="classic")


def _watts(phi: float, inside: tuple[float, ...], outside: tuple[float, ...]) -> Callable[[Plan], Outcome]:
    def check(plan: Plan) -> Outcome:
        from sim.research.classics import watts_check

        verdict = watts_check(
            phi=phi,
            inside=inside,
            outside=outside,
            seeds=plan.classic_seeds,
            n=1000 if plan.quick else 3000,
        )
        outcome = _classic(verdict)
        return Outcome(outcome.passed, outcome.detail, {**outcome.numbers, "phi": phi}, figure="watts")

    return check


def _granovetter(plan: Plan) -> Outcome:
    from sim.research.classics import granovetter_check

    return _classic(granovetter_check())


def _centola(plan: Plan) -> Outcome:
    from sim.research.classics import centola_check

    return _classic(centola_check(seeds=plan.classic_seeds))


# ------------------------------------------------------------------ knock-outs

#: For each named mechanism, the library scenario where switching it off should change something,
#: and the overrides that make it matter there (no library scenario converts current into stock:
#: ``structure`` is checked on the playbook's ``get_structural`` arm).
KNOCKOUT_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "peer_influence": ("castle_vs_crowd", {}),
    "pull": ("sopa_blackout", {}),
    "fickle_fade": ("kickstarter_surge", {}),
    "slipping": ("kickstarter_surge", {}),
    "value_gap_grievance": ("facebook_rival", {}),
    "take_grievance": ("uber_fee_hike", {}),
    "exit_contagion": ("uber_fee_hike", {}),
    "desertion_to_rival": ("facebook_rival", {}),
    "outreach": ("castle_vs_crowd", {}),
    "ads": ("astroturf_exposed", {}),
    "structure": ("kickstarter_surge", {"organizations.Kickstarter.strategy": "get_structural"}),
    "participation_inequality": ("power_shift", {}),
    "novelty": ("kickstarter_surge", {}),  # in teaching_surge its knock-out changes nothing (issue 11 note)
}
#: Summary measures compared with and without a knock-out (``<org>.`` ones for every organization).
KNOCKOUT_MEASURES = ("final_active_fraction", "peak_active_fraction")
KNOCKOUT_ORG_MEASURES = ("final_members", "desertions", "churn", "final_stock", "final_current")


def knockout_effects(
    scenario_name: str,
    mechanism: str,
    seeds: Sequence[int],
    n: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, dict[str, float]]:
    """Per measure, the paired difference knocked-out minus intact over ``seeds`` (mean, 95% interval)."""
    from sim.model.catalog import load_scenario
    from sim.runs.runner import run

    size = {**(overrides or {}), **({"network.n": n} if n else {})}
    intact = load_scenario(scenario_name, overrides=size)
    knocked = load_scenario(scenario_name, overrides={**size, "dynamics.knockout": [mechanism]})
    pairs = [(run(intact, seed=s).summary, run(knocked, seed=s).summary) for s in seeds]
    keys = [*KNOCKOUT_MEASURES]
    keys += [k for k in pairs[0][0] if k.split(".", 1)[-1] in KNOCKOUT_ORG_MEASURES and "." in k]
    out = {}
    for key in keys:
        diff = np.array([float(k.get(key, np.nan)) - float(i.get(key, np.nan)) for i, k in pairs])
        scale = max(abs(np.nanmean([float(i.get(key, np.nan)) for i, _ in pairs])), 1e-12)
        stats = interval(diff)
        out[key] = {
            "mean": stats["mean"],
            "ci_low": stats["ci_low"],
            "ci_high": stats["ci_high"],
            "relative": stats["mean"] / scale,
        }
    return out


def significant(effect: dict[str, float]) -> bool:
    """Whether a paired difference's 95% interval excludes 0."""
    return bool(effect["ci_low"] > 0 or effect["ci_high"] < 0)


def _knockout(mechanism: str) -> Callable[[Plan], Outcome]:
    def check(plan: Plan) -> Outcome:
        scenario, overrides = KNOCKOUT_CASES[mechanism]
        effects = knockout_effects(scenario, mechanism, plan.seeds, plan.knockout_n, overrides)
        moved = {k: e for k, e in effects.items() if significant(e)}
        pool = moved or effects
        key = max(pool, key=lambda k: abs(pool[k]["relative"]) if np.isfinite(pool[k]["relative"]) else 0.0)
        e = effects[key]
        detail = (
            f"{scenario}: largest change {key} {e['mean']:+.3g} [{e['ci_low']:.3g}, {e['ci_high']:.3g}] "
            f"({e['relative']:+.0%} of intact); {len(moved)} of {len(effects)} measures changed"
        )
        numbers = {"scenario": scenario, "measure": key, "effects": effects, "changed": len(moved)}
        return Outcome(bool(moved), detail, numbers, figure="knockout")

    return check


# ------------------------------------------------------------------ stylized facts


#: Library scenarios that are the classic limits (checked as such), not article scenarios.
CLASSIC_SCENARIOS = frozenset(
    {"watts_cascade", "granovetter_riot", "granovetter_riot_perturbed", "centola_clustering"}
)
#: The stylized facts of ``sim.research.patterns`` (issue 11, section 1), by code.
FACTS = {
    "SF1": (
        "participation pyramid",
        "at the end, counts fall up the scale and at least half consume",
        "Nielsen 2006; van Mierlo et al. 2014",
    ),
    "SF2": (
        "surge, fade, core",
        (
            "active participation peaks, falls below half the peak and settles "
            "on a core of 10-70% of it; more fickleness fades faster"
        ),
        "Halfaker et al. 2013",
    ),
    "SF3": (
        "most cascades are small",
        (
            "on a heavy-tailed network, most of 200 single random seeds start nothing beyond their "
            "neighbours and sizes span two orders of magnitude; with peer influence knocked out they do not"
        ),
        "Goel, Watts & Goldstein 2012; Watts 2002",
    ),
    "SF4": (
        "desertion is not churn",
        (
            "a values drift or a take jump makes a lasting net loss, "
            "to a rival promising better values when there is one"
        ),
        "issue 11",
    ),
    "SF5": (
        "contests can go either way",
        "in the playbook's contests some arm wins < 90% and some > 10% of runs",
        "issue 11",
    ),
}


#: Facts judged on a 95% t interval over seeds: even ``--quick`` gives them all its replications,
#: since with two runs the interval's t is 12.7 (net losses of 0.34 and 0.40 would not differ
#: from 0); the other facts count runs or pool trials, and ``--quick`` gives them two seeds.
INTERVAL_FACTS = frozenset({"SF4"})


def _fact(code: str) -> Callable[[Plan], Outcome]:
    """One stylized fact over every scenario ``sim.research.patterns`` checks it on: PASS when all pass."""

    def check(plan: Plan) -> Outcome:
        patterns = importlib.import_module("sim.research.patterns")
        seeds = plan.seeds[:2] if plan.quick and code not in INTERVAL_FACTS else plan.seeds
        results = [
            r
            for r in patterns.check_all(seeds, log=lambda _line: None, only=code)
            if r["scenario"] not in CLASSIC_SCENARIOS  # threshold-model limits, not the article's
        ]
        numbers = {
            f"{r['scenario']}.{key}": float(value)
            for r in results
            for key, value in r.get("numbers", {}).items()
            if isinstance(value, int | float)
        }
        detail = "; ".join(
            f"{r['scenario']} {'PASS' if r['passed'] else 'FAIL'}: {r['detail']}" for r in results
        )
        return Outcome(bool(results) and all(r["passed"] for r in results), detail, numbers, figure="fact")

    return check


def _case(mechanism: str) -> str:
    scenario, overrides = KNOCKOUT_CASES.get(mechanism, ("(no case declared)", {}))
    settings = ", ".join(f"{k} = {v}" for k, v in overrides.items())
    return f"{scenario} ({settings})" if settings else scenario


def _checks() -> tuple[Check, ...]:
    from sim.config.scenario import MECHANISM_NAMES

    facts = tuple(
        Check(
            "stylized fact", f"{code} {title}", claim, source, _fact(code), ("module:sim.research.patterns",)
        )
        for code, (title, claim, source) in FACTS.items()
    )
    classics = (
        Check(
            "classic limit",
            "Watts 2002, phi = 0.18",
            "one seed cascades globally inside the analytic window (about 1.02 < z < 5.76), never outside",
            "Watts (2002), PNAS 99(9):5766-5771",
            _watts(0.18, (3.0, 4.0), (0.5, 8.0)),
            ("watts_cascade", "module:sim.research.classics"),
        ),
        Check(
            "classic limit",
            "Watts 2002, phi = 0.24",
            "one seed cascades globally inside the analytic window (about 1.11 < z < 3.86), never outside",
            "Watts (2002), PNAS 99(9):5766-5771",
            _watts(0.24, (2.0, 2.5), (0.5, 5.0)),
            ("watts_cascade", "module:sim.research.classics"),
        ),
        Check(
            "classic limit",
            "Granovetter 1978 riot",
            "thresholds 0..99: all 100 riot; move the person at 1 to 2: only the instigator",
            "Granovetter (1978), AJS 83(6):1420-1443",
            _granovetter,
            ("granovetter_riot", "granovetter_riot_perturbed", "module:sim.research.classics"),
        ),
        Check(
            "classic limit",
            "Centola & Macy 2007 clustering",
            "complex contagion spreads on a clustered lattice, not on a random network",
            "Centola & Macy (2007), AJS 113(3):702-734",
            _centola,
            ("centola_clustering", "module:sim.research.classics"),
        ),
    )
    knockouts = tuple(
        Check(
            "knock-out",
            f"knock-out {name}",
            f"switching `{name}` off changes something measurable in {_case(name)}",
            "docs/ODD.md 7.20",
            _knockout(name),
            (KNOCKOUT_CASES.get(name, ("(no case declared)", {}))[0],),
        )
        for name in MECHANISM_NAMES
    )
    return facts + classics + knockouts


#: Every check of the report, in its order (built on first use: it names the mechanisms).
def checks() -> tuple[Check, ...]:
    """The checks of the report."""
    return _checks()


@dataclass(frozen=True)
class Row:
    """One check's result as saved (``validation.json``)."""

    group: str
    name: str
    claim: str
    source: str
    status: str  # "PASS", "FAIL" or "NOT RUN"
    detail: str
    numbers: dict[str, Any]
    figure: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return asdict(self)


def _outcome(job: tuple[Plan, str]) -> tuple[str, Outcome, float]:
    """Run the check named in ``job`` (in a worker or here); with the CPU seconds it took there."""
    plan, name = job
    start = time.process_time()
    outcome = next(c for c in checks() if c.name == name).run(plan)
    return name, outcome, time.process_time() - start


def run_checks(
    plan: Plan,
    only: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
    executor: Executor | None = None,
) -> tuple[list[Row], float]:
    """Run the checks (those whose name contains one of ``only``, if given).

    Each check seeds its own runs from ``plan``, so running them on ``executor``'s workers
    (default: one after the other in this process) gives the same rows. Returns the rows in
    report order and the CPU seconds the checks took, summed over the processes that ran them.
    """
    chosen = [c for c in checks() if not only or any(word in c.name for word in only)]
    jobs = [(plan, c.name) for c in chosen if c.available()]
    outcomes: dict[str, Outcome] = {}
    cpu = 0.0
    for name, outcome, seconds in (executor or InlineExecutor()).map_unordered(_outcome, jobs):
        outcomes[name] = outcome
        cpu += seconds
        if progress is not None:
            progress(name)
    rows = []
    for check in chosen:
        outcome = outcomes.get(check.name)
        if outcome is None:
            status, detail, numbers, figure = "NOT RUN", f"needs {', '.join(check.needs)}", {}, ""
        else:
            status = "PASS" if outcome.passed else "FAIL"
            detail, numbers, figure = outcome.detail, outcome.numbers, outcome.figure
        rows.append(Row(check.group, check.name, check.claim, check.source, status, detail, numbers, figure))
    return rows, cpu


# ------------------------------------------------------------------ saving and the report


def save(rows: Sequence[Row], path: Path) -> Path:
    """Write the rows as JSON (the data every figure and the report are drawn from)."""
    from sim.storage.files import write_json

    return write_json([r.to_dict() for r in rows], path)


def write_report(
    data: Path, out: Path, plan: Plan, elapsed: float, wall: float | None = None, workers: int = 1
) -> Path:
    """Draw every figure from the saved data and write ``validation.md`` beside them.

    ``elapsed`` is the checks' CPU seconds; ``wall`` (if given) the wall-clock seconds of the run
    on ``workers`` processes.
    """
    took = f"{elapsed:.0f} CPU seconds"
    if wall is not None:
        took += f" ({wall:.0f} s of wall-clock time on {workers} process{'es' if workers > 1 else ''})"
    from sim.figures.validation import draw

    rows = json.loads(data.read_text())
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    passed = sum(r["status"] == "PASS" for r in rows)
    failed = sum(r["status"] == "FAIL" for r in rows)
    mode = "quick (`--quick`)" if plan.quick else "full"
    lines = [
        "# Validation: stylized facts, classic limits, knock-outs",
        "",
        "<!-- Generated by `newpower validate`; do not edit by hand. -->",
        "",
        (
            f"A {mode} run of `newpower validate` with {plan.replications} replications per check on the "
            f"held-out seeds {plan.seeds[0]}-{plan.seeds[-1]} (nothing was tuned on them). "
            f"{passed} checks pass, {failed} fail, {len(rows) - passed - failed} were not run. "
            f"Run time: {took}. The numbers are in [validation.json](validation.json); each "
            "figure is drawn from it alone. The article's strategy claims are judged in "
            "[strategies.md](strategies.md)."
        ),
        "",
        "| group | check | verdict | numbers |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['group']} | [{r['name']}](#{anchor(r['name'])}) | **{r['status']}** | {r['detail']} |"
        for r in rows
    ]
    lines.append("")
    for r in rows:
        lines += [
            f"## {r['name']}",
            "",
            f"**{r['status']}.** {r['claim']} ({r['source']}).",
            "",
            r["detail"],
            "",
        ]
        if r["figure"]:
            name = f"validation_{re.sub(r'[^a-z0-9]+', '_', r['name'].lower()).strip('_')}.png"
            draw(r, figures / name)
            lines += [f"![{r['name']}](figures/{name})", ""]
    path = out / "validation.md"
    path.write_text("\n".join(lines).rstrip("\n") + "\n")
    return path


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
