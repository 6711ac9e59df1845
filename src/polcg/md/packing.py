"""A start configuration for a CG model: molecules on a cubic lattice, randomly rotated.

This is the quick, dependency-free start used for exports and tests; its molecules keep their
template geometry exactly (so constraints hold), and a minimisation removes the contacts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from polcg.cg.model import CGModel
from polcg.errors import InputError
from polcg.md.layout import Composition, Particle, molecule_order, particles
from polcg.units import AVOGADRO


@dataclass(frozen=True)
class Configuration:
    """Particle positions (nm) in `particles(model, composition)` order and an orthorhombic box (nm);
    no box (None) for a gas-phase configuration."""

    composition: Composition
    positions_nm: np.ndarray
    box_nm: tuple[float, float, float] | None

    def particles(self, model: CGModel) -> list[Particle]:
        return particles(model, self.composition)


def lattice_box(model: CGModel, comp: Composition, density_g_cm3: float = 0.8, seed: int = 0,
                drude_offset_nm: float = 0.0) -> Configuration:
    """Molecules at the sites of a cubic lattice filling a cube of the given mass density."""
    if density_g_cm3 <= 0:
        raise InputError(f"density must be positive, got {density_g_cm3}")
    mols = molecule_order(model, comp)
    parts = particles(model, comp)
    mass_g = sum(p.mass_u for p in parts) / AVOGADRO
    side = (mass_g / density_g_cm3) ** (1.0 / 3.0) * 1e7  # cm → nm
    n_side = int(np.ceil(len(mols) ** (1.0 / 3.0)))
    rng = np.random.default_rng(seed)
    grid = (np.indices((n_side,) * 3).reshape(3, -1).T + 0.5) * (side / n_side)
    sites = grid[rng.permutation(len(grid))[: len(mols)]]
    rotations = Rotation.random(len(mols), random_state=seed).as_matrix()
    pos = []
    for mol, site, rot in zip(mols, sites, rotations):
        tmpl = np.asarray(mol.positions_nm)
        xyz = (tmpl - tmpl.mean(axis=0)) @ rot.T + site
        pos.append(xyz)
    bead_xyz = np.concatenate(pos)
    out, k = [], 0
    for p in parts:
        if p.is_drude:
            out.append(out[-1] + drude_offset_nm * _unit(rng))
        else:
            out.append(bead_xyz[k])
            k += 1
    return Configuration(comp, np.asarray(out), (side, side, side))


def _unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)
