"""Helpers of scripts/mutation.sh: sample the mutants of a cosmic-ray session, summarize, report.

python scripts/mutation_tools.py sample SESSION SEED SPEC ...  # seeded sample per SPEC: MODULE[::FUNCTION][=N]
python scripts/mutation_tools.py only-survivors SESSION OLD_SESSION  # keep only OLD's survivors
python scripts/mutation_tools.py summary SESSION                     # kill rate, survivors, diffs
python scripts/mutation_tools.py report OUT.md EQUIVALENT DIR ...  # docs/mutation.md from runs' folders

Each run's folder (results/mutation/NAME/) holds session.sqlite (the first run), rerun.sqlite
(its survivors against the suite with the new tests, if run), times.txt (wall and CPU seconds) and
specs.txt (the call's specs: a module run with ``::FUNCTION`` is reported as ``MODULE::FUNCTION``).

A mutant is named by (module, operator, occurrence): the same source gives the same names, so a
second session (after tests were added) can re-run exactly the first one's survivors. Timeouts
count as killed (the oracle noticed: a mutant that hangs the model is caught); an equivalent
mutant (listed, with the reason, in the EQUIVALENT file) is left out of the kill rate.
"""

from __future__ import annotations

import math
import random
import re
import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)


@dataclass(frozen=True)
class Mutant:
    module: str
    operator: str
    occurrence: int
    line: int
    outcome: str  # "killed", "timeout", "survived" or "error"
    killer: str  # the first failing test (the oracle runs with -x), or ""
    diff: str

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.module, self.operator, self.occurrence)


def _skip(db: WorkDB, job_id: str, why: str) -> None:
    db.set_result(job_id, WorkResult(output=why, worker_outcome=WorkerOutcome.SKIPPED))


def _key(item) -> tuple[str, str, int]:
    m = item.mutations[0]
    return (str(m.module_path), m.operator_name, m.occurrence)


def parse_spec(spec: str) -> tuple[str, str, int]:
    """``MODULE[::FUNCTION][=N]`` -> (module, function or "", N; 0: all)."""
    where, _, n = spec.partition("=")
    module, _, function = where.partition("::")
    return module, function, int(n or 0)


def sample(session: str, seed: int, specs: list[str]) -> None:
    """Per spec, keep a seeded random sample of N pending mutants of its module (0: all); with a
    FUNCTION, only the mutants inside that function (cosmic-ray's ``definition_name``) count."""
    wanted = {module: (function, n) for module, function, n in map(parse_spec, specs)}
    with use_db(session, WorkDB.Mode.open) as db:
        by_module: dict[str, list] = defaultdict(list)
        for item in db.pending_work_items:
            by_module[_key(item)[0]].append(item)
        for module, items in sorted(by_module.items()):
            items.sort(key=_key)  # job ids are random: sample in source order, not id order
            function, n = wanted.get(module, ("", 0))
            if function:
                for item in items:
                    if item.mutations[0].definition_name != function:
                        _skip(db, item.job_id, f"outside {function}")  # not in the population
                items = [item for item in items if item.mutations[0].definition_name == function]
                module = f"{module}::{function}"
            keep = items if n <= 0 else random.Random(f"{seed}:{module}").sample(items, min(n, len(items)))
            kept = {item.job_id for item in keep}
            for item in items:
                if item.job_id not in kept:
                    _skip(db, item.job_id, "not sampled")
            print(f"{module}: {len(kept)} of {len(items)} mutants")


