"""SCF starting densities (warm starts): kept per geometry, reused as they are, or assembled from parts.

A converged density is saved under `guess_dir/<geometry key>.npz` with the AO offsets of its atoms.
A later job on the same atoms (another embedding pass, the accurate pass after cheap ones) starts
from it. A job on atoms never computed before can start from *parts*: blocks of other jobs'
densities, each mapping some of the source's atoms onto some of the job's (`GuessPart`). GEBF uses
this for a subsystem's first pass (its fragments' densities, block-diagonal) and for a derived
subsystem (its block of a containing subsystem's density). A warm start changes the number of SCF
cycles, never the converged answer. A saved density may carry its two-electron potential
(`polcg.qm.reuse`), which spares a warm start from its own density its first Fock build.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from polcg.io import atomic_path


@dataclass(frozen=True)
class GuessPart:
    """Atoms `source_atoms` of the job with geometry key `source` supply the density block of this
    job's atoms `target_atoms` (same order, same basis)."""

    source: str
    source_atoms: tuple[int, ...]
    target_atoms: tuple[int, ...]


def guess_path(guess_dir: str, geometry_key: str) -> str:
    return os.path.join(guess_dir, geometry_key[:32] + ".npz")


def save_density(guess_dir: str | None, geometry_key: str, dm, mol, potential: dict | None = None) -> None:
    """Keep a converged density (restricted: nao×nao; unrestricted: 2×nao×nao) with its AO offsets,
    and with `potential` (arrays from `polcg.qm.reuse.potential_arrays`) when given."""
    if not guess_dir:
        return
    with atomic_path(guess_path(guess_dir, geometry_key), suffix=".npz") as tmp:
        np.savez(tmp, dm=np.asarray(dm), ao_offsets=np.asarray(mol.aoslice_by_atom()[:, 2:4]), **(potential or {}))


def _load(guess_dir: str, geometry_key: str, potential_key: str | None = None):
    """(density, AO offsets, the potential saved with it under `potential_key` or None), or None."""
    from polcg.qm.reuse import potential_from_arrays

    path = guess_path(guess_dir, geometry_key)
    try:
        with np.load(path) as data:
            dm = data["dm"]
            potential = potential_from_arrays(data, potential_key, dm.shape) if potential_key else None
            return dm, data["ao_offsets"], potential
    except (OSError, ValueError, KeyError):
        return None


def load_density(guess_dir: str | None, geometry_key: str, options, mol):
    """A starting density for `mol`: its own saved one, else the first of `options` (each a tuple of
    `GuessPart`s) whose parts are all at hand, else None."""
    return load_start(guess_dir, geometry_key, options, mol)[0]


def load_start(guess_dir: str | None, geometry_key: str, options, mol, potential_key: str | None = None):
    """(density, its potential): the density as `load_density` finds it; the potential saved with
    it under `potential_key` when the density is the job's own, else None."""
    if not guess_dir:
        return None, None
    own = _load(guess_dir, geometry_key, potential_key)
    if own is not None and own[0].shape[-1] == mol.nao:
        return own[0], own[2]
    for parts in options:
        dm = assemble_density(guess_dir, parts, mol)
        if dm is not None:
            return dm, None
    return None, None


def with_orbitals(dm, threshold: float = 1e-10):
    """`dm` tagged with orbitals that factor it, D = Σ_i n_i c_i c_iᵀ (eigenvectors and eigenvalues of
    the symmetric matrix, those above `threshold` × the largest kept), as PySCF tags the densities
    of its own SCF cycles. PySCF's density-fitted exchange then contracts with these few orbitals
    instead of the whole matrix (a third of the cost for a 30-atom HF/6-31G subsystem), and its DFT
    code evaluates the density on the grid from them. Warm starts (a saved density, blocks of other
    jobs' densities) are symmetric and positive semidefinite, so the factors reproduce them to
    round-off; None stays None."""
    if dm is None:
        return None
    from pyscf import lib

    dms = np.asarray(dm)
    mats = dms if dms.ndim == 3 else dms[None]
    coeffs, occs = [], []
    for d in mats:
        w, u = np.linalg.eigh(0.5 * (d + d.T))
        occ = np.where(w > threshold * max(w.max(), 0.0), w, 0.0)
        coeffs.append(u)
        occs.append(occ)
    if dms.ndim == 2:
        return lib.tag_array(dms, mo_coeff=coeffs[0], mo_occ=occs[0])
    return lib.tag_array(dms, mo_coeff=np.array(coeffs), mo_occ=np.array(occs))


def assemble_density(guess_dir: str, parts, mol):
    """Block-diagonal total density from the parts' densities (None if any part is missing)."""
    target_offsets = mol.aoslice_by_atom()[:, 2:4]
    dm = np.zeros((mol.nao, mol.nao))
    for part in parts:
        loaded = _load(guess_dir, part.source)
        if loaded is None:
            return None
        src_dm, src_offsets, _ = loaded
        src_total = src_dm.sum(axis=0) if src_dm.ndim == 3 else src_dm
        src_idx = _ao_indices(src_offsets, part.source_atoms)
        tgt_idx = _ao_indices(target_offsets, part.target_atoms)
        if len(src_idx) != len(tgt_idx) or (len(src_idx) and src_idx.max() >= src_total.shape[0]):
            return None
        dm[np.ix_(tgt_idx, tgt_idx)] = src_total[np.ix_(src_idx, src_idx)]
    return dm if mol.spin == 0 else np.array([dm, dm]) * 0.5


def _ao_indices(offsets, atoms) -> np.ndarray:
    if not len(atoms):
        return np.zeros(0, dtype=int)
    return np.concatenate([np.arange(offsets[a][0], offsets[a][1]) for a in atoms]).astype(int)
