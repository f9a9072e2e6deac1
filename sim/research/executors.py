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
  ``forkserver`` start method, at most a few tasks in flight per worker. The fork
  server imports :mod:`sim.research.warm` once (the model imported and its compiled
  kernels loaded, by one tiny run), so every worker forked from it starts warm; the
  workers are started in the background as soon as the executor is made, while the
  caller goes on (reading the scenario, planning, importing the writer).
* :class:`DaskExecutor`: ``address="local"`` starts a ``LocalCluster`` of
  single-threaded worker processes, each warmed by the same module as it starts; any
  other address (``tcp://host:8786``) connects to an existing scheduler, for example
  one started by ``dask-jobqueue`` on SLURM or PBS (see docs/research.md).

:func:`check_options` checks ``workers``, ``dask`` and ``runs_per_task`` before
anything is started or written, so a bad option is one clear error, not a
traceback after the sweep folder was made.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import multiprocessing.process
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Self

from sim.errors import SimError

#: Tasks kept in flight per worker: enough to keep workers busy, few enough to stream.
IN_FLIGHT_PER_WORKER = 2
#: At most this many worker processes per CPU. Runs are CPU-bound, so workers beyond the CPUs only take
#: turns on them, while each one still costs its start-up time and its own memory (about 350 MB once it
#: has imported and compiled the model); a few per CPU leave room for runs that wait on the disk.
WORKERS_PER_CPU = 4
#: Modules a worker process imports before its first task: the writer's and the warm model's.
PRELOAD = ("sim.research.sweep", "sim.research.warm")
#: Address schemes whose address is ``host:port``.
HOST_PORT_SCHEMES = ("tcp", "tls", "ws", "wss")


class ExecutorError(SimError):
    """An executor cannot start, or lost its workers."""


def cpu_count() -> int:
    """The CPUs of this machine (at least 1)."""
    return os.cpu_count() or 1


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system says; else all of them)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpu_count()


def max_workers() -> int:
    """The most worker processes a local executor starts: :data:`WORKERS_PER_CPU` per CPU."""
    return WORKERS_PER_CPU * cpu_count()


def check_options(
    workers: int | None = None, dask: str | None = None, runs_per_task: int | None = None
) -> None:
    """Refuse executor options that cannot work, before anything starts.

    Args:
        workers: ``None`` (all CPUs), ``0`` (this process) or 1 to :func:`max_workers`.
        dask: ``None``, ``"local"`` or a scheduler address such as ``tcp://host:8786``.
        runs_per_task: ``None`` (automatic) or at least 1.

    Raises:
        ExecutorError: one line naming the option, the value and what is allowed.
    """
    if workers is not None and not 0 <= workers <= max_workers():
        raise ExecutorError(
            f"--workers {workers}: allowed: 0 (run in this process) to {max_workers()} "
            f"({WORKERS_PER_CPU} per CPU on this machine of {cpu_count()}; runs are CPU-bound, so more "
            "processes only share the CPUs and cost memory)"
        )
    if runs_per_task is not None and runs_per_task < 1:
        raise ExecutorError(
            f"--runs-per-task {runs_per_task}: allowed: 1 or more (or leave it out: automatic)"
        )
    if dask is not None:
        check_dask_address(dask)
    if dask == "local":
        check_main_importable("spawn")  # a LocalCluster starts its workers with spawn (distributed's default)
    elif dask is None and workers != 0:
        check_main_importable(start_method())


def check_dask_address(address: str) -> None:
    """Refuse a ``--dask`` value that is neither ``local`` nor a scheduler address Dask can parse.

    Raises:
        ExecutorError: not an address (``foo``), no port (``tls://x``), an unknown scheme; or Dask is missing.
    """
    if address == "local":
        return
    try:
        from distributed.comm import get_address_host_port, parse_address
        from distributed.comm.registry import get_backend
    except ImportError:
        raise ExecutorError(
            "--dask needs the dask and distributed packages: pip install 'dask[distributed]'"
        ) from None
    try:
        scheme, location = parse_address(address)
        get_backend(scheme)  # an unknown scheme raises ValueError
        if scheme in HOST_PORT_SCHEMES:
            host, port = get_address_host_port(f"{scheme}://{location}")
            if not host or not 0 < port < 65536:
                raise ValueError(f"host {host!r}, port {port}")
    except ValueError as exc:
        raise ExecutorError(
            f"--dask {address!r}: not a scheduler address ({exc}); allowed: 'local', or a running "
            "scheduler's address such as tcp://host:8786"
        ) from None


