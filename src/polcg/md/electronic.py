"""ε_∞: the permittivity of the background the explicit rotational dipoles of a run fluctuate in.

* VaCG: the screening continuum itself. With one medium (neat IL: ε_IL, or water alone: ε_W) the
  q/√ε scaling is exactly an ECC model and ε = ε_bg + <δM²>/(3ε₀VkT) with physical charges; in a
  mixture the background is not uniform, and polcg takes the mean of ε_IL(x) and ε_W(x) weighted by
  the number of charged beads of each (stated in the result).
* Drude models: the instantaneous electronic response of the Drudes. Cores are held at the last
  production frame, the Drudes' linear response Δd to a uniform field E along x, y and z is
  solved exactly, and ε_∞ − 1 = ΔM / (ε₀ V E) under the tin-foil boundary of PME, averaged over
  the three directions (error: their spread). On a cubic lattice of
  point polarizabilities this is the Clausius–Mossotti value (the test).
* Fixed-charge models without screening: 1.
"""

from __future__ import annotations

import numpy as np
import openmm

from polcg.errors import InputError, PolcgError
from polcg.md.estimators import Estimate
from polcg.md.packing import Configuration
from polcg.md.system import build_system
from polcg.md.trajectory import Run
from polcg.units import COULOMB_KJ_MOL_NM

#: finite-difference step of the Hessian–vector products (nm); CG relative residual; most CG steps
HVP_STEP_NM, CG_RTOL, CG_MAX = 1e-5, 1e-8, 300


def background_permittivity(run: Run) -> Estimate:
    model = run.model
    if model.kind == "vacg":
        return _vacg_background(run)
    if model.drude is not None:
        return _drude_electronic(run)
    return Estimate(1.0, 0.0, "no background screening")


def _vacg_background(run: Run) -> Estimate:
    model, comp, x = run.model, run.composition, run.water_fraction
    charged = {}
    for role, count in (("cation", comp.n_pairs), ("anion", comp.n_pairs), ("water", comp.n_water)):
        if count:
            mol = model.role(role)
            charged[role] = count * sum(1 for b in mol.beads if abs(model.bead_type(b).charge_e) > 0)
    eps = {r: model.epsilon_of(r, x) for r in charged}
    total = sum(charged.values())
    value = sum(eps[r] * n for r, n in charged.items()) / total
    if len(set(eps.values())) == 1:
        return Estimate(value, 0.0, f"VaCG background eps {value:.4g}")
    return Estimate(value, 0.0, "VaCG: charged-bead-weighted mean of " +
                    ", ".join(f"eps_{r} {e:.4g} x {charged[r]}" for r, e in eps.items()))


def _drude_electronic(run: Run) -> Estimate:
    chunk = list(run.chunks())[-1]
    config = Configuration(run.composition, chunk.positions_nm[-1], tuple(chunk.box_nm[-1]))
    return drude_electronic(run.model, config)


def drude_electronic(model, config: Configuration, platform: str = "Reference") -> Estimate:
    """ε_∞ of a Drude model at a configuration (cores fixed; see the module docstring).

    The Drudes' linear response to a uniform field is solved exactly at the configuration:
    H Δd = q_D E, with H the Hessian of the energy in the Drude coordinates (k_D minus the
    dipole–dipole coupling, Thole screening included), by conjugate gradients on Hessian–vector
    products from central differences of OpenMM forces. The default platform is Reference
    (double precision): single-precision forces are too noisy for the differences."""
    system, _ = build_system(model, config)
    parts = config.particles(model)
    drudes = np.array([i for i, p in enumerate(parts) if p.is_drude])
    qd = np.array([parts[i].charge_e for i in drudes])
    offsets = np.linalg.norm(config.positions_nm[drudes] - config.positions_nm[drudes - 1], axis=1)
    if offsets.min() < 1e-5:
        raise InputError("a Drude sits on its core (< 1e-5 nm): the response needs an MD frame, where "
                         "they are displaced")
    ctx = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName(platform))
    hvp = _HessianProduct(ctx, config.positions_nm, drudes)
    volume = float(np.prod(config.box_nm))
    chis = []
    for axis in range(3):
        b = np.zeros((drudes.size, 3))
        b[:, axis] = qd  # force per unit field on each Drude
        x = _conjugate_gradient(hvp, b, model.drude.k_drude_kj_mol_nm2)
        chis.append(4.0 * np.pi * COULOMB_KJ_MOL_NM * float(qd @ x[:, axis]) / volume)
    chi = np.array(chis)
    return Estimate(1.0 + float(chi.mean()), float(chi.std(ddof=1) / np.sqrt(3)),
                    f"Drude linear response to a uniform field, chi x/y/z: {', '.join(f'{c:.4f}' for c in chi)}")


class _HessianProduct:
    """v ↦ H v over the Drude coordinates, H v ≈ −(F(x + h v̂) − F(x − h v̂)) |v| / (2h)."""

    def __init__(self, ctx: openmm.Context, pos: np.ndarray, drudes: np.ndarray):
        self.ctx, self.pos, self.drudes = ctx, np.asarray(pos, dtype=float), drudes

    def _forces(self, shift: np.ndarray) -> np.ndarray:
        pos = self.pos.copy()
        pos[self.drudes] += shift
        self.ctx.setPositions(pos)
        f = self.ctx.getState(getForces=True).getForces(asNumpy=True)
        return f.value_in_unit(openmm.unit.kilojoule_per_mole / openmm.unit.nanometer)[self.drudes]

    def __call__(self, v: np.ndarray) -> np.ndarray:
        norm = float(np.linalg.norm(v))
        u = v / norm * HVP_STEP_NM
        return -(self._forces(u) - self._forces(-u)) * (norm / (2.0 * HVP_STEP_NM))


def _conjugate_gradient(hvp, b: np.ndarray, k: float) -> np.ndarray:
    """Solve H x = b (H symmetric positive definite), Jacobi-preconditioned by k_D."""
    x = b / k
    r = b - hvp(x)
    p = r.copy()
    rr = float(np.sum(r * r))
    target = CG_RTOL**2 * float(np.sum(b * b))
    for _ in range(CG_MAX):
        if rr <= target:
            return x
        hp = hvp(p)
        curv = float(np.sum(p * hp))
        if curv <= 0:
            raise PolcgError("the Drude Hessian is not positive definite at this frame (a polarization "
                             "catastrophe): use Thole screening between molecules or a stiffer spring")
        alpha = rr / curv
        x += alpha * p
        r -= alpha * hp
        rr, rr_old = float(np.sum(r * r)), rr
        p = r + (rr / rr_old) * p
    raise PolcgError(f"Drude field response did not converge in {CG_MAX} conjugate-gradient steps")
