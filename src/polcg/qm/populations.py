"""Atomic charges (population analyses) from a converged PySCF SCF density.

All schemes are pure functions of a :class:`pyscf.gto.Mole` and its total
(alpha + beta) AO density matrix; nothing is read from an SCF object, so a
density from a point-charge-embedded calculation (``pyscf.qmmm``) gives the
charges of the QM subsystem alone: its nuclei and its electrons, never the
background charges (they are not part of ``mol``).

Schemes (``SCHEMES``):

``"npa"``
    Natural population analysis on pyscf's natural atomic orbitals
    (:mod:`pyscf.lo.nao`, Reed/Weinstock/Weinhold, J. Chem. Phys. 83, 735
    (1985)). See :func:`npa_charges` for how this differs from NBO's NPA.
``"mulliken"``
    Mulliken gross populations, q_A = Z_A - sum_{mu in A} (D S)_{mu mu}.
``"meta_lowdin"``
    Mulliken populations on pyscf's meta-Löwdin orthogonal AOs with ANO
    pre-orthogonalisation (Sun & Chan, JCTC 10, 3784 (2014));
    the same as ``mf.mulliken_meta()`` / ``mf.analyze()``.
``"hirshfeld"``
    Stockholder partition on a DFT grid with spherically averaged free-atom
    HF densities in the molecule's basis (:mod:`polcg.qm.hirshfeld`).
``"esp"``
    CHELPG-style least-squares fit to the electrostatic potential of the QM
    nuclei and electrons on a cubic lattice (:mod:`polcg.qm.esp`).

Charges are in units of e and sum to ``mol.charge`` (to ~1e-8 for all
schemes but Hirshfeld, whose sum is exact up to the grid's electron-count
error, at most 1e-3 e or it raises).
"""

from __future__ import annotations

import numpy as np
from pyscf import gto

SCHEMES = ("npa", "mulliken", "meta_lowdin", "hirshfeld", "esp")

# Largest tolerated |tr(D S) - N_electrons| of the density handed in: a larger
# mismatch means the wrong matrix (e.g. only the alpha density of a UKS run).
_NELEC_TOL = 1e-4


def atomic_charges(mol: gto.Mole, dm: np.ndarray, scheme: str) -> np.ndarray:
    """One charge (e) per atom of ``mol`` from the AO density ``dm``.

    Parameters
    ----------
    mol
        The QM molecule the density belongs to (no ghost atoms; ECPs are
        accepted, with Z_A the ECP-reduced nuclear charge).
    dm
        Total AO density matrix, shape (nao, nao): ``mf.make_rdm1()`` for
        RHF/RKS, ``dm[0] + dm[1]`` for UHF/UKS/ROHF (a (2, nao, nao) stack is
        summed here for convenience).
    scheme
        One of :data:`SCHEMES`.

    Returns
    -------
    numpy.ndarray, shape (mol.natm,)
    """
    key = str(scheme).lower().replace("-", "_")
    if key not in SCHEMES:
        raise ValueError(
            f"unknown charge scheme {scheme!r}; allowed: {', '.join(SCHEMES)}"
        )
    if key == "mulliken":
        return mulliken_charges(mol, dm)
    if key == "meta_lowdin":
        return meta_lowdin_charges(mol, dm)
    if key == "npa":
        return npa_charges(mol, dm)
    if key == "hirshfeld":
        from polcg.qm.hirshfeld import hirshfeld_charges

        return hirshfeld_charges(mol, dm)
    from polcg.qm.esp import esp_charges

    return esp_charges(mol, dm)


# --------------------------------------------------------------------------
# input checks shared by all schemes


