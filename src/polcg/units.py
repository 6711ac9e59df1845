"""Unit conversions, in one place.

Structure level: Å, e, hartree. OpenMM level: nm, kJ/mol, ps, u. Names say what they convert:
``X_TO_Y`` multiplies a value in X to give Y.
"""

import re

from polcg.errors import InputError

#: PySCF's own value (pyscf.data.nist.BOHR, CODATA 2010), so that Å→bohr here matches what
#: PySCF does with coordinates and embedding charges (the GEBF energy correction depends on it)
BOHR_TO_ANGSTROM = 0.52917721092
ANGSTROM_TO_BOHR = 1.0 / BOHR_TO_ANGSTROM
ANGSTROM_TO_NM = 0.1
NM_TO_ANGSTROM = 10.0
HARTREE_TO_KCAL_MOL = 627.5094740631
HARTREE_TO_KJ_MOL = 2625.4996394799
KCAL_TO_KJ = 4.184
AU_TO_DEBYE = 2.541746473
#: atomic unit of polarizability (bohr³) in Å³
AU_POLARIZABILITY_TO_ANGSTROM3 = BOHR_TO_ANGSTROM**3
#: 1/(4πε₀) in kJ mol⁻¹ Å e⁻² (OpenMM's ONE_4PI_EPS0 = 138.935456 kJ mol⁻¹ nm e⁻²)
COULOMB_KJ_MOL_ANGSTROM = 1389.35456
#: the same in kJ mol⁻¹ nm e⁻² (OpenMM's ONE_4PI_EPS0)
COULOMB_KJ_MOL_NM = COULOMB_KJ_MOL_ANGSTROM * ANGSTROM_TO_NM
AVOGADRO = 6.02214076e23
#: Boltzmann constant, kJ mol⁻¹ K⁻¹
KB_KJ_MOL_K = 0.0083144626

#: durations written with a unit (simulation lengths, time steps) → ps
UNITS_PS = {"fs": 1e-3, "ps": 1.0, "ns": 1e3, "us": 1e6}


def duration_ps(text: str, option: str) -> float:
    """'1ns', '500 ps', '2fs' → ps; `option` names the input in the error (a CLI option or a file key)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(fs|ps|ns|us)\s*", str(text))
    if not m:
        raise InputError(f"{option} {text!r}: give a number with a unit (fs, ps, ns, us), e.g. 1ns")
    return float(m.group(1)) * UNITS_PS[m.group(2)]
