"""Running the charges stage: Cluster → GEBF subsystem jobs (local workers or Dask) → `ClusterCharges`."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from polcg.charges.result import ClusterCharges, ion_charges
from polcg.errors import InputError
from polcg.gebf.driver import GEBFResult, GEBFSettings, run_gebf
from polcg.gebf.plan import Layout, run_layout
from polcg.jobs import JobStore, make_executor, run_jobs
from polcg.qm import MethodSpec, QMJob, QMResult, RunConfig, resolve_device
from polcg.structure.cluster import Cluster
from polcg.units import AU_TO_DEBYE, HARTREE_TO_KCAL_MOL


@dataclass(frozen=True)
class RunOptions:
    """How to run the jobs: device, local worker processes (0: as many as the cores and the free
    memory allow for the largest job) or a Dask scheduler (an address or a `distributed.Client`),
    memory per QM process in MB (None: 80 % of the free memory shared between the workers, so
    density fitting stays in core where it fits), where the job store lives."""

    device: str = "cpu"
    workers: int = 0
    scheduler: object = None
    workdir: str = "polcg_work"
    memory_mb: int | None = None
    warm_start: bool = True
    reuse: bool = True
    check_cycle: bool = False
    device_note: str | None = None  # why "auto" fell back to the CPU (`qm.backends.explain_device`)

    def __post_init__(self) -> None:
        from polcg.qm.backends import devices

        if self.workers < 0:
            raise InputError(f"--workers {self.workers}: must be >= 0 (0: as many as the machine holds)")
        if self.memory_mb is not None and self.memory_mb < 100:
            raise InputError(f"--memory {self.memory_mb}: must be >= 100 MB")
        if self.device not in devices():
            raise InputError(f"--device {self.device!r}: choose from {', '.join(devices())}")


@dataclass
class _Runner:
    """Runs job lists through the store and the executor; counts what was computed or reused."""

    device: str
    config: RunConfig
    store: JobStore
    executor: object
    on_stage: Callable[[str, int], None] | None = None
    on_job: Callable[[QMJob, QMResult, bool], None] | None = None
    layout: Layout | None = None
    device_note: str | None = None
    computed: int = 0
    reused: int = 0
    wall_s_qm: float = 0.0
    backends: dict = field(default_factory=dict)  # backend name -> the versions its results recorded

    def __call__(self, jobs: Sequence[QMJob], stage: str) -> dict[str, QMResult]:
        if self.on_stage:
            self.on_stage(stage, len({j.key() for j in jobs}))

        def done(job, result, cached):
            self.backends.setdefault(result.backend, result.versions)
            if cached:
                self.reused += 1
            else:
                self.computed += 1
                self.wall_s_qm += result.wall_s
            if self.on_job:
                self.on_job(job, result, cached)
        return run_jobs(jobs, self.config, self.store, self.executor, done)


def make_runner(options: RunOptions, layout: Layout, on_stage=None, on_job=None) -> _Runner:
    """Local runs use this machine's layout; on Dask, the device ("auto"), threads and memory (unless
    given) are decided on each worker, and the warm-start folder is an absolute path (used by workers
    that share the filesystem, skipped with a warning by those that do not)."""
    workdir = Path(options.workdir)
    guess_dir = None
    if options.warm_start:
        guess_dir = str((workdir / "guess").resolve())
        Path(guess_dir).mkdir(parents=True, exist_ok=True)
    if options.scheduler is None:
        device = resolve_device(options.device)
        config = RunConfig(device=device, threads=layout.threads, memory_mb=layout.memory_mb, guess_dir=guess_dir)
    else:
        device = options.device
        config = RunConfig(device=device, threads=0, memory_mb=options.memory_mb, guess_dir=guess_dir)
    config = replace(config, reuse=options.reuse, check_cycle=options.check_cycle)
    return _Runner(device, config, JobStore(workdir), make_executor(layout.workers, options.scheduler),
                   on_stage, on_job, layout=layout, device_note=options.device_note)


def molecule_fragments(cluster: Cluster, mode: str) -> tuple[list[tuple[int, ...]], list[int], list[tuple[int, ...]]]:
    """GEBF fragments as (atom lists, net charges, molecule-index tuples)."""
    from polcg.structure.pairing import fragment_molecules

    groups = fragment_molecules(cluster, mode)
    atoms = [tuple(sorted(a for m in g for a in cluster.molecules[m].atoms)) for g in groups]
    charges = [sum(cluster.molecules[m].formal_charge for m in g) for g in groups]
    return atoms, charges, [tuple(g) for g in groups]


def full_reference(cluster: Cluster, method: MethodSpec, runner: _Runner, gebf: GEBFResult) -> dict:
    """The whole cluster in one calculation, and GEBF's errors against it (the embedding scheme plays no
    part in it, so the job is shared by runs that differ only in that)."""
    job = QMJob.build(cluster.elements, cluster.coords_angstrom, cluster.charge,
                      replace(method, embedding_scheme=None), label="full cluster")
    res = runner([job], "full-cluster reference")[job.key()]
    q_full = np.asarray(res.charges)
    ions_full = np.array([q_full[list(m.atoms)].sum() for m in cluster.molecules])
    ions_gebf = np.array([gebf.atom_charges[list(m.atoms)].sum() for m in cluster.molecules])
    return {
        "energy_hartree": res.energy_hartree,
        "atom_charges": q_full.tolist(),
        "ion_charges": ions_full.tolist(),
        "max_atom_charge_error": float(np.max(np.abs(q_full - gebf.atom_charges))),
        "max_ion_charge_error": float(np.max(np.abs(ions_full - ions_gebf))),
        "energy_error_kcal_mol": float((gebf.energy_hartree - res.energy_hartree) * HARTREE_TO_KCAL_MOL),
        "wall_s": res.wall_s,
    }


def compute_charges(cluster: Cluster, method: MethodSpec = MethodSpec(), settings: GEBFSettings = GEBFSettings(),
                    fragments: str = "pairs", options: RunOptions = RunOptions(), reference: bool = False,
                    on_stage=None, on_job=None) -> ClusterCharges:
    """GEBF charges and energy of a cluster (and, with `reference`, the full calculation to compare)."""
    t0 = time.perf_counter()
    atoms, charges, groups = molecule_fragments(cluster, fragments)
    device = resolve_device(options.device) if options.scheduler is None else options.device
    layout = run_layout(cluster.elements, cluster.coords_angstrom, atoms, charges, method, settings,
                        options.workers, options.memory_mb, device if options.scheduler is None else "cpu")
    options = replace(options, device=device)
    runner = make_runner(options, layout, on_stage, on_job)
    try:
        res = run_gebf(cluster.elements, cluster.coords_angstrom, atoms, charges, method, settings, runner)
        wall_gebf = time.perf_counter() - t0
        ref = full_reference(cluster, method, runner, res) if reference else None
    finally:
        runner.executor.close()
        if runner.config.guess_dir:  # density-fitting tensors serve one run's passes only
            shutil.rmtree(Path(runner.config.guess_dir) / "df", ignore_errors=True)
    return ClusterCharges(
        atom_charges=tuple(float(q) for q in res.atom_charges),
        ions=ion_charges(cluster, res.atom_charges),
        energy_hartree=res.energy_hartree,
        dipole_debye=tuple(float(x) for x in res.dipole_au * AU_TO_DEBYE),
        iterations=res.iterations,
        converged=res.converged,
        max_charge_change=res.max_charge_change,
        method=_method_dict(method),
        gebf=_gebf_dict(res, settings, fragments, groups),
        provenance=_provenance(cluster, runner),
        timing={"wall_s": time.perf_counter() - t0, "gebf_wall_s": wall_gebf, "jobs_computed": runner.computed,
                "jobs_reused": runner.reused, "qm_wall_s": runner.wall_s_qm},
        reference=ref,
    )


def _method_dict(method: MethodSpec) -> dict:
    return {"xc": method.xc, "basis": method.basis, "auxbasis": method.auxbasis if method.density_fit else None,
            "grid": None if method.is_hf else f"pyscf level {method.grid_level}", "scheme": method.scheme,
            "embedding_scheme": method.background_scheme, "density_fit": method.density_fit,
            "conv_tol_hartree": method.conv_tol}


def _gebf_dict(res: GEBFResult, settings: GEBFSettings, mode: str, groups) -> dict:
    return {
        "xi_angstrom": settings.xi, "eta": settings.eta, "fragments_mode": mode,
        "charge_tolerance": settings.tol_charge, "max_iter": settings.max_iter,
        "passes_plan": settings.passes, "cheap_grid_level": settings.cheap_grid_level,
        "cheap_conv_tol_hartree": settings.cheap_conv_tol, "cheap_passes": settings.cheap_passes,
        "predict_convergence": settings.predict,
        "passes": list(res.passes),
        "fragments": [list(g) for g in groups],
        "n_subsystems": len(res.subsystems),
        "subsystems": [{"fragments": list(s.fragments), "natoms": len(s.atoms), "coefficient": s.coefficient,
                        "charge": s.charge} for s in res.subsystems],
        "subsystem_sizes": [len(s.atoms) for s in res.subsystems],
        "coefficients": [s.coefficient for s in res.subsystems],
        "energy_embedding_charges": res.embedding_charges.tolist(),
        "qm_jobs": res.njobs,
    }


def _provenance(cluster: Cluster, runner: _Runner) -> dict:
    import rdkit

    from polcg.qm.pyscf_backend import versions
    v = versions()
    v["rdkit"] = rdkit.__version__
    layout = asdict(runner.layout) if runner.layout else None
    backend = ",".join(sorted(runner.backends)) or None
    return {**v, "input_file": cluster.source, "input_sha256": cluster.sha256, "device": runner.device,
            "device_note": runner.device_note,
            "backend": backend, "backend_versions": runner.backends, "workdir": str(runner.store.root),
            "layout": layout}
