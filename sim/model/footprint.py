"""How much memory a run needs, known before anything is built.

A scenario of ten million participants is valid, but on a small machine its graph
alone would not fit: NetworkX would fail with a bare ``MemoryError`` minutes into
building it. So, before the first big allocation, :func:`require` estimates the
peak memory the run needs above what the process already holds, compares it with
the memory available, and refuses with one clear message (needed, available, what
to change) when it cannot fit.

The estimate is linear in the participants ``n`` and the ties ``m``:

    needed = FIXED + per_node * n + per_tie * m      (bytes)

with one pair of constants per graph source (each generator builds differently)
and per driver, all in :data:`COSTS`. They are *measured*, not derived:
``benchmarks/bench_footprint.py`` runs each case in a fresh process at several sizes,
reads its peak resident memory, fits the two constants and prints the table to paste
here. Re-measure whenever graph building or the model's arrays change (a different
graph library, say). ``tests/test_footprint.py`` checks the estimate against measured
peaks: never below them, and at most :data:`TOLERANCE` times above.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from sim.errors import ScenarioError

GB = 1e9


@dataclass(frozen=True)
class Cost:
    """Peak bytes per participant and per tie, above the process's size before the build."""

    per_node: float
    per_tie: float

    def __call__(self, n: float, ties: float) -> float:
        return self.per_node * n + self.per_tie * ties


#: Peak memory of building the model and running it, by (graph source, driver), in bytes per
#: participant and per tie. Measured with benchmarks/bench_footprint.py (Linux x86-64, Python 3.12,
#: NetworkX 3.x, Mesa 3.5; 20,000 to 150,000 participants, 10,000 to 40,000 with the agents
#: driver; mean degree 4 and 20), each fit scaled up to 1.1 times its highest point. Re-measure
#: rather than edit by hand.
COSTS: dict[tuple[str, str], Cost] = {
    ("erdos_renyi", "vectorized"): Cost(1372, 309),
    ("erdos_renyi", "agents"): Cost(1781, 382),
    ("watts_strogatz", "vectorized"): Cost(1318, 279),
    ("watts_strogatz", "agents"): Cost(1725, 338),
    ("barabasi_albert", "vectorized"): Cost(1395, 272),
    ("barabasi_albert", "agents"): Cost(1828, 345),
    ("stochastic_block", "vectorized"): Cost(1537, 277),
    ("stochastic_block", "agents"): Cost(2011, 348),
    ("edge_list", "vectorized"): Cost(1356, 314),
    ("edge_list", "agents"): Cost(1762, 373),
    ("graphml", "vectorized"): Cost(1335, 451),
    ("graphml", "agents"): Cost(1831, 416),
    # erdos_renyi's (NetworkX stores every generated graph alike): at n = 1,000 (all 499,500 ties)
    # 1.42 (vectorized) and 1.35 (agents) times the measured peak.
    ("complete", "vectorized"): Cost(1372, 309),
    ("complete", "agents"): Cost(1781, 382),
}
#: The same for generated networks that igraph builds straight into CSR (``network.generator``, by
#: default from sim.model.network.IGRAPH_FROM participants on), with the vectorized driver (the
#: agents driver makes a NetworkX graph for its agents, so it counts as above). Fitted to
#: watts_strogatz at 300,000 and 1,000,000 participants (mean degree 4 and 20) and erdos_renyi at
#: 1,000,000 (mean degree 10): the estimate is 1.05 to 1.48 times those peaks; the other
#: generators count alike.
IGRAPH_COSTS: dict[str, Cost] = dict.fromkeys(
    ("erdos_renyi", "watts_strogatz", "barabasi_albert", "stochastic_block"), Cost(110, 79)
)
#: Peak bytes per byte of a GraphML file while it is parsed (before the graph is built); the highest
#: of mean degrees 4 and 20. An edge list is checked as it is read instead (see sim.model.network_files).
PARSE_PER_BYTE: dict[str, float] = {"graphml": 15.1}
#: Bytes any run needs whatever its size, measured likewise: a 200-participant run compiling its
#: kernels with an empty Numba cache, or the fits' intercepts, whichever is larger (plus 10%).
FIXED = 9.658e07
#: The estimate is never below a measured peak and at most this many times above it (tested).
TOLERANCE = 2.0
#: The drivers a cost is measured for (a model's driver unknown: the more demanding one counts).
DRIVERS = ("vectorized", "agents")
#: Set to 1 to skip the check (for example on a machine whose swap you mean to use).
SKIP_VARIABLE = "NEWPOWER_SKIP_MEMORY_CHECK"


class NotEnoughMemory(ScenarioError):
    """A run would need more memory than is available; nothing has been built.

    Attributes:
        needed: estimated peak bytes of the run.
        available: bytes available when it was checked.
    """

    def __init__(self, message: str, *, needed: float, available: float, **where) -> None:
        super().__init__(message, **where)
        self.needed = needed
        self.available = available


