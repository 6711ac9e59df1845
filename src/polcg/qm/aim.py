"""Atom-in-molecule volumes, for splitting an ion's polarizability over beads (α_bead = α · V_bead / V).

Two partitions of the electron density ρ (pyscf ``Mole`` + AO density matrix). For each atom
they give the volume of its region inside the ρ = ``density_cutoff_au`` isosurface (0.001 a.u.
by default, Bader's molecular envelope) and the electrons in its whole region.

``qtaim`` (:func:`qtaim_volumes`)
    Bader basins: the region whose steepest-ascent paths end at the atom's density maximum;
    the algorithm, its accuracy against lattice spacing and its caveats are in
    :mod:`polcg.qm.bader`.

``hirshfeld`` (:func:`hirshfeld_volumes`)
    V_A = ∫ w_A θ(ρ − cutoff), N_A = ∫ w_A ρ, w_A the stockholder weights of the free atoms of
    :mod:`polcg.qm.hirshfeld`, on pyscf's Becke grid. The step θ is integrated to first order:
    each Becke point counts the fraction of its radial cell (the shell whose volume is the
    radius's quadrature weight) inside the crossing radius where ln ρ, extrapolated along the
    ray from its nucleus, reaches ln cutoff. With plain θ the H-atom volume (aug-cc-pVTZ)
    scatters by −16 … +9 % over grid levels 1–9; with it, 14.770 ± 0.002 Å³ at levels 1–7.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from polcg.qm.bader import bader_partition
from polcg.qm.density_grids import becke_grid, check_electron_count, rho_grad, total_dm
from polcg.units import BOHR_TO_ANGSTROM


@dataclass(frozen=True)
class AIMVolumes:
    """Per-atom volumes (Å³, the part with ρ ≥ ``density_cutoff_au``) and populations (e).

    ``populations`` count the whole region (not cut at the isosurface); ``n_maxima`` is the
    number of density maxima (qtaim: on the lattice, plus nuclei the lattice missed and the
    edge refinement recovered; hirshfeld: natm); ``spacing_angstrom`` is None for hirshfeld.
    """

    scheme: str
    volumes_angstrom3: tuple[float, ...]
    populations: tuple[float, ...]
    density_cutoff_au: float
    spacing_angstrom: float | None
    n_maxima: int
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        """Plain dict (tuples as lists), JSON-serialisable."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def qtaim_volumes(mol, dm, *, spacing_angstrom=0.1, density_cutoff_au=1e-3, margin_angstrom=5.0) -> AIMVolumes:
    """QTAIM (Bader) atomic volumes (Å³, ρ ≥ ``density_cutoff_au`` e/bohr³) and populations (e).

    ``spacing_angstrom``: lattice spacing (volumes change < 1 % from 0.15 to 0.1 Å, see
    :mod:`polcg.qm.bader`); ``margin_angstrom``: box margin around the atoms (QMError if ρ on the
    box faces is not below 0.1·cutoff). ``dm``: total AO density, or a (2, nao, nao) α/β stack.
    """
    part = bader_partition(mol, dm, spacing_angstrom=spacing_angstrom, density_cutoff_au=density_cutoff_au,
                           margin_angstrom=margin_angstrom)
    return AIMVolumes(
        scheme="qtaim", volumes_angstrom3=part.volumes_angstrom3, populations=part.populations,
        density_cutoff_au=float(density_cutoff_au), spacing_angstrom=float(spacing_angstrom),
        n_maxima=part.n_maxima, notes=part.notes,
    )


def _inside_fraction(mol, coords, atm, lo, hi, rho, grad, cutoff):
    """Fraction of each Becke point's radial cell with ρ ≥ cutoff (θ(ρ − cutoff), made first order).

    Along the ray from the parent nucleus ln ρ is extrapolated linearly to the crossing radius r*;
    the fraction of the cell volume inside r* replaces the step, so the integral of the step
    function converges like a smooth one. Where ρ does not fall along the ray, plain θ.
    """
    ray = coords - mol.atom_coords()[atm]
    r = np.linalg.norm(ray, axis=1)
    slope = np.einsum("ij,ij->i", grad, ray) / np.maximum(r * rho, 1e-300)  # d ln ρ / dr
    theta = (rho >= cutoff).astype(float)
    falling = (slope < 0) & (rho > 0)
    rstar = r[falling] + (np.log(cutoff) - np.log(rho[falling])) / slope[falling]
    l3, h3 = lo[falling] ** 3, hi[falling] ** 3
    theta[falling] = np.clip((np.maximum(rstar, 0.0) ** 3 - l3) / (h3 - l3), 0.0, 1.0)
    return theta


def hirshfeld_volumes(mol, dm, *, density_cutoff_au=1e-3, grid_level=3) -> AIMVolumes:
    """Hirshfeld volumes V_A = ∫ w_A θ(ρ − cutoff) dr (Å³) and populations ∫ w_A ρ dr (e).

    w_A: stockholder weights of the free atoms of :func:`polcg.qm.hirshfeld.free_atom_log_densities`;
    integrals on pyscf's Becke grid of ``grid_level``. ``dm``: total AO density or α/β stack.
    """
    from scipy.special import logsumexp

    from polcg.qm.hirshfeld import free_atom_log_densities

    dm = total_dm(mol, dm)
    logrho_free = free_atom_log_densities(mol)
    coords, weight, atm, lo, hi = becke_grid(mol, grid_level)
    rho, grad = rho_grad(mol, dm, coords)
    inside = _inside_fraction(mol, coords, atm, lo, hi, rho, grad, density_cutoff_au)
    dist = np.linalg.norm(coords[:, None, :] - mol.atom_coords()[None, :, :], axis=2)
    logw = np.stack([f(dist[:, a]) for a, f in enumerate(logrho_free)], axis=1)
    w = np.exp(logw - logsumexp(logw, axis=1, keepdims=True))  # stockholder weights, as in hirshfeld.py
    vol, pop = w.T @ (weight * inside), w.T @ (weight * rho)
    check_electron_count(mol, pop, grid_level, "hirshfeld")
    return AIMVolumes(
        scheme="hirshfeld", volumes_angstrom3=tuple(map(float, vol * BOHR_TO_ANGSTROM**3)),
        populations=tuple(map(float, pop)), density_cutoff_au=float(density_cutoff_au),
        spacing_angstrom=None, n_maxima=mol.natm,
    )
