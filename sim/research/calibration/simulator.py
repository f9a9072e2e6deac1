"""The model as pyabc sees it: parameters in, statistics of a simulated (noisy) series out.

A particle's runs are seeded from the calibration's root seed and the
particle's parameter values (their 64-bit patterns), never from a global
generator: the same parameters give the same simulated series, on any worker,
in any order. Of the particle's ``SeedSequence``, the first ``R`` children seed
its ``R`` replications (``sim.run(scenario, seed=...)``) and the last one draws
its observation noise.

The model is called through the public API only: :meth:`Scenario.with_overrides`
(the scenario loaded once, with the user's ``--set`` overrides, plus the
particle's values) and :func:`sim.run`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.config.scenario import Scenario
from sim.research.calibration.distances import statistics
from sim.research.calibration.problem import DistanceKind, Options, Prior, Problem
from sim.runs.runner import run

#: First word of every seed a calibration derives, so its streams never meet.
PARTICLE, EVALUATION, PREDICTIVE, MAIN = 1, 2, 3, 4


def words(values: Sequence[float]) -> list[int]:
    """Float values as 32-bit words (their exact bit patterns), for ``numpy.random.SeedSequence``."""
    return [int(w) for w in np.asarray(values, dtype=np.float64).view(np.uint32)]


@dataclass(frozen=True)
class Simulator:
    """Simulate the observed measures at given parameter values.

    Attributes:
        scenario: the base scenario (with the user's overrides).
        priors: the fitted keys.
        steps: the observed steps (runs last until the last one).
        columns: observed column names (the keys of a simulated series).
        measures: the model measure of each column.
        seed: the calibration's root seed.
        replications: runs per particle (their mean series is compared).
        noise: standard deviation of the Gaussian noise added to each simulated value.
        distance: what the statistics are (see :func:`~sim.research.calibration.distances.statistics`).
    """

    scenario: Scenario
    priors: tuple[Prior, ...]
    steps: np.ndarray
    columns: tuple[str, ...]
    measures: tuple[str, ...]
    seed: int
    replications: int = 1
    noise: float = 0.0
    distance: DistanceKind = DistanceKind.SERIES

    @classmethod
    def for_problem(cls, problem: Problem, options: Options, seed: int) -> Simulator:
        """The simulator of a checked problem with the given options."""
        obs = problem.observed
        return cls(
            problem.scenario,
            problem.priors,
            obs.steps,
            obs.columns,
            obs.measures,
            seed,
            options.replications,
            options.noise,
            options.distance,
        )

    def __call__(self, params: Mapping[str, float]) -> dict[str, Any]:
        """pyabc's model: the statistics of the particle's simulated series."""
        values = [float(params[p.key]) for p in self.priors]
        series = self.series(params, [self.seed, PARTICLE, *words(values)])
        return statistics(self.distance, self.steps, series)

    def series(self, params: Mapping[str, float], entropy: Sequence[int]) -> dict[str, np.ndarray]:
        """The mean over ``replications`` runs of each measure at the observed steps, plus noise.

        Args:
            params: the fitted keys' values (integer keys are rounded).
            entropy: seeds everything this particle draws (``numpy.random.SeedSequence`` entropy).
        """
        scenario = self.scenario.with_overrides({p.key: p.value(params[p.key]) for p in self.priors})
        children = np.random.SeedSequence(list(entropy)).spawn(self.replications + 1)
        last = int(self.steps[-1])
        total = np.zeros((len(self.steps), len(self.measures)))
        for child in children[:-1]:
            seed = int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
            frame = run(scenario, seed=seed, steps=last).timeseries
            total += frame.set_index("step").loc[self.steps, list(self.measures)].to_numpy(dtype=float)
        mean = total / self.replications
        if self.noise > 0:
            mean = mean + np.random.default_rng(children[-1]).normal(0.0, self.noise, size=mean.shape)
        return {column: mean[:, i] for i, column in enumerate(self.columns)}
