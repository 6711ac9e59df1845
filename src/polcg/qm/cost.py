"""What a QM job will cost before it runs: basis sizes, grid points, memory and an estimated wall time.

Sizes are exact counts (PySCF basis functions, auxiliary functions, atomic grid points). Times come
from a cost model measured with PySCF 2.14 on a 2-core x86 machine (benchmarks/gebf_profile.py):
per SCF cycle the XC integration costs ~ k_xc · n_grid · n_ao² and density-fitted J/K ~ k_jk ·
n_aux · n_ao², the DF tensor build ~ k_df · n_aux · n_ao², all divided by this machine's measured
matrix-multiply rate. Expect the estimate within a factor of ~1.5.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from polcg.qm.spec import MethodSpec, QMJob

# flops per unit of the model, from measured jobs (M06-2X and HF, 6-31G/6-31G**, 30-90 atoms)
K_XC = {"LDA": 12.0, "GGA": 25.0, "MGGA": 50.0, "HF": 0.0}
K_JK, K_DF, K_NPA = 1670.0, 2900.0, 40.0
# SCF Fock builds per job: a cold start (minao guess), a guess assembled from parts, a warm restart
# from its own density of another grid, one that reuses that density's potential (`polcg.qm.reuse`:
# no build for the starting density, nor for the DF tensor where it is kept)
CYCLES = {"cold": 12, "parts": 9, "warm": 8, "reused": 7}


@dataclass(frozen=True)
class JobSize:
    """Exact sizes of a job: atoms, basis functions, auxiliary functions, occupied orbitals, grid points."""

    natoms: int
    nao: int
    naux: int
    nocc: int
    ngrid: int

    @property
    def df_mb(self) -> float:
        """In-core density-fitting tensor (MB): n_aux · n_ao(n_ao+1)/2 doubles."""
        return self.naux * self.nao * (self.nao + 1) / 2 * 8 / 1e6

    @property
    def memory_mb(self) -> float:
        """What the job needs to keep its DF tensor in core: the tensor, ~40 n_ao² matrices, 500 MB of
        code and grid blocks."""
        return self.df_mb + 40 * self.nao**2 * 8 / 1e6 + 500.0


def job_size(job: QMJob) -> JobSize:
    return _size(job.elements, job.method.basis, job.method.auxbasis if job.method.density_fit else None,
                 None if job.method.is_hf else job.method.grid_level, job.charge)


@lru_cache(maxsize=4096)
def _size(elements: tuple[str, ...], basis: str, auxbasis: str | None, grid_level: int | None, charge: int) -> JobSize:
    from pyscf import gto

    atoms = [(el, (0.0, 0.0, 1.5 * i)) for i, el in enumerate(elements)]
    mol = gto.M(atom=atoms, basis=basis, charge=charge, spin=None, verbose=0)
    naux = _aux_count(elements, auxbasis) if auxbasis else 0
    ngrid = sum(_atom_grid_points(el, grid_level) for el in elements) if grid_level is not None else 0
    return JobSize(len(elements), mol.nao, naux, mol.nelectron // 2, ngrid)


def _aux_count(elements, auxbasis: str) -> int:
    return sum(_aux_per_element(el, auxbasis) for el in elements)


@lru_cache(maxsize=256)
def _aux_per_element(element: str, auxbasis: str) -> int:
    from pyscf import gto

    return gto.M(atom=[(element, (0, 0, 0))], basis=auxbasis, spin=None, verbose=0).nao


@lru_cache(maxsize=256)
def _atom_grid_points(element: str, level: int) -> int:
    from pyscf import gto
    from pyscf.dft import gen_grid

    mol = gto.M(atom=[(element, (0, 0, 0))], basis="sto-3g", spin=None, verbose=0)
    grids = gen_grid.gen_atomic_grids(mol, level=level, prune=gen_grid.nwchem_prune)
    return int(next(iter(grids.values()))[0].shape[0])


@lru_cache(maxsize=1)
def machine_flops() -> float:
    """This machine's double-precision matrix-multiply rate (flop/s) with the threads numpy uses."""
    a = np.random.default_rng(0).random((1200, 1200))
    a @ a
    t0 = time.perf_counter()
    for _ in range(3):
        a @ a
    return 3 * 2 * 1200**3 / (time.perf_counter() - t0)


def xc_type(method: MethodSpec) -> str:
    if method.is_hf:
        return "HF"
    from pyscf.dft import libxc

    return libxc.xc_type(method.xc)


def estimate_seconds(size: JobSize, method: MethodSpec, start: str, flops: float | None = None) -> float:
    """Estimated wall time of one job (`start`: "cold" | "parts" | "warm" | "reused")."""
    from polcg.qm.reuse import DF_CACHE_MB

    flops = flops or machine_flops()
    per_cycle = K_XC[xc_type(method)] * size.ngrid * size.nao**2 + K_JK * size.naux * size.nao**2
    df_kept = start == "reused" and size.df_mb <= DF_CACHE_MB
    once = (0.0 if df_kept else K_DF * size.naux * size.nao**2) + K_NPA * size.nao**3
    return (CYCLES[start] * per_cycle + once) / flops


def available_memory_mb() -> float:
    """Memory this process can take without swapping (MB): psutil's 'available' (Linux's MemAvailable
    where psutil is not installed, as on a bare GPU image)."""
    try:
        import psutil
    except ImportError:
        with open("/proc/meminfo") as fh:
            kb = next(int(line.split()[1]) for line in fh if line.startswith("MemAvailable:"))
        return kb * 1024 / 1e6
    return psutil.virtual_memory().available / 1e6


def cpu_count() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
