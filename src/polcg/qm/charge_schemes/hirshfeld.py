"""Hirshfeld (stockholder) atomic charges on a DFT integration grid.

q_A = Z_A - ∫ w_A(r) ρ(r) dr,  w_A = ρ_A^free(|r - R_A|) / Σ_B ρ_B^free(|r - R_B|)
(F. L. Hirshfeld, Theor. Chim. Acta 44, 129 (1977)), with the free-atom HF densities in the
molecule's basis of :mod:`polcg.qm.hirshfeld` (their choice and its approximations are stated there).
"""

from __future__ import annotations

import numpy as np

from polcg.qm.charge_schemes import CHARGE_SCHEMES
from polcg.qm.density_check import check_mol_dm


@CHARGE_SCHEMES.register("hirshfeld", help="stockholder partition, free-atom HF densities")
def hirshfeld_charges(mol, dm, *, grid_level: int = 3, return_details: bool = False):
    """Hirshfeld charges (e) of the atoms of ``mol`` from the total AO density ``dm``.

    The molecular density is integrated on a ``pyscf.dft.gen_grid.Grids`` grid
    of ``grid_level`` (Becke partition, pyscf's default pruning) in blocks.
    The charges sum to ``mol.charge - err`` with ``err`` = ∫ρ - N the grid's
    electron-count error; nothing is redistributed. If |err| exceeds
    :data:`polcg.qm.hirshfeld.MAX_ELECTRON_COUNT_ERROR` a :class:`polcg.errors.QMError`
    is raised (raise ``grid_level``).

    With ``return_details`` also returns a dict with ``electron_count_error``
    (e) and ``n_grid_points``.
    """
    from pyscf import dft
    from scipy.special import logsumexp

    from polcg.errors import QMError
    from polcg.qm.hirshfeld import MAX_ELECTRON_COUNT_ERROR, free_atom_log_densities

    dm = check_mol_dm(mol, dm)
    logrho_free = free_atom_log_densities(mol)
    grids = dft.gen_grid.Grids(mol)
    grids.level = grid_level
    grids.build(with_non0tab=True)

    ni = dft.numint.NumInt()
    nao = mol.nao_nr()
    atom_xyz = mol.atom_coords()
    pop = np.zeros(mol.natm)
    n_grid = 0.0
    max_mem = max(500, mol.max_memory * 0.25)
    for ao, mask, weight, coords in ni.block_loop(mol, grids, nao, 0, max_memory=max_mem):
        rho = ni.eval_rho(mol, ao, dm, mask, xctype="LDA", hermi=1)
        wrho = weight * rho
        n_grid += wrho.sum()
        dist = np.linalg.norm(coords[:, None, :] - atom_xyz[None, :, :], axis=2)
        logw = np.stack([f(dist[:, a]) for a, f in enumerate(logrho_free)], axis=1)
        logw -= logsumexp(logw, axis=1, keepdims=True)
        pop += np.exp(logw).T @ wrho
    err = n_grid - mol.nelectron
    if abs(err) > MAX_ELECTRON_COUNT_ERROR:
        raise QMError(
            f"Hirshfeld: grid level {grid_level} integrates {n_grid:.6f} electrons for "
            f"{mol.nelectron} (error {err:+.2e} e > {MAX_ELECTRON_COUNT_ERROR:g}); "
            f"use a finer grid"
        )
    charges = mol.atom_charges() - pop
    if return_details:
        return charges, {"electron_count_error": float(err), "n_grid_points": int(grids.weights.size)}
    return charges
