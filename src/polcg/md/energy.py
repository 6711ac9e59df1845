"""Potential energy of a configuration split into term classes, as the engines report them:
bonded (bonds, angles, dihedrals, Drude springs), LJ (with any dispersion correction), Coulomb
(real + reciprocal space, exclusions corrected), Thole (screened dipole pairs, intra + inter)."""

from __future__ import annotations

import copy

import numpy as np
import openmm

from polcg.md.system import GROUP_BONDED, GROUP_DRUDE, GROUP_LJ_SWITCHED, GROUP_NONBONDED, GROUP_THOLE


def energy_terms(system: openmm.System, positions_nm: np.ndarray, platform: str = "Reference") -> dict[str, float]:
    """kJ/mol per term class for `positions_nm` (the system's own box)."""
    lj_only, coul_only, springs = (copy.deepcopy(system) for _ in range(3))
    _nonbonded(lj_only, charges=False)
    _nonbonded(coul_only, lj=False)
    _drop_screened_pairs(springs)
    e = {
        "total": _energy(system, positions_nm, platform, None),
        "lj": _energy(lj_only, positions_nm, platform, {GROUP_NONBONDED, GROUP_LJ_SWITCHED}),
        "coulomb": _energy(coul_only, positions_nm, platform, {GROUP_NONBONDED}),
        "bonded": _energy(system, positions_nm, platform, {GROUP_BONDED}),
    }
    drude_total = _energy(system, positions_nm, platform, {GROUP_DRUDE})
    spring = _energy(springs, positions_nm, platform, {GROUP_DRUDE})
    e["bonded"] += spring
    e["thole"] = drude_total - spring + _energy(system, positions_nm, platform, {GROUP_THOLE})
    return e


def _energy(system: openmm.System, pos, platform: str, groups) -> float:
    ctx = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName(platform))
    ctx.setPositions(np.asarray(pos))
    state = ctx.getState(getEnergy=True, groups=groups if groups is not None else -1)
    return state.getPotentialEnergy().value_in_unit(openmm.unit.kilojoule_per_mole)


def _nonbonded(system: openmm.System, charges: bool = True, lj: bool = True) -> None:
    for force in system.getForces():
        if isinstance(force, openmm.NonbondedForce):
            for i in range(force.getNumParticles()):
                q, s, eps = force.getParticleParameters(i)
                force.setParticleParameters(i, q if charges else 0.0, s, eps if lj else 0.0)
            if not lj:
                force.setUseDispersionCorrection(False)


def _drop_screened_pairs(system: openmm.System) -> None:
    """Switch the screened pairs off: with a = 0, T(r) = 1 − (1 + 0)·e⁰ = 0, so only the springs remain."""
    for force in system.getForces():
        if isinstance(force, openmm.DrudeForce):
            for k in range(force.getNumScreenedPairs()):
                i, j, _ = force.getScreenedPairParameters(k)
                force.setScreenedPairParameters(k, i, j, 0.0)
