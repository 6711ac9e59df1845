"""The OpenMM System of a CG model in a box: the reference every export is checked against.

Force groups: 0 bonded terms, 1 NonbondedForce (LJ + Coulomb), 2 DrudeForce (springs and the
Thole-screened intramolecular dipole pairs), 3 intermolecular Thole (CustomNonbondedForce),
4 force-switched LJ (CustomNonbondedForce; then group 1 holds Coulomb only).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import openmm
from openmm import app, unit

from polcg.cg.model import CGModel
from polcg.errors import InputError
from polcg.md.layout import Particle, bead_index, molecule_order, molecule_slices
from polcg.md.packing import Configuration
from polcg.units import COULOMB_KJ_MOL_NM

GROUP_BONDED, GROUP_NONBONDED, GROUP_DRUDE, GROUP_THOLE, GROUP_LJ_SWITCHED = 0, 1, 2, 3, 4

#: T(r) − 1 for the intermolecular dipole pairs (the Coulomb part is in NonbondedForce)
THOLE_EXPRESSION = (
    "ONE_4PI_EPS0*qd1*qd2*(-(1+0.5*u)*exp(-u))/r; u = a12*r/(alpha1*alpha2)^(1/6); a12 = 0.5*(a1+a2)"
)


#: LJ with the GROMACS force switch: each r^-n term becomes Φ_n(r) = r^-n − S_n(r), with
#: S_n = C_n for r < r1 and C_n + A_n/3 (r − r1)³ + B_n/4 (r − r1)⁴ up to the cutoff
#: (GROMACS reference manual, "Modified non-bonded interactions"; LAMMPS pair lj/gromacs)
LJ_SWITCH_EXPRESSION = (
    "4*eps*(sig^12*(1/r^12 - s12) - sig^6*(1/r^6 - s6));"
    "s12 = C12 + step(r-r1)*(A12/3*d^3 + B12/4*d^4);"
    "s6 = C6 + step(r-r1)*(A6/3*d^3 + B6/4*d^4);"
    "d = r - r1; eps = sqrt(eps1*eps2); sig = 0.5*(sig1+sig2)"
)

# the same beyond a cutoff rc, for systems without one: select() leaves the far pairs' terms out
# instead of multiplying them by 0 (the gas phase's copies sit 200 nm apart, where the switch
# polynomial and r^-12 overflow single precision and 0 * inf is NaN)
GAS_LJ_SWITCH_EXPRESSION = "select(step(r-rc), 0, lj);lj = " + LJ_SWITCH_EXPRESSION


def force_switch_constants(n: int, r1: float, rc: float) -> tuple[float, float, float]:
    """(A, B, C) of the GROMACS force switch of r^-n between r1 and rc: force, its derivative and
    the potential vanish at rc."""
    a = -n * ((n + 4) * rc - (n + 1) * r1) / (rc ** (n + 2) * (rc - r1) ** 2)
    b = n * ((n + 3) * rc - (n + 1) * r1) / (rc ** (n + 2) * (rc - r1) ** 3)
    c = 1.0 / rc**n - a / 3.0 * (rc - r1) ** 3 - b / 4.0 * (rc - r1) ** 4
    return a, b, c


def build_system(model: CGModel, config: Configuration) -> tuple[openmm.System, app.Topology]:
    """OpenMM System and Topology of `config` (particles in `particles()` order). A configuration
    without a box (`box_nm` None) is a gas-phase system: no cutoff, no periodicity."""
    if config.box_nm is not None and 2.0 * model.nonbonded.cutoff_nm >= min(config.box_nm):
        raise InputError(f"cutoff {model.nonbonded.cutoff_nm} nm is not below half the box "
                         f"({min(config.box_nm):.3f} nm): use more pairs or a shorter cutoff")
    parts = config.particles(model)
    system = openmm.System()
    for p in parts:
        system.addParticle(p.mass_u)
    periodic = config.box_nm is not None
    if periodic:
        a, b, c = config.box_nm
        system.setDefaultPeriodicBoxVectors(openmm.Vec3(a, 0, 0), openmm.Vec3(0, b, 0), openmm.Vec3(0, 0, c))
    slices = molecule_slices(parts)
    mols = molecule_order(model, config.composition)
    _bonded(system, model, parts, slices, mols)
    _nonbonded(system, model, parts, slices, periodic)
    if model.drude is not None:
        _drude(system, model, parts, slices, periodic)
    return system, _topology(parts, slices, config.box_nm)


def _bonded(system, model, parts, slices, mols) -> None:
    bonds, angles = openmm.HarmonicBondForce(), openmm.HarmonicAngleForce()
    cos2 = openmm.CustomAngleForce("0.5*k*(cos(theta)-cos0)^2")
    cos2.addPerAngleParameter("k")
    cos2.addPerAngleParameter("cos0")
    torsions = openmm.PeriodicTorsionForce()
    for sl, mol in zip(slices, mols):
        ix = bead_index(parts, sl)
        for t in mol.bonds:
            bonds.addBond(ix[t.i], ix[t.j], t.r0_nm, t.k_kj_mol_nm2)
        for t in mol.constraints:
            system.addConstraint(ix[t.i], ix[t.j], t.r0_nm)
        for t in mol.angles:
            if t.form == "cosine_squared":
                cos2.addAngle(ix[t.i], ix[t.j], ix[t.k], [t.k_kj_mol, math.cos(math.radians(t.theta0_deg))])
            else:
                angles.addAngle(ix[t.i], ix[t.j], ix[t.k], math.radians(t.theta0_deg), t.k_kj_mol)
        for t in mol.dihedrals:
            torsions.addTorsion(ix[t.i], ix[t.j], ix[t.k], ix[t.l], t.periodicity, math.radians(t.phi0_deg), t.k_kj_mol)
    for force, n in ((bonds, bonds.getNumBonds()), (angles, angles.getNumAngles()),
                     (cos2, cos2.getNumAngles()), (torsions, torsions.getNumTorsions())):
        if n:
            force.setForceGroup(GROUP_BONDED)
            system.addForce(force)


def _nonbonded(system, model, parts: list[Particle], slices, periodic: bool) -> None:
    nb = model.nonbonded
    force = openmm.NonbondedForce()
    if periodic:
        force.setNonbondedMethod(openmm.NonbondedForce.PME if nb.coulomb == "pme" else openmm.NonbondedForce.Ewald)
        force.setCutoffDistance(nb.cutoff_nm)
        force.setEwaldErrorTolerance(nb.ewald_tolerance)
        force.setUseDispersionCorrection(nb.dispersion_correction)
    else:
        force.setNonbondedMethod(openmm.NonbondedForce.NoCutoff)
    force.setUseSwitchingFunction(False)
    switched = nb.lj_switch_nm is not None
    lj = [_lj_params(model, p) for p in parts]
    for p, (sigma, eps) in zip(parts, lj):
        force.addParticle(p.charge_e, sigma, 0.0 if switched else eps)
    for sl in slices:
        for i, j in itertools.combinations(sl, 2):
            force.addException(i, j, 0.0, 1.0, 0.0)
    force.setForceGroup(GROUP_NONBONDED)
    system.addForce(force)
    if switched:
        system.addForce(_switched_lj(nb, lj, slices, periodic))


def _lj_params(model: CGModel, p: Particle) -> tuple[float, float]:
    """(σ nm, ε kJ/mol) of a particle; Drudes and σ = 0 beads have no LJ."""
    if p.is_drude:
        return 1.0, 0.0
    bt = model.bead_type(p.type_name)
    return (bt.sigma_nm, bt.epsilon_kj_mol) if bt.sigma_nm > 0 else (1.0, 0.0)


def _switched_lj(nb, lj: list[tuple[float, float]], slices, periodic: bool) -> openmm.CustomNonbondedForce:
    """Force-switched LJ, with its cutoff also in a gas-phase system (so ΔH_vap compares the
    same pair potential). OpenMM wants every nonbonded force of a system to agree on a cutoff, and
    the gas phase's Coulomb has none, so there the cutoff is in the expression
    (`GAS_LJ_SWITCH_EXPRESSION`)."""
    force = openmm.CustomNonbondedForce(LJ_SWITCH_EXPRESSION if periodic else GAS_LJ_SWITCH_EXPRESSION)
    if not periodic:
        force.addGlobalParameter("rc", nb.cutoff_nm)
    force.addGlobalParameter("r1", nb.lj_switch_nm)
    for n in (12, 6):
        for name, value in zip("ABC", force_switch_constants(n, nb.lj_switch_nm, nb.cutoff_nm)):
            force.addGlobalParameter(f"{name}{n}", value)
    force.addPerParticleParameter("sig")
    force.addPerParticleParameter("eps")
    for sigma, eps in lj:
        force.addParticle([sigma, eps])
    for sl in slices:
        for i, j in itertools.combinations(sl, 2):
            force.addExclusion(i, j)
    force.setNonbondedMethod(openmm.CustomNonbondedForce.CutoffPeriodic if periodic
                             else openmm.CustomNonbondedForce.NoCutoff)
    force.setCutoffDistance(nb.cutoff_nm)
    force.setUseLongRangeCorrection(False)
    force.setForceGroup(GROUP_LJ_SWITCHED)
    return force


def _drude(system, model, parts: list[Particle], slices, periodic: bool) -> None:
    drude = openmm.DrudeForce()
    for i, p in enumerate(parts):
        if p.is_drude:
            alpha = model.bead_type(parts[i - 1].type_name).alpha_nm3
            drude.addParticle(i, i - 1, -1, -1, -1, p.charge_e, alpha, 1.0, 1.0)
    index = {drude.getParticleParameters(k)[0]: k for k in range(drude.getNumParticles())}
    for sl in slices:
        ds = [i for i in sl if parts[i].is_drude]
        for i, j in itertools.combinations(ds, 2):
            a = 0.5 * (_thole(model, parts[i]) + _thole(model, parts[j]))
            drude.addScreenedPair(index[i], index[j], a)
    drude.setUsesPeriodicBoundaryConditions(periodic)
    drude.setForceGroup(GROUP_DRUDE)
    system.addForce(drude)
    if model.drude.intermolecular_thole:
        system.addForce(_intermolecular_thole(model, parts, slices, periodic))


def _thole(model: CGModel, drude: Particle) -> float:
    return model.bead_type(drude.type_name[1:]).thole


def _intermolecular_thole(model, parts: list[Particle], slices, periodic: bool) -> openmm.CustomNonbondedForce:
    """Thole screening between dipoles of different molecules (CL&Pol / LAMMPS `pair thole`)."""
    force = openmm.CustomNonbondedForce(THOLE_EXPRESSION)
    force.addGlobalParameter("ONE_4PI_EPS0", COULOMB_KJ_MOL_NM)
    for name in ("qd", "alpha", "a"):
        force.addPerParticleParameter(name)
    polar = []
    for i, p in enumerate(parts):
        if p.is_drude:
            params = [p.charge_e, model.bead_type(p.type_name[1:]).alpha_nm3, _thole(model, p)]
        elif i + 1 < len(parts) and parts[i + 1].is_drude:
            q, alpha, a = -parts[i + 1].charge_e, model.bead_type(p.type_name).alpha_nm3, _thole(model, parts[i + 1])
            params = [q, alpha, a]
        else:
            force.addParticle([0.0, 1.0, 1.0])
            continue
        force.addParticle(params)
        polar.append(i)
    for sl in slices:
        for i, j in itertools.combinations(sl, 2):
            force.addExclusion(i, j)
    force.addInteractionGroup(polar, polar)
    if periodic:
        force.setNonbondedMethod(openmm.CustomNonbondedForce.CutoffPeriodic)
        force.setCutoffDistance(model.nonbonded.cutoff_nm)
    else:
        force.setNonbondedMethod(openmm.CustomNonbondedForce.NoCutoff)
    force.setUseLongRangeCorrection(False)
    force.setForceGroup(GROUP_THOLE)
    return force


def _topology(parts: list[Particle], slices, box_nm) -> app.Topology:
    top = app.Topology()
    chain = top.addChain()
    for sl in slices:
        res = top.addResidue(parts[sl[0]].mol_type[:4], chain)
        for i in sl:
            top.addAtom(parts[i].type_name, None, res)
    if box_nm is not None:
        top.setPeriodicBoxVectors(np.diag(box_nm) * unit.nanometer)
    return top


def minimized(model: CGModel, config: Configuration, tolerance_kj_mol_nm: float = 10.0,
              max_iterations: int = 2000, platform: str | None = None) -> Configuration:
    """The configuration after an OpenMM energy minimisation (constraints and Drudes included)."""
    system, _ = build_system(model, config)
    integrator = openmm.VerletIntegrator(0.001)
    args = (openmm.Platform.getPlatformByName(platform),) if platform else ()
    ctx = openmm.Context(system, integrator, *args)
    ctx.setPositions(config.positions_nm)
    ctx.applyConstraints(1e-8)
    openmm.LocalEnergyMinimizer.minimize(ctx, tolerance_kj_mol_nm, max_iterations)
    pos = ctx.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(openmm.unit.nanometer)
    return Configuration(config.composition, np.asarray(pos), config.box_nm)
