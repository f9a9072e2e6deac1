"""ABC-SMC through pyabc: sample, keep, resume, and write the results folder.

The results folder is claimed (new or empty, :func:`sim.storage.folders.create_folder`)
and the checkpoint opened (:mod:`.checkpoint`) before anything runs. pyabc keeps
every finished generation in its SQLite history (``abc.db``, in the checkpoint);
an interrupted calibration resumes from the last finished generation with
``resume=True`` (``pyabc.ABCSMC.load``). The outputs are written from that
history into the staging folder, data first, ``manifest.json`` last, and moved
into place whole.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.figures import calibration as layout
from sim.research.calibration import checkpoint, report
from sim.research.calibration.distances import make_distance, statistics
from sim.research.calibration.problem import Options, Problem
from sim.research.calibration.simulator import MAIN, PREDICTIVE, Simulator
from sim.research.executors import Executor, make_executor
from sim.storage.files import atomic_write, jsonable, write_json, write_parquet
from sim.storage.folders import ResultsError, create_folder
from sim.storage.results import PACKAGES, git_state, now, package_versions

FORMAT = checkpoint.FORMAT
FORMAT_VERSION = 1


@dataclass
class Calibration:
    """A finished calibration.

    Attributes:
        folder: its results folder.
        posterior: the last generation's particles: one column per parameter, ``weight``, ``distance``.
        parameters: per parameter: prior range, median, 90% interval, share of the prior, informed.
        generations: per generation: epsilon, accepted, simulations, acceptance, seconds, interval shares.
        coverage: per column, the share of observed points inside the 90% predictive band.
        manifest: what ``manifest.json`` holds.
    """

    folder: Path
    posterior: pd.DataFrame
    parameters: pd.DataFrame
    generations: pd.DataFrame
    coverage: dict[str, float]
    manifest: dict[str, Any]


def settings_of(problem: Problem, options: Options) -> dict[str, Any]:
    """What defines a calibration (``calibration.json``); resuming requires the same."""
    obs = problem.observed
    return jsonable(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "scenario_file": problem.scenario.source,
            "scenario": problem.scenario.to_dict(),
            "data": {
                "file": str(obs.path),
                "sha256": obs.sha256,
                "columns": list(obs.columns),
                "measures": list(obs.measures),
                "steps": {"first": int(obs.steps[0]), "last": obs.last_step, "count": len(obs.steps)},
            },
            "priors": [p.to_dict() for p in problem.priors],
            "options": options.identity(),
        }
    )


def calibrate(
    problem: Problem,
    options: Options,
    folder: str | Path,
    *,
    resume: bool = False,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = False,
    echo: Callable[[str], None] | None = None,
    sampler: Any = None,
    extra: Mapping[str, Any] | None = None,
) -> Calibration:
    """Fit the problem's priors to its observed series by ABC-SMC and write the results folder.

    Args:
        problem: a checked problem (:func:`~sim.research.calibration.problem.prepare`).
        options: how to fit; ``options.seed`` ``None`` means the scenario's seed.
        folder: the results folder: new or empty (written whole when complete).
        resume: continue the interrupted calibration into ``folder`` (its checkpoint).
        workers: local worker processes (``None``: all CPUs, ``0``: this process).
        dask: ``"local"`` or a Dask scheduler address (as for ``newpower sweep``).
        progress: a progress bar per generation on stderr.
        echo: called with one line per finished generation.
        sampler: a pyabc sampler to use instead of the reproducible
            :class:`~sim.research.calibration.sampler.OrderedSampler` (its reproducibility is its own).
        extra: more entries for the manifest (the command line, the overrides).

    Returns:
        The finished calibration.
    """
    seed = problem.scenario.seed if options.seed is None else options.seed
    options = replace(options, seed=seed)
    target = Path(folder)
    started, clock = now(), time.perf_counter()
    settings = settings_of(problem, options)
    checkpoint.refuse_finished(target)
    staged = create_folder(problem.scenario.name, target)
    try:
        work, resumed = checkpoint.open_checkpoint(target, settings, resume)
    except BaseException:
        staged.discard()
        raise
    simulator = Simulator.for_problem(problem, options, seed)
    with staged, make_executor(workers, dask) as executor:
        history, stop = _sample(problem, options, simulator, work, executor, sampler, progress, echo)
        posterior = posterior_frame(history, problem.keys)
        generations = report.generations_frame(history, problem.priors)
        predictive = predict(simulator, posterior, options, executor)
        checkpoint.copy_into(work, staged.path)
        parameters, cover, figures = _write_outputs(
            staged.path, problem, options, posterior, generations, predictive, stop
        )
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": "calibration",
            **dict(extra or {}),
            **settings,
            "populations": {"requested": options.populations, "done": len(generations), "stopped": stop},
            "simulations": int(generations["simulations"].sum()),
            "predictive_draws": options.predictive,
            "sampler": "newpower OrderedSampler (reproducible)"
            if sampler is None
            else type(sampler).__name__,
            "executor": executor.name,
            "resumed": resumed,
            "parameters": parameters.to_dict("records"),
            "coverage": cover,
            "versions": package_versions((*PACKAGES, "pyabc")),
            "git": git_state(),
            "started": started,
            "finished": now(),
            "wall_time_s": round(time.perf_counter() - clock, 3),
            "sampling_time_s": round(float(generations["seconds"].sum()), 3),
            "figures": [p.relative_to(staged.path).as_posix() for p in figures],
        }
        write_json(manifest, staged.path / layout.MANIFEST)
    checkpoint.remove(work)
    return Calibration(staged.final, posterior, parameters, generations, cover, manifest)


def _write_outputs(
    folder: Path,
    problem: Problem,
    options: Options,
    posterior: pd.DataFrame,
    generations: pd.DataFrame,
    predictive: pd.DataFrame,
    stop: str | None,
) -> tuple[pd.DataFrame, dict[str, float], list[Path]]:
    """The data files, the figures (drawn from those files) and ``summary.md``."""
    observed = problem.observed.frame()
    write_parquet(observed, folder / layout.OBSERVED)
    write_parquet(posterior, folder / layout.POSTERIOR)
    write_parquet(generations, folder / layout.GENERATIONS)
    write_parquet(predictive, folder / layout.PREDICTIVE)
    figures = layout.draw_figures(folder)
    parameters = report.parameter_table(posterior, problem.priors)
    cover = report.coverage(observed, predictive, problem.observed.columns)
    facts = {"method": _method(problem, options, generations, stop), "files": _files()}
    title = f"Calibration of {problem.scenario.name} to {problem.observed.path.name}"
    summary = report.summary_markdown(title, parameters, generations, cover, facts)
    atomic_write(folder / layout.SUMMARY, lambda tmp: tmp.write_text(summary, encoding="utf-8"))
    return parameters, cover, figures


def _sample(
    problem: Problem,
    options: Options,
    simulator: Simulator,
    work: Path,
    executor: Executor,
    sampler: Any,
    progress: bool,
    echo: Callable[[str], None] | None,
):
    """Run (or continue) pyabc's ABC-SMC until the requested number of generations; return its history."""
    import pyabc

    from sim.research.calibration.sampler import OrderedSampler, numpy_global_seed

    obs = problem.observed
    if not os.environ.get("ABC_LOG_LEVEL"):  # pyabc's own switch; by default its INFO lines go to stderr
        logging.getLogger("ABC").setLevel(logging.WARNING)
    url = f"sqlite:///{(work / layout.DATABASE).resolve()}"
    done = _generations_done(work / layout.DATABASE, url)
    scale_log = work / layout.SCALE_WEIGHTS
    abc = pyabc.ABCSMC(
        simulator,
        pyabc.Distribution(**{p.key: pyabc.RV("uniform", p.low, p.width) for p in problem.priors}),
        make_distance(options.distance, obs.values, scale_log, _logged_weights(scale_log, done)),
        population_size=options.population_size,
        sampler=sampler or OrderedSampler(executor, options.seed, progress=progress, echo=echo),
    )
    if done is None:
        (work / layout.DATABASE).unlink(missing_ok=True)  # a history stopped before its first row
        history = abc.new(url, statistics(options.distance, obs.steps, obs.values))
    else:
        history = abc.load(url, 1)
    done = history.max_t + 1
    stop = None
    if options.populations > done:
        if done and echo:
            echo(f"resuming after generation {done} of {options.populations}")
        # pyabc's own draws in this process (if any) come from the seed too; the caller's state is restored
        with numpy_global_seed([options.seed, MAIN, done]):
            history = abc.run(
                max_nr_populations=options.populations - done, min_acceptance_rate=options.min_acceptance
            )
        if history.max_t + 1 < options.populations:
            stop = (
                f"stopped after generation {history.max_t + 1}: the next one accepted fewer than "
                f"{options.min_acceptance:.1%} of its simulations (--min-acceptance)"
            )
    if history.max_t < 0:
        raise ResultsError(f"{work}: no generation was accepted; nothing to report")
    return history, stop


