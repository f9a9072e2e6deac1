"""A pyabc sampler whose result depends on the seed only, not on workers or timing.

pyabc draws parameters (from the prior, or by perturbing the last population)
with NumPy's global generator, inside the function a sampler calls for each
evaluation. Its own parallel samplers reseed that generator from the operating
system in every worker (``np.random.seed()`` in
``pyabc/sampler/multicore_evaluation_parallel.py`` and
``pyabc/sampler/eps_mixin.py``, which the Dask sampler uses) and accept
particles in the order workers happen to finish, so two runs never give the
same posterior.

:class:`OrderedSampler` numbers the evaluations of each generation 0, 1, 2, ...
and runs evaluation ``i`` of generation ``t`` with NumPy's global generator
seeded from ``(seed, t, i)``; a generation's sample is the evaluations up to the
``n``-th accepted one, in index order. Tasks of a few evaluations go to any
:class:`~sim.research.executors.Executor` (this process, local processes, a
Dask cluster: the same ones as ``newpower sweep``) and may finish in any
order. The global generator's state is saved before and restored after each
evaluation, so the caller's own use of it is untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import sys
from collections.abc import Callable, Iterator, Sequence

import cloudpickle
import numpy as np
from pyabc.sampler import Sampler

from sim.research.calibration.simulator import EVALUATION
from sim.research.executors import Executor

#: Worker-side cache of the last generation's unpickled evaluation function (one per task otherwise).
_CACHE: dict[bytes, Callable] = {}


@contextlib.contextmanager
def numpy_global_seed(entropy: Sequence[int]) -> Iterator[None]:
    """Seed NumPy's global generator from ``entropy`` for a block, then restore its previous state."""
    state = np.random.get_state()
    np.random.seed(np.random.SeedSequence(list(entropy)).generate_state(4))
    try:
        yield
    finally:
        np.random.set_state(state)


def evaluate(task: tuple[bytes, int, int, int, int]) -> list[tuple[int, object]]:
    """Run evaluations ``start .. start + count - 1`` of one generation (in a worker).

    Args:
        task: (the pickled evaluation function, root seed, generation, start, count).

    Returns:
        ``(index, particle)`` pairs.
    """
    payload, seed, t, start, count = task
    key = hashlib.blake2b(payload, digest_size=16).digest()
    simulate_one = _CACHE.get(key)
    if simulate_one is None:
        _CACHE.clear()
        simulate_one = _CACHE[key] = cloudpickle.loads(payload)
    out = []
    for index in range(start, start + count):
        # t is -1 for pyabc's calibration sample from the prior
        with numpy_global_seed([seed, EVALUATION, t + 1, index]):
            out.append((index, simulate_one()))
    return out


class OrderedSampler(Sampler):
    """Evaluations in index order, seeded by (seed, generation, index), run on an executor.

    Args:
        executor: where evaluations run.
        seed: the root seed.
        progress: show a progress bar per generation on stderr.
        echo: called with one line when a generation is done.
    """

    def __init__(
        self,
        executor: Executor,
        seed: int,
        progress: bool = False,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.executor = executor
        self.seed = int(seed)
        self.show_progress = progress
        self.echo = echo

    def sample_until_n_accepted(
        self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None
    ):
        """The evaluations of generation ``t`` up to its ``n``-th accepted one (pyabc's interface)."""
        from tqdm import tqdm

        label = "prior sample" if t < 0 else f"generation {t + 1}"
        if ana_vars is not None and t >= 0 and np.isfinite(ana_vars.max_t):
            label += f" of {ana_vars.max_t + 1}"
        tasks = self._tasks(cloudpickle.dumps(simulate_one), t, n, max_eval)
        with tqdm(
            total=n, desc=label, unit="particle", file=sys.stderr, disable=not self.show_progress, leave=False
        ) as bar:
            done, evaluated, accepted = _first_accepted(self.executor.map_unordered(evaluate, tasks), n, bar)
        sample = self._create_empty_sample()
        for index in range(evaluated):
            sample.append(done[index])
        self.nr_evaluations_ = evaluated
        sample.ok = accepted >= n
        if self.echo is not None:
            self.echo(_line(label, accepted, evaluated, ana_vars.eps(t) if ana_vars and t >= 0 else None))
        return sample

    def _tasks(self, payload: bytes, t: int, n: int, max_eval: float) -> Iterator[tuple]:
        """Tasks of consecutive evaluations, up to ``max_eval`` (endless when it is infinite)."""
        chunk = max(1, min(self.executor.task_size(n), -(-n // (2 * self.executor.workers))))
        limit = int(max_eval) if np.isfinite(max_eval) else None
        starts = itertools.count(0, chunk) if limit is None else range(0, limit, chunk)
        for start in starts:
            yield payload, self.seed, t, start, chunk if limit is None else min(chunk, limit - start)


def _first_accepted(results: Iterator[list], n: int, bar) -> tuple[dict[int, object], int, int]:
    """Collect finished evaluations until the first ``n`` accepted ones have no gap before them.

    Returns:
        The evaluations by index, how many lead up to the ``n``-th accepted one, and how many of
        those were accepted (fewer than ``n`` when the tasks ran out).
    """
    done: dict[int, object] = {}
    evaluated = accepted = 0
    try:
        for batch in results:
            done.update(batch)
            while evaluated in done and accepted < n:
                hit = bool(done[evaluated].accepted)
                accepted += hit
                evaluated += 1
                bar.update(hit)
            bar.set_postfix(simulated=len(done), refresh=False)
            if accepted >= n:
                break
    finally:
        results.close()  # cancels the tasks not started; later evaluations are not needed
    return done, evaluated, accepted


def _line(label: str, accepted: int, evaluated: int, epsilon: float | None) -> str:
    """One line about a finished generation."""
    if epsilon is None:
        return f"{label}: {evaluated:,} simulations to scale the distance and the first epsilon"
    rate = accepted / max(1, evaluated)
    return f"{label}: epsilon {epsilon:.4g}, accepted {accepted:,} of {evaluated:,} simulations ({rate:.1%})"
