"""Per-step cost of newpower's two drivers against one bare sparse product.

Measures, in one run, on the same Watts-Strogatz graph (k = 10) at each size:

* the per-step time of the vectorized driver (``PowerModel(..., driver="vectorized")``);
* the per-step time of the per-agent driver (``driver="agents"``);
* the time of one bare ``A @ x`` on the graph's CSR matrix (float64; float32 and the
  int64 matrix as built by the model are reported for information);

at N = 10,000 and 100,000 (``--sizes``), then the vectorized driver alone at
N = 1,000,000 for 100 steps in a separate process, whose peak memory is read there.

Targets (from the project issue; speed is measured here, not asserted in tests):

* T1: the vectorized step costs at most 5 bare float64 products at N = 100,000;
* T2: the vectorized step is at least 100 times faster than the per-agent step at N = 10,000;
* T3: 1,000,000 participants run 100 steps within 4 GB of memory (peak resident set).

The step is the model's whole ``step()``: perception, climbing, commitment,
grievance, exits, joins, the organization phase and data collection, on the
flagship scenario (``scenarios/castle_vs_crowd.toml``: a Castle and a Crowd,
trigger seeds about 1% of N) with its network set to Watts-Strogatz, mean degree 10.

Only the public API is used (``sim.scenario_from_dict``, ``sim.model.power_model.PowerModel``,
``model.step()``, ``model.adjacency``), so the script measures whatever ``sim/``
currently is.

Diagnostic modes (each runs alone and exits):

* ``--profile-build N``: build a model of N participants with every phase of the
  constructor timed (graph generation, adjacency, Mesa network cells, Participant
  agents, population arrays, ...), with resident memory after each phase;
* ``--profile-steps N``: cProfile of a few vectorized steps at N, top functions by tottime;
* ``--organizations K [K ...]``: build and run 5 vectorized steps at N = 1,500 (``--org-n``) with
  K organizations each: the time should grow linearly with K.

Run from the repository root: ``.venv/bin/python benchmarks/bench_step.py``
(``--help`` for the options).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import io
import json
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from common import parse_n  # benchmarks/ is not a package: found through sys.path
from common import peak_memory as proc_memory

DEFAULT_SCENARIO = REPO / "scenarios" / "castle_vs_crowd.toml"
MEAN_DEGREE = 10

# Targets from the project issue.
T1_N, T1_MAX_RATIO = 100_000, 5.0  # vectorized step <= 5 x bare A @ x
T2_N, T2_MIN_SPEEDUP = 10_000, 100.0  # agents step >= 100 x vectorized step
T3_N, T3_STEPS = 1_000_000, 100
T3_LIMIT_BYTES = 4 * 10**9  # "4 GB", read conservatively as 4e9 bytes (3815 MiB)

MIB = 2**20
GB = 10**9


# ---------------------------------------------------------------------------- helpers
def ru_maxrss_bytes() -> int:
    """``resource.getrusage(RUSAGE_SELF).ru_maxrss`` in bytes (KiB on Linux, bytes on macOS)."""
    raw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return raw if sys.platform == "darwin" else raw * 1024


def clear_mesa_caches() -> None:
    """Drop Mesa's class-level neighbourhood caches, which keep finished models alive."""
    try:
        from mesa.discrete_space.cell import Cell
    except ImportError:
        return
    for name in ("get_neighborhood", "_neighborhood"):
        fn = getattr(Cell, name, None)
        if hasattr(fn, "cache_clear"):
            fn.cache_clear()
    gc.collect()


def load_base(path: Path) -> dict[str, Any]:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def make_scenario(base: dict[str, Any], n: int):
    """The base scenario on a Watts-Strogatz graph of n nodes, mean degree 10, seeds ~1% of n."""
    from sim import scenario_from_dict

    raw = json.loads(json.dumps(base))  # deep copy of plain TOML data
    network = raw.setdefault("network", {})
    rewire = network.get("rewire_prob", 0.1) if network.get("kind") == "watts_strogatz" else 0.1
    raw["network"] = {"kind": "watts_strogatz", "n": n, "mean_degree": MEAN_DEGREE, "rewire_prob": rewire}
    raw.setdefault("trigger", {})["n_seeds"] = max(1, round(n / 100))
    return scenario_from_dict(raw, source="<benchmark>")