def _generations_done(database: Path, url: str) -> int | None:
    """Generations finished in pyabc's history, or None when there is no history (or no run in it)."""
    import pyabc

    if not database.exists():
        return None
    history = pyabc.History(url)
    if not history.all_runs():
        return None
    history.id = 1
    return history.max_t + 1


def _logged_weights(log: Path, done: int | None) -> dict[str, float] | None:
    """The adaptive distance's weights for the next generation, as logged before the interruption.

    pyabc fits them from every particle of the last generation, rejected ones
    included, which its history does not keep; reusing them makes a resumed
    calibration identical to an uninterrupted one. None (pyabc refits them from
    the accepted particles) when they were not logged.
    """
    if not done or not log.is_file():
        return None
    try:
        weights = json.loads(log.read_text(encoding="utf-8")).get(str(done))
    except (OSError, ValueError):
        return None
    return weights if isinstance(weights, dict) else None


def posterior_frame(history: Any, keys: tuple[str, ...]) -> pd.DataFrame:
    """The last generation's particles: their parameter values, normalized weight and distance."""
    population = history.get_population(t=history.max_t)
    rows = [
        {**{k: float(p.parameter[k]) for k in keys}, "weight": float(p.weight), "distance": float(p.distance)}
        for p in population.particles
    ]
    frame = pd.DataFrame(rows)
    frame["weight"] /= frame["weight"].sum()
    frame.insert(0, "particle", np.arange(len(frame)))
    return frame


