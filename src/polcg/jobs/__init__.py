"""Running QM jobs: the on-disk job store and the executors (serial, local processes)."""

from polcg.jobs.executors import ProcessExecutor, SerialExecutor, make_executor, run_jobs
from polcg.jobs.store import JobStore

__all__ = ["JobStore", "SerialExecutor", "ProcessExecutor", "make_executor", "run_jobs"]