def check_mol_dm(mol: gto.Mole, dm: np.ndarray) -> np.ndarray:
    """Validate ``mol`` and return ``dm`` as a real symmetric (nao, nao) array.

    Raises ValueError for a periodic cell, ghost atoms, a density of the wrong
    shape, or one whose electron count tr(D S) is not ``mol.nelectron``.
    """
    if not isinstance(mol, gto.MoleBase) or getattr(mol, "pbc_intor", None):
        raise ValueError("atomic charges need a molecular pyscf.gto.Mole (not a PBC cell)")
    z = mol.atom_charges()
    ghosts = [f"{i}:{mol.atom_symbol(i)}" for i in range(mol.natm) if z[i] == 0]
    if ghosts:
        raise ValueError(
            f"ghost atoms (zero nuclear charge) are not supported by the charge "
            f"schemes: {', '.join(ghosts)}"
        )
    if hasattr(dm, "get") and not isinstance(dm, np.ndarray):  # cupy array (gpu4pyscf)
        dm = dm.get()
    dm = np.asarray(dm)
    nao = mol.nao_nr()
    if dm.ndim == 3 and dm.shape[0] == 2:
        dm = dm[0] + dm[1]
    if dm.shape != (nao, nao):
        raise ValueError(
            f"density matrix has shape {dm.shape}; expected the total AO density ({nao}, {nao})"
        )
    if np.iscomplexobj(dm):
        if np.abs(dm.imag).max() > 1e-10:
            raise ValueError("complex density matrices are not supported")
        dm = dm.real
    dm = 0.5 * (dm + dm.T)
    nelec = float(np.einsum("ij,ji->", dm, mol.intor_symmetric("int1e_ovlp")))
    if abs(nelec - mol.nelectron) > _NELEC_TOL:
        raise ValueError(
            f"density matrix holds {nelec:.6f} electrons but the molecule has "
            f"{mol.nelectron}; pass the total (alpha+beta) density of this molecule"
        )
    return dm


def _sum_by_atom(mol: gto.Mole, ao_pop: np.ndarray) -> np.ndarray:
    pop = np.zeros(mol.natm)
    for ia, (_, _, p0, p1) in enumerate(mol.aoslice_by_atom()):
        pop[ia] = ao_pop[p0:p1].sum()
    return pop


# --------------------------------------------------------------------------
# orbital-based schemes


def mulliken_charges(mol: gto.Mole, dm: np.ndarray) -> np.ndarray:
    """Mulliken charges q_A = Z_A - sum_{mu in A} (D S)_{mu mu}."""
    dm = check_mol_dm(mol, dm)
    s = mol.intor_symmetric("int1e_ovlp")
    ao_pop = np.einsum("ij,ji->i", dm, s)
    return mol.atom_charges() - _sum_by_atom(mol, ao_pop)


def meta_lowdin_charges(mol: gto.Mole, dm: np.ndarray) -> np.ndarray:
    """Mulliken charges on meta-Löwdin orthogonalised AOs (pyscf ``mulliken_meta``).

    pyscf first projects the AOs onto its ANO reference basis to give them
    atomic character ('ANO' pre-orthogonalisation, passed explicitly here so
    a user's pyscf config cannot change it), splits them per atom into core,
    valence and Rydberg sets, Löwdin-orthogonalises the core set, Schmidt-
    orthogonalises valence to core and Löwdin-orthogonalises it, then the same
    for the Rydberg set. The populations are the diagonal of the density in
    that orthonormal basis.

    Not available with ECPs (ValueError): pyscf's ANO projection gives
    meaningless populations there (HI, def2-SVP + def2 ECP: q_H = -0.62 where
    Mulliken, NPA, Hirshfeld and ESP all give +0.06 to +0.11).
    """
    from pyscf.scf import hf

    dm = check_mol_dm(mol, dm)
    if mol.has_ecp():
        raise ValueError("meta_lowdin charges are not supported with ECPs; use npa, mulliken, hirshfeld or esp")
    s = mol.intor_symmetric("int1e_ovlp")
    _, chg = hf.mulliken_meta(mol, dm, verbose=0, pre_orth_method="ANO", s=s)
    return np.asarray(chg, dtype=float)


def npa_charges(mol: gto.Mole, dm: np.ndarray) -> np.ndarray:
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
    return mol.atom_charges() - _sum_by_atom(mol, occ)
