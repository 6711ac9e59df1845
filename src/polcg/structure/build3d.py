"""3D geometries of library ions from their SMILES.

RDKit ETKDGv3 conformers (fixed seed, so the same geometry every run), relaxed with MMFF94
where it has parameters and UFF otherwise (B, P); the lowest-energy conformer is kept.
`optimizer="xtb"` then relaxes it with GFN2-xTB in the gas phase (tblite, the optional
`polcg[xtb]` extra) and L-BFGS to max|g| < 4.5e-4 Eh/bohr, the usual "loose" QM criterion.
Coordinates are in Å; atom order is the entry's SMILES heavy atoms then `Chem.AddHs` hydrogens,
the order `IonLibrary.match` maps from.
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem
from rdkit.Chem import AllChem

from polcg.errors import InputError, StructureError
from polcg.structure.library import IonEntry
from polcg.units import BOHR_TO_ANGSTROM

OPTIMIZERS = ("ff", "xtb")
SEED = 20261124
N_CONFORMERS = 12


def ion_geometry(entry: IonEntry, optimizer: str = "ff") -> tuple[tuple[str, ...], np.ndarray]:
    """Elements and coordinates (Å) of a library ion, built from its SMILES."""
    if optimizer not in OPTIMIZERS:
        raise InputError(f"unknown geometry optimizer {optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
    mol = Chem.AddHs(Chem.MolFromSmiles(entry.smiles))
    elements = tuple(a.GetSymbol() for a in mol.GetAtoms())
    coords = _force_field_geometry(mol, entry.name)
    if optimizer == "xtb":
        numbers = [a.GetAtomicNum() for a in mol.GetAtoms()]
        coords = xtb_relax(numbers, coords, entry.formal_charge)
    return elements, coords


def _force_field_geometry(mol: Chem.Mol, name: str) -> np.ndarray:
    if mol.GetNumAtoms() == 1:
        return np.zeros((1, 3))
    params = AllChem.ETKDGv3()
    params.randomSeed = SEED
    cids = list(AllChem.EmbedMultipleConfs(mol, numConfs=N_CONFORMERS, params=params))
    if not cids:
        raise StructureError(f"{name}: RDKit could not embed a 3D conformer")
    if AllChem.MMFFHasAllMoleculeParams(mol):
        results = AllChem.MMFFOptimizeMoleculeConfs(mol, maxIters=5000)
    else:
        results = AllChem.UFFOptimizeMoleculeConfs(mol, maxIters=5000)
    energies = [e if conv == 0 else np.inf for conv, e in results]
    best = cids[int(np.argmin(energies))] if np.isfinite(min(energies)) else cids[0]
    return np.array(mol.GetConformer(best).GetPositions())


def xtb_relax(numbers, coords_angstrom: np.ndarray, charge: int, gtol: float = 4.5e-4) -> np.ndarray:
    """Gas-phase GFN2-xTB relaxation (tblite) with L-BFGS; returns coordinates in Å."""
    from scipy.optimize import minimize

    try:
        from tblite.interface import Calculator
    except ImportError:
        raise InputError("--optimize xtb needs tblite: pip install 'polcg[xtb]'") from None
    x0 = np.asarray(coords_angstrom, float) / BOHR_TO_ANGSTROM
    calc = Calculator("GFN2-xTB", np.asarray(numbers), x0, charge=float(charge), uhf=0)
    calc.set("verbosity", 0)

    def energy_gradient(x):
        calc.update(x.reshape(-1, 3))
        res = calc.singlepoint()
        return res.get("energy"), res.get("gradient").ravel()

    opt = minimize(energy_gradient, x0.ravel(), jac=True, method="L-BFGS-B",
                   options={"maxiter": 2000, "gtol": gtol, "maxcor": 30})
    if np.abs(opt.jac).max() > 10 * gtol:
        raise StructureError(f"GFN2-xTB relaxation did not converge (max|g| = {np.abs(opt.jac).max():.1e} Eh/bohr)")
    return opt.x.reshape(-1, 3) * BOHR_TO_ANGSTROM
