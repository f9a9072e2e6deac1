"""The race: one threshold cascade, run side by side by every contender on the same graph.

The rule is Watts' (2002) threshold cascade, newpower's validation limit
(``scenarios/watts_cascade.toml``: no organizations, no fading, one threshold for all): a
participant becomes active when the share of its active neighbours reaches its threshold, all
at once from the previous step's state, and stays active. Contenders, in one process, on the
same NetworkX graph (newpower's, built from the scenario and seed) with the same seed participants:

* ``newpower vectorized``: ``PowerModel(..., driver="vectorized")``;
* ``newpower per-agent``: ``driver="agents"`` (every ``Participant.step()``);
* ``NDlib ThresholdModel``: where NDlib is installed (``pip install ndlib six``);
* ``Mesa 3.5, idiomatic``: a plain Mesa model of the same rule, written as a Mesa user would
  (``CellAgent`` on a ``Network`` space, ``agents.do("decide")`` then ``agents.do("commit")``);
* ``bare A @ x``: one float64 sparse product on the graph's CSR matrix, the floor.

Before printing any time the script checks that every contender ends with the same set of
active participants and the same number active after every step; if not, it says which
differ and exits 1. Times are the median per step (the first step of each is a warm-up and not
counted). Run from the repository root: ``.venv/bin/python benchmarks/race.py`` (``--help``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import mesa
import numpy as np
import scipy.sparse as sp
from mesa.discrete_space import CellAgent, Network

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, parse_n

WATTS = REPO / "scenarios" / "watts_cascade.toml"


class Person(CellAgent):
    """One node of the idiomatic Mesa model: active or not, with a personal threshold."""

    def __init__(self, model: mesa.Model, cell, threshold: float, active: bool) -> None:
        super().__init__(model)
        self.cell = cell
        self.threshold = threshold
        self.active = self.next_active = active

    def decide(self) -> None:
        if self.active:
            return
        neighbours = list(self.cell.neighborhood.agents)
        if neighbours:
            share = sum(other.active for other in neighbours) / len(neighbours)
            self.next_active = share >= self.threshold

    def commit(self) -> None:
        self.active = self.next_active


class ThresholdCascade(mesa.Model):
    """The same rule as an idiomatic Mesa 3.5 model: synchronous, decide then commit."""

    def __init__(self, graph, thresholds: np.ndarray, seeds: np.ndarray, rng: int) -> None:
        super().__init__(rng=rng)
        self.space = Network(graph, random=self.random, layout=None)
        seeded = set(seeds.tolist())
        for node in graph.nodes:
            Person(self, self.space[node], float(thresholds[node]), node in seeded)

    def step(self) -> None:
        self.agents.do("decide")
        self.agents.do("commit")

    def active(self) -> np.ndarray:
        return np.array(sorted(a.cell.coordinate for a in self.agents if a.active), dtype=np.int64)


def newpower(scenario, seed: int, driver: str):
    from sim.model.power_model import PowerModel

    return PowerModel(scenario, rng=seed, driver=driver)


def ndlib_model(graph, thresholds: np.ndarray, seeds: np.ndarray, seed: int):
    """NDlib's ThresholdModel on the graph, or None where NDlib is not installed."""
    try:
        import ndlib.models.epidemics as ep
        from ndlib.models.ModelConfig import Configuration
    except ImportError:
        return None
    model = ep.ThresholdModel(graph, seed=seed)
    config = Configuration()
    for node in graph.nodes:
        config.add_node_configuration("threshold", node, float(thresholds[node]))
    config.add_model_initial_configuration("Infected", seeds.tolist())
    model.set_initial_status(config)
    model.iteration()  # NDlib's iteration 0 only reports the initial state
    return model


