"""QTAIM (Bader) basins of the electron density: near-grid steepest ascent on a cube with
exact-gradient edge refinement (:func:`bader_partition`; the public entry is
:func:`polcg.qm.aim.qtaim_volumes`).

Bader basins: the region whose steepest-ascent paths end at the atom's density maximum.

1. ρ on a cubic lattice (spacing h) spanning the atoms ± ``margin``; the lattice axes are a
   fixed generic rotation of x, y, z (``_AXES``): with axis-aligned lattices, interatomic
   surfaces of molecules in standard orientations (CO2 along z) lie along lattice planes and
   the point count of a basin jumps by ±h/2 × the surface area (V_C of CO2: 5.6–7.4 Å³ at
   h = 0.1–0.2 Å axis-aligned, 6.28–6.39 Å³ rotated). ρ on the box faces must be < 0.1·cutoff.
2. Near-grid steepest ascent of every lattice point with ρ ≥ 1e-5·cutoff (G. Henkelman,
   A. Arnaldsson, H. Jónsson, Comput. Mater. Sci. 36, 354 (2006); W. Tang, E. Sanville,
   G. Henkelman, J. Phys.: Condens. Matter 21, 084204 (2009)), all walkers advanced
   together: a step to the lattice neighbour along the central-difference ∇ρ, the
   off-lattice remainder accumulated in a correction vector; where that step does not raise
   ρ, the on-grid steepest-ascent neighbour (max (ρ_n − ρ)/|d_n| of 26) instead; stop at an
   on-grid maximum. Every point walks to its maximum (no early termination). Each maximum
   goes to its nearest nucleus; one > 0.5 Å from all nuclei is a non-nuclear attractor (note).
3. Exact-gradient edge refinement. All-electron densities have small basins whose maxima
   the lattice resolves poorly: the O–H bond critical point of water lies 0.18 Å from H,
   and the near-grid walk alone merges both H basins of water into O at h ≥ 0.2 Å, one at
   0.15 Å, and gives V_H 10 % too small at 0.1 Å (5 % at 0.07 Å). So every
   lattice point on a basin edge (a 26-neighbour in another basin, or within 2h of a nucleus
   but outside its basin) with ρ ≥ 0.1·cutoff is re-assigned by steepest ascent on the
   analytic density (pyscf ∇ρ, midpoint steps of ≤ 0.2 bohr), ending within 0.1 Å of a
   nucleus; neighbours of re-assigned points are checked in turn until nothing changes. In
   the spirit of the 2009 paper's edge refinement, with exact rather than lattice paths.
4. Volume of atom A = Σ over its lattice points of the fraction of the point's cell h³ with
   ρ ≥ cutoff (0/1 except within a cell of the isosurface, where the cell is cut by the plane
   at which ln ρ, linear, crosses ln cutoff; this removes most point-counting noise and
   overestimates by ~h²/(4R²) for a surface of radius R: +0.1 % for the H atom at 0.1 Å).
5. Populations on pyscf's Becke grid (level 5): a Becke point in a lattice cell whose 8
   corners share a basin takes it; in a mixed cell it follows its own exact ascent. Σ = N to
   the Becke grid's accuracy although the lattice cannot resolve the nuclear cusps.

Measured (HF/6-31G*, H2O O–H 0.957 Å, 104.5°, pyscf's z-matrix orientation, margin 5 Å,
2 CPU cores shared with other jobs): QTAIM volumes (Å³), O population (e), wall time.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.spatial.transform import Rotation

from polcg.errors import QMError
from polcg.qm.density_grids import (
    WALK_CHUNK,
    Lattice,
    becke_grid,
    check_electron_count,
    density_cube,
    nearest_atom,
    rho_grad,
    total_dm,
)
from polcg.units import ANGSTROM_TO_BOHR, BOHR_TO_ANGSTROM

#: Becke grid level for QTAIM populations
_POP_GRID_LEVEL = 5


#: a density maximum farther than this from every nucleus is a non-nuclear attractor (Å)
_NNA_DISTANCE_ANGSTROM = 0.5


#: the density on the cube's faces must stay below this fraction of the cutoff
_FACE_FRACTION = 0.1


#: cube points below this fraction of the cutoff are not walked (see _basin_labels)
_WALK_FRACTION = 1e-5


#: basin edges are refined by exact ascent down to this fraction of the cutoff (see _refine_edges)
_REFINE_FRACTION = 0.1


#: an exact-ascent path ends within this distance of a nucleus (bohr); well inside any basin
#: (the O–H bond critical point of water lies 0.18 Å from H)
_CAPTURE_BOHR = 0.1 * ANGSTROM_TO_BOHR


_MAX_EXACT_STEPS = 400  # exact-ascent steps before a path is cut short (typical paths: 20–60)


_SMALL_BATCH = 50_000  # exact-ascent batches below this run on one OpenMP thread


#: QTAIM lattice axes (rows): a fixed rotation keeping every lattice direction with indices ≤ 2
#: at least 4° from the Cartesian axes, their face/body diagonals and 15° steps in the coordinate
#: planes, so that no bond or interatomic plane of a molecule in a standard orientation lies along
#: a dense lattice plane (that makes the point count of a basin jump by ±h/2 × the plane's area)
_AXES = Rotation.from_euler("zxz", [307.0, 307.0, 354.0], degrees=True).as_matrix().T


_PAD = 2  # a near-grid step moves at most 2 points along an axis


_NEIGHBOURS = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1) if i or j or k])


def _neargrid_step(rho_v, rho_e, idx, corr, strides):
    """One near-grid step of walkers at flat indices ``idx`` (padded cube) with corrections ``corr``.

    Returns (new index, new correction, ok); ok is False where the step does not raise ρ.
    """
    up = np.stack([rho_e[idx + s] for s in strides], axis=1)
    down = np.stack([rho_e[idx - s] for s in strides], axis=1)
    r0 = rho_e[idx][:, None]
    grad = np.where((up < r0) & (down < r0), 0.0, up - down)  # 2·∇ρ·h; 0 along axes where p is a maximum
    gmax = np.abs(grad).max(axis=1)
    ok = gmax > 0
    dr = grad / np.where(ok, gmax, 1.0)[:, None]  # largest component ±1 grid step
    step = np.rint(dr)
    corr = corr + dr - step
    extra = np.rint(corr)
    corr -= extra
    new = idx + (step + extra).astype(np.int64) @ strides
    ok &= rho_v[new] > rho_v[idx]
    return new, corr, ok


def _ongrid_step(rho_v, idx, offsets, inv_len):
    """Steepest-ascent neighbour (of 26) of each walker; the walker itself at an on-grid maximum.

    Ties (a plateau of equal ρ, e.g. the 8 corners of the cell around a symmetric atom's nucleus)
    are broken by the flat index, so that (ρ, index) always increases and a plateau has one maximum.
    """
    nb = idx[:, None] + offsets[None, :]
    score = (rho_v[nb] - rho_v[idx][:, None]) * inv_len
    rows = np.arange(len(idx))
    best = np.argmax(score, axis=1)
    tie = np.where(score == 0, nb, -1).max(axis=1)
    return np.where(score[rows, best] > 0, nb[rows, best], np.where(tie > idx, tie, idx))


def _ascend(rho_v, rho_e, start, strides):
    """Flat index (padded cube) of the on-grid maximum that each walker in ``start`` climbs to."""
    offsets = _NEIGHBOURS @ strides
    inv_len = 1.0 / np.linalg.norm(_NEIGHBOURS, axis=1)
    final = np.empty_like(start)
    owner, idx, corr = np.arange(len(start)), start.copy(), np.zeros((len(start), 3))
    while idx.size:
        new, corr, ok = _neargrid_step(rho_v, rho_e, idx, corr, strides)
        if not ok.all():
            new[~ok] = _ongrid_step(rho_v, idx[~ok], offsets, inv_len)
            corr[~ok] = 0.0
        done = new == idx
        final[owner[done]] = idx[done]
        owner, idx, corr = owner[~done], new[~done], corr[~done]
    return final


def _basin_labels(mol, lat, rho, cutoff):
    """Atom index of the Bader basin of every cube point, the maxima (bohr) and their ρ.

    Points with ρ < _WALK_FRACTION·cutoff are not walked but given to the nearest nucleus:
    they count in no volume and hold ~1e-5 e in all (H atom beyond ρ = 1e-8 a.u.: 5e-6 e).
    """
    shape = np.array(rho.shape) + 2 * _PAD
    strides = np.array([shape[1] * shape[2], shape[2], 1], dtype=np.int64)
    rho_v = np.pad(rho, _PAD, constant_values=-np.inf).reshape(-1)  # walkers never leave the cube
    rho_e = np.pad(rho, _PAD, mode="edge").reshape(-1)  # one-sided differences on the faces
    walk = rho >= _WALK_FRACTION * cutoff
    start = np.flatnonzero(np.pad(walk, _PAD))  # flat indices in the padded cube
    final = np.concatenate([_ascend(rho_v, rho_e, start[c:c + WALK_CHUNK], strides)
                            for c in range(0, len(start), WALK_CHUNK)])
    maxima, which = np.unique(final, return_inverse=True)
    max_xyz = lat.xyz(np.column_stack(np.unravel_index(maxima, tuple(shape))) - _PAD)
    xyz = mol.atom_coords()
    labels = np.empty(rho.shape, dtype=np.int32)
    labels[walk] = nearest_atom(max_xyz, xyz)[which.reshape(-1)]
    rest = np.flatnonzero(~walk)
    for c in range(0, len(rest), WALK_CHUNK):
        ijk = np.column_stack(np.unravel_index(rest[c:c + WALK_CHUNK], rho.shape))
        labels[tuple(ijk.T)] = nearest_atom(lat.xyz(ijk), xyz)
    return labels, max_xyz, rho_v[maxima]


def _unit(v):
    """Rows of ``v`` normalised (zero rows stay zero)."""
    return v / np.maximum(np.linalg.norm(v, axis=1), 1e-300)[:, None]


def _exact_ascent(mol, dm, pts, attractors):
    """Atom whose basin each point (bohr) lies in, by steepest ascent on the analytic density.

    Midpoint (RK2) steps along ∇ρ/|∇ρ| of length min(s, 0.25·d) bohr, d the distance to the
    nearest nucleus; s starts at 0.2 and halves whenever a step does not raise ρ. A path ends
    within _CAPTURE_BOHR of a nucleus (that atom), or when s < 0.01 bohr, at a maximum off the
    nuclei: then it takes the atom of the nearest of ``attractors`` = (xyz bohr (m, 3), atom (m,)).
    """
    from pyscf import lib

    xyz = mol.atom_coords()
    att_xyz = np.vstack([xyz, attractors[0]])
    att_atom = np.concatenate([np.arange(mol.natm), attractors[1]]).astype(np.int64)
    p, s = np.array(pts, dtype=float), np.full(len(pts), 0.2)
    label = np.full(len(p), -1, dtype=np.int64)
    act = np.arange(len(p))
    with lib.with_omp_threads(1 if len(p) < _SMALL_BATCH else None):  # OpenMP start-up dominates small batches
        rho, grad = rho_grad(mol, dm, p)
    for _ in range(_MAX_EXACT_STEPS):
        d = np.linalg.norm(p[act, None, :] - xyz[None, :, :], axis=2).min(axis=1)
        stop = (d < _CAPTURE_BOHR) | (s[act] < 0.01)
        label[act[stop]] = att_atom[nearest_atom(p[act[stop]], att_xyz)]
        act, d = act[~stop], d[~stop]
        if not act.size:
            return label
        step = np.minimum(s[act], 0.25 * d)[:, None]
        with lib.with_omp_threads(1 if act.size < _SMALL_BATCH else None):
            mid = p[act] + 0.5 * step * _unit(grad[act])
            new = p[act] + step * _unit(rho_grad(mol, dm, mid)[1])
            rho_new, grad_new = rho_grad(mol, dm, new)
        up = rho_new > rho[act]
        p[act[up]], rho[act[up]], grad[act[up]] = new[up], rho_new[up], grad_new[up]
        s[act[~up]] *= 0.5
    label[act] = att_atom[nearest_atom(p[act], att_xyz)]
    return label


def _foreign_near_nuclei(mol, lat, labels):
    """Mask of cube points within 2 spacings of a nucleus but not in its basin (an unresolved maximum)."""
    mask = np.zeros(labels.shape, dtype=bool)
    box = np.stack(np.meshgrid(*[np.arange(-2, 4)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    for a, x in enumerate(mol.atom_coords()):
        ijk = np.floor(lat.index(x)).astype(np.int64) + box
        ok = np.all((ijk >= 0) & (ijk < labels.shape), axis=1)
        ijk = ijk[ok & (np.linalg.norm(lat.xyz(ijk) - x, axis=1) <= 2 * lat.h)]
        mask[tuple(ijk[labels[tuple(ijk.T)] != a].T)] = True
    return mask


def _refine_edges(mol, dm, lat, rho, labels, cutoff, attractors):
    """Re-assign basin-edge cube points with ρ ≥ _REFINE_FRACTION·cutoff by exact ascent, in place.

    Edge: a point with a 26-neighbour in another basin, or near a nucleus but outside its basin
    (a maximum the cube did not resolve). Neighbours of re-assigned points are checked in turn
    until no label changes, so a misplaced grid surface moves to the exact one.
    """
    from scipy import ndimage

    keep = rho >= _REFINE_FRACTION * cutoff
    todo = (ndimage.maximum_filter(labels, size=3) != ndimage.minimum_filter(labels, size=3)) & keep
    todo |= _foreign_near_nuclei(mol, lat, labels) & keep
    seen = np.zeros_like(keep)
    cube = np.ones((3, 3, 3), dtype=bool)
    while todo.any():
        ijk = np.argwhere(todo)
        new = _exact_ascent(mol, dm, lat.xyz(ijk), attractors)
        seen |= todo
        changed = np.zeros_like(keep)
        changed[tuple(ijk.T)] = new != labels[tuple(ijk.T)]
        labels[tuple(ijk.T)] = new
        todo = ndimage.binary_dilation(changed, structure=cube) & keep & ~seen
    return labels


def _cell_fraction(rho, h, cutoff):
    """Fraction of each cube point's cell (h³) with ρ ≥ cutoff.

    θ(ρ − cutoff), except near the isosurface (cutoff/3 < ρ < 3·cutoff), where the cell is cut by
    the plane at which ln ρ, linear along its gradient (central differences, exact for an
    exponential tail), reaches ln cutoff: fraction 0.5 + ln(ρ/cutoff)/(|∇ln ρ| h), clipped to
    [0, 1]. This removes most of the point-counting noise; it overestimates the volume inside a
    surface of curvature radius R by ~h²/(4R²) (0.1 % at h = 0.1 Å for the H atom, R = 1.5 Å).
    """
    frac = (rho >= cutoff).astype(float)
    band = np.nonzero((rho > cutoff / 3) & (rho < 3 * cutoff))  # never on the faces (_check_faces)
    logrho = np.log(np.maximum(rho, 1e-300))
    grad2 = np.zeros(len(band[0]))
    for axis in range(3):
        up, down = list(band), list(band)
        up[axis], down[axis] = band[axis] + 1, band[axis] - 1
        grad2 += ((logrho[tuple(up)] - logrho[tuple(down)]) / (2 * h)) ** 2
    dist = (logrho[band] - np.log(cutoff)) / np.maximum(np.sqrt(grad2), 1e-300)  # bohr, > 0 inside
    frac[band] = np.clip(0.5 + dist / h, 0.0, 1.0)
    return frac


def _check_faces(rho, cutoff, margin_angstrom):
    """QMError unless ρ on all six faces of the cube is below _FACE_FRACTION·cutoff."""
    faces = max(float(np.max(np.take(rho, i, axis=a))) for a in range(3) for i in (0, -1))
    if faces >= _FACE_FRACTION * cutoff:
        raise QMError(
            f"AIM volumes: the density on the faces of the cube reaches {faces:.2e} a.u., not well below "
            f"the cutoff {cutoff:g} a.u. (limit {_FACE_FRACTION * cutoff:.1e}); margin_angstrom="
            f"{margin_angstrom:g} Å is too small for this species, increase it"
        )


def _basin_populations(mol, dm, lat, labels, cutoff, attractors):
    """Electrons (e) per QTAIM basin, integrated on pyscf's Becke grid.

    A Becke point inside a cube cell whose 8 corners share a basin takes that basin; in a mixed
    cell it takes the basin of its own exact ascent (ρ ≥ _REFINE_FRACTION·cutoff) or of the
    nearest corner (lower ρ); outside the cube, the nearest nucleus.
    """
    coords, weight = becke_grid(mol, _POP_GRID_LEVEL)[:2]
    rho = rho_grad(mol, dm, coords, deriv=0)[0]
    atom = nearest_atom(coords, mol.atom_coords())
    frac = lat.index(coords)
    inside = np.all((frac >= 0) & (frac < np.array(labels.shape) - 1), axis=1)
    cell = np.floor(frac[inside]).astype(np.int64)
    corners = np.stack([labels[tuple((cell + c).T)] for c in np.ndindex(2, 2, 2)], axis=1)
    mixed = np.any(corners != corners[:, :1], axis=1)
    atom[inside] = np.where(mixed, labels[tuple(np.floor(frac[inside] + 0.5).astype(np.int64).T)], corners[:, 0])
    exact = np.nonzero(inside)[0][mixed & (rho[inside] >= _REFINE_FRACTION * cutoff)]
    atom[exact] = _exact_ascent(mol, dm, coords[exact], attractors)
    pop = np.bincount(atom, weights=weight * rho, minlength=mol.natm)
    check_electron_count(mol, pop, _POP_GRID_LEVEL, "qtaim")
    return pop


def _attractor_notes(mol, max_xyz, max_rho, cutoff):
    """Notes on density maxima farther than _NNA_DISTANCE_ANGSTROM from every nucleus."""
    xyz = mol.atom_coords()
    d = np.linalg.norm(max_xyz[:, None, :] - xyz[None, :, :], axis=2) * BOHR_TO_ANGSTROM
    far = np.nonzero(d.min(axis=1) > _NNA_DISTANCE_ANGSTROM)[0]
    notes = [
        f"non-nuclear attractor at {np.round(max_xyz[m] * BOHR_TO_ANGSTROM, 3).tolist()} Å (rho "
        f"{max_rho[m]:.3g} a.u.), {d[m].min():.2f} Å from {mol.atom_symbol(int(d[m].argmin()))}"
        f"{int(d[m].argmin())}; its basin is given to that atom"
        for m in far if max_rho[m] >= cutoff
    ]
    n_low = int(np.sum(max_rho[far] < cutoff))
    if n_low:
        notes.append(f"{n_low} density maxima below the cutoff away from nuclei (tail artefacts) "
                     "given to their nearest atoms")
    return notes


def _off_nuclear(mol, max_xyz):
    """(xyz bohr, atom) of the density maxima farther than _NNA_DISTANCE_ANGSTROM from every nucleus."""
    atom = nearest_atom(max_xyz, mol.atom_coords())
    off = np.linalg.norm(max_xyz - mol.atom_coords()[atom], axis=1) > _NNA_DISTANCE_ANGSTROM * ANGSTROM_TO_BOHR
    return max_xyz[off], atom[off]


def _unresolved_notes(mol, labels, max_xyz):
    """Atoms owning a basin whose density maximum the cube missed (found by the edge refinement)."""
    missed = set(np.unique(labels).tolist()) - set(nearest_atom(max_xyz, mol.atom_coords()).tolist())
    return [
        f"the cube did not resolve the density maximum of {mol.atom_symbol(a)}{a}; its basin comes from "
        "the exact-gradient edge refinement (a finer spacing resolves it)" for a in sorted(missed)
    ]


class BaderPartition(NamedTuple):
    """Per-atom QTAIM volumes (Å³, ρ ≥ cutoff) and populations (e), the number of density maxima
    (on the lattice, plus nuclei the lattice missed and the edge refinement recovered), notes."""

    volumes_angstrom3: tuple[float, ...]
    populations: tuple[float, ...]
    n_maxima: int
    notes: tuple[str, ...]


def bader_partition(mol, dm, *, spacing_angstrom=0.1, density_cutoff_au=1e-3, margin_angstrom=5.0) -> BaderPartition:
    """QTAIM (Bader) atomic volumes and populations by steps 1-5 of the module notes.

    ``spacing_angstrom``: lattice spacing (volumes change < 1 % from 0.15 to 0.1 Å, see the
    module notes); ``margin_angstrom``: box margin around the atoms (QMError if ρ on the box
    faces is not below 0.1·cutoff). ``dm``: total AO density, or a (2, nao, nao) α/β stack.
    """
    dm = total_dm(mol, dm)
    origin, h, rho = density_cube(mol, dm, spacing_angstrom, margin_angstrom, axes=_AXES)
    _check_faces(rho, density_cutoff_au, margin_angstrom)
    lat = Lattice(origin, h, _AXES)
    labels, max_xyz, max_rho = _basin_labels(mol, lat, rho, density_cutoff_au)
    attractors = _off_nuclear(mol, max_xyz)  # non-nuclear maxima and the atoms they are given to
    _refine_edges(mol, dm, lat, rho, labels, density_cutoff_au, attractors)
    frac = _cell_fraction(rho, h, density_cutoff_au)
    vol = np.bincount(labels.ravel(), weights=frac.ravel(), minlength=mol.natm) * (h * BOHR_TO_ANGSTROM) ** 3
    pop = _basin_populations(mol, dm, lat, labels, density_cutoff_au, attractors)
    unresolved = _unresolved_notes(mol, labels[rho >= _REFINE_FRACTION * density_cutoff_au], max_xyz)
    return BaderPartition(tuple(map(float, vol)), tuple(map(float, pop)), len(max_xyz) + len(unresolved),
                          tuple(_attractor_notes(mol, max_xyz, max_rho, density_cutoff_au) + unresolved))
