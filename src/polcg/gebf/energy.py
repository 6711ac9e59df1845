"""GEBF assembly: atomic charges, dipole and the energy with the background self-energy handled.

With PySCF-style subsystem energies E'_m (QM energy in the field of the background charges,
without the background–background Coulomb energy), the GEBF energy of Li et al. (2007),
E = Σ_m C_m Ẽ_m − (Σ_m C_m − 1) Σ_{A<B} Q_A Q_B / R_AB with Ẽ_m = E'_m + Σ_{A<B∉m} Q_A Q_B / R_AB,
becomes exactly

    E = Σ_m C_m E'_m + Σ_{A<B} (N_AB − 1) Q_A Q_B / R_AB,

where N_AB = Σ_m C_m [A ∈ m and B ∈ m] is 1 for atom pairs some subsystem holds together and 0
for pairs never together (DESIGN.md, science-notes §1.6). Units: hartree, bohr, e.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial.distance import pdist, squareform

from polcg.gebf.subsystems import Subsystem
from polcg.units import ANGSTROM_TO_BOHR


def assemble_atomic(subsystems: Sequence[Subsystem], charges: Sequence[Sequence[float]], natoms: int) -> np.ndarray:
    """q_A = Σ_m C_m q_A^m, with each subsystem's charges given in its (sorted) atom order."""
    q = np.zeros(natoms)
    for sub, qs in zip(subsystems, charges):
        q[list(sub.atoms)] += sub.coefficient * np.asarray(qs, dtype=float)
    return q


def assemble_vector(subsystems: Sequence[Subsystem], values: Sequence[Sequence[float]]) -> np.ndarray:
    """Σ_m C_m v_m for per-subsystem vectors (e.g. dipoles about a common origin)."""
    return sum(sub.coefficient * np.asarray(v, dtype=float) for sub, v in zip(subsystems, values))


def atom_pair_counts(subsystems: Sequence[Subsystem], natoms: int) -> np.ndarray:
    """N_AB = Σ_m C_m [A, B ∈ m] (int matrix natoms × natoms)."""
    count = np.zeros((natoms, natoms), dtype=np.int32)
    for sub in subsystems:
        idx = np.asarray(sub.atoms)
        count[np.ix_(idx, idx)] += sub.coefficient
    return count


def background_correction_hartree(coords_angstrom: np.ndarray, charges: np.ndarray,
                                  subsystems: Sequence[Subsystem]) -> float:
    """Σ_{A<B} (N_AB − 1) Q_A Q_B / R_AB: removes the double-counted long-range charge pairs."""
    q = np.asarray(charges, dtype=float)
    r_bohr = squareform(pdist(np.asarray(coords_angstrom) * ANGSTROM_TO_BOHR))
    weight = atom_pair_counts(subsystems, len(q)) - 1
    np.fill_diagonal(weight, 0)
    np.fill_diagonal(r_bohr, 1.0)
    return 0.5 * float(np.sum(weight * np.outer(q, q) / r_bohr))


def gebf_energy_hartree(subsystems: Sequence[Subsystem], energies: Sequence[float],
                        coords_angstrom: np.ndarray, embedding_charges: np.ndarray) -> float:
    """The GEBF total energy from embedded subsystem energies and the embedding charges they used."""
    summed = sum(sub.coefficient * e for sub, e in zip(subsystems, energies))
    return float(summed + background_correction_hartree(coords_angstrom, embedding_charges, subsystems))