def race(args: argparse.Namespace) -> int:
    from sim import load_scenario

    overrides = {
        "network.n": args.n,
        "network.mean_degree": args.degree,
        "population.threshold": args.threshold,
    }
    scenario = load_scenario(WATTS, overrides=overrides)
    vec = newpower(scenario, args.seed, "vectorized")
    graph, seeds, thresholds = vec.graph, vec.seeds, vec.state.threshold
    adj = vec.adjacency
    contenders: dict[str, tuple[Callable[[], None], Callable[[], np.ndarray]]] = {
        "newpower vectorized": (vec.step, lambda: np.flatnonzero(vec.state.level >= 1)),
    }
    agt = newpower(scenario, args.seed, "agents")
    contenders["newpower per-agent"] = (agt.step, lambda: np.flatnonzero(agt.state.level >= 1))
    nd = ndlib_model(graph, thresholds, seeds, args.seed)
    if nd is not None:

        def nd_active() -> np.ndarray:
            return np.array(sorted(u for u, s in nd.status.items() if s == 1), dtype=np.int64)

        contenders["NDlib ThresholdModel"] = (lambda: nd.iteration(node_status=False), nd_active)
    mesa_model = ThresholdCascade(graph, thresholds, seeds, args.seed)
    contenders["Mesa 3.5, idiomatic"] = (mesa_model.step, mesa_model.active)

    times: dict[str, list[float]] = {name: [] for name in contenders}
    counts: dict[str, list[int]] = {name: [] for name in contenders}
    for _ in range(args.steps):
        for name, (step, active) in contenders.items():
            t = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - t)
            counts[name].append(active().size)
    finals = {name: active() for name, (_, active) in contenders.items()}

    reference = "newpower vectorized"
    differ = [
        name
        for name in contenders
        if counts[name] != counts[reference] or not np.array_equal(finals[name], finals[reference])
    ]
    print(
        f"Watts threshold cascade: N = {args.n:,}, Erdos-Renyi mean degree {args.degree}, threshold "
        f"{args.threshold}, seed {args.seed}, {len(seeds)} seed participant(s), {args.steps} steps; "
        f"{finals[reference].size:,} active at the end ({finals[reference].size / args.n:.0%})"
    )
    if nd is None:
        print("NDlib is not installed: its ThresholdModel is left out (pip install ndlib six)")
    if differ:
        for name in differ:
            print(f"MISMATCH: {name} ends with {finals[name].size:,} active; active per step {counts[name]}")
        print(f"reference ({reference}): active per step {counts[reference]}")
        return 1
    print("all contenders reach the same active set after every step: checked")

    a = sp.csr_array((np.ones(adj.nnz), adj.indices, adj.indptr), shape=adj.shape)
    x = np.random.default_rng(0).random(args.n)
    bare = []
    for _ in range(max(20, args.steps)):
        t = time.perf_counter()
        a @ x
        bare.append(time.perf_counter() - t)

    # Steps while the cascade spreads (the active count still grows) are the costly ones for
    # contenders that skip active participants; both the median over all steps and the total
    # over the spreading steps are shown.
    spreading = [i for i in range(1, args.steps) if counts[reference][i] != counts[reference][i - 1]]
    medians = {name: statistics.median(ts[1:]) for name, ts in times.items()}
    medians["bare A @ x (float64)"] = statistics.median(bare)
    spread = {name: sum(ts[i] for i in spreading) for name, ts in times.items()}
    spread["bare A @ x (float64)"] = medians["bare A @ x (float64)"] * len(spreading)
    base, base_spread = medians[reference], spread[reference] or float("nan")
    print(
        f"{'contender':<24} {'ms per step':>12} {'x vectorized':>13} "
        f"{f'ms in {len(spreading)} spreading steps':>28} {'x vectorized':>13}"
    )
    for name, value in sorted(medians.items(), key=lambda kv: kv[1]):
        print(
            f"{name:<24} {1e3 * value:>12.3f} {value / base:>13.2f} "
            f"{1e3 * spread[name]:>28.1f} {spread[name] / base_spread:>13.2f}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=parse_n, default=10_000, help="participants (default 10,000)")
    ap.add_argument(
        "--degree", type=float, default=4.0, help="mean degree (default 4, inside the cascade window)"
    )
    ap.add_argument("--threshold", type=float, default=0.18, help="everyone's threshold (default 0.18)")
    ap.add_argument("--steps", type=int, default=40, help="steps (default 40)")
    ap.add_argument("--seed", type=int, default=1003, help="model seed (default 1003: a global cascade)")
    return race(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