def graph_digest(adj) -> str:
    """A short fingerprint of the graph's CSR structure (to check both drivers share it)."""
    a = sp.csr_array(adj)
    h = hashlib.blake2b(digest_size=8)
    h.update(np.ascontiguousarray(a.indptr, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(a.indices, dtype=np.int64).tobytes())
    return h.hexdigest()


def time_steps(model, warmup: int, steps: int, label: str = "") -> list[float]:
    """Run ``warmup`` untimed steps, then time ``steps`` steps one by one (seconds each)."""
    for _ in range(warmup):
        model.step()
    times = []
    for i in range(steps):
        t0 = time.perf_counter()
        model.step()
        times.append(time.perf_counter() - t0)
        if label and times[-1] > 2.0:
            progress(f"    {label} step {i + 1}/{steps}: {times[-1]:.2f} s")
    return times


def time_steps_with_products(model, warmup: int, steps: int, seed: int) -> tuple[list[float], list[float]]:
    """Like :func:`time_steps`, with one bare float64 ``A @ x`` timed after every step.

    Interleaved, the step and the product see the same moments of a busy machine, so their
    ratio holds even when the load changes during the measurement.
    """
    for _ in range(warmup):
        model.step()
    adj = model.adjacency
    a = sp.csr_array((np.ones(adj.nnz), adj.indices, adj.indptr), shape=adj.shape)
    x = np.random.default_rng(seed).random(adj.shape[0])
    a @ x  # warm-up
    steps_s, products_s = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        a @ x
        steps_s.append(t1 - t0)
        products_s.append(time.perf_counter() - t1)
    return steps_s, products_s


def time_products(adj, reps: int, seed: int) -> dict[str, float]:
    """Median seconds of one bare ``A @ x`` (float64, float32, and the matrix as built)."""
    a = sp.csr_array(adj)
    n = a.shape[0]
    rng = np.random.default_rng(seed)
    out = {}
    for name, dtype in (("float64", np.float64), ("float32", np.float32), ("as_built", None)):
        m = a if dtype is None else a.astype(dtype)
        x = (
            rng.random(n).astype(m.dtype)
            if dtype is not None
            else rng.integers(0, 1 << 20, n).astype(m.dtype)
        )
        m @ x  # warm-up
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            m @ x
            times.append(time.perf_counter() - t0)
        out[name] = statistics.median(times)
        if dtype is None:
            out["as_built_dtype"] = str(m.dtype)
        del m, x
    return out


def summary_stats(times: list[float]) -> dict[str, float]:
    return {
        "median_s": statistics.median(times),
        "mean_s": statistics.fmean(times),
        "min_s": min(times),
        "max_s": max(times),
        "n": len(times),
    }


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def git_state() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "sim"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
        return f"{head}{' + uncommitted changes in sim/' if dirty else ''}" if head else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine_info() -> dict[str, Any]:
    import mesa
    import networkx
    import scipy

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_total = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem_total = int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_total_bytes": mem_total,
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "networkx": networkx.__version__,
        "mesa": mesa.__version__,
        "platform": platform.platform(),
        "git": git_state(),
    }