def predict(
    simulator: Simulator, posterior: pd.DataFrame, options: Options, executor: Executor
) -> pd.DataFrame:
    """Simulate ``options.predictive`` series at particles drawn from the posterior by weight.

    Returns:
        Long table: ``draw``, ``particle``, ``step``, then one column per fitted column.
    """
    rng = np.random.default_rng([options.seed, PREDICTIVE])
    chosen = rng.choice(len(posterior), size=options.predictive, p=posterior["weight"].to_numpy())
    keys = [p.key for p in simulator.priors]
    items = [
        (simulator, dict(zip(keys, posterior.loc[int(i), keys], strict=True)), k, int(i))
        for k, i in enumerate(chosen)
    ]
    frames = sorted(executor.map_unordered(simulate_draw, items), key=lambda f: int(f["draw"].iloc[0]))
    return pd.concat(frames, ignore_index=True)


def simulate_draw(item: tuple[Simulator, dict[str, float], int, int]) -> pd.DataFrame:
    """One posterior predictive series (in a worker)."""
    simulator, params, draw, particle = item
    series = simulator.series(params, [simulator.seed, PREDICTIVE, draw])
    return pd.DataFrame({"draw": draw, "particle": particle, "step": simulator.steps, **series})


def _method(problem: Problem, options: Options, generations: pd.DataFrame, stop: str | None) -> str:
    obs = problem.observed
    fitted = ", ".join(
        c if c == m else f"{c} (model measure {m})" for c, m in zip(obs.columns, obs.measures, strict=True)
    )
    distance = (
        "root mean square gap over the whole series (in observed standard deviations)"
        if options.distance == "series"
        else "peak, peak step, half-life and final level (pyabc's adaptive p-norm distance)"
    )
    sims = int(generations["simulations"].sum())
    text = (
        f"Fitted {len(problem.priors)} parameter(s) of `{problem.scenario.name}` to {len(obs.steps)} observed "
        f"steps ({int(obs.steps[0])} to {obs.last_step}) of {fitted}, by ABC-SMC (pyabc): "
        f"{len(generations)} generation(s) of {options.population_size} particles, {sims:,} simulations; "
        f"distance: {distance}; observation noise SD {options.noise:g}; {options.replications} run(s) per "
        f"particle; uniform priors; seed {options.seed}."
    )
    return text + (f" Note: {stop}." if stop else "")


def _files() -> dict[str, str]:
    return {
        layout.POSTERIOR: "the last generation's particles: parameter values, weight (normalized), distance",
        layout.GENERATIONS: "per generation: epsilon, accepted, simulations, acceptance, seconds, interval widths",
        layout.PREDICTIVE: "series simulated at parameters drawn from the posterior (draw, particle, step, columns)",
        layout.OBSERVED: "the observed series as read",
        layout.DATABASE: "pyabc's history of every generation (open it with pyabc.History)",
        layout.SCALE_WEIGHTS: "summary distance only: pyabc's weight of each statistic per generation",
        layout.PAIRS: "posterior against the priors",
        layout.PREDICTIVE_FIGURE: "observed series over the posterior predictive bands",
        layout.SETTINGS: "what defines this calibration (a resumed one had to match it)",
        layout.MANIFEST: "settings, versions, timings (written last: its presence means complete)",
    }
