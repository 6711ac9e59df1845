"""Natural population analysis on pyscf's natural atomic orbitals (:mod:`pyscf.lo.nao`,
Reed, Weinstock & Weinhold, J. Chem. Phys. 83, 735 (1985))."""

from __future__ import annotations

import numpy as np

from polcg.qm.charge_schemes import CHARGE_SCHEMES
from polcg.qm.density_check import check_mol_dm, sum_by_atom


@CHARGE_SCHEMES.register("npa", help="natural population analysis")
def npa_charges(mol, dm) -> np.ndarray:
    """Natural population analysis charges, q_A = Z_A - sum of NAO occupancies on A.

    The NAOs are pyscf's (:mod:`pyscf.lo.nao`), built from ``dm`` exactly as
    ``nao.nao(mol, mf)`` builds them from an SCF object:

    1. pre-NAOs: per atom and angular momentum l, the (2l+1)-averaged block
       of P = S D S is diagonalised against the matching overlap block
       (``_prenao_sub``), occupancies in decreasing order;
    2. the highest-occupied pre-NAOs form the core and valence (natural
       minimal basis) sets, counted by pyscf's per-element shell table
       (``elements.N_CORE_SHELLS`` / ``N_CORE_VALENCE_SHELLS``, ECP cores
       subtracted), the rest are Rydberg (``_core_val_ryd_list``);
    3. ``_nao_sub``: core Löwdin-orthogonalised; valence Schmidt-orthogonalised
       to the core then occupancy-weighted symmetric orthogonalisation (OWSO);
       Rydberg Schmidt-orthogonalised to core+valence, then Löwdin.

    The final "restoration" step of ``nao.nao`` only rotates NAOs within one
    atom's l-block, so it cannot change atomic populations and is skipped.

    Differences from NBO's NPA (Reed, Weinstock, Weinhold 1985; NBO 3+): NBO
    applies OWSO to the whole natural minimal basis (core and valence
    together) and a weighted orthogonalisation to the Rydberg set, where
    pyscf Löwdin-orthogonalises the core and the Rydberg sets unweighted.
    Measured effect (tests/test_populations.py): H2CO HF/STO-3G within
    0.003 e of NBO 3.1's natural charges, NH4+ B3LYP/6-31G(d) q_N within
    0.001 e of the published NBO value. Expect agreement to ~0.01 e for
    first-row molecules; heavier elements (d-shell choice of the valence set,
    see ``pyscf.lo.nao.set_atom_conf``) have not been checked.
    """
    from pyscf.lo import nao

    dm = check_mol_dm(mol, dm)
    s = mol.intor_symmetric("int1e_ovlp")
    p = s @ dm @ s
    pre_occ, pre_nao = nao._prenao_sub(mol, p, s)
    c = nao._nao_sub(mol, pre_occ, pre_nao, s)
    occ = np.einsum("pi,pq,qi->i", c, p, c)
    return mol.atom_charges() - sum_by_atom(mol, occ)
