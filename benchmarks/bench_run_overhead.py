"""What a user waits for around the model in ``newpower run power_shift``: imports, layout, story, figures.

Measured in one invocation, so the ratios compare like with like on a busy machine:

1. imports: a fresh interpreter importing what ``newpower run`` imports (CLI, model, runs, figures);
2. the model's own time: ``sim.run`` of the scenario (after a warm-up run, so Numba's cache is warm);
3. ``newpower run SCENARIO`` end to end as a user types it (a fresh interpreter, PNG figures), and
   the same with ``--svg`` (the former default: every figure rendered twice) and ``--no-figures``;
4. where the time goes after the runs: each stage of :func:`sim.runs.folder.write_results`
   (saving, the network layout, the story, each figure), timed in this process.

Target (issue 13): end to end at most twice the model's own time plus the imports. Wall-clock
and CPU times of the child processes are both printed: on a machine shared with other work the
wall time swells while the CPU time does not, so the verdict is given on both.

    .venv/bin/python benchmarks/bench_run_overhead.py [--scenario power_shift] [--repeats 3]
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = (
    "sim.faces.cli.main",
    "sim.runs.folder",
    "sim.model.power_model",
    "sim.figures.plotting",
    "sim.figures.story",
)
#: What ``newpower run`` imports (the modules an older version lacks are left out).
IMPORTS = (
    "import importlib, importlib.util\n"
    f"for name in {MODULES!r}:\n"
    "    if importlib.util.find_spec(name) is not None:\n"
    "        importlib.import_module(name)\n"
)


def child(args: list[str]) -> tuple[float, float]:
    """Run a fresh interpreter; return (wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, cwd=ROOT, capture_output=True, env=_env())
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def children_cpu() -> float:
    """CPU seconds of this process's finished children (the figure helper, once joined)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def best(samples: list[tuple[float, float]]) -> tuple[float, float]:
    """The fastest of repeated measurements (the least disturbed by other work), wall and CPU."""
    return min(s[0] for s in samples), min(s[1] for s in samples)


def model_time(scenario_name: str, repeats: int) -> tuple[float, float]:
    """The model's own time for one run (wall, CPU), after a warm-up run: the best of ``repeats``."""
    from sim import load_scenario, run

    scenario = load_scenario(scenario_name)
    run(scenario)  # warm-up: Numba's cache, first-touch allocations
    times = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        run(scenario)
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return best(times)


def stages(scenario_name: str) -> list[tuple[str, float, float]]:
    """Wall and CPU seconds spent in each stage of writing a results folder after the runs (this process).

    CPU time is the whole process's (``time.process_time``), so it includes the thread that compresses
    and writes each PNG while the next figure is drawn: that work is counted in the stage it overlaps.
    Where a second core is usable, a forked helper draws the costliest figures meanwhile: those are
    not stages of their own, and the helper's CPU time is counted in the stage that waits for it.
    """
    import sim.figures.plotting  # noqa: F401  (imported before timing: counted with the imports)
    from sim import load_scenario
    from sim.runs.folder import write_results

    def mark(text: str) -> None:
        marks.append((text, time.perf_counter(), time.process_time() + children_cpu()))

    marks: list[tuple[str, float, float]] = []
    mark("running the model")
    with tempfile.TemporaryDirectory() as tmp:
        write_results(load_scenario(scenario_name), out=Path(tmp) / "run", stage=mark)
    mark("done")
    return [(a[0], b[1] - a[1], b[2] - a[2]) for a, b in itertools.pairwise(marks)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="power_shift")
    parser.add_argument(
        "--repeats", type=int, default=3, help="repetitions of each measurement (the best is kept)"
    )
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT, capture_output=True, text=True
    )
    print(
        f"newpower run overhead: scenario {args.scenario}, best of {args.repeats}, commit {commit.stdout.strip()}"
    )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    imports = best([child(["-c", IMPORTS]) for _ in range(args.repeats)])
    model = model_time(args.scenario, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        ends = {}
        for label, extra in (
            ("PNG figures (default)", []),
            ("--svg", ["--svg"]),
            ("--no-figures", ["--no-figures"]),
        ):
            samples = []
            for i in range(args.repeats):
                out = Path(tmp) / f"{label[:5].strip('-')}{i}"
                cmd = [
                    "-m",
                    "sim.faces.cli.main",
                    "run",
                    args.scenario,
                    "--out",
                    str(out),
                    "--no-progress",
                    *extra,
                ]
                try:
                    samples.append(child(cmd))
                except subprocess.CalledProcessError:  # an older version without this option
                    break
            if samples:
                ends[label] = best(samples)

    print()
    print(f"{'':34}{'wall s':>9}{'cpu s':>9}")
    print(f"{'imports (fresh interpreter)':34}{imports[0]:9.2f}{imports[1]:9.2f}")
    print(f"{'model alone (sim.run, warm)':34}{model[0]:9.2f}{model[1]:9.2f}")
    for label, (wall, cpu) in ends.items():
        print(f"{'newpower run, ' + label:34}{wall:9.2f}{cpu:9.2f}")
    print()
    try:
        parts = stages(args.scenario)
    except TypeError:  # an older version whose write_results names no stages
        parts = []
    if parts:
        print(f"each stage, in this process (warm){'wall s':>9}{'cpu s':>9}")
    for name, wall, cpu in parts:
        print(f"  {name:32}{wall:9.2f}{cpu:9.2f}")
    print()
    for kind, index in (("wall", 0), ("cpu", 1)):
        wall = ends["PNG figures (default)"][index]  # wall or CPU, as ``kind`` says
        budget = 2 * model[index] + imports[index]
        verdict = "PASS" if wall <= budget else "FAIL"
        print(
            f"target ({kind}): newpower run {wall:.2f} s <= 2 x model {model[index]:.2f} s + imports "
            f"{imports[index]:.2f} s = {budget:.2f} s: {verdict} "
            f"(run minus imports = {(wall - imports[index]) / model[index]:.1f} x model)"
        )
    if "--svg" not in ends:
        return
    svg, png = ends["--svg"][1], ends["PNG figures (default)"][1]
    print(
        f"SVG on request saves {svg - png:.2f} s of CPU per run ({statistics.fmean([svg, png]):.2f} s mean)"
    )


if __name__ == "__main__":
    main()