def start_method() -> str:
    """How local worker processes start: ``forkserver`` where available (``sim`` preloaded once), else spawn."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def check_main_importable(method: str) -> None:
    """Refuse to start worker processes that could not re-import the main script.

    Processes started by ``spawn`` or ``forkserver`` re-run the main script (as
    ``__mp_main__``) to find what it defines; a script read on standard input
    (``python - < script.py``) has no file to re-run, and every worker would die at
    start-up. A module run with ``python -m``, an interactive session, a notebook
    and ``python -c`` have nothing to re-run, and work.

    Raises:
        ExecutorError: the main script is not a file the workers can read.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if method == "fork" or path is None or getattr(getattr(main, "__spec__", None), "name", None):
        return  # nothing to re-run, or re-imported by its module name (python -m)
    if not os.path.isfile(os.path.join(multiprocessing.process.ORIGINAL_DIR or "", path)):
        raise ExecutorError(
            f"worker processes cannot re-import the main script {path!r} (a script read on standard input "
            "cannot be read again, and every worker would die at start-up): save it to a file and run "
            "`python script.py`, or run in this process (workers=0, --workers 0)"
        )


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

    Until its first worker is up (the fork server imports and warms the model first, a second or
    two), this process runs tasks itself, one at a time, where a second CPU is there to do it:
    otherwise a small sweep spends that time waiting. Results depend only on the items, so where a
    task ran changes nothing.

    Args:
        workers: number of processes (default: the number of CPUs).
        preload: modules imported once in the fork server, so workers start with them.
        help_while_starting: run tasks in this process until a worker is up (on two CPUs or more).
    """

    def __init__(
        self, workers: int | None = None, preload: tuple[str, ...] = PRELOAD, help_while_starting: bool = True
    ) -> None:
        check_options(workers)
        self.workers = int(workers or cpu_count())
        self.helping = help_while_starting and usable_cpus() >= 2
        self._ready: list[Future] = []
        self.name = f"{self.workers} local process{'es' if self.workers > 1 else ''}"
        method = start_method()
        context = multiprocessing.get_context(method)
        if method == "forkserver":  # the server imports them once; a worker forked from it has them already
            context.set_forkserver_preload(list(preload))
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(os.getpid(), preload),
        )
        # Start every worker now, from a thread: starting the first one waits for the fork server
        # to import and warm the model (about a second), which this process spends on its own work.
        self._starting = threading.Thread(target=self._start, name="start-workers", daemon=True)
        self._starting.start()

    def _start(self) -> None:
        """Submit one empty task per worker: the pool starts a process for each (they stay up)."""
        with contextlib.suppress(RuntimeError, BrokenProcessPool):  # closed or broken meanwhile
            for _ in range(self.workers):
                self._ready.append(self._pool.submit(_ready))

    def _started(self, pending: set[Future]) -> bool:
        """Whether a worker is up: it finished its empty start-up task, or a real one."""
        return any(f.done() for f in self._ready) or any(f.done() for f in pending)

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
                if self.helping and not exhausted and not self._started(pending):
                    try:
                        item = next(queue)
                    except StopIteration:
                        exhausted = True
                        continue
                    yield fn(item)  # run here while the workers start (as InlineExecutor runs it)
                    continue
                self.helping = False  # once a worker is up, this process only hands out tasks
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
        self._starting.join()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _ready() -> None:
    """The empty task that makes the pool start a worker."""


def _start_worker(parent_pid: int, preload: tuple[str, ...]) -> None:
    """Worker initializer: exit with the parent; import ``preload`` unless the fork server did.

    The fork server is one per process and keeps the preload it started with, and spawned
    workers have no server: either way the worker then imports (and so warms) them itself.
    """
    _exit_with_parent(parent_pid)
    for module in preload:
        importlib.import_module(module)


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
        check_options(workers, address)
        self._cluster = None
        try:
            if address == "local":
                n = int(workers or cpu_count())
                with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                    self._cluster = LocalCluster(
                        n_workers=n,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        silence_logs=logging.ERROR,
                        preload=list(PRELOAD),  # each worker warm before its first task
                    )
                self._client = Client(self._cluster)
                self.name = f"a Dask LocalCluster of {n} process{'es' if n > 1 else ''}"
            else:
                self._client = Client(address, timeout="20s")
                self.name = f"the Dask scheduler at {address}"
        except (OSError, ValueError) as exc:
            self.close()
            raise ExecutorError(
                f"--dask {address!r}: cannot reach the Dask scheduler ({exc}); allowed: "
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
    check_options(workers, dask)
    if dask:
        return DaskExecutor(dask, workers)
    if workers == 0:
        return InlineExecutor()
    return LocalExecutor(workers)
