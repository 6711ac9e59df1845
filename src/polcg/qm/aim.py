"""Atom-in-molecule volumes, for splitting an ion's polarizability over beads (α_bead = α · V_bead / V).

Two partitions of the electron density ρ (pyscf ``Mole`` + AO density matrix). For each atom
they give the volume of its region inside the ρ = ``density_cutoff_au`` isosurface (0.001 a.u.
by default, Bader's molecular envelope) and the electrons in its whole region.

``qtaim`` (:func:`qtaim_volumes`)
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

``hirshfeld`` (:func:`hirshfeld_volumes`)
    V_A = ∫ w_A θ(ρ − cutoff), N_A = ∫ w_A ρ, w_A the stockholder weights of the free atoms of
    :mod:`polcg.qm.hirshfeld`, on pyscf's Becke grid. The step θ is integrated to first order:
    each Becke point counts the fraction of its radial cell (the shell whose volume is the
    radius's quadrature weight) inside the crossing radius where ln ρ, extrapolated along the
    ray from its nucleus, reaches ln cutoff. With plain θ the H-atom volume (aug-cc-pVTZ)
    scatters by −16 … +9 % over grid levels 1–9; with it, 14.770 ± 0.002 Å³ at levels 1–7.

Measured (HF/6-31G*, H2O O–H 0.957 Å, 104.5°, pyscf's z-matrix orientation, margin 5 Å,
2 CPU cores shared with other jobs): QTAIM volumes (Å³), O population (e), wall time.

=========  ==========  ======  =====  =====  ======  ======  ======
h (Å)      points      V_O     V_H1   V_H2   ΣV      N_O     time s
=========  ==========  ======  =====  =====  ======  ======  ======
0.30          57 760   20.039  2.947  2.918  25.903  9.1717   0.9
0.20         174 960   19.858  2.992  2.927  25.778  9.1717   1.0
0.15         404 352   19.875  2.943  2.921  25.739  9.1707   1.5
0.10       1 353 024   19.849  2.926  2.929  25.704  9.1692   3.1
0.07       3 835 264   19.837  2.928  2.925  25.691  9.1689   8.6
=========  ==========  ======  =====  =====  ======  ======  ======

From h = 0.15 Å every volume changes < 1 % (0.15 → 0.1: ≤ 0.6 %; 0.1 → 0.07: ≤ 0.15 %);
0.2 Å is within 2.2 %, 0.3 Å within ~1 % here (the H maxima unresolved at 0.3 and 0.2 Å, see
notes, but recovered by step 3). Populations agree to 0.003 e at all spacings. Hirshfeld at
level 3: V = 14.502 / 5.593 / 5.590 Å³ (ΣV 25.684, the same isosurface), N_O 8.356, 0.4 s.
[EtNH3]+ (11 atoms, HF/6-31G*): QTAIM 8 s at 0.15 Å, 16 s at 0.1 Å (atom volumes within
1 % of each other); Hirshfeld 1–2 s.

Caveats: with Gaussian basis sets an H density maximum can sit off its nucleus (0.03 Å in
water at 6-31G*, inside the 0.1 Å capture radius). A non-nuclear attractor's basin goes
wholly to its nearest atom. Small basins (B in BF4−, ~0.9 Å³) carry ~±0.05 Å³ of lattice
noise at h = 0.1–0.2 Å. Populations from Becke quadrature of a discontinuous basin carry
~0.01 e of noise (the four F of BF4− at 6-31G*: 9.894–9.904 e).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np
from scipy.spatial.transform import Rotation

from polcg.errors import QMError
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
_BLOCK_BYTES = 200e6  # AO values per density block
_WALK_CHUNK = 1 << 18  # walkers advanced together (bounds the (n, 26) neighbour arrays)
#: QTAIM lattice axes (rows): a fixed rotation keeping every lattice direction with indices ≤ 2
#: at least 4° from the Cartesian axes, their face/body diagonals and 15° steps in the coordinate
#: planes, so that no bond or interatomic plane of a molecule in a standard orientation lies along
#: a dense lattice plane (that makes the point count of a basin jump by ±h/2 × the plane's area)
_AXES = Rotation.from_euler("zxz", [307.0, 307.0, 354.0], degrees=True).as_matrix().T
_PAD = 2  # a near-grid step moves at most 2 points along an axis
_NEIGHBOURS = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1) if i or j or k])


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


def density_cube(mol, dm, spacing_angstrom: float, margin_angstrom: float = 5.0, axes=None):
    """Electron density on a cubic lattice around the atoms of ``mol``.

    ``axes``: rows are the lattice's unit vectors (an orthogonal 3×3 matrix; default the
    Cartesian axes, an axis-aligned cube). The box spans the atoms' extent along those axes
    ± ``margin_angstrom``, with an even number of points per axis centred on the extent's
    centre. Returns ``(origin_bohr (3,), spacing_bohr, rho (nx, ny, nz))``, ρ in e/bohr³;
    point (i, j, k) lies at ``origin + spacing·(i, j, k) @ axes``.
    """
    from pyscf.dft import numint

    dm = _total_dm(mol, dm)
    axes = np.eye(3) if axes is None else np.asarray(axes, dtype=float)
    h = spacing_angstrom * ANGSTROM_TO_BOHR
    xyz = mol.atom_coords() @ axes.T  # lattice frame
    lo, hi = xyz.min(axis=0), xyz.max(axis=0)
    n = np.ceil((hi - lo + 2 * margin_angstrom * ANGSTROM_TO_BOHR) / h).astype(int) + 1
    n += n % 2
    origin = (0.5 * (lo + hi) - 0.5 * (n - 1) * h) @ axes
    rho = np.empty(int(np.prod(n)))
    block = max(1024, int(_BLOCK_BYTES / (8 * 3 * mol.nao_nr())))  # AO values, AO·D and a spare
    for p0 in range(0, rho.size, block):
        ijk = np.column_stack(np.unravel_index(np.arange(p0, min(p0 + block, rho.size)), tuple(n)))
        ao = numint.eval_ao(mol, origin + h * ijk @ axes)
        rho[p0:p0 + len(ijk)] = numint.eval_rho(mol, ao, dm, xctype="LDA", hermi=1)
    return origin, float(h), rho.reshape(tuple(n))


class _Lattice(NamedTuple):
    """Where the cube's points are: (i, j, k) ↦ origin + h·(i, j, k) @ axes (bohr)."""

    origin: np.ndarray
    h: float
    axes: np.ndarray

    def xyz(self, ijk):
        return self.origin + self.h * np.asarray(ijk) @ self.axes

    def index(self, xyz):
        """Fractional lattice coordinates of Cartesian points (bohr)."""
        return (np.asarray(xyz) - self.origin) @ self.axes.T / self.h


