"""`polcg charges --plan`: the subsystems, the jobs of each pass, their sizes, memory and an estimated
wall time on this machine, without running any QM; and the worker layout a run uses by default.

Job sizes are exact (basis and auxiliary functions, grid points); times come from `polcg.qm.cost`.
The passes listed are those a run makes when the background charges settle in the usual number of
passes (fast plan: one pass at the requested settings); each further pass costs about as much as
the last one listed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from polcg.gebf.driver import GEBFSettings, cheap_method, isolated_fragments, pass_level
from polcg.gebf.subsystems import Subsystem, build_subsystems
from polcg.qm.cost import JobSize, available_memory_mb, cpu_count, estimate_seconds, job_size, machine_flops
from polcg.qm.spec import MethodSpec, QMJob

THREAD_EXPONENT = 0.8  # a job on t of c cores takes (c/t)^0.8 times its all-core time (measured: DF J/K ~1.1x on 2)


@dataclass(frozen=True)
class PlannedJob:
    label: str
    natoms: int
    nao: int
    naux: int
    ngrid: int
    memory_mb: float
    start: str
    estimated_s: float


@dataclass(frozen=True)
class PlannedPass:
    name: str
    level: str
    jobs: tuple[PlannedJob, ...]
    estimated_wall_s: float


@dataclass(frozen=True)
class Layout:
    """How the jobs share this machine: worker processes, threads and memory (MB) per worker."""

    workers: int
    threads: int
    memory_mb: int
    cores: int
    available_mb: int


@dataclass(frozen=True)
class GEBFPlan:
    subsystems: tuple[dict, ...]
    passes: tuple[PlannedPass, ...]
    layout: Layout
    estimated_wall_s: float
    machine_gflops: float

    def to_dict(self) -> dict:
        return asdict(self)


def choose_layout(largest_job_mb: float, jobs_per_pass: int, workers: int = 0, memory_mb: int | None = None,
                  cores: int | None = None, available_mb: float | None = None) -> Layout:
    """Workers (0 = as many as the cores, the jobs of a pass and 80 % of the free memory allow),
    threads (the cores shared out) and memory per worker (given, or 80 % of the free memory shared out)."""
    cores = cores or cpu_count()
    available_mb = available_mb if available_mb is not None else available_memory_mb()
    budget = 0.8 * available_mb
    if workers <= 0:
        workers = max(1, min(cores, jobs_per_pass, int(budget // max(largest_job_mb, 1.0))))
    threads = max(1, cores // workers)
    memory = memory_mb if memory_mb else int(max(budget / workers, 1000))
    return Layout(workers, threads, memory, cores, int(available_mb))


GPU_WORKERS_MAX = 4  # processes sharing one GPU: enough to overlap small jobs' host work and launches


def choose_gpu_layout(largest_job_mb: float, jobs_per_pass: int, workers: int = 0, gpu_free_mb: float = 0.0,
                      memory_mb: int | None = None, cores: int | None = None,
                      available_mb: float | None = None) -> Layout:
    """Processes sharing one GPU (0 = as many as 80 % of the device's free memory holds the largest job's
    density-fitting data and grids, at most GPU_WORKERS_MAX and the jobs of a pass), each with a share
    of the host cores and memory for the population analysis."""
    if workers <= 0:
        fits = int(0.8 * gpu_free_mb // max(largest_job_mb, 1.0))
        workers = max(1, min(GPU_WORKERS_MAX, jobs_per_pass, fits))
    host = choose_layout(0.0, workers, workers, memory_mb, cores, available_mb)
    return Layout(workers, host.threads, host.memory_mb, host.cores, host.available_mb)


def gpu_free_mb() -> float:
    """Free memory of the current CUDA device (MB)."""
    import cupy

    free, _total = cupy.cuda.runtime.memGetInfo()
    return free / 1e6


def run_layout(elements, coords_angstrom, fragments, fragment_charges, method: MethodSpec, settings: GEBFSettings,
               workers: int = 0, memory_mb: int | None = None, device: str = "cpu") -> Layout:
    """The worker layout of a run: sized by its largest job (fragments or subsystems) against the host's
    free memory (CPU) or the device's (GPU)."""
    coords = np.asarray(coords_angstrom, dtype=float)
    subs = build_subsystems(fragments, fragment_charges, coords, settings.xi, settings.eta)
    largest = max(_size(s, elements, coords, method).memory_mb for s in subs)
    if device == "gpu":
        return choose_gpu_layout(largest, len(subs), workers, gpu_free_mb(), memory_mb)
    return choose_layout(largest, len(subs), workers, memory_mb)


