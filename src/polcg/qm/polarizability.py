"""Static electric dipole polarizability of a molecule or ion from a converged SCF.

Two routes, which agree (tests/test_polarizability.py):

* analytic: coupled-perturbed HF/KS (CPHF/CPKS) for closed shells. The first-order
  orbitals U solve (ε_a − ε_i) U_ai + [v_resp(δρ)]_ai = −⟨a|r|i⟩ with PySCF's response
  kernel (`mf.gen_response`, Coulomb + exchange + XC kernel, density fitted where the SCF
  is), and α_xy = −4 Σ_ai ⟨a|r_x|i⟩ U^y_ai (symmetrised). This is PySCF's former
  `prop.polarizability.rhf` algorithm, written against the current public API.
* finite field: μ(±F) from SCFs in a uniform field F along each axis (electron
  Hamiltonian h + F·r), α_xy = [μ_x(+F_y) − μ_x(−F_y)] / 2F. Works for any SCF, open shells
  included; costs six SCFs.

For an ion the dipole depends on the origin but its field derivative does not; the origin
is the nuclear charge centre in both routes. Everything here is in atomic units (bohr³);
`units.AU_POLARIZABILITY_TO_ANGSTROM3` converts.
"""

from __future__ import annotations

import copy

import numpy as np

from polcg.errors import QMError

#: default finite-field strength (a.u.): small enough that hyperpolarizability terms are
#: ~1e-6 relative, large enough that dipoles converged to 1e-8 give α to 1e-4 bohr³
FIELD_AU = 1e-3


def converged_scf(job, config):
    """Build and run the SCF of a QMJob (PySCF); QMError when it does not converge."""
    from polcg.qm.pyscf_backend import build_mol, build_scf

    mf = build_scf(build_mol(job, config), job)
    mf.kernel()
    if not mf.converged:
        raise QMError(f"SCF did not converge for {job.label or job.key()[:12]}")
    return mf


def _origin(mol) -> np.ndarray:
    z = mol.atom_charges()
    return z @ mol.atom_coords() / z.sum()


def dipole_integrals(mol) -> np.ndarray:
    """⟨μ|r|ν⟩ about the nuclear charge centre, shape (3, nao, nao), bohr."""
    with mol.with_common_orig(_origin(mol)):
        return mol.intor_symmetric("int1e_r", comp=3)


def analytic_polarizability(mf, *, tol: float = 1e-9, max_cycle: int = 100) -> np.ndarray:
    """Static polarizability tensor (3×3, bohr³) of a converged closed-shell SCF by CPHF/CPKS."""
    from pyscf.scf import cphf

    if not getattr(mf, "converged", False):
        raise QMError("analytic polarizability needs a converged SCF")
    mo_occ = np.asarray(mf.mo_occ)
    if mo_occ.ndim != 1 or not np.all(np.isin(mo_occ, (0.0, 2.0))):
        raise QMError("analytic polarizability is for closed-shell restricted SCF; use the finite-field route")
    c, occ = np.asarray(mf.mo_coeff), mo_occ > 0
    orbo, orbv = c[:, occ], c[:, ~occ]
    if orbv.shape[1] == 0:
        raise QMError(f"basis {mf.mol.basis!r} leaves no virtual orbitals: it cannot describe polarization")
    h1 = np.einsum("xpq,pa,qi->xai", dipole_integrals(mf.mol), orbv, orbo)
    vresp = mf.gen_response(hermi=1)

    def fvind(u):
        u = u.reshape(-1, orbv.shape[1], orbo.shape[1])
        dm1 = np.einsum("xai,pa,qi->xpq", u, orbv, orbo)
        dm1 = (dm1 + dm1.transpose(0, 2, 1)) * 2.0
        return np.einsum("xpq,pa,qi->xai", vresp(dm1), orbv, orbo).ravel()

    u, _ = cphf.solve(fvind, mf.mo_energy, mo_occ, h1, None, max_cycle=max_cycle, tol=tol)
    e2 = np.einsum("xai,yai->xy", h1, u.reshape(h1.shape))
    return -2.0 * (e2 + e2.T)


def finite_field_polarizability(mf, *, field_au: float = FIELD_AU) -> np.ndarray:
    """Static polarizability tensor (3×3, bohr³) by central differences of the dipole in a field."""
    if not getattr(mf, "converged", False):
        raise QMError("finite-field polarizability needs a converged SCF at zero field")
    r = dipole_integrals(mf.mol)
    h0 = mf.get_hcore()
    dm0 = mf.make_rdm1()
    alpha = np.zeros((3, 3))
    for j in range(3):
        mu = [_dipole_in_field(mf, h0 + s * field_au * r[j], dm0, r) for s in (1.0, -1.0)]
        alpha[:, j] = (mu[0] - mu[1]) / (2.0 * field_au)
    return 0.5 * (alpha + alpha.T)


def _dipole_in_field(mf, hcore: np.ndarray, dm0, r: np.ndarray) -> np.ndarray:
    """Electronic dipole (e·bohr) of the SCF re-converged with a modified core Hamiltonian."""
    mff = copy.copy(mf)
    mff.get_hcore = lambda *args, **kwargs: hcore
    mff.conv_tol = min(mf.conv_tol, 1e-11)
    mff.verbose = 0
    mff.kernel(dm0=dm0)
    if not mff.converged:
        raise QMError("SCF did not converge in the finite field; lower field_au or use the analytic route")
    dm = mff.make_rdm1()
    dm = dm[0] + dm[1] if np.ndim(dm) == 3 else dm
    return -np.einsum("xij,ji->x", r, dm).real


def isotropic(alpha: np.ndarray) -> float:
    """Mean polarizability, tr(α)/3."""
    return float(np.trace(alpha) / 3.0)


def anisotropy(alpha: np.ndarray) -> float:
    """Rotational invariant Δα = sqrt(½ Σ (α_i − α_j)²) over the principal values."""
    a = np.linalg.eigvalsh(0.5 * (alpha + alpha.T))
    return float(np.sqrt(0.5 * ((a[0] - a[1]) ** 2 + (a[1] - a[2]) ** 2 + (a[2] - a[0]) ** 2)))