def _total_dm(mol, dm) -> np.ndarray:
    """Validated total (α+β) AO density (a (2, nao, nao) stack is summed)."""
    from polcg.qm.populations import check_mol_dm

    return check_mol_dm(mol, dm)


# --------------------------------------------------------------------------
# near-grid steepest ascent on the cube


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


def _nearest_atom(points, xyz):
    """Index of the nearest nucleus (rows of ``xyz``) of each point (same units)."""
    out = np.empty(len(points), dtype=np.int64)
    for p0 in range(0, len(points), _WALK_CHUNK):
        d2 = ((points[p0:p0 + _WALK_CHUNK, None, :] - xyz[None, :, :]) ** 2).sum(axis=2)
        out[p0:p0 + _WALK_CHUNK] = d2.argmin(axis=1)
    return out


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
    final = np.concatenate([_ascend(rho_v, rho_e, start[c:c + _WALK_CHUNK], strides)
                            for c in range(0, len(start), _WALK_CHUNK)])
    maxima, which = np.unique(final, return_inverse=True)
    max_xyz = lat.xyz(np.column_stack(np.unravel_index(maxima, tuple(shape))) - _PAD)
    xyz = mol.atom_coords()
    labels = np.empty(rho.shape, dtype=np.int32)
    labels[walk] = _nearest_atom(max_xyz, xyz)[which.reshape(-1)]
    rest = np.flatnonzero(~walk)
    for c in range(0, len(rest), _WALK_CHUNK):
        ijk = np.column_stack(np.unravel_index(rest[c:c + _WALK_CHUNK], rho.shape))
        labels[tuple(ijk.T)] = _nearest_atom(lat.xyz(ijk), xyz)
    return labels, max_xyz, rho_v[maxima]


