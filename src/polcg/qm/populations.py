"""Atomic charges (population analyses) from a converged PySCF SCF density.

Every scheme is a pure function of a :class:`pyscf.gto.Mole` and its total (alpha + beta) AO density
matrix; nothing is read from an SCF object, so a density from a point-charge-embedded calculation
(``pyscf.qmmm``) gives the charges of the QM subsystem alone: its nuclei and its electrons, never
the background charges (they are not part of ``mol``).

The schemes are the entries of :data:`polcg.qm.charge_schemes.CHARGE_SCHEMES`, one module each in
:mod:`polcg.qm.charge_schemes`: ``npa`` (natural population analysis on pyscf's NAOs), ``mulliken``,
``meta_lowdin`` (pyscf's meta-Löwdin AOs), ``hirshfeld`` (stockholder partition with free-atom HF
densities), ``cm5`` (Hirshfeld plus the CM5 pair correction) and ``esp`` (CHELPG-style fit to the
QM potential). Charges are in units of e and sum to ``mol.charge`` (to ~1e-8 for all schemes but
Hirshfeld and CM5, whose sum is exact up to the grid's electron-count error, at most 1e-3 e or it
raises).
"""

from __future__ import annotations

import numpy as np

from polcg.qm.charge_schemes import CHARGE_SCHEMES

__all__ = ["atomic_charges"]


def atomic_charges(mol, dm, scheme: str) -> np.ndarray:
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
        A name in :data:`~polcg.qm.charge_schemes.CHARGE_SCHEMES` (case-insensitive, '-' as '_');
        any other raises :class:`polcg.errors.InputError` (a ValueError) listing the choices.

    Returns
    -------
    numpy.ndarray, shape (mol.natm,)
    """
    return CHARGE_SCHEMES.get(scheme)(mol, dm)