def estimate(kind: str, n: float, ties: float, driver: str | None = None, route: str = "networkx") -> float:
    """Peak bytes a run on this graph needs above the process's current size.

    Args:
        kind: ``network.kind`` (a generator, ``edge_list`` or ``graphml``).
        n: participants.
        ties: undirected ties (expected, for a random generator).
        driver: the model's driver; None counts the more demanding one.
        route: ``"networkx"`` or ``"igraph"``, the library that generates the graph.
    """
    return FIXED + _cost(kind, n, ties, driver, route)(n, ties)


def _cost(kind: str, n: float, ties: float, driver: str | None, route: str) -> Cost:
    """The per-participant and per-tie cost that counts: the heavier driver's when it is not known."""
    costs = [
        IGRAPH_COSTS[kind] if route == "igraph" and d == "vectorized" else COSTS[kind, d]
        for d in (DRIVERS if driver is None else (driver,))
    ]
    return max(costs, key=lambda c: c(n, ties))


def available() -> float | None:
    """Bytes the process can still take: the system's available memory, within a container's limit.

    Uses ``psutil`` when installed, else ``/proc/meminfo``; None when neither can be read
    (then nothing is refused).
    """
    found = [b for b in (_system_available(), _cgroup_headroom()) if b is not None]
    return float(min(found)) if found else None


def require(
    kind: str,
    n: float,
    ties: float,
    *,
    driver: str | None = None,
    source: str | None = None,
    key: str = "network.n",
    route: str = "networkx",
) -> None:
    """Refuse a run that cannot fit in memory, before anything is built.

    Raises:
        NotEnoughMemory: naming the scenario, the key, the memory needed and available,
            and the largest network that would fit.
    """
    needed = estimate(kind, n, ties, driver, route)
    free = _free_unless_skipped(needed)
    if free is None:
        return
    what = f"{int(n):,} participants and about {int(ties):,} ties ({kind}, {driver or 'either'} driver)"
    if key == "network.n":
        cost = _cost(kind, n, ties, driver, route)
        fits = max(0, int((free - FIXED) / (cost.per_node + cost.per_tie * ties / max(n, 1))))
        allowed = (
            f"network.n at most about {fits:,} at this mean degree, a lower mean_degree, or more free memory"
        )
    else:
        allowed = "a smaller graph file, or more free memory"
    raise NotEnoughMemory(
        f"the run needs about {_gb(needed)} of memory for {what}, but {_gb(free)} is available",
        needed=needed,
        available=free,
        source=source,
        key=key,
        value=int(n) if key == "network.n" else None,
        allowed=allowed,
    )


def require_parse(kind: str, size: int, *, source: str | None = None, key: str = "network.path") -> None:
    """Refuse to parse a graph file whose parsing alone cannot fit in memory.

    Raises:
        NotEnoughMemory: naming the scenario, the key, the file's size, memory needed and available.
    """
    needed = PARSE_PER_BYTE[kind] * size  # no kernels compile while a file is parsed
    free = _free_unless_skipped(needed)
    if free is None:
        return
    raise NotEnoughMemory(
        f"reading this {_gb(size)} {kind} file needs about {_gb(needed)} of memory, "
        f"but {_gb(free)} is available",
        needed=needed,
        available=free,
        source=source,
        key=key,
        allowed="a smaller graph file, or more free memory",
    )


def _free_unless_skipped(needed: float) -> float | None:
    """The available bytes when ``needed`` exceeds them (and the check is on), else None."""
    if os.environ.get(SKIP_VARIABLE, "") not in ("", "0"):
        return None
    free = available()
    return free if free is not None and needed > free else None


def _gb(size: float) -> str:
    return f"{size / GB:.1f} GB" if size >= 0.1 * GB else f"{math.ceil(size / 1e6)} MB"


def _system_available(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    try:
        import psutil  # optional: present with most scientific stacks
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.virtual_memory().available)
    return _meminfo_available(meminfo)


def _meminfo_available(meminfo: Path) -> int | None:
    """``MemAvailable`` of ``/proc/meminfo`` in bytes (None where there is no such file, e.g. macOS)."""
    try:
        for line in meminfo.read_text().splitlines():
            name, _, value = line.partition(":")
            if name == "MemAvailable":
                return int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_headroom(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """What a container's memory limit still allows (cgroup v2, then v1); None without a limit."""
    for limit_file, usage_file in (
        ("memory.max", "memory.current"),
        ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes"),
    ):
        try:
            limit = (root / limit_file).read_text().strip()
            usage = int((root / usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:  # v1 writes a huge number for "no limit"
            return max(0, int(limit) - usage)
    return None
