"""Perceiving molecules (ions) in a cluster: covalent connectivity, library match, formal charges.

Connectivity is RDKit's connect-the-dots rule (`rdDetermineBonds.DetermineConnectivity`): two
atoms are bonded when closer than the sum of their covalent radii plus 0.45 Å (H-F 1.33 Å,
H-Cl 1.78 Å, H-Br 1.96 Å), and a hydrogen gets at most one bond, to its nearest partner; so
hydrogen-bond contacts in IL clusters are not bonds. Bonds to alkali and alkaline-earth metals
are dropped: those metals are taken as free ions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem import rdDetermineBonds

import polcg.structure.library as fragments
from polcg.errors import StructureError
from polcg.structure.cluster import Cluster, Molecule
from polcg.structure.elements import element_symbol

# Metals taken as ions: never covalently bonded.
IONIC_METALS = frozenset({"Li", "Na", "K", "Rb", "Cs", "Fr", "Be", "Mg", "Ca", "Sr", "Ba", "Ra"})

# Charges of monoatomic species (the usual ionic charge); others are ambiguous.
MONOATOMIC_CHARGE = {
    **{s: 1 for s in ("Li", "Na", "K", "Rb", "Cs", "Ag")},
    **{s: 2 for s in ("Be", "Mg", "Ca", "Sr", "Ba", "Zn", "Cd")},
    "Al": 3,
    **{s: -1 for s in ("F", "Cl", "Br", "I")},
    **{s: 0 for s in ("He", "Ne", "Ar", "Kr", "Xe")},
}

# Formal charges tried for a polyatomic molecule off the library, and the cost of a formal
# charge on an atom when ranking the resulting Lewis structures (charged C is penalised).
CANDIDATE_CHARGES = (0, 1, -1, 2, -2, 3, -3)
CHARGED_CARBON_COST = 4


def perceive(
    elements: Sequence[str],
    coords_angstrom: np.ndarray,
    library: fragments.IonLibrary | None = None,
    total_charge: int | None = None,
    source: str = "",
    sha256: str = "",
) -> Cluster:
    """Split atoms into molecules, name them and give them formal charges (and beads)."""
    label = source or "structure"
    symbols, coords = _checked_input(elements, coords_angstrom, label)
    lib = library if library is not None else fragments.load_library()
    mol = connectivity(symbols, coords)
    groups = sorted(
        (tuple(sorted(g)) for g in Chem.GetMolFrags(mol, asMols=False, sanitizeFrags=False)),
        key=lambda g: g[0],
    )
    molecules = tuple(_molecule(mol, atoms, lib, label) for atoms in groups)
    cluster = Cluster(symbols, coords, molecules, source=source, sha256=sha256)
    if total_charge is not None and cluster.charge != total_charge:
        raise StructureError(
            f"{label}: formal charges sum to {format_charge(cluster.charge)} "
            f"but --charge is {format_charge(total_charge)}"
        )
    return cluster


def connectivity(elements: Sequence[str], coords_angstrom: np.ndarray) -> Chem.RWMol:
    """An RDKit molecule with one conformer and covalent (single) bonds from distances."""
    mol = Chem.RWMol()
    for symbol in elements:
        atom = Chem.Atom(symbol)
        atom.SetNoImplicit(True)
        mol.AddAtom(atom)
    conf = Chem.Conformer(len(elements))
    for i, xyz in enumerate(np.asarray(coords_angstrom, dtype=float)):
        conf.SetAtomPosition(i, xyz.tolist())
    mol.AddConformer(conf, assignId=True)
    rdDetermineBonds.DetermineConnectivity(mol, useHueckel=False)
    ionic = [
        (b.GetBeginAtomIdx(), b.GetEndAtomIdx())
        for b in mol.GetBonds()
        if {b.GetBeginAtom().GetSymbol(), b.GetEndAtom().GetSymbol()} & IONIC_METALS
    ]
    for i, j in ionic:
        mol.RemoveBond(i, j)
    mol.UpdatePropertyCache(strict=False)
    return mol


def format_charge(q: int) -> str:
    return "0" if q == 0 else f"{q:+d}"


def format_atoms(atoms: Sequence[int]) -> str:
    """0-based indices as 1-based ranges: (0, 1, 2, 5) -> '1-3, 6'."""
    runs: list[list[int]] = []
    for a in sorted(atoms):
        if runs and a == runs[-1][1] + 1:
            runs[-1][1] = a
        else:
            runs.append([a, a])
    return ", ".join(f"{a + 1}" if a == b else f"{a + 1}-{b + 1}" for a, b in runs)


# ---------------------------------------------------------------------------------------


def _checked_input(
    elements: Sequence[str], coords_angstrom: np.ndarray, label: str
) -> tuple[tuple[str, ...], np.ndarray]:
    coords = np.asarray(coords_angstrom, dtype=float)
    if coords.ndim != 2 or coords.shape[1] != 3 or len(coords) != len(elements):
        raise StructureError(
            f"{label}: {len(elements)} elements but coordinates of shape {coords.shape}"
        )
    if len(elements) == 0:
        raise StructureError(f"{label}: no atoms")
    if not np.isfinite(coords).all():
        raise StructureError(f"{label}: non-finite coordinates")
    symbols = []
    for i, e in enumerate(elements):
        symbol = element_symbol(str(e))
        if symbol is None:
            raise StructureError(f"{label}: atom {i + 1}: unknown element '{e}'")
        symbols.append(symbol)
    return tuple(symbols), coords


def _submol(mol: Chem.Mol, atoms: tuple[int, ...]) -> Chem.RWMol:
    """The molecule made of `atoms` (in that order), with its bonds and coordinates."""
    local = {a: k for k, a in enumerate(atoms)}
    sub = Chem.RWMol()
    conf = Chem.Conformer(len(atoms))
    positions = mol.GetConformer().GetPositions()
    for k, a in enumerate(atoms):
        atom = Chem.Atom(mol.GetAtomWithIdx(a).GetAtomicNum())
        atom.SetNoImplicit(True)
        sub.AddAtom(atom)
        conf.SetAtomPosition(k, positions[a].tolist())
    for a in atoms:
        for bond in mol.GetAtomWithIdx(a).GetBonds():
            b = bond.GetOtherAtomIdx(a)
            if b > a and b in local:
                sub.AddBond(local[a], local[b], Chem.BondType.SINGLE)
    sub.AddConformer(conf, assignId=True)
    sub.UpdatePropertyCache(strict=False)
    return sub


def _molecule(
    mol: Chem.Mol, atoms: tuple[int, ...], lib: fragments.IonLibrary, label: str
) -> Molecule:
    sub = _submol(mol, atoms)
    hit = lib.match(sub)
    if hit is not None:
        entry, atom_map = hit
        beads = lib.beads(entry, atom_map, atoms)
        return Molecule(atoms, entry.formal_charge, entry.name, library=True, beads=beads)
    formula = fragments.hill_formula(a.GetSymbol() for a in sub.GetAtoms())
    return Molecule(atoms, _formal_charge(sub, formula, atoms, label), formula)


def _formal_charge(sub: Chem.Mol, formula: str, atoms: tuple[int, ...], label: str) -> int:
    """Formal charge of a molecule off the library, from RDKit's bond-order assignment."""
    where = f"{formula} (atoms {format_atoms(atoms)})"
    if sub.GetNumAtoms() == 1:
        symbol = sub.GetAtomWithIdx(0).GetSymbol()
        if symbol not in MONOATOMIC_CHARGE:
            raise StructureError(f"{label}: cannot tell the charge of the lone atom {where}")
        return MONOATOMIC_CHARGE[symbol]
    costs = {q: c for q in CANDIDATE_CHARGES if (c := _lewis_cost(sub, q)) is not None}
    if not costs:
        raise StructureError(
            f"{label}: cannot determine the formal charge of {where}; "
            "add the ion to the library (fragments/)"
        )
    best = min(costs.values())
    winners = sorted(q for q, c in costs.items() if c == best)
    if len(winners) > 1:
        shown = " or ".join(format_charge(q) for q in winners)
        raise StructureError(
            f"{label}: ambiguous formal charge ({shown}) of {where}; "
            "add the ion to the library (fragments/)"
        )
    return winners[0]


def _lewis_cost(sub: Chem.Mol, charge: int) -> int | None:
    """Cost of RDKit's closed-shell Lewis structure with total `charge` (None: no such structure).

    Cost: sum of |formal charge| over atoms, a charged carbon counting CHARGED_CARBON_COST.
    """
    trial = Chem.RWMol(sub)
    blocker = rdBase.BlockLogs()
    try:
        rdDetermineBonds.DetermineBondOrders(trial, charge=charge, embedChiral=False)
    except (RuntimeError, ValueError):
        return None
    finally:
        del blocker
    atoms = list(trial.GetAtoms())
    if sum(a.GetFormalCharge() for a in atoms) != charge:
        return None
    if any(a.GetNumRadicalElectrons() for a in atoms):
        return None
    return sum(
        abs(a.GetFormalCharge()) * (CHARGED_CARBON_COST if a.GetAtomicNum() == 6 else 1)
        for a in atoms
    )
