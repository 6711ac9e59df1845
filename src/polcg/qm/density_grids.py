"""The electron density where the atom-in-molecule partitions need it: on a cubic lattice
(:func:`density_cube`, :class:`Lattice`), at arbitrary points with its gradient (:func:`rho_grad`),
and pyscf's Becke grid with the radial cell of each point (:func:`becke_grid`). Bohr and
atomic units throughout; used by :mod:`polcg.qm.bader` and :mod:`polcg.qm.aim`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from polcg.errors import QMError
from polcg.units import ANGSTROM_TO_BOHR

BLOCK_BYTES = 200e6  # AO values per density block


WALK_CHUNK = 1 << 18  # walkers advanced together (bounds the (n, 26) neighbour arrays)


def density_cube(mol, dm, spacing_angstrom: float, margin_angstrom: float = 5.0, axes=None):
    """Electron density on a cubic lattice around the atoms of ``mol``.

    ``axes``: rows are the lattice's unit vectors (an orthogonal 3×3 matrix; default the
    Cartesian axes, an axis-aligned cube). The box spans the atoms' extent along those axes
    ± ``margin_angstrom``, with an even number of points per axis centred on the extent's
    centre. Returns ``(origin_bohr (3,), spacing_bohr, rho (nx, ny, nz))``, ρ in e/bohr³;
    point (i, j, k) lies at ``origin + spacing·(i, j, k) @ axes``.
    """
    from pyscf.dft import numint

    dm = total_dm(mol, dm)
    axes = np.eye(3) if axes is None else np.asarray(axes, dtype=float)
    h = spacing_angstrom * ANGSTROM_TO_BOHR
    xyz = mol.atom_coords() @ axes.T  # lattice frame
    lo, hi = xyz.min(axis=0), xyz.max(axis=0)
    n = np.ceil((hi - lo + 2 * margin_angstrom * ANGSTROM_TO_BOHR) / h).astype(int) + 1
    n += n % 2
    origin = (0.5 * (lo + hi) - 0.5 * (n - 1) * h) @ axes
    rho = np.empty(int(np.prod(n)))
    block = max(1024, int(BLOCK_BYTES / (8 * 3 * mol.nao_nr())))  # AO values, AO·D and a spare
    for p0 in range(0, rho.size, block):
        ijk = np.column_stack(np.unravel_index(np.arange(p0, min(p0 + block, rho.size)), tuple(n)))
        ao = numint.eval_ao(mol, origin + h * ijk @ axes)
        rho[p0:p0 + len(ijk)] = numint.eval_rho(mol, ao, dm, xctype="LDA", hermi=1)
    return origin, float(h), rho.reshape(tuple(n))


class Lattice(NamedTuple):
    """Where the cube's points are: (i, j, k) ↦ origin + h·(i, j, k) @ axes (bohr)."""

    origin: np.ndarray
    h: float
    axes: np.ndarray

    def xyz(self, ijk):
        return self.origin + self.h * np.asarray(ijk) @ self.axes

    def index(self, xyz):
        """Fractional lattice coordinates of Cartesian points (bohr)."""
        return (np.asarray(xyz) - self.origin) @ self.axes.T / self.h


def total_dm(mol, dm) -> np.ndarray:
    """Validated total (α+β) AO density (a (2, nao, nao) stack is summed)."""
    from polcg.qm.density_check import check_mol_dm

    return check_mol_dm(mol, dm)


def nearest_atom(points, xyz):
    """Index of the nearest nucleus (rows of ``xyz``) of each point (same units)."""
    out = np.empty(len(points), dtype=np.int64)
    for p0 in range(0, len(points), WALK_CHUNK):
        d2 = ((points[p0:p0 + WALK_CHUNK, None, :] - xyz[None, :, :]) ** 2).sum(axis=2)
        out[p0:p0 + WALK_CHUNK] = d2.argmin(axis=1)
    return out


def rho_grad(mol, dm, pts, deriv=1):
    """ρ (n,) and, for ``deriv=1``, ∇ρ (n, 3) (else None) in atomic units at ``pts`` (bohr), analytically."""
    from pyscf.dft import numint

    rho, grad = np.empty(len(pts)), np.empty((len(pts), 3)) if deriv else None
    block = max(1024, int(BLOCK_BYTES / (8 * (2 + 4 * deriv) * mol.nao_nr())))
    for p0 in range(0, len(pts), block):
        ao = numint.eval_ao(mol, pts[p0:p0 + block], deriv=deriv)
        r = numint.eval_rho(mol, ao, dm, xctype="GGA" if deriv else "LDA", hermi=1)
        if deriv:
            rho[p0:p0 + block], grad[p0:p0 + block] = r[0], r[1:4].T
        else:
            rho[p0:p0 + block] = r
    return rho, grad


def becke_grid(mol, level):
    """pyscf's Becke grid: points (bohr), weights (bohr³), parent atom, radial cell [lo, hi] (bohr).

    The radial cell of a point on atom A's grid is the shell [lo, hi] around its radius whose
    volume 4π(hi³ − lo³)/3 equals that radius's quadrature weight (cumulative over the shells).
    """
    from pyscf import dft

    grids = dft.gen_grid.Grids(mol)
    grids.level = level
    grids.build()
    keep = grids.atm_idx >= 0  # drop pyscf's zero-weight padding
    coords, weights, atm = grids.coords[keep], grids.weights[keep], grids.atm_idx[keep]
    tab = grids.gen_atomic_grids(mol, grids.atom_grid, grids.radi_method, grids.level, grids.prune)
    r = np.linalg.norm(coords - mol.atom_coords()[atm], axis=1)
    lo, hi = np.empty_like(r), np.empty_like(r)
    for a in range(mol.natm):
        unit_xyz, vol = tab[mol.atom_symbol(a)]
        radii, shell = np.unique(np.round(np.linalg.norm(unit_xyz, axis=1), 10), return_inverse=True)
        edges = np.cbrt(np.concatenate([[0.0], np.cumsum(np.bincount(shell, vol))]) * 3 / (4 * np.pi))
        sel = atm == a
        k = np.clip(np.searchsorted(radii, r[sel] - 1e-8), 0, len(radii) - 1)
        lo[sel], hi[sel] = edges[k], edges[k + 1]
    return coords, weights, atm, lo, hi


def check_electron_count(mol, pop, grid_level, scheme):
    from polcg.qm.hirshfeld import MAX_ELECTRON_COUNT_ERROR

    err = float(np.sum(pop)) - mol.nelectron
    if abs(err) > MAX_ELECTRON_COUNT_ERROR:
        raise QMError(
            f"AIM volumes ({scheme}): Becke grid level {grid_level} integrates {np.sum(pop):.6f} electrons "
            f"for {mol.nelectron} (error {err:+.2e} e > {MAX_ELECTRON_COUNT_ERROR:g})"
        )