# ---------------------------------------------------------------------------- build profiling
class BuildTimeline:
    """Times and memory of each phase of ``PowerModel.__init__``, without copying its code.

    The functions and classes the constructor calls (looked up in ``sim.model.power_model``'s
    namespace, plus a few NetworkX generators) are wrapped while the model is
    built; whatever happens between two wrapped calls is reported as
    "(other ...)", so the phases always add up to the whole build. Names that
    no longer exist in ``sim`` are simply not wrapped.
    """

    MODEL_NAMES = (  # name in sim.model.power_model -> phase label
        ("build_network", "graph generation and CSR (sim.model.network.build_network)"),
        ("build_graph", "graph generation (sim.model.network.build_graph)"),
        ("adjacency", "CSR adjacency (sim.model.network.adjacency)"),
        ("NeighbourCounter", "NeighbourCounter"),
        ("Network", "Mesa Network cells (mesa.discrete_space.Network)"),
        ("draw_population", "population arrays (draw_population)"),
        ("enrol_members", "initial members (enrol_members)"),
        ("seed_trigger", "trigger seeds (seed_trigger)"),
    )
    NX_NAMES = (
        ("watts_strogatz_graph", "networkx.watts_strogatz_graph"),
        ("convert_node_labels_to_integers", "networkx.convert_node_labels_to_integers"),
        ("to_scipy_sparse_array", "networkx.to_scipy_sparse_array"),
    )
    METRICS_NAMES = (
        ("CascadeTracker", "cascade tracker (metrics.CascadeTracker)"),
        ("make_datacollector", "DataCollector (metrics.make_datacollector)"),
        ("Recorder", "recorder (metrics.Recorder)"),
    )

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.depth = 0
        self.t0 = time.perf_counter()
        self._undo: list[tuple[Any, str, Any]] = []
        self._bulk: dict[str, Any] | None = None

    def _mark(self) -> tuple[float, dict[str, int]]:
        return time.perf_counter() - self.t0, proc_memory()

    def _close_bulk(self) -> None:
        b = self._bulk
        if b is not None and "end_mem" not in b:
            mem = proc_memory()
            b["end_mem"] = mem
            self.spans.append(
                {
                    "label": b["label"],
                    "depth": b["depth"],
                    "start": b["start"],
                    "end": b["end"],
                    "rss_before": b["start_mem"]["rss"],
                    "rss_after": mem["rss"],
                    "peak_after": mem["peak"],
                    "calls": b["count"],
                }
            )
            self._bulk = None

    def wrap(self, fn, label: str):
        timeline = self

        def wrapper(*args, **kwargs):
            timeline._close_bulk()
            start, before = timeline._mark()
            span = {"label": label, "depth": timeline.depth, "start": start, "rss_before": before["rss"]}
            timeline.spans.append(span)
            timeline.depth += 1
            try:
                return fn(*args, **kwargs)
            finally:
                timeline.depth -= 1
                timeline._close_bulk()
                span["end"], after = timeline._mark()
                span["rss_after"], span["peak_after"] = after["rss"], after["peak"]

        wrapper.__wrapped__ = fn
        return wrapper

    def _patch(self, owner, name: str, label: str) -> None:
        original = getattr(owner, name, None)
        if original is None:
            return
        # Classes (Network, NeighbourCounter, CascadeTracker) are only called by the
        # constructor, never type-checked, so a calling wrapper stands in for them.
        setattr(owner, name, self.wrap(original, label))
        self._undo.append((owner, name, original))

    def _patch_agent_init(self, cls, label: str) -> None:
        """Count every construction of ``cls`` as one phase (from the first to the last call)."""
        original = cls.__dict__.get("__init__")
        if original is None:
            return
        timeline = self

        def __init__(agent, *args, **kwargs):
            b = timeline._bulk
            if b is None or b["label"] != label:
                timeline._close_bulk()
                start, mem = timeline._mark()
                b = timeline._bulk = {
                    "label": label,
                    "depth": timeline.depth,
                    "start": start,
                    "start_mem": mem,
                    "count": 0,
                }
            original(agent, *args, **kwargs)
            b["count"] += 1
            b["end"] = time.perf_counter() - timeline.t0

        cls.__init__ = __init__
        self._undo.append((cls, "__init__", original))

    def install(self) -> None:
        import mesa
        import networkx

        import sim.model.metrics
        import sim.model.power_model

        self._patch(mesa.Model, "__init__", "mesa.Model.__init__")
        for name, label in self.MODEL_NAMES:
            self._patch(sim.model.power_model, name, label)
        for name, label in self.NX_NAMES:
            self._patch(networkx, name, label)
        for name, label in self.METRICS_NAMES:
            self._patch(sim.model.metrics, name, label)
        participant = getattr(sim.model.power_model, "Participant", None)
        if isinstance(participant, type):
            self._patch_agent_init(participant, "Participant agents (CellAgent per node)")

    def uninstall(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()

    def phases(self, total_end: float, total_mem: dict[str, int]) -> list[dict[str, Any]]:
        """Spans in order, with the gaps between top-level spans as "(other ...)" phases."""
        self._close_bulk()
        spans = sorted(self.spans, key=lambda s: s["start"])
        out: list[dict[str, Any]] = []
        cursor, cursor_rss, last_label = 0.0, None, "start"
        for s in spans:
            if s["depth"] == 0:
                gap = s["start"] - cursor
                if gap > 1e-3:
                    out.append(
                        {
                            "label": f"(other, after {last_label})",
                            "depth": 0,
                            "seconds": gap,
                            "rss_delta": (s["rss_before"] - cursor_rss) if cursor_rss is not None else None,
                            "rss_after": s["rss_before"],
                            "peak_after": None,
                        }
                    )
                cursor, cursor_rss, last_label = s["end"], s["rss_after"], s["label"].split(" (")[0]
            out.append(
                {
                    "label": s["label"],
                    "depth": s["depth"],
                    "seconds": s["end"] - s["start"],
                    "rss_delta": s["rss_after"] - s["rss_before"],
                    "rss_after": s["rss_after"],
                    "peak_after": s["peak_after"],
                    "calls": s.get("calls"),
                }
            )
        if total_end - cursor > 1e-3:
            out.append(
                {
                    "label": f"(other, after {last_label})",
                    "depth": 0,
                    "seconds": total_end - cursor,
                    "rss_delta": (total_mem["rss"] - cursor_rss) if cursor_rss is not None else None,
                    "rss_after": total_mem["rss"],
                    "peak_after": total_mem["peak"],
                }
            )
        return out


def profiled_build(scenario, seed: int, driver: str = "vectorized"):
    """Build a PowerModel with every constructor phase timed; return (model, report)."""
    from sim.model.power_model import PowerModel

    gc.collect()
    mem0 = proc_memory()
    timeline = BuildTimeline()
    timeline.install()
    try:
        t0 = time.perf_counter()
        timeline.t0 = t0
        model = PowerModel(scenario, rng=seed, driver=driver)
        total = time.perf_counter() - t0
    finally:
        timeline.uninstall()
    mem1 = proc_memory()
    return model, {
        "seconds": total,
        "rss_before": mem0["rss"],
        "rss_after": mem1["rss"],
        "peak_after": mem1["peak"],
        "phases": timeline.phases(total, mem1),
    }


def format_build(report: dict[str, Any], n: int) -> str:
    lines = [
        (
            f"Build of PowerModel at N = {n:,}: {report['seconds']:.1f} s; resident "
            f"{report['rss_before'] / MIB:,.0f} -> {report['rss_after'] / MIB:,.0f} MiB "
            f"(peak so far {report['peak_after'] / MIB:,.0f} MiB)"
        ),
        f"  {'phase':<62} {'seconds':>8} {'share':>6} {'RSS delta':>11} {'RSS after':>10} {'peak after':>10}",
    ]
    for p in report["phases"]:
        label = ("  " * p["depth"]) + p["label"]
        if p.get("calls"):
            label += f" x{p['calls']:,}"
        delta = f"{p['rss_delta'] / MIB:+,.0f} MiB" if p["rss_delta"] is not None else "?"
        peak = f"{p['peak_after'] / MIB:,.0f} MiB" if p.get("peak_after") else ""
        share = f"{100 * p['seconds'] / report['seconds']:.0f}%" if report["seconds"] else ""
        lines.append(
            f"  {label:<62} {p['seconds']:8.2f} {share:>6} {delta:>11} "
            f"{p['rss_after'] / MIB:>6,.0f} MiB {peak:>10}"
        )
    lines.append("  (nested rows, indented, are part of the row above them; RSS = resident set)")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- the large run (child)
def big_run(n: int, steps: int, seed: int, scenario_path: Path, product_reps: int) -> dict[str, Any]:
    """Build at n (phases timed), run ``steps`` vectorized steps, read the peak memory."""
    import sim  # noqa: F401  (imports counted in the baseline)

    base = load_base(scenario_path)
    scenario = make_scenario(base, n)
    mem_start = proc_memory()
    progress(f"[N={n:,}] building (vectorized driver) ...")
    model, build = profiled_build(scenario, seed)
    progress(
        f"[N={n:,}] built in {build['seconds']:.1f} s, resident {build['rss_after'] / MIB:,.0f} MiB; "
        f"running {steps} steps ..."
    )
    times = []
    t_all = time.perf_counter()
    for i in range(steps):
        t0 = time.perf_counter()
        model.step()
        times.append(time.perf_counter() - t0)
        if (i + 1) % 25 == 0:
            progress(f"[N={n:,}] step {i + 1}/{steps}, median {1e3 * statistics.median(times):.1f} ms")
    run_seconds = time.perf_counter() - t_all
    mem_end = proc_memory()  # the peak that the target is about: build + steps
    ru_peak = ru_maxrss_bytes()
    state = {
        "active_fraction": float(model.active_fraction),
        "members": {o.name: int(o.n_members) for o in model.organizations},
    }
    # For information only, after the peak has been read: the bare product at this size.
    products = time_products(model.adjacency, product_reps, seed)
    return {
        "n": n,
        "steps": steps,
        "seed": seed,
        "imports_rss_bytes": mem_start["rss"],
        "build": build,
        "step": summary_stats(times),
        "step_times_s": times,
        "run_seconds": run_seconds,
        "total_seconds": build["seconds"] + run_seconds,
        "peak_rss_bytes": mem_end["peak"],
        "rss_end_bytes": mem_end["rss"],
        "ru_maxrss_bytes": ru_peak,
        "products": products,
        "final_state": state,
    }


def run_big_in_child(n: int, steps: int, seed: int, scenario_path: Path, product_reps: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "big.json"
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--_child-big",
            str(n),
            "--_child-steps",
            str(steps),
            "--seed",
            str(seed),
            "--scenario",
            str(scenario_path),
            "--_child-reps",
            str(product_reps),
            "--_child-out",
            str(out),
        ]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, check=False)
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or not out.exists():
            return {
                "n": n,
                "steps": steps,
                "error": f"child process exited with code {proc.returncode}",
                "wall_seconds": wall,
            }
        result = json.loads(out.read_text())
        result["wall_seconds"] = wall
        return result