def _rho_grad(mol, dm, pts, deriv=1):
    """ρ (n,) and, for ``deriv=1``, ∇ρ (n, 3) (else None) in atomic units at ``pts`` (bohr), analytically."""
    from pyscf.dft import numint

    rho, grad = np.empty(len(pts)), np.empty((len(pts), 3)) if deriv else None
    block = max(1024, int(_BLOCK_BYTES / (8 * (2 + 4 * deriv) * mol.nao_nr())))
    for p0 in range(0, len(pts), block):
        ao = numint.eval_ao(mol, pts[p0:p0 + block], deriv=deriv)
        r = numint.eval_rho(mol, ao, dm, xctype="GGA" if deriv else "LDA", hermi=1)
        if deriv:
            rho[p0:p0 + block], grad[p0:p0 + block] = r[0], r[1:4].T
        else:
            rho[p0:p0 + block] = r
    return rho, grad


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
        rho, grad = _rho_grad(mol, dm, p)
    for _ in range(_MAX_EXACT_STEPS):
        d = np.linalg.norm(p[act, None, :] - xyz[None, :, :], axis=2).min(axis=1)
        stop = (d < _CAPTURE_BOHR) | (s[act] < 0.01)
        label[act[stop]] = att_atom[_nearest_atom(p[act[stop]], att_xyz)]
        act, d = act[~stop], d[~stop]
        if not act.size:
            return label
        step = np.minimum(s[act], 0.25 * d)[:, None]
        with lib.with_omp_threads(1 if act.size < _SMALL_BATCH else None):
            mid = p[act] + 0.5 * step * _unit(grad[act])
            new = p[act] + step * _unit(_rho_grad(mol, dm, mid)[1])
            rho_new, grad_new = _rho_grad(mol, dm, new)
        up = rho_new > rho[act]
        p[act[up]], rho[act[up]], grad[act[up]] = new[up], rho_new[up], grad_new[up]
        s[act[~up]] *= 0.5
    label[act] = att_atom[_nearest_atom(p[act], att_xyz)]
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


def _becke_grid(mol, level):
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


def _check_electron_count(mol, pop, grid_level, scheme):
    from polcg.qm.hirshfeld import MAX_ELECTRON_COUNT_ERROR

    err = float(np.sum(pop)) - mol.nelectron
    if abs(err) > MAX_ELECTRON_COUNT_ERROR:
        raise QMError(
            f"AIM volumes ({scheme}): Becke grid level {grid_level} integrates {np.sum(pop):.6f} electrons "
            f"for {mol.nelectron} (error {err:+.2e} e > {MAX_ELECTRON_COUNT_ERROR:g})"
        )


def _basin_populations(mol, dm, lat, labels, cutoff, attractors):
    """Electrons (e) per QTAIM basin, integrated on pyscf's Becke grid.

    A Becke point inside a cube cell whose 8 corners share a basin takes that basin; in a mixed
    cell it takes the basin of its own exact ascent (ρ ≥ _REFINE_FRACTION·cutoff) or of the
    nearest corner (lower ρ); outside the cube, the nearest nucleus.
    """
    coords, weight = _becke_grid(mol, _POP_GRID_LEVEL)[:2]
    rho = _rho_grad(mol, dm, coords, deriv=0)[0]
    atom = _nearest_atom(coords, mol.atom_coords())
    frac = lat.index(coords)
    inside = np.all((frac >= 0) & (frac < np.array(labels.shape) - 1), axis=1)
    cell = np.floor(frac[inside]).astype(np.int64)
    corners = np.stack([labels[tuple((cell + c).T)] for c in np.ndindex(2, 2, 2)], axis=1)
    mixed = np.any(corners != corners[:, :1], axis=1)
    atom[inside] = np.where(mixed, labels[tuple(np.floor(frac[inside] + 0.5).astype(np.int64).T)], corners[:, 0])
    exact = np.nonzero(inside)[0][mixed & (rho[inside] >= _REFINE_FRACTION * cutoff)]
    atom[exact] = _exact_ascent(mol, dm, coords[exact], attractors)
    pop = np.bincount(atom, weights=weight * rho, minlength=mol.natm)
    _check_electron_count(mol, pop, _POP_GRID_LEVEL, "qtaim")
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
    atom = _nearest_atom(max_xyz, mol.atom_coords())
    off = np.linalg.norm(max_xyz - mol.atom_coords()[atom], axis=1) > _NNA_DISTANCE_ANGSTROM * ANGSTROM_TO_BOHR
    return max_xyz[off], atom[off]


