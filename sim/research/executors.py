"""Where a sweep's runs execute: this process, local worker processes, or a Dask cluster.

Every executor has one method that matters, :meth:`Executor.map_unordered`:
apply a top-level function to each item and yield the results as they
complete. The sweep code never knows which executor it has, so a local
process pool, an existing Dask scheduler and a Dask ``LocalCluster`` take the
same code path (EMA Workbench keeps its evaluators apart from the model in
the same way). Results depend only on the items, never on the executor or
the number of workers.

* :class:`InlineExecutor` (``workers=0``): runs in this process, for debugging.
* :class:`LocalExecutor` (default): a ``ProcessPoolExecutor`` with the
  ``forkserver`` start method (``sim`` is preloaded in the server, so workers
  start fast), at most a few tasks in flight per worker.
* :class:`DaskExecutor`: ``address="local"`` starts a ``LocalCluster`` of
  single-threaded worker processes; any other address (``tcp://host:8786``)
  connects to an existing scheduler, for example one started by
  ``dask-jobqueue`` on SLURM or PBS (see docs/research.md).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Self

from sim.errors import SimError

#: Tasks kept in flight per worker: enough to keep workers busy, few enough to stream.
IN_FLIGHT_PER_WORKER = 2


class ExecutorError(SimError):
    """An executor cannot start, or lost its workers."""


class Executor:
    """Runs a function over items and yields results as they complete.

    Attributes:
        name: a short description for messages (``"2 local processes"``).
        workers: how many tasks can run at once.
    """

    name = "executor"
    workers = 1
    #: Runs per task that suit this executor (``None``: decided from the sweep size).
    runs_per_task: tuple[int, int] = (1, 8)

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """Yield ``fn(item)`` for every item, in completion order.

        Args:
            fn: a top-level (picklable) function.
            items: picklable arguments, consumed lazily.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release the workers."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def task_size(self, n_runs: int) -> int:
        """Runs per task for a sweep of ``n_runs``: about 8 tasks per worker, within ``runs_per_task``."""
        lo, hi = self.runs_per_task
        return max(lo, min(hi, -(-n_runs // max(1, 8 * self.workers))))


class InlineExecutor(Executor):
    """Runs every task in this process, one after the other (``--workers 0``; for debugging)."""

    name = "this process"
    workers = 1

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """Yield ``fn(item)`` in item order."""
        for item in items:
            yield fn(item)


class LocalExecutor(Executor):
    """A pool of local worker processes (``forkserver`` start method).

    Args:
        workers: number of processes (default: the number of CPUs).
        preload: modules imported once in the fork server, so workers start with them.
    """

    def __init__(
        self, workers: int | None = None, preload: tuple[str, ...] = ("sim.research.sweep",)
    ) -> None:
        self.workers = int(workers or os.cpu_count() or 1)
        if self.workers < 1:
            raise ExecutorError(f"--workers must be at least 1 for local processes, got {workers}")
        self.name = f"{self.workers} local process{'es' if self.workers > 1 else ''}"
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload(list(preload))
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """Submit a few tasks per worker at a time; yield each result as it completes."""
        pending: set[Future] = set()
        queue = iter(items)
        limit = IN_FLIGHT_PER_WORKER * self.workers
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < limit:
                    try:
                        pending.add(self._pool.submit(fn, next(queue)))
                    except StopIteration:
                        exhausted = True
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        except BrokenProcessPool:
            raise ExecutorError(
                "a worker process died (out of memory, or killed); the runs finished "
                "so far are saved: run the same command again to resume"
            ) from None
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        """Shut the pool down, cancelling tasks not started."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _exit_with_parent(parent_pid: int, period: float = 1.0) -> None:
    """Worker initializer: exit when the process that started the pool is gone.

    A pool's workers otherwise outlive a parent killed with SIGKILL (they wait
    on a queue whose write end they hold themselves).
    """

    def watch() -> None:
        while True:
            time.sleep(period)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # pragma: no cover - a pid reused by another user's process
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class DaskExecutor(Executor):
    """Runs tasks on a Dask cluster: a new ``LocalCluster`` or an existing scheduler.

    Args:
        address: ``"local"`` to start a ``LocalCluster`` here, or a scheduler
            address such as ``tcp://10.0.0.5:8786``.
        workers: worker processes of a ``LocalCluster`` (default: the number of CPUs).

    Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_`` in its workers, which slows
    NumPy-heavy tasks; it is turned off for clusters started here (for an
    existing cluster, set ``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_``
    to null in its Dask configuration).
    """

    runs_per_task = (10, 50)

    def __init__(self, address: str = "local", workers: int | None = None) -> None:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise ExecutorError(
                "--dask needs the dask and distributed packages: pip install 'dask[distributed]'"
            ) from None
        self._cluster = None
        try:
            if address == "local":
                n = int(workers or os.cpu_count() or 1)
                with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                    self._cluster = LocalCluster(
                        n_workers=n,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        silence_logs=logging.ERROR,
                    )
                self._client = Client(self._cluster)
                self.name = f"a Dask LocalCluster of {n} process{'es' if n > 1 else ''}"
            else:
                self._client = Client(address, timeout="20s")
                self.name = f"the Dask scheduler at {address}"
        except OSError as exc:
            self.close()
            raise ExecutorError(
                f"cannot reach the Dask scheduler at {address!r} ({exc}); allowed: "
                "'local' or a running scheduler's address such as tcp://host:8786"
            ) from None
        info = self._client.scheduler_info()
        self.workers = max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def task_size(self, n_runs: int) -> int:
        """Dask's per-task overhead (a few ms) needs bigger tasks: 10-50 runs, about 4 tasks per worker."""
        lo, hi = self.runs_per_task
        return max(1, min(hi, max(min(lo, n_runs // max(1, self.workers)), -(-n_runs // (4 * self.workers)))))

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """Keep a few tasks per worker submitted (``pure=False``) and stream results with ``as_completed``."""
        from distributed import as_completed

        queue = iter(items)
        limit = IN_FLIGHT_PER_WORKER * self.workers + 2
        first = [
            self._client.submit(fn, item, pure=False) for _, item in zip(range(limit), queue)
        ]  # range first: zip must not consume an extra item
        if not first:
            return
        stream = as_completed(first, with_results=True)
        try:
            for future, result in stream:
                future.release()
                for item in queue:
                    stream.add(self._client.submit(fn, item, pure=False))
                    break
                yield result
        except Exception as exc:
            if not type(exc).__module__.startswith("distributed"):
                raise
            raise ExecutorError(
                f"Dask lost a task ({type(exc).__name__}: {exc}); the runs finished so far "
                "are saved: run the same command again to resume"
            ) from None

    def close(self) -> None:
        """Close the client, and the cluster if it was started here."""
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(workers: int | None = None, dask: str | None = None) -> Executor:
    """The executor for the command-line options ``--workers`` and ``--dask``.

    Args:
        workers: local processes (``None``: the number of CPUs; ``0``: run in
            this process). With ``dask="local"``, the cluster's worker count.
        dask: ``None`` for local processes, ``"local"`` for a new
            ``LocalCluster``, or the address of an existing scheduler.
    """
    if dask:
        return DaskExecutor(dask, workers)
    if workers == 0:
        return InlineExecutor()
    if workers is not None and workers < 0:
        raise ExecutorError(f"--workers must be 0 or more, got {workers}")
    return LocalExecutor(workers)
