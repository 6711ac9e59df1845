"""CM5 (Charge Model 5): Hirshfeld charges plus a pairwise correction that depends on geometry only.

A. V. Marenich, S. V. Jerome, C. J. Cramer, D. G. Truhlar, J. Chem. Theory Comput. 8, 527 (2012),
doi:10.1021/ct200866d, eqs. 1-4:

    q_k = q_k^Hirshfeld + Σ_{k'≠k} T_kk' B_kk',   B_kk' = exp[-α (r_kk' - R_k - R_k')],

α = 2.474 Å⁻¹, R the covalent radii of Mantina, Valero, Cramer & Truhlar (CRC Handbook, 91st ed.),
T_kk' = D_Z(k) - D_Z(k') except for six fitted pairs (T_HC = 0.0502, T_HN = 0.1747, T_HO = 0.1671,
T_CN = 0.0556, T_CO = 0.0234, T_NO = -0.0346, T_k'k = -T_kk'). T is antisymmetric, so the correction
sums to zero and the CM5 charges add up to the Hirshfeld ones (``mol.charge`` up to the grid's
electron-count error, at most 1e-3 e).

Parameters: xtb's reimplementation (grimme-lab/xtb, ``src/cm5.f90``: ``rad``, ``a0``, the pair
values ``d(1,6)`` ... ``d(7,8)``, ``alp = 2.4740``), checked value by value against H. Kruse's
cm5charges (hokru/cm5charges, ``cm5.f90``: ``rconv``, ``tkk``) and cclib (``cclib/method/cm5.py``).
All three agree for H-Ar, the elements tabulated here (the ionic liquids of this project contain H,
B, C, N, O, F, P, S, Cl). Heavier elements are left out on purpose, since the sources disagree there
(Br: D_Z = -0.0313 in xtb and cclib, 0 in cm5charges, whose K-Kr row is shifted by one element;
I: R = 1.36 Å in xtb, 1.32 Å in the others); an element without parameters is an InputError.
tests/test_cm5.py reproduces Gaussian 16's CM5 charges of water from its Hirshfeld charges.

The Hirshfeld part is :func:`polcg.qm.charge_schemes.hirshfeld.hirshfeld_charges` (free atoms: HF
in the molecule's basis), not Gaussian's promolecule, so q^Hirshfeld, and with it CM5, differ from
Gaussian's by the Hirshfeld difference (~0.01 e); the correction itself is exact.
"""

from __future__ import annotations

import numpy as np

from polcg.errors import InputError
from polcg.qm.charge_schemes import CHARGE_SCHEMES
from polcg.qm.charge_schemes.hirshfeld import hirshfeld_charges
from polcg.qm.density_check import check_mol_dm

ALPHA = 2.474  # Å⁻¹
#: covalent radii R_k (Å)
RADII = {"H": 0.32, "He": 0.37, "Li": 1.30, "Be": 0.99, "B": 0.84, "C": 0.75, "N": 0.71, "O": 0.64, "F": 0.60,
         "Ne": 0.62, "Na": 1.60, "Mg": 1.40, "Al": 1.24, "Si": 1.14, "P": 1.09, "S": 1.04, "Cl": 1.00, "Ar": 1.01}
#: per-element D_Z (e)
D_Z = {"H": 0.0056, "He": -0.1543, "Li": 0.0, "Be": 0.0333, "B": -0.1030, "C": -0.0446, "N": -0.1072,
       "O": -0.0802, "F": -0.0629, "Ne": -0.1088, "Na": 0.0184, "Mg": 0.0, "Al": -0.0726, "Si": -0.0790,
       "P": -0.0756, "S": -0.0565, "Cl": -0.0444, "Ar": -0.0767}
#: fitted T_kk' of the pairs that do not follow D_Z(k) - D_Z(k') (e)
D_PAIR = {("H", "C"): 0.0502, ("H", "N"): 0.1747, ("H", "O"): 0.1671,
          ("C", "N"): 0.0556, ("C", "O"): 0.0234, ("N", "O"): -0.0346}


def cm5_correction(symbols, coords_angstrom) -> np.ndarray:
    """Σ_{k'≠k} T_kk' B_kk' for each atom (e), from element symbols and coordinates in Å."""
    missing = sorted(set(symbols) - set(RADII), key=list(symbols).index)
    if missing:
        raise InputError(f"CM5 has no parameters for {', '.join(missing)} (tabulated: H to Ar)")
    sym = np.asarray(symbols)
    r = np.array([RADII[s] for s in symbols])
    dz = np.array([D_Z[s] for s in symbols])
    t = dz[:, None] - dz[None, :]
    for (a, b), value in D_PAIR.items():
        t[(sym[:, None] == a) & (sym[None, :] == b)] = value
        t[(sym[:, None] == b) & (sym[None, :] == a)] = -value
    xyz = np.asarray(coords_angstrom, dtype=float).reshape(-1, 3)
    dist = np.linalg.norm(xyz[:, None, :] - xyz[None, :, :], axis=2)
    b_kk = np.exp(-ALPHA * (dist - r[:, None] - r[None, :]))
    np.fill_diagonal(b_kk, 0.0)
    return (t * b_kk).sum(axis=1)


@CHARGE_SCHEMES.register("cm5", help="Hirshfeld + CM5 pair correction")
def cm5_charges(mol, dm, *, grid_level: int = 3) -> np.ndarray:
    """CM5 charges (e): :func:`hirshfeld_charges` on a grid of ``grid_level`` plus :func:`cm5_correction`."""
    check_mol_dm(mol, dm)  # ghost atoms and a wrong density are reported as by every scheme
    symbols = [mol.atom_pure_symbol(i) for i in range(mol.natm)]
    correction = cm5_correction(symbols, mol.atom_coords(unit="Angstrom"))  # before the grid work
    return hirshfeld_charges(mol, dm, grid_level=grid_level) + correction