def _unresolved_notes(mol, labels, max_xyz):
    """Atoms owning a basin whose density maximum the cube missed (found by the edge refinement)."""
    missed = set(np.unique(labels).tolist()) - set(_nearest_atom(max_xyz, mol.atom_coords()).tolist())
    return [
        f"the cube did not resolve the density maximum of {mol.atom_symbol(a)}{a}; its basin comes from "
        "the exact-gradient edge refinement (a finer spacing resolves it)" for a in sorted(missed)
    ]


def qtaim_volumes(mol, dm, *, spacing_angstrom=0.1, density_cutoff_au=1e-3, margin_angstrom=5.0) -> AIMVolumes:
    """QTAIM (Bader) atomic volumes (Å³, ρ ≥ ``density_cutoff_au`` e/bohr³) and populations (e).

    ``spacing_angstrom``: lattice spacing (volumes change < 1 % from 0.15 to 0.1 Å, see the
    module notes); ``margin_angstrom``: box margin around the atoms (QMError if ρ on the box
    faces is not below 0.1·cutoff). ``dm``: total AO density, or a (2, nao, nao) α/β stack.
    """
    dm = _total_dm(mol, dm)
    origin, h, rho = density_cube(mol, dm, spacing_angstrom, margin_angstrom, axes=_AXES)
    _check_faces(rho, density_cutoff_au, margin_angstrom)
    lat = _Lattice(origin, h, _AXES)
    labels, max_xyz, max_rho = _basin_labels(mol, lat, rho, density_cutoff_au)
    attractors = _off_nuclear(mol, max_xyz)  # non-nuclear maxima and the atoms they are given to
    _refine_edges(mol, dm, lat, rho, labels, density_cutoff_au, attractors)
    frac = _cell_fraction(rho, h, density_cutoff_au)
    vol = np.bincount(labels.ravel(), weights=frac.ravel(), minlength=mol.natm) * (h * BOHR_TO_ANGSTROM) ** 3
    pop = _basin_populations(mol, dm, lat, labels, density_cutoff_au, attractors)
    unresolved = _unresolved_notes(mol, labels[rho >= _REFINE_FRACTION * density_cutoff_au], max_xyz)
    return AIMVolumes(
        scheme="qtaim", volumes_angstrom3=tuple(map(float, vol)), populations=tuple(map(float, pop)),
        density_cutoff_au=float(density_cutoff_au), spacing_angstrom=float(spacing_angstrom),
        n_maxima=len(max_xyz) + len(unresolved),
        notes=tuple(_attractor_notes(mol, max_xyz, max_rho, density_cutoff_au) + unresolved),
    )


def hirshfeld_volumes(mol, dm, *, density_cutoff_au=1e-3, grid_level=3) -> AIMVolumes:
    """Hirshfeld volumes V_A = ∫ w_A θ(ρ − cutoff) dr (Å³) and populations ∫ w_A ρ dr (e).

    w_A: stockholder weights of the free atoms of :func:`polcg.qm.hirshfeld.free_atom_log_densities`;
    integrals on pyscf's Becke grid of ``grid_level``. ``dm``: total AO density or α/β stack.
    """
    from scipy.special import logsumexp

    from polcg.qm.hirshfeld import free_atom_log_densities

    dm = _total_dm(mol, dm)
    logrho_free = free_atom_log_densities(mol)
    coords, weight, atm, lo, hi = _becke_grid(mol, grid_level)
    rho, grad = _rho_grad(mol, dm, coords)
    inside = _inside_fraction(mol, coords, atm, lo, hi, rho, grad, density_cutoff_au)
    dist = np.linalg.norm(coords[:, None, :] - mol.atom_coords()[None, :, :], axis=2)
    logw = np.stack([f(dist[:, a]) for a, f in enumerate(logrho_free)], axis=1)
    w = np.exp(logw - logsumexp(logw, axis=1, keepdims=True))  # stockholder weights, as in hirshfeld.py
    vol, pop = w.T @ (weight * inside), w.T @ (weight * rho)
    _check_electron_count(mol, pop, grid_level, "hirshfeld")
    return AIMVolumes(
        scheme="hirshfeld", volumes_angstrom3=tuple(map(float, vol * BOHR_TO_ANGSTROM**3)),
        populations=tuple(map(float, pop)), density_cutoff_au=float(density_cutoff_au),
        spacing_angstrom=None, n_maxima=mol.natm,
    )
