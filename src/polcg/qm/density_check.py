"""The checks every density consumer (the charge schemes, the AIM density grids) applies to its input
``(mol, dm)``, and per-atom sums of AO populations.

Charges from an embedded calculation (``pyscf.qmmm``) are those of the QM subsystem alone: its
nuclei and electrons, never the background charges, which are not part of ``mol``.
"""

from __future__ import annotations

import numpy as np

#: largest tolerated |tr(D S) - N_electrons| of the density handed in: a larger mismatch means the
#: wrong matrix (e.g. only the alpha density of a UKS run)
NELEC_TOL = 1e-4


def check_mol_dm(mol, dm) -> np.ndarray:
    """Validate ``mol`` and return ``dm`` as a real symmetric (nao, nao) array.

    A (2, nao, nao) alpha/beta stack is summed; a cupy array (gpu4pyscf) is moved to the host.
    Raises ValueError for a periodic cell, ghost atoms, a density of the wrong shape, or one whose
    electron count tr(D S) is not ``mol.nelectron``.
    """
    from pyscf import gto

    if not isinstance(mol, gto.MoleBase) or getattr(mol, "pbc_intor", None):
        raise ValueError("atomic charges need a molecular pyscf.gto.Mole (not a PBC cell)")
    z = mol.atom_charges()
    ghosts = [f"{i}:{mol.atom_symbol(i)}" for i in range(mol.natm) if z[i] == 0]
    if ghosts:
        raise ValueError(f"ghost atoms (zero nuclear charge) are not supported by the charge schemes: "
                         f"{', '.join(ghosts)}")
    if hasattr(dm, "get") and not isinstance(dm, np.ndarray):  # cupy array (gpu4pyscf)
        dm = dm.get()
    dm = np.asarray(dm)
    nao = mol.nao_nr()
    if dm.ndim == 3 and dm.shape[0] == 2:
        dm = dm[0] + dm[1]
    if dm.shape != (nao, nao):
        raise ValueError(f"density matrix has shape {dm.shape}; expected the total AO density ({nao}, {nao})")
    if np.iscomplexobj(dm):
        if np.abs(dm.imag).max() > 1e-10:
            raise ValueError("complex density matrices are not supported")
        dm = dm.real
    dm = 0.5 * (dm + dm.T)
    nelec = float(np.einsum("ij,ji->", dm, mol.intor_symmetric("int1e_ovlp")))
    if abs(nelec - mol.nelectron) > NELEC_TOL:
        raise ValueError(
            f"density matrix holds {nelec:.6f} electrons but the molecule has "
            f"{mol.nelectron}; pass the total (alpha+beta) density of this molecule"
        )
    return dm


def sum_by_atom(mol, ao_pop: np.ndarray) -> np.ndarray:
    """Per-atom sums of a per-AO quantity (AOs in ``mol``'s order)."""
    pop = np.zeros(mol.natm)
    for ia, (_, _, p0, p1) in enumerate(mol.aoslice_by_atom()):
        pop[ia] = ao_pop[p0:p1].sum()
    return pop
