"""CPU backend: PySCF RKS/UKS (or HF) with density fitting and point-charge embedding."""

from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np

from polcg.errors import QMError
from polcg.qm.backends import BACKENDS
from polcg.qm.guess import load_start, save_density, with_orbitals
from polcg.qm.reuse import PotentialHook, df_path, load_df_tensor, potential_arrays, potential_key, save_df_tensor
from polcg.qm.spec import QMJob, QMResult, RunConfig


@BACKENDS.register("cpu", help="PySCF on the CPU")
class PySCFBackend:
    """Runs a `QMJob` with PySCF on the CPU."""

    name = "pyscf"
    not_found = "--device cpu: PySCF is not importable here (install with `pip install pyscf`)"

    @staticmethod
    def found() -> bool:
        try:
            import pyscf  # noqa: F401
        except ImportError:
            return False
        return True

    @staticmethod
    def version() -> str:
        import pyscf
        return pyscf.__version__

    @staticmethod
    def build_scf(mol, job: QMJob):
        return build_scf(mol, job)

    @staticmethod
    def to_numpy(dm):
        return dm

    @staticmethod
    def start_density(dm0):
        """A warm start as PySCF's cycles hand it on: tagged with its orbitals (`guess.with_orbitals`)."""
        return with_orbitals(dm0)

    @staticmethod
    def versions() -> dict:
        return versions()

    #: keeps two-electron potentials and density-fitting tensors across passes (`polcg.qm.reuse`)
    reuses = True

    def compute(self, job: QMJob, config: RunConfig) -> QMResult:
        with thread_limits(config.threads):
            return self._compute(job, config)

    def _compute(self, job: QMJob, config: RunConfig) -> QMResult:
        t0 = time.perf_counter()
        mol = build_mol(job, config)
        mf = self.build_scf(mol, job)
        mf.conv_check = config.check_cycle
        reuse = config.reuse and self.reuses and bool(config.guess_dir)
        pkey = potential_key(job.method) if reuse else None
        dm0, start = load_start(config.guess_dir, job.geometry_key(), job.guess, mol, pkey)
        dm0 = self.start_density(dm0)
        hook = PotentialHook(mf, dm0, start) if reuse else None
        df_file = df_path(config.guess_dir, job.geometry_key(), job.method.auxbasis) \
            if reuse and job.method.density_fit else None
        load_df_tensor(mf, df_file)
        notes = _converge(mf, dm0, job)
        dm = self.to_numpy(mf.make_rdm1())
        dm_total = dm[0] + dm[1] if getattr(dm, "ndim", 2) == 3 else dm
        veff = hook.potential_of(dm) if hook else None
        save_density(config.guess_dir, job.geometry_key(), dm, mol,
                     None if veff is None else potential_arrays(veff, pkey))
        save_df_tensor(mf, df_file)
        m = job.method
        embedding = () if m.background_scheme == m.scheme else _charges(mol, dm_total, m.background_scheme)
        return QMResult(
            key=job.key(),
            label=job.label,
            energy_hartree=float(mf.e_tot),
            charges=tuple(float(q) for q in _charges(mol, dm_total, job.method.scheme)),
            dipole_au=tuple(float(x) for x in qm_dipole_au(mol, dm_total)),
            converged=True,
            scf_cycles=int(getattr(mf, "cycles", -1)),
            wall_s=time.perf_counter() - t0,
            backend=self.name,
            versions=self.versions(),
            notes=tuple(notes),
            embedding_charges=tuple(float(q) for q in embedding),
        )


@contextmanager
def thread_limits(threads: int):
    """At most `threads` threads in PySCF's OpenMP pool *and* in numpy's BLAS pools while a job runs
    (0: leave both as they are). PySCF's `lib.num_threads` sets OpenMP only; OpenBLAS keeps its own
    pool, one thread per core, so two single-thread workers on two cores ran four threads and every
    dense product fought for the cores: the README example took 62 s with two workers and 31 s with
    the BLAS pool held to the workers' one thread each (benchmarks/results/readme_threads.json)."""
    if threads <= 0:
        yield
        return
    from pyscf import lib
    from threadpoolctl import threadpool_limits

    with lib.with_omp_threads(threads), threadpool_limits(limits=threads, user_api="blas"):
        yield


def _converge(mf, dm0, job: QMJob) -> list[str]:
    """Run the SCF from `dm0`; once more with damping and a level shift if it does not converge."""
    notes: list[str] = []
    mf.kernel(dm0=dm0)
    if not mf.converged:
        notes.append("SCF retried with damping 0.5 and level shift 0.3 Eh after non-convergence")
        mf.damp, mf.level_shift, mf.diis_start_cycle, mf.max_cycle = 0.5, 0.3, 4, 2 * job.method.max_cycle
        mf.kernel(dm0=mf.make_rdm1())
    if not mf.converged:
        raise QMError(f"SCF did not converge for subsystem {job.label or job.key()[:12]} "
                      f"({job.natoms} atoms, charge {job.charge:+d}) after a damped retry")
    return notes


def build_mol(job: QMJob, config: RunConfig):
    """A PySCF Mole for the job's QM atoms (Å), with its basis, charge and spin."""
    from pyscf import gto

    atoms = [(el, xyz) for el, xyz in zip(job.elements, job.coords_angstrom)]
    try:
        return gto.M(atom=atoms, unit="Angstrom", basis=job.method.basis, charge=job.charge,
                     spin=job.spin, verbose=config.verbose, max_memory=config.memory_mb)
    except (RuntimeError, KeyError) as exc:
        raise QMError(f"cannot build basis {job.method.basis!r} for {job.label or 'job'}: {exc}") from exc


def build_scf(mol, job: QMJob, scf=None, dft=None, embed=None):
    """The SCF object (restricted for closed shells), density fitted and embedded as the job says.
    `scf`, `dft` and `embed` (an `add_mm_charges`-like function) default to PySCF's; the GPU backend
    passes GPU4PySCF's, which mirror them."""
    if scf is None:
        from pyscf import dft, qmmm, scf

        embed = qmmm.mm_charge
    m = job.method
    restricted = mol.spin == 0
    if m.is_hf:
        mf = scf.RHF(mol) if restricted else scf.UHF(mol)
    else:
        mf = dft.RKS(mol, xc=m.xc) if restricted else dft.UKS(mol, xc=m.xc)
        mf.grids.level = m.grid_level
    if m.density_fit:
        mf = mf.density_fit(auxbasis=m.auxbasis)
    if job.bg_charges:
        mf = embed(mf, np.asarray(job.bg_coords_angstrom), np.asarray(job.bg_charges), unit="Angstrom")
    mf.conv_tol = m.conv_tol
    mf.max_cycle = m.max_cycle
    return mf


def qm_dipole_au(mol, dm) -> np.ndarray:
    """Dipole of the QM nuclei and electrons about the coordinate origin (e·bohr)."""
    with mol.with_common_orig((0.0, 0.0, 0.0)):
        r_ints = mol.intor_symmetric("int1e_r", comp=3)
    electronic = np.einsum("xij,ji->x", r_ints, dm).real
    nuclear = mol.atom_charges() @ mol.atom_coords()
    return nuclear - electronic


def _charges(mol, dm, scheme: str) -> np.ndarray:
    from polcg.qm.populations import atomic_charges
    return atomic_charges(mol, dm, scheme)


def versions() -> dict:
    import numpy
    import pyscf

    import polcg
    return {"polcg": polcg.__version__, "pyscf": pyscf.__version__, "numpy": numpy.__version__}
