"""Parameter recovery, fuller than the test: fit teaching_surge's fickleness and peer influence to its own data.

The standard test of a calibration method, bigger than the one in the test suite
(``tests/test_calibrate.py``): the model itself makes the data at known values, with
Gaussian observation noise, and ``newpower calibrate``'s engine fits them back.

* data: ``teaching_surge`` at ``--n`` participants (default 500; the scenario has 2,000)
  with a viral moment at the start (``trigger.n_seeds`` 100 at FUNDING among Hive's
  members, as in the worked example of docs/calibration.md; 20% of 500 people), run at
  fickleness 0.15 and peer influence 1.0 for 80 steps
  once per seed of ``--seeds`` (default: the held-out seeds 5000-5004), noise SD 0.01
  (``numpy.random.default_rng([seed, 1])``);
* fit: uniform priors fickleness 0..0.5 and peer influence 0.2..2, ``--populations``
  generations of ``--population-size`` particles (default 5 x 80), the whole-series
  distance with the same noise SD, calibration seed = the data's seed.

Per seed it prints, per generation, epsilon, acceptance and seconds, then the run time,
the simulations per second, and each parameter's 90% credible interval, its width
(absolute and as a share of the prior range) and whether it holds the true value; then
how many seeds hold both true values and the mean interval widths.

Target (from the project issue): the true values fall inside the 90% credible
intervals of both parameters at once.

Run from the repository root: ``.venv/bin/python benchmarks/bench_calibrate.py``
(``--workers``, ``--dask``, ``--n``, ``--seeds``, ``--json PATH``; ``--help`` for all
options). With the defaults it runs about a minute per seed on 2 shared cores (measured after
the model's retune: 264 s for the five seeds, load average 5-12; docs/calibration.md has the numbers).
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


def fit(args: argparse.Namespace, data_seed: int, tmp: Path) -> dict:
    """Make the data at ``data_seed``, fit them back (calibration seed = ``data_seed``), return the numbers."""
    from sim import load_scenario
    from sim.research.calibration import Options, calibrate, parse_prior, prepare, read_observed
    from sim.scenarios import LIBRARY

    csv = tmp / f"observed-{data_seed}.csv"
    make_data(csv, args.n, data_seed)
    scenario = load_scenario(LIBRARY / "teaching_surge.toml", overrides={**TRIGGER, "network.n": args.n})
    problem = prepare(scenario, read_observed(csv, ["active_fraction"]), [parse_prior(p) for p in PRIORS])
    options = Options(
        populations=args.populations, population_size=args.population_size, noise=NOISE, seed=data_seed
    )
    clock = time.perf_counter()
    result = calibrate(
        problem,
        options,
        tmp / f"fit-{data_seed}",
        workers=args.workers,
        dask=args.dask,
        echo=lambda line: print("  " + line, file=sys.stderr, flush=True),
    )
    seconds = time.perf_counter() - clock
    sims = int(result.generations["simulations"].sum())
    rows = []
    for r in result.parameters.itertuples():
        true = TRUE[r.parameter]
        rows.append(
            {
                "parameter": r.parameter,
                "true": true,
                "median": r.median,
                "ci_low": r.ci_low,
                "ci_high": r.ci_high,
                "width": r.ci_high - r.ci_low,
                "width_share": r.width_share,
                "inside": bool(r.ci_low <= true <= r.ci_high),
            }
        )
    return {
        "seed": data_seed,
        "seconds": seconds,
        "simulations": sims,
        "executor": result.manifest["executor"],
        "generations": result.generations.to_dict("records"),
        "parameters": rows,
        "both_inside": all(row["inside"] for row in rows),
    }


def show(report: dict) -> None:
    """Print one fit's run time, generations and intervals."""
    sims, seconds = report["simulations"], report["seconds"]
    print(
        f"\nseed {report['seed']} ({report['executor']}): {len(report['generations'])} generations, {sims:,} simulations"
    )
    print(f"run time {seconds:.1f} s, {sims / seconds:.1f} sims/s")
    print("generation  epsilon  accepted/simulated  seconds")
    for g in report["generations"]:
        print(
            f"{g['generation']:>10}  {g['epsilon']:7.4f}  {g['accepted']:>8}/{g['simulations']:<9}  {g['seconds']:7.1f}"
        )
    print("parameter                true   median  90% interval       width   of prior  holds the truth")
    for r in report["parameters"]:
        print(
            f"{r['parameter']:<24} {r['true']:5.2f}  {r['median']:6.3f}  [{r['ci_low']:.3f}, {r['ci_high']:.3f}]  "
            f"{r['width']:6.3f}  {r['width_share']:7.0%}   {'yes' if r['inside'] else 'NO'}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--n", type=int, default=500, help="participants (default 500; teaching_surge has 2000)"
    )
    parser.add_argument("--populations", type=int, default=5, help="generations (default 5)")
    parser.add_argument("--population-size", type=int, default=80, help="particles (default 80)")
    parser.add_argument(
        "--workers", type=int, default=2, help="local worker processes (default 2; 0: inline)"
    )
    parser.add_argument(
        "--dask", default=None, help="'local' or a scheduler address instead of local processes"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[5000, 5001, 5002, 5003, 5004],
        help="seeds of the data's runs, each also the calibration's seed (default: the held-out 5000-5004)",
    )
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the measurements as JSON")
    args = parser.parse_args(argv)

    from sim import __version__

    print(f"newpower {__version__}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    reports = []
    with tempfile.TemporaryDirectory(prefix="bench-calibrate-") as tmp:
        for seed in args.seeds:
            reports.append(fit(args, seed, Path(tmp)))
            show(reports[-1])
    passed = sum(r["both_inside"] for r in reports)
    total = sum(r["seconds"] for r in reports)
    print(
        f"\nboth true values inside their 90% intervals: {passed} of {len(reports)} seeds; {total:.0f} s in all"
    )
    for key in TRUE:
        widths = [row["width"] for r in reports for row in r["parameters"] if row["parameter"] == key]
        print(
            f"  {key}: 90% interval width mean {sum(widths) / len(widths):.3f} (min {min(widths):.3f}, max {max(widths):.3f})"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"args": vars(args), "fits": reports}, indent=2, default=float) + "\n",
            encoding="utf-8",
        )
    return 0 if passed == len(reports) else 1


if __name__ == "__main__":
    sys.exit(main())
