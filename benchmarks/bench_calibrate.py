"""Parameter recovery at full size: fit teaching_surge's fickleness and peer influence to its own data.

The standard test of a calibration method, bigger than the one in the test suite
(``tests/test_calibrate.py``): the model itself makes the data at known values, with
Gaussian observation noise, and ``newpower calibrate``'s engine fits them back.

* data: ``teaching_surge`` (2,000 participants) with a viral moment at the start
  (``trigger.n_seeds`` 100 at FUNDING among Hive's members, as in the worked example of
  docs/calibration.md), run at fickleness 0.15 and peer influence 1.0 for 80 steps
  (seed ``--data-seed``, default 2016), noise SD 0.01 (``numpy.random.default_rng([seed, 1])``);
* fit: uniform priors fickleness 0..0.5 and peer influence 0.2..2, ``--populations``
  generations of ``--population-size`` particles (default 8 x 200), the whole-series
  distance with the same noise SD, calibration seed ``--seed`` (default 7).

It prints, per generation, epsilon, acceptance and seconds, then the run time, the
simulations per second, and each parameter's 90% credible interval, its width (absolute
and as a share of the prior range) and whether it holds the true value.

Target (from the project issue): the true values fall inside the 90% credible
intervals of both parameters at once.

Run from the repository root: ``.venv/bin/python benchmarks/bench_calibrate.py``
(``--workers``, ``--dask``, ``--n``, ``--json PATH``; ``--help`` for all options). It runs
for several minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TRIGGER = {"trigger.n_seeds": 100, "trigger.level": "FUNDING", "trigger.organization": "Hive"}
TRUE = {"dynamics.fickleness": 0.15, "dynamics.peer_influence": 1.0}
PRIORS = ("dynamics.fickleness=0:0.5", "dynamics.peer_influence=0.2:2")
NOISE = 0.01
STEPS = 80


def make_data(path: Path, n: int, seed: int) -> None:
    """The model's own series at the true values, with noise, as a CSV."""
    import numpy as np
    import pandas as pd

    from sim import load_scenario, run
    from sim.scenarios import LIBRARY

    scenario = load_scenario(LIBRARY / "teaching_surge.toml", overrides={**TRIGGER, **TRUE, "network.n": n})
    frame = run(scenario, seed=seed, steps=STEPS).timeseries
    noisy = frame["active_fraction"] + np.random.default_rng([seed, 1]).normal(0, NOISE, len(frame))
    pd.DataFrame({"step": frame["step"], "active_fraction": noisy}).to_csv(path, index=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="participants (default 2000, as teaching_surge)")
    parser.add_argument("--populations", type=int, default=8, help="generations (default 8)")
    parser.add_argument("--population-size", type=int, default=200, help="particles (default 200)")
    parser.add_argument(
        "--workers", type=int, default=2, help="local worker processes (default 2; 0: inline)"
    )
    parser.add_argument(
        "--dask", default=None, help="'local' or a scheduler address instead of local processes"
    )
    parser.add_argument("--seed", type=int, default=7, help="calibration seed (default 7)")
    parser.add_argument("--data-seed", type=int, default=2016, help="seed of the data's run (default 2016)")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the measurements as JSON")
    args = parser.parse_args(argv)

    from sim import __version__, load_scenario
    from sim.research.calibration import Options, calibrate, parse_prior, prepare, read_observed
    from sim.scenarios import LIBRARY

    print(f"newpower {__version__}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-calibrate-") as tmp:
        csv = Path(tmp) / "observed.csv"
        make_data(csv, args.n, args.data_seed)
        scenario = load_scenario(LIBRARY / "teaching_surge.toml", overrides={**TRIGGER, "network.n": args.n})
        problem = prepare(scenario, read_observed(csv, ["active_fraction"]), [parse_prior(p) for p in PRIORS])
        options = Options(
            populations=args.populations,
            population_size=args.population_size,
            noise=NOISE,
            seed=args.seed,
        )
        clock = time.perf_counter()
        result = calibrate(
            problem,
            options,
            Path(tmp) / "fit",
            workers=args.workers,
            dask=args.dask,
            echo=lambda line: print("  " + line, file=sys.stderr, flush=True),
        )
        seconds = time.perf_counter() - clock
    sims = int(result.generations["simulations"].sum())
    print(f"\n{result.manifest['executor']}: {len(result.generations)} generations, {sims:,} simulations")
    print(
        f"run time {seconds:.1f} s (sampling {result.manifest['sampling_time_s']:.1f} s), {sims / seconds:.1f} sims/s"
    )
    print("\ngeneration  epsilon  accepted/simulated  seconds")
    for g in result.generations.itertuples():
        print(f"{g.generation:>10}  {g.epsilon:7.4f}  {g.accepted:>8}/{g.simulations:<9}  {g.seconds:7.1f}")
    print("\nparameter                true   median  90% interval       width   of prior  holds the truth")
    rows = []
    for r in result.parameters.itertuples():
        true = TRUE[r.parameter]
        inside = bool(r.ci_low <= true <= r.ci_high)
        rows.append({**r._asdict(), "true": true, "inside": inside, "width": r.ci_high - r.ci_low})
        print(
            f"{r.parameter:<24} {true:5.2f}  {r.median:6.3f}  [{r.ci_low:.3f}, {r.ci_high:.3f}]  "
            f"{r.ci_high - r.ci_low:6.3f}  {r.width_share:7.0%}   {'yes' if inside else 'NO'}"
        )
    verdict = all(row["inside"] for row in rows)
    print(f"\ntarget: both true values inside their 90% intervals: {'PASS' if verdict else 'FAIL'}")
    if args.json:
        report = {
            "args": vars(args),
            "seconds": seconds,
            "simulations": sims,
            "generations": result.generations.to_dict("records"),
            "parameters": [{k: v for k, v in row.items() if k != "Index"} for row in rows],
            "pass": verdict,
        }
        Path(args.json).write_text(json.dumps(report, indent=2, default=float) + "\n", encoding="utf-8")
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
