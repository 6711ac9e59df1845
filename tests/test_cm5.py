"""CM5 charges (polcg.qm.charge_schemes.cm5): Hirshfeld plus the pair correction of Marenich et al. 2012.

Reference: Gaussian 16 (RevA.03) output of water, RHF/6-31G at O (0, 0, 0.119262), H (0, ±0.763239,
-0.477047) Å, quoted in ASE's test suite (ase/test/fio/test_gaussian_out.py, ``BUF_H2O*``):
Mulliken q_O = -0.792441, Hirshfeld (IRadAn=5) q_O = -0.338600, q_H = 0.169300, CM5 q_O = -0.665793,
q_H = 0.332897. The level is identified by the RHF energy (-75.9834173665 Eh, pyscf 6-31G gives
-75.98341737) and by the Mulliken charges, which agree to 1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest
from pyscf import gto, scf

from polcg.errors import InputError
from polcg.qm.charge_schemes import CHARGE_SCHEMES
from polcg.qm.charge_schemes.cm5 import cm5_correction
from polcg.qm.charge_schemes.hirshfeld import hirshfeld_charges
from polcg.qm.populations import atomic_charges

G16_XYZ = [[0.0, 0.0, 0.119262], [0.0, 0.763239, -0.477047], [0.0, -0.763239, -0.477047]]
G16_MULLIKEN = np.array([-0.792441, 0.396221, 0.396221])
G16_HIRSHFELD = np.array([-0.338600, 0.169300, 0.169300])
G16_CM5 = np.array([-0.665793, 0.332897, 0.332897])

# CM5 parameters of the elements below, restated from the paper's eqs. 2-4 for an independent sum
ALPHA = 2.474
R = {"H": 0.32, "B": 0.84, "C": 0.75, "N": 0.71, "O": 0.64, "F": 0.60}
DZ = {"H": 0.0056, "B": -0.1030, "C": -0.0446, "N": -0.1072, "O": -0.0802, "F": -0.0629}
DKK = {"HC": 0.0502, "HN": 0.1747, "HO": 0.1671, "CN": 0.0556, "CO": 0.0234, "NO": -0.0346}


def _rhf(mol):
    mf = scf.RHF(mol)
    mf.conv_tol = 1e-11
    mf.kernel()
    assert mf.converged
    return mf.make_rdm1()


def _pair_sum(symbols, xyz):
    """Σ_k' T_kk' B_kk' with explicit loops over atom pairs."""
    out = np.zeros(len(symbols))
    for k, a in enumerate(symbols):
        for j, b in enumerate(symbols):
            if j == k:
                continue
            if a + b in DKK:
                t = DKK[a + b]
            elif b + a in DKK:
                t = -DKK[b + a]
            else:
                t = DZ[a] - DZ[b]
            out[k] += t * np.exp(-ALPHA * (np.linalg.norm(np.subtract(xyz[k], xyz[j])) - R[a] - R[b]))
    return out


def test_correction_turns_gaussian16_hirshfeld_charges_into_its_cm5_charges():
    q = G16_HIRSHFELD + cm5_correction(["O", "H", "H"], G16_XYZ)
    assert np.abs(q - G16_CM5).max() < 2e-6  # Gaussian prints 6 decimals; measured 4e-7


def test_water_at_gaussian16_level():
    mol = gto.M(atom=[[s, x] for s, x in zip("OHH", G16_XYZ)], basis="6-31g", verbose=0)
    dm = _rhf(mol)
    assert np.abs(atomic_charges(mol, dm, "mulliken") - G16_MULLIKEN).max() < 2e-6  # the same level
    q = atomic_charges(mol, dm, "cm5")
    hirshfeld = hirshfeld_charges(mol, dm)
    assert np.abs((q - hirshfeld) - (G16_CM5 - G16_HIRSHFELD)).max() < 2e-6
    # the free atoms differ (here: HF in the molecule's basis), so Hirshfeld and with it CM5 differ
    # from Gaussian's by the same amount; measured q_O -0.6868 vs -0.6658
    assert abs(q[0] - G16_CM5[0]) < 0.03 and abs(q[1] - q[2]) < 1e-6 and abs(q.sum()) < 1e-4


@pytest.mark.parametrize("atoms, charge", [
    ("C 0 0 0; O 1.22 0 0; N -0.68 1.16 0; H -0.55 -0.95 0; H -1.69 1.18 0; H -0.17 2.04 0", 0),  # formamide
    ("B 0 0 0; F 0.80 0.80 0.80; F -0.80 -0.80 0.80; F -0.80 0.80 -0.80; F 0.80 -0.80 -0.80", -1),  # BF4-
])
def test_cm5_is_hirshfeld_plus_the_pair_sum(atoms, charge):
    mol = gto.M(atom=atoms, basis="sto-3g", charge=charge, verbose=0)
    dm = _rhf(mol)
    symbols = [mol.atom_pure_symbol(i) for i in range(mol.natm)]
    pairs = _pair_sum(symbols, mol.atom_coords(unit="Angstrom"))
    assert np.abs(pairs).max() > 0.05 and abs(pairs.sum()) < 1e-12  # not vacuous; T is antisymmetric
    q = atomic_charges(mol, dm, "CM5")
    hirshfeld, info = hirshfeld_charges(mol, dm, return_details=True)
    assert np.allclose(q, hirshfeld + pairs, atol=1e-10)
    # the charges add up to the molecule's, short of the grid's electron count error (BF4-: 1.7e-4 e)
    err = info["electron_count_error"]
    assert abs(q.sum() - (charge - err)) < 1e-10 and abs(err) < 1e-3


def test_element_without_parameters_is_refused_before_the_grid_work():
    with pytest.raises(InputError, match="Br"):
        cm5_correction(["H", "Br"], [[0, 0, 0], [0, 0, 1.41]])
    mol = gto.M(atom="H 0 0 0; Br 0 0 1.41", basis="sto-3g", verbose=0)
    s = mol.intor_symmetric("int1e_ovlp")
    dm = np.linalg.inv(s) * mol.nelectron / mol.nao  # any density with the right electron count
    with pytest.raises(InputError, match="CM5 has no parameters for Br"):
        atomic_charges(mol, dm, "cm5")


def test_cm5_is_a_registered_scheme_the_cli_offers():
    from typer.testing import CliRunner

    from polcg.cli import app
    from polcg.qm.spec import MethodSpec

    assert "cm5" in CHARGE_SCHEMES and MethodSpec(scheme="cm5", embedding_scheme="cm5").scheme == "cm5"
    help_text = " ".join(CliRunner().invoke(app, ["charges", "--help"]).output.replace("│", " ").split())
    assert "cm5 (Hirshfeld + CM5 pair correction)" in help_text
