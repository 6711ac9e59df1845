"""Mulliken gross populations, q_A = Z_A - sum_{mu in A} (D S)_{mu mu}."""

from __future__ import annotations

import numpy as np

from polcg.qm.charge_schemes import CHARGE_SCHEMES
from polcg.qm.density_check import check_mol_dm, sum_by_atom


@CHARGE_SCHEMES.register("mulliken", help="Mulliken gross populations")
def mulliken_charges(mol, dm) -> np.ndarray:
    """Mulliken charges q_A = Z_A - sum_{mu in A} (D S)_{mu mu}."""
    dm = check_mol_dm(mol, dm)
    s = mol.intor_symmetric("int1e_ovlp")
    ao_pop = np.einsum("ij,ji->i", dm, s)
    return mol.atom_charges() - sum_by_atom(mol, ao_pop)
