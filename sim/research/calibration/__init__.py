"""``newpower calibrate``: fit scenario parameters to an observed series by ABC-SMC (pyabc).

    >>> from sim import load_scenario
    >>> from sim.research.calibration import Options, calibrate, parse_prior, prepare, read_observed
    >>> scenario = load_scenario("teaching_surge.toml", overrides={"trigger.n_seeds": 100})  # doctest: +SKIP
    >>> observed = read_observed("examples/observed_surge.csv", ["active_fraction"])  # doctest: +SKIP
    >>> priors = [parse_prior("dynamics.fickleness=0:0.5")]
    >>> problem = prepare(scenario, observed, priors)  # doctest: +SKIP
    >>> result = calibrate(problem, Options(noise=0.01), "results/fit")  # doctest: +SKIP
    >>> result.parameters  # median, 90% interval, informed  # doctest: +SKIP

Modules: :mod:`.data` (the observed CSV), :mod:`.problem` (priors, options, checks),
:mod:`.distances`, :mod:`.simulator` (the model as pyabc sees it), :mod:`.sampler`
(reproducible sampling on any executor), :mod:`.checkpoint` (the work kept for
--resume), :mod:`.engine` (run, resume, write),
:mod:`.report` (tables and plain words). See docs/calibration.md.
"""

from sim.research.calibration.data import Observed, read_observed
from sim.research.calibration.engine import Calibration, calibrate
from sim.research.calibration.problem import (
    DistanceKind,
    Options,
    Prior,
    Problem,
    check_measures,
    parse_prior,
    prepare,
)

__all__ = [
    "Calibration",
    "DistanceKind",
    "Observed",
    "Options",
    "Prior",
    "Problem",
    "calibrate",
    "check_measures",
    "parse_prior",
    "prepare",
    "read_observed",
]
