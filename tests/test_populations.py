"""Atomic charge schemes (polcg.qm.charge_schemes, via polcg.qm.populations) on tiny molecules.

Published reference values used here:

* NBO 3.1 natural charges (Gaussian, pop=npa) of formaldehyde, HF/STO-3G at
  C-O 1.21672286 Å, C-H 1.10137241 Å, H-C-O 122.73666566°: NAO occupancies
  printed on the Univ. Rostock computational-chemistry course page
  https://www.schulz.chemie.uni-rostock.de/storages/uni-rostock/Alle_MNF/Chemie_Schulz/Computerchemie_3/npa1.html
  -> q_C = +0.16691, q_O = -0.18728, q_H = +0.01018.
* NH4+ at B3LYP/6-31G(d) (its own optimum, Td), q_N: Mulliken -0.844,
  NPA -0.977, CHELPG -0.737 (LMU München tutorial,
  http://cup.uni-muenchen.de/ch/compchem/pop/pop1.html). Gaussian's B3LYP
  uses VWN3 and 6-31G(d) has six Cartesian d's: here xc='b3lypg', cart=True,
  N-H 1.02946 Å (minimum of a 1-D scan at that level in pyscf).
* CHELPG program (Breneman, vsn 12/18/90) test case, water RHF/STO-3G,
  O-H 0.956 Å, 104.5°, radii O 1.7 / H 1.45 Å, 2.8 Å, 0.3 Å: q_O = -0.6182,
  3953 points (https://server.ccl.net/cca/software/SOURCES/FORTRAN/chelpg/chelpg.man.shtml).
* Hirshfeld q_H of water 0.11 (STO-3G) and 0.18 (6-311G**), Table 1 of
  Davidson & Chakravorty, Theor. Chim. Acta 83, 319 (1992),
  doi:10.1007/BF01113058, as quoted in cclib's test suite
  (cclib/cclib test/method/testhirshfeld.py); geometry and level there not
  restated, hence the 0.02 e tolerance.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from pyscf import dft, gto, qmmm, scf

from polcg.errors import QMError
from polcg.qm.charge_schemes import CHARGE_SCHEMES
from polcg.qm.charge_schemes.esp import chelpg_points, fit_esp
from polcg.qm.charge_schemes.hirshfeld import hirshfeld_charges
from polcg.qm.populations import atomic_charges

SCHEMES = ("npa", "mulliken", "meta_lowdin", "hirshfeld", "esp")  # checked here; cm5: tests/test_cm5.py

WATER = "O\nH 1 0.957\nH 1 0.957 2 104.5"


def _rhf(mol):
    mf = scf.RHF(mol)
    mf.conv_tol = 1e-11
    mf.kernel()
    assert mf.converged
    return mf.make_rdm1()


@pytest.fixture(scope="module")
def water():
    mol = gto.M(atom=WATER, basis="6-31g*", verbose=0)
    return mol, _rhf(mol)


@pytest.fixture(scope="module")
def ammonium():
    a = 1.0294644 / np.sqrt(3.0)
    mol = gto.M(
        atom=[["N", (0, 0, 0)], ["H", (a, a, a)], ["H", (-a, -a, a)], ["H", (-a, a, -a)], ["H", (a, -a, -a)]],
        basis="6-31g*", cart=True, charge=1, verbose=0,
    )
    mf = dft.RKS(mol, xc="b3lypg")
    mf.conv_tol = 1e-11
    mf.kernel()
    assert mf.converged
    return mol, mf.make_rdm1()


@pytest.fixture(scope="module")
def hydroxide():
    mol = gto.M(atom="O 0 0 0; H 0 0 0.97", basis="6-31+g*", charge=-1, verbose=0)
    return mol, _rhf(mol)


@pytest.fixture(scope="module")
def charges(water, ammonium, hydroxide):
    """{system: {scheme: charges}} computed once."""
    systems = {"water": water, "ammonium": ammonium, "hydroxide": hydroxide}
    return {name: {s: atomic_charges(mol, dm, s) for s in SCHEMES} for name, (mol, dm) in systems.items()}


def test_unknown_scheme_names_the_allowed_ones(water):
    mol, dm = water
    assert set(SCHEMES) <= set(CHARGE_SCHEMES.names())
    with pytest.raises(ValueError, match="mulliken"):
        atomic_charges(mol, dm, "loewdin")


def test_scheme_lookup_imports_no_pyscf():
    """Validating a MethodSpec loads every scheme module; their heavy imports wait for a call."""
    code = ("import sys; from polcg.qm.spec import MethodSpec; MethodSpec(scheme='esp'); "
            "assert 'polcg.qm.charge_schemes.esp' in sys.modules; "
            "assert not {'pyscf', 'scipy'} & set(sys.modules), sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("system,total", [("water", 0), ("ammonium", 1), ("hydroxide", -1)])
def test_charges_sum_to_molecular_charge(charges, scheme, system, total):
    q = charges[system][scheme]
    tol = 1e-4 if scheme == "hirshfeld" else 1e-8  # hirshfeld: grid electron count (NH4+: 2.7e-5)
    assert q.shape == ({"water": 3, "ammonium": 5, "hydroxide": 2}[system],)
    assert abs(q.sum() - total) < tol


@pytest.mark.parametrize("scheme", SCHEMES)
def test_symmetry_equivalent_atoms_and_signs(charges, scheme):
    qw = charges["water"][scheme]
    qa = charges["ammonium"][scheme]
    tol = 1e-5 if scheme == "hirshfeld" else 1e-7  # the DFT grid is not symmetric
    assert abs(qw[1] - qw[2]) < tol
    assert np.ptp(qa[1:]) < tol
    assert qw[0] < -0.2 and qw[1] > 0.1  # O negative, H positive in water
    assert charges["hydroxide"][scheme][0] < -0.5


def test_npa_formaldehyde_sto3g_vs_nbo31():
    mol = gto.M(
        atom="C\nO 1 1.21672286\nH 1 1.10137241 2 122.73666566\nH 1 1.10137241 2 122.73666566 3 180.0",
        basis="sto-3g", verbose=0,
    )
    q = atomic_charges(mol, _rhf(mol), "npa")
    ref = np.array([0.16691, -0.18728, 0.01018, 0.01018])
    assert np.abs(q - ref).max() < 0.005  # measured 0.0024 (pyscf's core/Rydberg orthogonalisation)


def test_npa_and_mulliken_ammonium_vs_published(charges):
    q = charges["ammonium"]
    assert abs(q["mulliken"][0] - (-0.844)) < 0.003  # checks we reproduce the level
    assert abs(q["npa"][0] - (-0.977)) < 0.01  # measured -0.9764
    assert abs(q["esp"][0] - (-0.737)) < 0.02  # CHELPG; measured -0.728


def test_esp_water_sto3g_vs_chelpg_program():
    mol = gto.M(atom="O\nH 1 0.956\nH 1 0.956 2 104.5", basis="sto-3g", verbose=0)
    dm = _rhf(mol)
    fit = fit_esp(mol, dm)
    assert abs(fit.charges[0] - (-0.6182)) < 0.005  # measured -0.6179
    assert abs(len(fit.points) - 3953) < 0.02 * 3953  # lattice placement differs slightly
    # rigid motion of the input leaves the charges unchanged (lattice on principal axes)
    rot = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))[0]
    moved = gto.M(atom=[[mol.atom_symbol(i), rot @ x + [1.0, -2.0, 0.5]] for i, x in enumerate(mol.atom_coords())],
                  unit="B", basis="sto-3g", verbose=0)
    assert np.allclose(fit_esp(moved, _rhf(moved)).charges, fit.charges, atol=1e-6)


def test_esp_reproduces_dipole_and_potential(water, charges):
    mol, dm = water
    fit = fit_esp(mol, dm)
    mu_qm = scf.hf.dip_moment(mol, dm, unit="AU", verbose=0)
    mu_esp = fit.charges @ mol.atom_coords()
    assert np.linalg.norm(mu_esp - mu_qm) < 0.1 * np.linalg.norm(mu_qm)  # measured 2 %
    assert fit.rrms < 0.2 and fit.rms < 5e-3  # hartree/e; measured 0.12, 2.7e-3
    # the fit is the constrained optimum: any other charge set does worse on the same points
    a = 1.0 / np.linalg.norm(fit.points[:, None] - mol.atom_coords()[None], axis=2)
    for scheme in ("npa", "mulliken", "meta_lowdin", "hirshfeld"):
        assert np.sqrt(np.mean((a @ charges["water"][scheme] - fit.v_qm) ** 2)) > fit.rms
    exact = fit_esp(mol, dm, dipole_constraint=True)
    assert np.allclose(exact.charges @ mol.atom_coords(), mu_qm, atol=1e-8)
    assert abs(exact.charges.sum()) < 1e-10


def test_esp_points_respect_exclusion_radii(water):
    mol, _ = water
    pts = chelpg_points(mol)
    d = np.linalg.norm(pts[:, None] - mol.atom_coords()[None], axis=2) * 0.52917721092
    assert (d[:, 0] >= 1.70 - 1e-9).all() and (d[:, 1:] >= 1.45 - 1e-9).all()
    assert (d.min(axis=1) <= 2.8 + 1e-9).all()


def test_hirshfeld_water_vs_davidson_chakravorty():
    for basis, ref_h in (("sto-3g", 0.11), ("6-311g**", 0.18)):
        mol = gto.M(atom=WATER, basis=basis, verbose=0)
        q, info = hirshfeld_charges(mol, _rhf(mol), return_details=True)
        assert abs(q[1] - ref_h) < 0.02, (basis, q)  # measured 0.118, 0.178
        assert abs(info["electron_count_error"]) < 1e-4


def test_hirshfeld_coarse_grid_raises(water):
    mol, dm = water
    with pytest.raises(QMError, match="electrons"):
        hirshfeld_charges(mol, dm, grid_level=0)  # integrates 10.0047 electrons


def test_embedded_water_charges_follow_the_field(water, charges):
    """A +1 e point charge 2.5 Å from O, on the O side of the C2 axis, pulls
    electrons onto O: q_O drops, the QM charges still sum to 0 (the background
    charge is not part of the molecule)."""
    mol, _ = water
    axis = mol.atom_coords()[1:].mean(axis=0) - mol.atom_coords()[0]
    site = mol.atom_coords()[0] - 2.5 / 0.52917721092 * axis / np.linalg.norm(axis)
    mf = qmmm.mm_charge(scf.RHF(mol), [site], [1.0], unit="Bohr")
    mf.conv_tol = 1e-11
    mf.kernel()
    dm = mf.make_rdm1()
    for scheme in SCHEMES:
        q = atomic_charges(mol, dm, scheme)
        assert abs(q.sum()) < (1e-4 if scheme == "hirshfeld" else 1e-8)
        assert q[0] < charges["water"][scheme][0] - 0.02, scheme
        assert abs(q[1] - q[2]) < 1e-5


def test_open_shell_total_density():
    mol = gto.M(atom="O 0 0 0; H 0 0 0.97", basis="6-31g", spin=1, verbose=0)
    mf = scf.UHF(mol)
    mf.kernel()
    dma, dmb = mf.make_rdm1()
    for scheme in SCHEMES:
        q = atomic_charges(mol, dma + dmb, scheme)
        assert abs(q.sum()) < 1e-4 and q[0] < 0
    assert np.allclose(atomic_charges(mol, np.stack([dma, dmb]), "npa"), atomic_charges(mol, dma + dmb, "npa"))
    with pytest.raises(ValueError, match="electrons"):
        atomic_charges(mol, dma, "mulliken")  # alpha density only


def test_ghost_atoms_and_ecp_meta_lowdin_fail_clearly():
    mol = gto.M(atom="O 0 0 0; H 0 0 0.97; ghost-H 0 0 3", basis="sto-3g", charge=-1, verbose=0)
    with pytest.raises(ValueError, match="ghost"):
        atomic_charges(mol, np.zeros((mol.nao, mol.nao)), "mulliken")
    mol = gto.M(atom="H 0 0 0; I 0 0 1.61", basis="def2-svp", ecp="def2-svp", verbose=0)
    dm = _rhf(mol)
    with pytest.raises(ValueError, match="ECP"):
        atomic_charges(mol, dm, "meta_lowdin")
    for scheme in ("npa", "mulliken", "hirshfeld", "esp"):
        q = atomic_charges(mol, dm, scheme)  # valence-only density, ECP-reduced Z
        assert abs(q.sum()) < 1e-4 and 0.0 < q[0] < 0.2, (scheme, q)