def only_survivors(session: str, old: str) -> None:
    """Keep only the pending mutants that survived in session ``old``."""
    survivors = {m.key for m in mutants(old, labelled=False) if m.outcome == "survived"}
    with use_db(session, WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            if _key(item) not in survivors:
                _skip(db, item.job_id, "not a survivor")
    print(f"re-running {len(survivors)} survivors of {old}")


def labels(folder: Path) -> dict[str, str]:
    """Module -> the name its mutants are reported under: ``MODULE::FUNCTION`` if the run was
    restricted to a function (specs.txt of the run's folder), else the module."""
    specs = folder / "specs.txt"
    parsed = map(parse_spec, specs.read_text().split()) if specs.exists() else []
    return {module: f"{module}::{function}" for module, function, _ in parsed if function}


def mutants(session: str | Path, labelled: bool = True) -> list[Mutant]:
    """Every mutant run in ``session`` (not the skipped ones), in source order; none if no session.
    ``labelled``: modules named as reported (:func:`labels`); else as cosmic-ray names them."""
    if not Path(session).exists():
        return []
    names = labels(Path(session).parent) if labelled else {}
    with use_db(session, WorkDB.Mode.open) as db:
        items = {item.job_id: item for item in db.work_items}
        results = list(db.results)
    out = []
    for job, r in results:
        if r.worker_outcome == WorkerOutcome.SKIPPED:
            continue
        item = items[job]
        m = item.mutations[0]
        output = r.output or ""
        if r.worker_outcome != WorkerOutcome.NORMAL:
            outcome = "error"
        elif r.test_outcome == TestOutcome.SURVIVED:
            outcome = "survived"
        else:
            outcome = "timeout" if output.strip() == "timeout" else "killed"
        found = _FAILED.search(output)
        killer = found.group(1) if found and outcome == "killed" else ""
        module, operator, occurrence = _key(item)
        out.append(
            Mutant(
                names.get(module, module), operator, occurrence, m.start_pos[0], outcome, killer, r.diff or ""
            )
        )
    return sorted(out, key=lambda x: (x.module, x.line, x.operator, x.occurrence))


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score 95% interval of a proportion k/n (Wilson 1927): sensible near 0 and 1."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def _rate(k: int, n: int) -> str:
    if n == 0:
        return "n/a"
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {k / n:.0%} [{lo:.0%}, {hi:.0%}]"


def summary(session: str) -> None:
    """Kill rate per module and over all, then each survivor with its diff."""
    run = mutants(session)
    for module in sorted({m.module for m in run}) + ["all"]:
        ms = [m for m in run if module in ("all", m.module)]
        killed = sum(m.outcome in ("killed", "timeout") for m in ms)
        errors = sum(m.outcome == "error" for m in ms)
        print(f"{module}: run {len(ms)}, killed {_rate(killed, len(ms) - errors)}, worker errors {errors}")
    for m in run:
        if m.outcome == "survived":
            print(f"\nSURVIVED {m.module}:{m.line} {m.operator} #{m.occurrence}\n{m.diff}")


def _equivalents(path: str) -> dict[tuple[str, str, int], str]:
    """(module, operator, occurrence) -> reason; an entry names one mutant (operator, occurrence)
    or, for several with one reason, a list ``mutants = [[operator, occurrence], ...]``."""
    data = tomllib.loads(Path(path).read_text())
    return {
        (e["module"], operator, int(occurrence)): e["reason"]
        for e in data["equivalent"]
        for operator, occurrence in e.get("mutants", [(e.get("operator"), e.get("occurrence"))])
    }


def _diff_lines(diff: str) -> str:
    """The changed lines of a diff, ``old -> new``, for a table cell."""
    minus = [ln[1:].strip() for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    plus = [ln[1:].strip() for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    cell = f"`{' '.join(minus)}` -> `{' '.join(plus)}`"
    return cell.replace("|", "\\|")


def _seconds(dirs: list[Path], modules: list[str]) -> str:
    """Wall and CPU seconds of the runs, summed (each line of times.txt: NAME WALL USER SYS)."""
    rows = [
        [float(x) for x in line.split()[1:4]]
        for d in dirs
        if (d / "times.txt").exists()
        for line in (d / "times.txt").read_text().splitlines()
        if line.strip()
    ]
    wall, cpu = sum(r[0] for r in rows), sum(r[1] + r[2] for r in rows)
    return f"Run time of {', '.join(modules)} (first runs and re-runs, summed): {wall:.0f} s wall, {cpu:.0f} s CPU."


_HEADER = [
    "# Mutation testing: kill rates and the fate of every surviving mutant",
    "",
    "Generated by `bash scripts/mutation.sh` (cosmic-ray; the oracle and the sample are in the",
    "script's header); do not edit by hand. *Before* is the suite as it was; *after* re-runs the",
    "survivors against the suite with the tests added for them. Equivalent mutants (the program",
    "means the same) are left out of the rate, with the reason; timeouts count as killed.",
    "Intervals are Wilson 95% intervals over the sampled mutants. `MODULE::FUNCTION` counts only",
    "the mutants inside that function. The rows, run times and survivors of modules whose runs'",
    "folders are not under results/mutation (it is not kept in git) are carried over unchanged",
    "from the previous report.",
    "",
    "| module | mutants | sampled | killed before | equivalent | killed after (of non-equivalent) |",
    "|---|---|---|---|---|---|",
]

# one row of the rates table: module, mutants, sampled, killed before, equivalent, killed after
_ROW = re.compile(r"^\| (\S+) \| (\d+) \| (\d+) \| (\d+)/\d+ = [^|]* \| (\d+) \| (\d+)/\d+ = [^|]* \|$")
_SURVIVOR = re.compile(r"^\| (\S+?):(\d+) \S+ #\d+ \|")
_RUN_TIME = re.compile(r"^Run time of (.+?) \(")


def _population(dirs: list[Path]) -> dict[str, int]:
    """Per module (as reported), the mutants the filters left (sampled or not)."""
    population: dict[str, int] = defaultdict(int)
    for d in dirs:
        names = labels(d)
        with use_db(d / "session.sqlite", WorkDB.Mode.open) as db:
            filtered = {job for job, r in db.results if r.worker_outcome == WorkerOutcome.SKIPPED}
            filtered -= {job for job, r in db.results if r.output == "not sampled"}
            for item in db.work_items:
                module = _key(item)[0]
                population[names.get(module, module)] += item.job_id not in filtered
    return population


def _counts(run: list[Mutant], eq: dict, again: dict, population: dict[str, int]) -> dict[str, tuple]:
    """Per module: (mutants, sampled, killed before, equivalent, killed after)."""
    out = {}
    for module in sorted({m.module for m in run}):
        ms = [m for m in run if m.module == module]
        before = sum(m.outcome in ("killed", "timeout") for m in ms)
        fixed = sum(m.key in again and again[m.key].outcome in ("killed", "timeout") for m in ms)
        out[module] = (population[module], len(ms), before, sum(m.key in eq for m in ms), before + fixed)
    return out


def _row(module: str, counts: tuple) -> str:
    pop, n, before, n_eq, after = counts
    return f"| {module} | {pop} | {n} | {_rate(before, n)} | {n_eq} | {_rate(after, n - n_eq)} |"


def _carried(out: Path, fresh: set[str]) -> tuple[dict[str, tuple], list[str], list[tuple]]:
    """From the previous report, what belongs to modules not run here: their counts, their run
    time lines and their survivors' rows (module, line, row)."""
    old = out.read_text().splitlines() if out.exists() else []
    counts = {
        m[1]: tuple(int(x) for x in m.groups()[1:])
        for m in map(_ROW.match, old)
        if m and m[1] != "all" and m[1] not in fresh
    }
    times = [ln for ln in old if (t := _RUN_TIME.match(ln)) and not fresh & set(t[1].split(", "))]
    rows = [(m[1], int(m[2]), ln) for ln in old if (m := _SURVIVOR.match(ln)) and m[1] not in fresh]
    return counts, times, rows


def report(out: str, equivalent: str, *dirs_: str) -> None:
    """docs/mutation.md: kill rates per module before and after the new tests, every survivor's fate."""
    dirs = [Path(d) for d in dirs_ if (Path(d) / "session.sqlite").exists()]  # finished first runs
    run = [m for d in dirs for m in mutants(d / "session.sqlite")]
    again = {m.key: m for d in dirs for m in mutants(d / "rerun.sqlite")}
    eq = _equivalents(equivalent)
    survivors = [m for m in run if m.outcome == "survived"]
    fresh = {m.module for m in run}
    stale = sorted(k for k in set(eq) - {m.key for m in survivors} if k[0] in fresh)
    if stale:
        raise SystemExit(f"{equivalent}: listed as equivalent but not a survivor: {stale}")
    counts, times, rows = _carried(Path(out), fresh)
    counts |= _counts(run, eq, again, _population(dirs))
    total = tuple(map(sum, zip(*counts.values(), strict=True)))
    lines = _HEADER + [_row(module, counts[module]) for module in sorted(counts)] + [_row("all", total)]
    lines += ["", *times, *([_seconds(dirs, sorted(fresh))] if fresh else [])]
    lines += ["", "## Survivors", "", "| mutant | change | fate |", "|---|---|---|"]
    for m in survivors:
        where = f"{m.module}:{m.line} {m.operator.removeprefix('core/')} #{m.occurrence}"
        rows.append((m.module, m.line, f"| {where} | {_diff_lines(m.diff)} | {_fate(m, eq, again)} |"))
    lines += [row for _, _, row in sorted(rows, key=lambda r: r[:2])]
    Path(out).write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


def _fate(m: Mutant, eq: dict, again: dict) -> str:
    if m.key in eq:
        return "equivalent: " + eq[m.key].replace("|", "\\|")
    later = again.get(m.key)
    if later and later.outcome in ("killed", "timeout"):
        return f"killed by `{later.killer}`" if later.killer else "killed (timeout)"
    return "**survives**"


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "sample":
        sample(args[0], int(args[1]), args[2:])
    elif command == "only-survivors":
        only_survivors(args[0], args[1])
    elif command == "summary":
        summary(args[0])
    elif command == "report":
        report(*args)
    else:
        raise SystemExit(__doc__)
