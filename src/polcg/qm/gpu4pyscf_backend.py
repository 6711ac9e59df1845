"""GPU backend: GPU4PySCF RKS/UKS (or HF) with density fitting and point-charge embedding,
behind the same interface as the CPU backend (job in, `QMResult` out, same job keys and store).

The SCF runs on the GPU (`gpu4pyscf.dft` / `gpu4pyscf.scf`, embedding by
`gpu4pyscf.qmmm.itrf.add_mm_charges`, whose energy leaves out the background's self-energy as
PySCF's does, so the GEBF energy formula is unchanged); the converged density is moved to the host
and the charge schemes run on the CPU code of `polcg.qm.populations` (NPA, Mulliken and
meta-Löwdin are cheap next to the SCF; Hirshfeld and ESP reuse the CPU grids). By default as many
worker processes share the GPU as its free memory holds the largest job (`gebf.plan.choose_gpu_layout`,
at most 4); each process starts CUDA and the integral kernels once and keeps them for every pass.
"""

from __future__ import annotations

import numpy as np

from polcg.qm.backends import BACKENDS, gpu_usable
from polcg.qm.pyscf_backend import PySCFBackend, build_scf, versions
from polcg.qm.spec import QMJob


@BACKENDS.register("gpu", help="GPU4PySCF on a CUDA GPU")
class GPU4PySCFBackend(PySCFBackend):
    """Runs a `QMJob` with GPU4PySCF on the current CUDA device."""

    name = "gpu4pyscf"
    reuses = False  # potentials and DF tensors would have to be kept on the device: not done yet
    not_found = ("--device gpu: no usable GPU with gpu4pyscf here "
                 "(install with `pip install polcg[gpu]` on a CUDA machine)")

    @staticmethod
    def found() -> bool:
        return gpu_usable()

    @staticmethod
    def version() -> str:
        import gpu4pyscf

        return gpu4pyscf.__version__

    @staticmethod
    def build_scf(mol, job: QMJob):
        from gpu4pyscf import dft, scf
        from gpu4pyscf.qmmm.itrf import add_mm_charges

        return build_scf(mol, job, scf=scf, dft=dft, embed=add_mm_charges)

    @staticmethod
    def to_numpy(dm):
        return dm.get() if hasattr(dm, "get") else np.asarray(dm)

    @staticmethod
    def start_density(dm0):
        return dm0  # GPU4PySCF moves it to the device as a plain array

    @staticmethod
    def versions() -> dict:
        import cupy
        import gpu4pyscf

        return {**versions(), "gpu4pyscf": gpu4pyscf.__version__, "cupy": cupy.__version__,
                "device": cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()}
