"""Atom-in-molecule volumes (polcg.qm.aim, .bader, .density_grids): QTAIM and Hirshfeld, on tiny systems.

Reference fact used: the hydrogen atom density is ρ(r) = exp(-2r)/π (bohr), so the ρ = c
isosurface is the sphere r = -ln(cπ)/2 bohr (c = 0.001: 1.525 Å, V = 14.85 Å³).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from pyscf import gto, scf

from polcg.errors import QMError
from polcg.qm.aim import hirshfeld_volumes, qtaim_volumes
from polcg.qm.density_grids import Lattice, density_cube
from polcg.units import BOHR_TO_ANGSTROM


def _dm(mol):
    mf = scf.UHF(mol) if mol.spin else scf.RHF(mol)
    mf.conv_tol = 1e-10
    mf.kernel()
    assert mf.converged
    return mf.make_rdm1()


def _tilted_diatomic(a, b, bond, basis):
    """Diatomic along a generic direction, so that the cube does not share its symmetry."""
    u = np.array([1.0, 2.0, 3.0]) / np.sqrt(14.0)
    return gto.M(atom=[(a, (0.0, 0.0, 0.0)), (b, tuple(bond * u))], basis=basis, verbose=0)


@pytest.fixture(scope="module")
def h2():
    mol = _tilted_diatomic("H", "H", 0.74, "6-31g")
    return mol, _dm(mol)


@pytest.fixture(scope="module")
def hf_molecule():
    mol = _tilted_diatomic("H", "F", 0.917, "6-31g")
    return mol, _dm(mol)


def test_density_cube_holds_all_electrons_and_is_centred(h2):
    mol, dm = h2
    origin, h, rho = density_cube(mol, dm, 0.1, margin_angstrom=4.0)
    assert h == pytest.approx(0.1 / BOHR_TO_ANGSTROM)
    assert all(n % 2 == 0 for n in rho.shape)
    centre = origin + 0.5 * h * (np.array(rho.shape) - 1)
    assert np.allclose(centre, mol.atom_coords().mean(axis=0))
    assert rho.sum() * h**3 == pytest.approx(mol.nelectron, abs=2e-3)  # smooth (cusp-free) Gaussian density


def test_homonuclear_diatomic_has_two_equal_basins(h2):
    mol, dm = h2
    res = qtaim_volumes(mol, dm, spacing_angstrom=0.15)
    v, pop = res.volumes_angstrom3, res.populations
    assert res.scheme == "qtaim" and res.n_maxima == 2 and res.notes == ()
    assert v[0] == pytest.approx(v[1], rel=0.01)
    assert pop[0] == pytest.approx(pop[1], abs=0.01)
    assert pop == pytest.approx((1.0, 1.0), abs=0.01)
    assert json.loads(json.dumps(res.as_dict()))["volumes_angstrom3"] == list(v)


def test_heteronuclear_populations_and_total_volume(hf_molecule):
    mol, dm = hf_molecule
    q = qtaim_volumes(mol, dm, spacing_angstrom=0.15)
    hi = hirshfeld_volumes(mol, dm)
    for res in (q, hi):
        assert sum(res.populations) == pytest.approx(mol.nelectron, abs=0.01)
        assert res.populations[1] > 9.0 > 1.0 > res.populations[0]  # F takes electrons from H
    # both schemes split the same region, the inside of the 0.001 a.u. isosurface
    assert sum(hi.volumes_angstrom3) == pytest.approx(sum(q.volumes_angstrom3), rel=0.02)
    # QTAIM gives F more of it than Hirshfeld does (the H basin is small); both give F the larger part
    assert q.volumes_angstrom3[1] > hi.volumes_angstrom3[1] > hi.volumes_angstrom3[0] > q.volumes_angstrom3[0]
    assert hi.spacing_angstrom is None and hi.n_maxima == 2


def test_hirshfeld_volumes_do_not_depend_on_the_grid_level(hf_molecule):
    mol, dm = hf_molecule
    coarse = hirshfeld_volumes(mol, dm, grid_level=2).volumes_angstrom3
    fine = hirshfeld_volumes(mol, dm, grid_level=6).volumes_angstrom3
    assert coarse == pytest.approx(fine, rel=3e-3)


def test_hydrogen_atom_volume_is_the_exact_sphere():
    mol = gto.M(atom="H 0 0 0", basis="aug-cc-pvtz", spin=1, verbose=0)
    dm = _dm(mol)  # UHF: an (alpha, beta) stack
    r = -np.log(1e-3 * np.pi) / 2 * BOHR_TO_ANGSTROM
    exact = 4.0 / 3.0 * np.pi * r**3
    q = qtaim_volumes(mol, dm, spacing_angstrom=0.15)
    hi = hirshfeld_volumes(mol, dm)
    assert q.n_maxima == 1 and q.populations[0] == pytest.approx(1.0, abs=1e-3)
    assert q.volumes_angstrom3[0] == pytest.approx(exact, rel=0.015)
    assert hi.volumes_angstrom3[0] == pytest.approx(exact, rel=0.015)


def test_free_neon_atom_is_one_basin():
    mol = gto.M(atom="Ne 0.1 0.2 0.3", basis="6-31g", verbose=0)
    res = qtaim_volumes(mol, _dm(mol), spacing_angstrom=0.2)
    assert res.n_maxima == 1 and res.notes == ()
    assert len(res.volumes_angstrom3) == 1 and 10.0 < res.volumes_angstrom3[0] < 16.0
    assert res.populations[0] == pytest.approx(10.0, abs=1e-3)


def test_volumes_converge_with_spacing():
    mol = gto.M(atom="O\nH 1 0.957\nH 1 0.957 2 104.5", basis="6-31g", verbose=0)
    dm = _dm(mol)
    coarse = qtaim_volumes(mol, dm, spacing_angstrom=0.15)
    fine = qtaim_volumes(mol, dm, spacing_angstrom=0.1)
    assert coarse.volumes_angstrom3 == pytest.approx(fine.volumes_angstrom3, rel=0.015)
    assert sum(coarse.volumes_angstrom3) == pytest.approx(sum(fine.volumes_angstrom3), rel=0.01)
    assert coarse.populations == pytest.approx(fine.populations, abs=5e-3)
    assert fine.volumes_angstrom3[1] == pytest.approx(fine.volumes_angstrom3[2], rel=0.01)  # the two H


def test_box_margin_too_small_raises(h2):
    mol, dm = h2
    with pytest.raises(QMError, match="margin"):
        qtaim_volumes(mol, dm, spacing_angstrom=0.2, margin_angstrom=0.8)


def test_volumes_do_not_depend_on_the_orientation():
    along_z = gto.M(atom="C 0 0 0; O 0 0 1.16; O 0 0 -1.16", basis="6-31g", verbose=0)
    u = np.array([2.0, -1.0, 2.0]) / 3.0
    tilted = gto.M(atom=[("C", (0, 0, 0)), ("O", tuple(1.16 * u)), ("O", tuple(-1.16 * u))], basis="6-31g", verbose=0)
    a = qtaim_volumes(along_z, _dm(along_z), spacing_angstrom=0.15)
    b = qtaim_volumes(tilted, _dm(tilted), spacing_angstrom=0.15)
    assert a.volumes_angstrom3 == pytest.approx(b.volumes_angstrom3, rel=0.02)
    assert a.populations == pytest.approx(b.populations, abs=5e-3)


def test_near_grid_walk_alone_finds_the_half_spaces_of_h2(h2):
    """The near-grid ascent itself (before the exact-gradient edge refinement) is nearly right.

    H2's basins are the half-spaces either side of the bond's mid-plane; the plain on-grid ascent
    (no correction vector) misassigns ~8 % of the points inside the isosurface, the near-grid ~1 %.
    """
    from polcg.qm import bader

    mol, dm = h2
    origin, h, rho = density_cube(mol, dm, 0.15, axes=bader._AXES)
    lat = Lattice(origin, h, bader._AXES)
    labels = bader._basin_labels(mol, lat, rho, 1e-3)[0]
    xyz = mol.atom_coords()
    points = lat.xyz(np.indices(rho.shape).reshape(3, -1).T).reshape(rho.shape + (3,))
    side = ((points - xyz.mean(axis=0)) @ (xyz[1] - xyz[0]) > 0).astype(int)
    inside = rho >= 1e-3
    assert np.mean(labels[inside] != side[inside]) < 0.02