def plan_gebf(elements, coords_angstrom, fragments, fragment_charges, method: MethodSpec, settings: GEBFSettings,
              workers: int = 0, memory_mb: int | None = None, flops: float | None = None) -> GEBFPlan:
    """The plan of a run; `flops` (the matrix-multiply rate the times assume) defaults to this machine's."""
    coords = np.asarray(coords_angstrom, dtype=float)
    subs = build_subsystems(fragments, fragment_charges, coords, settings.xi, settings.eta)
    frags = isolated_fragments(fragments, fragment_charges)
    flops = flops or machine_flops()
    sizes = {s.fragments: _size(s, elements, coords, method) for s in subs}
    layout = choose_layout(max(z.memory_mb for z in sizes.values()), len(subs), workers, memory_mb)
    passes = [_pass(name, m, group, start, elements, coords, layout, flops)
              for name, m, group, start in _pass_list(subs, frags, method, settings)]
    table = tuple({"fragments": list(s.fragments), "coefficient": s.coefficient, "primitive": s.primitive,
                   **asdict(sizes[s.fragments])} for s in subs)
    return GEBFPlan(table, tuple(passes), layout, sum(p.estimated_wall_s for p in passes), flops / 1e9)


def _pass_list(subs, frags, method, settings):
    if len(subs) == 1:
        return [("whole cluster", method, subs, "cold")]
    if settings.passes == "fast" and settings.cheap_passes > 0:
        cheap = cheap_method(method, settings)
        return ([("isolated fragments", cheap, frags, "cold"), ("cheap pass 1", cheap, subs, "parts")]
                + [(f"cheap pass {i}", cheap, subs, "reused") for i in range(2, settings.cheap_passes + 1)]
                + [("embedding pass 1", method, subs, _restart(cheap, method))])
    return [("isolated fragments", method, frags, "cold"), ("embedding pass 1", method, subs, "parts"),
            ("embedding pass 2", method, subs, "reused")]


def _restart(before: MethodSpec, now: MethodSpec) -> str:
    """A pass after one at `before`: it reuses that pass's potentials where they are the same
    (`polcg.qm.reuse`: HF, or the same grid), else it only warm-starts from its densities."""
    from polcg.qm.reuse import potential_key

    return "reused" if potential_key(before) == potential_key(now) else "warm"


def _size(sub: Subsystem, elements, coords, method: MethodSpec) -> JobSize:
    job = QMJob.build([elements[a] for a in sub.atoms], coords[list(sub.atoms)], sub.charge, method)
    return job_size(job)


def _pass(name, method, group, start, elements, coords, layout: Layout, flops) -> PlannedPass:
    slow = (layout.cores / layout.threads) ** THREAD_EXPONENT
    jobs = []
    for s in group:
        z = _size(s, elements, coords, method)
        t = estimate_seconds(z, method, start, flops) * slow
        jobs.append(PlannedJob(s.label, z.natoms, z.nao, z.naux, z.ngrid, round(z.memory_mb), start, round(t, 1)))
    wall = _makespan([j.estimated_s for j in jobs], layout.workers)
    return PlannedPass(name, _level(method), tuple(jobs), round(wall, 1))


def _makespan(times, workers: int) -> float:
    """Largest-first greedy schedule over the workers (how the executors order jobs)."""
    load = [0.0] * workers
    for t in sorted(times, reverse=True):
        load[load.index(min(load))] += t
    return max(load) if load else 0.0


def _level(method: MethodSpec) -> str:
    return f"{method.xc}/{method.basis}, {pass_level(method)}"
