"""The particles of a box of a CG model, in the one order every engine and file uses.

Molecules come as all cations, all anions, then all waters; within a molecule its beads in the
model's order, each polarizable bead followed by its Drude particle (CHARMM convention).
"""

from __future__ import annotations

from dataclasses import dataclass

from polcg.cg.model import CGModel, MoleculeType
from polcg.errors import InputError
from polcg.polarizabilities.drude import drude_charge
from polcg.units import ANGSTROM_TO_NM


@dataclass(frozen=True)
class Composition:
    """How many ion pairs and water-model molecules a box holds."""

    n_pairs: int
    n_water: int = 0

    def water_fraction(self, model: CGModel) -> float:
        """Mole fraction of real water, x = n_H2O / (n_H2O + n_pairs)."""
        if self.n_water == 0:
            return 0.0
        per = model.role("water").waters_per_molecule or 1
        return per * self.n_water / (per * self.n_water + self.n_pairs)

    @classmethod
    def from_water_fraction(cls, model: CGModel, n_pairs: int, x: float) -> Composition:
        if n_pairs < 1:
            raise InputError(f"need at least one ion pair, got {n_pairs}")
        if not 0.0 <= x < 1.0:
            raise InputError(f"water fraction {x} must be in [0, 1)")
        if x == 0:
            return cls(n_pairs, 0)
        try:
            per = model.role("water").waters_per_molecule or 1
        except KeyError:
            raise InputError("the model has no water; build it with --water to simulate x > 0") from None
        return cls(n_pairs, max(1, round(x * n_pairs / ((1.0 - x) * per))))


@dataclass(frozen=True)
class Particle:
    molecule: int  # molecule instance index
    mol_type: str
    role: str
    bead: int  # bead index in the molecule
    type_name: str  # bead type, or "D" + bead type for a Drude
    is_drude: bool
    mass_u: float
    charge_e: float  # effective (ε-scaled for VaCG; core charge q − q_D for polarizable beads)


def molecule_order(model: CGModel, comp: Composition) -> list[MoleculeType]:
    mols = [model.role("cation")] * comp.n_pairs + [model.role("anion")] * comp.n_pairs if comp.n_pairs else []
    if comp.n_water:
        mols += [model.role("water")] * comp.n_water
    return mols


def particles(model: CGModel, comp: Composition) -> list[Particle]:
    x = comp.water_fraction(model)
    out: list[Particle] = []
    for m, mol in enumerate(molecule_order(model, comp)):
        for b, name in enumerate(mol.beads):
            bt = model.bead_type(name)
            q = model.effective_charge(name, mol.role, x)
            polar = model.drude is not None and bt.alpha_nm3 > 0
            if not polar:
                out.append(Particle(m, mol.name, mol.role, b, name, False, bt.mass_u, q))
                continue
            qd = drude_charge(bt.alpha_nm3 / ANGSTROM_TO_NM**3, model.drude.k_drude_kj_mol_nm2 * ANGSTROM_TO_NM**2)
            md = model.drude.drude_mass_u
            out.append(Particle(m, mol.name, mol.role, b, name, False, bt.mass_u - md, q - qd))
            out.append(Particle(m, mol.name, mol.role, b, "D" + name, True, md, qd))
    return out


def molecule_slices(parts: list[Particle]) -> list[range]:
    """Particle index range of every molecule instance."""
    bounds = [0] + [i for i in range(1, len(parts)) if parts[i].molecule != parts[i - 1].molecule] + [len(parts)]
    return [range(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def bead_index(parts: list[Particle], sl: range) -> dict[int, int]:
    """Molecule bead index → particle index of its core, within one molecule."""
    return {parts[i].bead: i for i in sl if not parts[i].is_drude}

