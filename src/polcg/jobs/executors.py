"""Executors that run independent jobs (QM subsystems, simulations): serial, local processes or
Dask, all with `map_unordered(fn, jobs)` yielding (job, result); and `run_jobs`, which runs QM
jobs through one of them and skips what the store already holds."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace

from polcg.jobs.store import JobStore
from polcg.qm.spec import QMJob, QMResult, RunConfig


def _compute(job: QMJob, config: RunConfig) -> QMResult:
    from polcg.qm.backends import get_backend

    config = local_config(config)  # "auto", threads 0, memory None: decided here, where the job runs
    return get_backend(config.device).compute(job, config)


def local_config(config: RunConfig) -> RunConfig:
    """`config` with what was left to the machine the job runs on filled in there: device "auto"
    (probed here), threads 0 (this process's cores shared over the tasks it runs at once), memory
    None (80 % of the free memory, shared the same way); and a warm-start folder this machine cannot
    write (not a shared filesystem) dropped with a warning: warm starts change SCF cycles, never
    answers."""
    from polcg.qm.backends import resolve_device
    from polcg.qm.cost import available_memory_mb, cpu_count

    slots = _task_slots()
    changes = {}
    if config.device == "auto":
        changes["device"] = resolve_device("auto")
    if config.threads <= 0:
        changes["threads"] = worker_threads() or cpu_count()
    if config.memory_mb is None:
        changes["memory_mb"] = int(max(0.8 * available_memory_mb() / slots, 1000))
    if config.guess_dir and not _writable_dir(config.guess_dir):
        warnings.warn(f"warm starts off on {os.uname().nodename}: the guess folder {config.guess_dir} "
                      "is not a writable directory here (not a shared filesystem?)", stacklevel=2)
        changes["guess_dir"] = None
    return replace(config, **changes) if changes else config


def worker_threads() -> int | None:
    """Threads for one task inside a Dask worker that runs several at once (its cores shared out);
    None elsewhere (the library's default)."""
    from polcg.qm.cost import cpu_count

    slots = _task_slots()
    return max(1, cpu_count() // slots) if slots > 1 else None


def _task_slots() -> int:
    """Tasks this process runs at once: a Dask worker's threads, else 1."""
    if "distributed" not in sys.modules:
        return 1
    from distributed import get_worker

    try:
        return max(1, int(get_worker().state.nthreads))
    except ValueError:  # not inside a Dask task
        return 1


def _writable_dir(path: str) -> bool:
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


class SerialExecutor:
    """Runs jobs one after another in this process."""

    workers = 1

    def close(self) -> None:
        pass

    def map_unordered(self, fn: Callable, jobs: Sequence[QMJob]):
        for job in jobs:
            yield job, fn(job)


class ProcessExecutor:
    """Runs jobs in `workers` local processes (spawned, so OpenMP state is not forked). The processes
    are started once and serve every pass of a run (PySCF is imported once per process); `close()`
    or a `with` block ends them."""

    def __init__(self, workers: int):
        self.workers = max(1, int(workers))
        self._pool = None

    def map_unordered(self, fn: Callable, jobs: Sequence[QMJob]):
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"))
        futures = {self._pool.submit(fn, job): job for job in jobs}
        try:
            for fut in cf.as_completed(futures):
                yield futures[fut], fut.result()
        except BaseException:
            # an error or Ctrl-C: drop queued jobs and do not wait for those in flight
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DaskExecutor:
    """Runs jobs as tasks on a Dask cluster (`scheduler`: an address, or a `distributed.Client`).
    Results reach the caller, which stores them, so a lost worker loses only its own jobs.

    A task that raises an unexpected error (a worker killed for memory, a node failure, I/O) is rerun
    by Dask up to `retries` times; a polcg error (bad input, an SCF that does not converge) would fail
    the same way again and is not retried. A job that still fails stops the run with one line naming
    it; every job finished before is already in the store."""

    def __init__(self, scheduler, retries: int = 2):
        try:
            from distributed import Client
        except ImportError:
            from polcg.errors import BackendNotFound

            raise BackendNotFound("--scheduler needs Dask: pip install 'polcg[dask]'") from None
        self._own_client = not isinstance(scheduler, Client)
        self.client = Client(scheduler) if self._own_client else scheduler
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        self.retries = retries

    def close(self) -> None:
        """Close the client if this executor made it from an address (a given Client stays open)."""
        if self._own_client:
            self.client.close()

    def map_unordered(self, fn: Callable, jobs: Sequence):
        from distributed import as_completed

        futures = {self.client.submit(_not_retried, fn, job, pure=False, retries=self.retries): job for job in jobs}
        try:
            for fut, result in as_completed(futures, with_results=True, raise_errors=False):
                job = futures.pop(fut)
                if fut.status == "error":
                    raise _job_error(job, fut.exception(), self.retries)
                # the result is here: let the cluster forget it, so that a worker lost later does not
                # make Dask recompute a job that is already finished
                fut.release()
                if isinstance(result, _Failed):
                    raise result.error
                yield job, result
        except BaseException:
            self.client.cancel(list(futures))
            raise


class _Failed:
    """A polcg error raised in a task, returned as a value so that Dask does not retry it."""

    def __init__(self, error: Exception):
        self.error = error


def _not_retried(fn: Callable, job):
    from polcg.errors import PolcgError

    try:
        return fn(job)
    except PolcgError as exc:
        return _Failed(exc)


def _job_error(job, result: BaseException, retries: int) -> Exception:
    from polcg.errors import PolcgError

    name = getattr(job, "label", None) or repr(job)
    first = str(result).splitlines()[0][:200] if str(result) else ""
    return PolcgError(f"job {name} failed on Dask after {retries} retries: {type(result).__name__}: {first}")


def make_executor(workers: int, scheduler=None):
    """Dask when a scheduler is given; else serial for one worker, local processes otherwise."""
    if scheduler is not None:
        return DaskExecutor(scheduler)
    return SerialExecutor() if workers <= 1 else ProcessExecutor(workers)


def run_jobs(jobs: Sequence[QMJob], config: RunConfig, store: JobStore,
             executor=None, on_done: Callable[[QMJob, QMResult, bool], None] | None = None) -> dict[str, QMResult]:
    """Results of `jobs` keyed by job key: from the store where finished, else computed and stored.

    Jobs run largest first (better packing over workers). `on_done(job, result, cached)` is
    called once per distinct job, e.g. to advance a progress bar.
    """
    from functools import partial

    executor = executor or SerialExecutor()
    results: dict[str, QMResult] = {}
    todo: dict[str, QMJob] = {}
    for job in jobs:
        key = job.key()
        if key in results or key in todo:
            continue
        cached = store.get(job)
        if cached is not None:
            results[key] = cached
            if on_done:
                on_done(job, cached, True)
        else:
            todo[key] = job
    ordered = sorted(todo.values(), key=lambda j: -j.natoms)
    for job, result in executor.map_unordered(partial(_compute, config=config), ordered):
        store.put(job, result)
        results[job.key()] = result
        if on_done:
            on_done(job, result, False)
    return results