# ---------------------------------------------------------------------------- the comparison sizes
def measure_size(n: int, base: dict[str, Any], seed: int, cfg: dict[str, int]) -> dict[str, Any]:
    """Both drivers and the bare products on one graph of n nodes."""
    from sim.model.power_model import PowerModel

    scenario = make_scenario(base, n)
    res: dict[str, Any] = {"n": n}

    clear_mesa_caches()
    progress(f"[N={n:,}] building vectorized model ...")
    t0 = time.perf_counter()
    model = PowerModel(scenario, rng=seed, driver="vectorized")
    res["build_vectorized_s"] = time.perf_counter() - t0
    res["edges"] = int(sp.csr_array(model.adjacency).nnz // 2)
    res["graph"] = graph_digest(model.adjacency)
    warm, steps = cfg["vec_warmup"], cfg["vec_steps"]
    progress(f"[N={n:,}] vectorized: {warm} warm-up + {steps} timed steps ...")
    step_times, product_times = time_steps_with_products(model, warm, steps, seed)
    res["vectorized"] = summary_stats(step_times)
    res["vectorized"]["warmup"] = warm
    reps = max(5, int(cfg["product_budget_s"] / max(n * MEAN_DEGREE * 2e-9, 1e-6)))
    reps = min(reps, cfg["product_max_reps"])
    progress(f"[N={n:,}] bare A @ x: {reps} repetitions ...")
    res["products"] = time_products(model.adjacency, reps, seed)
    res["products"]["reps"] = reps
    res["products"]["float64_interleaved"] = statistics.median(product_times)
    res["vectorized"]["active_fraction_end"] = float(model.active_fraction)
    del model
    clear_mesa_caches()

    progress(f"[N={n:,}] building per-agent model (same seed, same graph) ...")
    t0 = time.perf_counter()
    model = PowerModel(scenario, rng=seed, driver="agents")
    res["build_agents_s"] = time.perf_counter() - t0
    same = graph_digest(model.adjacency) == res["graph"]
    res["same_graph"] = same
    if not same:
        progress(f"[N={n:,}] WARNING: the two drivers were built on different graphs")
    # Warm-up steps are timed too, to choose how many steps fit the time budget.
    warm = cfg["agents_warmup"]
    warm_times = time_steps(model, 0, warm)
    per_step = statistics.median(warm_times)
    steps = max(cfg["agents_min_steps"], min(cfg["agents_max_steps"], int(cfg["agents_budget_s"] / per_step)))
    progress(
        f"[N={n:,}] per-agent: {warm} warm-up steps took {per_step:.2f} s each; timing {steps} steps ..."
    )
    res["agents"] = summary_stats(time_steps(model, 0, steps, label="per-agent"))
    res["agents"]["warmup"] = warm
    del model
    clear_mesa_caches()

    vec, agents, f64 = res["vectorized"]["median_s"], res["agents"]["median_s"], res["products"]["float64"]
    res["ratio_vectorized_over_product_interleaved"] = vec / res["products"]["float64_interleaved"]
    res["ratio_vectorized_over_product_f64"] = vec / f64
    res["ratio_vectorized_over_product_f32"] = vec / res["products"]["float32"]
    res["speedup_agents_over_vectorized"] = agents / vec
    return res


# ---------------------------------------------------------------------------- report
def ms(seconds: float) -> str:
    v = seconds * 1e3
    return f"{v:,.3f}" if v < 1 else f"{v:,.2f}" if v < 100 else f"{v:,.0f}"


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    by_n = {r["n"]: r for r in results["sizes"]}
    targets = []
    r = by_n.get(T1_N)
    t1 = {
        "id": "T1",
        "what": f"vectorized step <= {T1_MAX_RATIO:g} x bare A@x (float64) at N={T1_N:,}",
        "target": f"<= {T1_MAX_RATIO:g}",
    }
    if r:
        ratio = r["ratio_vectorized_over_product_f64"]
        t1.update(
            value=ratio,
            shown=f"{ratio:.1f} x ({ms(r['vectorized']['median_s'])} / {ms(r['products']['float64'])} ms)",
            status="PASS" if ratio <= T1_MAX_RATIO else "FAIL",
        )
    else:
        t1.update(value=None, shown="not measured", status="N/A")
    targets.append(t1)

    r = by_n.get(T2_N)
    t2 = {
        "id": "T2",
        "what": f"vectorized >= {T2_MIN_SPEEDUP:g} x faster than per-agent at N={T2_N:,}",
        "target": f">= {T2_MIN_SPEEDUP:g}",
    }
    if r:
        sp_ = r["speedup_agents_over_vectorized"]
        t2.update(
            value=sp_,
            shown=f"{sp_:.0f} x ({ms(r['agents']['median_s'])} / {ms(r['vectorized']['median_s'])} ms)",
            status="PASS" if sp_ >= T2_MIN_SPEEDUP else "FAIL",
        )
    else:
        t2.update(value=None, shown="not measured", status="N/A")
    targets.append(t2)

    big = results.get("big")
    t3 = {
        "id": "T3",
        "what": f"{T3_N:,} participants run {T3_STEPS} steps within 4 GB (peak RSS)",
        "target": f"< {T3_LIMIT_BYTES / GB:g} GB",
    }
    if not big:
        t3.update(value=None, shown="not measured (--skip-million)", status="N/A")
    elif "error" in big:
        t3.update(value=None, shown=big["error"], status="FAIL")
    elif big["n"] != T3_N or big["steps"] < T3_STEPS:
        t3.update(
            value=big["peak_rss_bytes"],
            status="N/A",
            shown=f"ran N={big['n']:,}, {big['steps']} steps: peak {big['peak_rss_bytes'] / GB:.2f} GB",
        )
    else:
        peak = big["peak_rss_bytes"]
        t3.update(
            value=peak,
            shown=f"{peak / GB:.2f} GB ({peak / MIB:,.0f} MiB), "
            f"{big['steps']} steps in {big['total_seconds']:.0f} s",
            status="PASS" if peak < T3_LIMIT_BYTES else "FAIL",
        )
    targets.append(t3)
    return targets


def format_report(results: dict[str, Any]) -> str:
    m = results["machine"]
    la = m.get("load_average_at_start")
    lines = [
        "",
        "=" * 100,
        (
            "newpower step benchmark: Watts-Strogatz graph, mean degree 10, scenario "
            f"{results['scenario']}, seed {results['seed']}"
        ),
        (
            f"machine: {m['cpu']}; {m['cores']} cores ({m['usable_cores']} usable)"
            + (f"; RAM {m['memory_total_bytes'] / GB:.1f} GB" if m.get("memory_total_bytes") else "")
        ),
        (
            f"python {m['python']}, numpy {m['numpy']}, scipy {m['scipy']}, networkx {m['networkx']}, "
            f"mesa {m['mesa']}; sim at {m['git']}"
        ),
        f"load average at start: {', '.join(f'{x:.2f}' for x in la)}" if la else "",
        "-" * 100,
        f"{'N':>11}  {'measurement':<44} {'ms':>10}  {'detail'}",
    ]
    for r in results["sizes"]:
        n = r["n"]
        v, a, p = r["vectorized"], r["agents"], r["products"]
        rows = [
            (
                "vectorized step (median)",
                ms(v["median_s"]),
                (
                    f"{v['n']} steps after {v['warmup']} warm-up; min {ms(v['min_s'])}, max {ms(v['max_s'])}; "
                    f"build {r['build_vectorized_s']:.1f} s"
                ),
            ),
            (
                "per-agent step (median)",
                ms(a["median_s"]),
                (
                    f"{a['n']} steps after {a['warmup']} warm-up; min {ms(a['min_s'])}, max {ms(a['max_s'])}; "
                    f"build {r['build_agents_s']:.1f} s"
                ),
            ),
            (
                "bare A @ x, float64 (median)",
                ms(p["float64"]),
                f"{p['reps']} repetitions in a row; {r['edges']:,} edges",
            ),
            (
                "bare A @ x, float64 between steps (info)",
                ms(p["float64_interleaved"]),
                "one after each timed step (caches cold, as for a step); step / this "
                + f"{r['ratio_vectorized_over_product_interleaved']:.1f} x",
            ),
            ("bare A @ x, float32 (info)", ms(p["float32"]), ""),
            (
                f"bare A @ x, {p['as_built_dtype']} as built (info)",
                ms(p["as_built"]),
                "model.adjacency as is",
            ),
            (
                "ratio vectorized / A@x float64",
                f"{r['ratio_vectorized_over_product_f64']:.1f} x",
                f"vs float32: {r['ratio_vectorized_over_product_f32']:.1f} x",
            ),
            (
                "ratio per-agent / vectorized",
                f"{r['speedup_agents_over_vectorized']:.0f} x",
                "same graph" if r["same_graph"] else "WARNING: graphs differ",
            ),
        ]
        for i, (what, val, detail) in enumerate(rows):
            lines.append(f"{f'{n:,}' if i == 0 else '':>11}  {what:<44} {val:>10}  {detail}")
        lines.append("")
    big = results.get("big")
    if big and "error" not in big:
        n = big["n"]
        s = big["step"]
        b = big["build"]
        build_phases = sorted((p for p in b["phases"] if p["depth"] == 0), key=lambda p: -p["seconds"])[:3]
        rows = [
            (
                "build (PowerModel constructor)",
                f"{b['seconds']:.1f} s",
                "largest phases: "
                + "; ".join(f"{p['label'].split(' (')[0]} {p['seconds']:.1f} s" for p in build_phases),
            ),
            (
                "vectorized step (median)",
                ms(s["median_s"]),
                f"{s['n']} steps; mean {ms(s['mean_s'])}, min {ms(s['min_s'])}, max {ms(s['max_s'])}",
            ),
            (
                f"{big['steps']} steps, total",
                f"{big['run_seconds']:.2f} s",
                f"build + steps {big['total_seconds']:.1f} s; process wall time {big['wall_seconds']:.1f} s",
            ),
            (
                "peak resident memory (VmHWM)",
                f"{big['peak_rss_bytes'] / GB:.2f} GB",
                (
                    f"{big['peak_rss_bytes'] / MIB:,.0f} MiB; after build {b['rss_after'] / MIB:,.0f} MiB; "
                    f"imports alone {big['imports_rss_bytes'] / MIB:,.0f} MiB; "
                    f"ru_maxrss {big['ru_maxrss_bytes'] / MIB:,.0f} MiB"
                ),
            ),
            (
                "bare A @ x, float64 (info)",
                ms(big["products"]["float64"]),
                (
                    f"float32 {ms(big['products']['float32'])} ms; ratio step / float64 "
                    f"{s['median_s'] / big['products']['float64']:.1f} x"
                ),
            ),
        ]
        for i, (what, val, detail) in enumerate(rows):
            lines.append(f"{f'{n:,}' if i == 0 else '':>11}  {what:<44} {val:>10}  {detail}")
        lines.append("")
    elif big:
        lines.append(f"{big['n']:>11,}  vectorized, {big['steps']} steps: {big['error']}")
        lines.append("")
    lines.append("-" * 100)
    lines.append("Targets")
    for t in results["targets"]:
        lines.append(f"  {t['id']}  {t['what']:<70} {t['status']:<5} {t['shown']}")
    lines.append("=" * 100)
    return "\n".join(x for x in lines if x is not None)


# ---------------------------------------------------------------------------- diagnostic modes
def profile_steps(n: int, base: dict[str, Any], seed: int, steps: int, top: int) -> None:
    from sim.model.power_model import PowerModel

    scenario = make_scenario(base, n)
    progress(f"[N={n:,}] building vectorized model ...")
    model = PowerModel(scenario, rng=seed, driver="vectorized")
    for _ in range(3):
        model.step()
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for _ in range(steps):
        model.step()
    prof.disable()
    wall = time.perf_counter() - t0
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("tottime").print_stats(top)
    print(
        f"cProfile of {steps} vectorized steps at N = {n:,} (after 3 warm-up steps): "
        f"{1e3 * wall / steps:.2f} ms per step under the profiler"
    )
    print(buf.getvalue())


def organization_scenario(base: dict[str, Any], k: int, n: int):
    """The base scenario on n participants with ``k`` small organizations (both kinds, spread over the compass)."""
    from sim import scenario_from_dict

    raw = json.loads(json.dumps(base))
    raw["network"] = {"kind": "watts_strogatz", "n": n, "mean_degree": MEAN_DEGREE, "rewire_prob": 0.1}
    raw["organizations"] = [
        {
            "name": f"Org{i}",
            "kind": ("institution", "platform")[i % 2],
            "openness": (i % 10) / 10,
            "values": ((7 * i) % 10) / 10,
            "stock": 1.0,
            "take_rate": 0.1,
            "transparency": 0.5,
            "outreach": 0.002,
            "initial_share": min(0.002, 0.9 / k),
        }
        for i in range(k)
    ]
    raw.setdefault("trigger", {})["organization"] = ""
    raw["trigger"]["n_seeds"] = max(1, round(n / 100))
    return scenario_from_dict(raw, source="<benchmark>")


def organization_scaling(counts: list[int], n: int, steps: int, base: dict[str, Any], seed: int) -> None:
    """Build and step the vectorized model with each number of organizations; print the times."""
    from sim.model.power_model import PowerModel

    PowerModel(organization_scenario(base, 2, n), rng=seed).step()  # load compiled code first
    print(f"vectorized model, N = {n:,}, {steps} steps, Watts-Strogatz mean degree {MEAN_DEGREE}")
    print(f"{'organizations':>14}  {'build s':>8}  {'steps s':>8}  {'total s':>8}  {'ms/step':>8}")
    for k in counts:
        scenario = organization_scenario(base, k, n)
        t0 = time.perf_counter()
        model = PowerModel(scenario, rng=seed)
        t1 = time.perf_counter()
        for _ in range(steps):
            model.step()
        t2 = time.perf_counter()
        per_step = 1e3 * (t2 - t1) / steps
        print(f"{k:>14,}  {t1 - t0:>8.2f}  {t2 - t1:>8.2f}  {t2 - t0:>8.2f}  {per_step:>8.1f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Targets: T1 vectorized step <= 5 x bare A@x at 100,000; "
        "T2 >= 100 x faster than per-agent at 10,000; "
        "T3 1,000,000 participants, 100 steps, < 4 GB.",
    )
    ap.add_argument(
        "--sizes",
        nargs="+",
        type=parse_n,
        default=[10_000, 100_000],
        metavar="N",
        help="sizes where both drivers and the bare product are measured (default: 10000 100000)",
    )
    ap.add_argument("--skip-million", action="store_true", help="skip the 1,000,000-participant run")
    ap.add_argument(
        "--big-n",
        type=parse_n,
        default=T3_N,
        metavar="N",
        help="size of the vectorized-only memory run (default: 1000000)",
    )
    ap.add_argument("--big-steps", type=int, default=T3_STEPS, help="steps of that run (default: 100)")
    ap.add_argument("--quick", action="store_true", help="fewer timed steps and repetitions (noisier)")
    ap.add_argument("--seed", type=int, default=1, help="model seed (default: 1)")
    ap.add_argument(
        "--scenario",
        type=Path,
        default=DEFAULT_SCENARIO,
        help="base scenario file (network and trigger size are overridden)",
    )
    ap.add_argument("--json", type=Path, metavar="PATH", help="also write all results as JSON here")
    ap.add_argument(
        "--profile-build",
        type=parse_n,
        metavar="N",
        help="diagnostic: time and measure each phase of building a model of N participants",
    )
    ap.add_argument(
        "--profile-steps",
        type=parse_n,
        metavar="N",
        help="diagnostic: cProfile of a few vectorized steps at N, top functions by tottime",
    )
    ap.add_argument("--profile-count", type=int, default=10, help="steps profiled by --profile-steps")
    ap.add_argument(
        "--organizations",
        nargs="+",
        type=int,
        metavar="K",
        help="diagnostic: build and step the model with K organizations each (N = --org-n, 5 steps)",
    )
    ap.add_argument("--org-n", type=parse_n, default=1500, help="participants for --organizations")
    ap.add_argument("--_child-big", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--_child-steps", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--_child-reps", type=int, default=20, help=argparse.SUPPRESS)
    ap.add_argument("--_child-out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    sys.path.insert(0, str(REPO))  # the package is installed editable; this also works from a checkout

    if args._child_big:
        result = big_run(args._child_big, args._child_steps, args.seed, args.scenario, args._child_reps)
        args._child_out.write_text(json.dumps(result))
        return 0

    base = load_base(args.scenario)

    if args.profile_build:
        n = args.profile_build
        scenario = make_scenario(base, n)
        print(f"imports: resident {proc_memory()['rss'] / MIB:,.0f} MiB")
        model, report = profiled_build(scenario, args.seed)
        print(format_build(report, n))
        times = time_steps(model, 1, 5)
        mem = proc_memory()
        print(
            f"then 5 vectorized steps (after 1 warm-up): median {ms(statistics.median(times))} ms; "
            f"resident {mem['rss'] / MIB:,.0f} MiB, peak {mem['peak'] / MIB:,.0f} MiB"
        )
        return 0

    if args.profile_steps:
        profile_steps(args.profile_steps, base, args.seed, args.profile_count, 30)
        return 0

    if args.organizations:
        organization_scaling(args.organizations, args.org_n, 5, base, args.seed)
        return 0

    if args.quick:
        cfg = {
            "vec_warmup": 2,
            "vec_steps": 10,
            "agents_warmup": 1,
            "agents_min_steps": 1,
            "agents_max_steps": 3,
            "agents_budget_s": 3.0,
            "product_budget_s": 0.2,
            "product_max_reps": 100,
        }
        big_reps = 5
    else:
        cfg = {
            "vec_warmup": 5,
            "vec_steps": 50,
            "agents_warmup": 2,
            "agents_min_steps": 3,
            "agents_max_steps": 20,
            "agents_budget_s": 30.0,
            "product_budget_s": 1.0,
            "product_max_reps": 500,
        }
        big_reps = 20

    results: dict[str, Any] = {
        "scenario": args.scenario.name,
        "seed": args.seed,
        "mean_degree": MEAN_DEGREE,
        "quick": args.quick,
        "machine": machine_info(),
        "sizes": [],
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    t_start = time.perf_counter()
    for n in sorted(set(args.sizes)):
        results["sizes"].append(measure_size(n, base, args.seed, cfg))
    if not args.skip_million:
        clear_mesa_caches()
        results["big"] = run_big_in_child(args.big_n, args.big_steps, args.seed, args.scenario, big_reps)
    results["targets"] = evaluate_targets(results)
    results["wall_seconds"] = time.perf_counter() - t_start

    big = results.get("big")
    if big and "build" in big:
        print(format_build(big["build"], big["n"]))
    print(format_report(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1, default=float))
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
