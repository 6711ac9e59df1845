"""Drude oscillator and Thole parameters that realise a bead polarizability.

A Drude particle of charge q_D on a harmonic spring E = ½ k_D d² to its bead has
α = q_D² / (4πε₀ k_D), so q_D = −sqrt(4πε₀ α k_D). With α in Å³, k_D in kJ mol⁻¹ Å⁻² and
1/(4πε₀) = 1389.35456 kJ mol⁻¹ Å e⁻², q_D [e] = −sqrt(α k_D / 1389.35456). The bead's charge
becomes q_bead − q_D so that the bead + Drude pair keeps the bead's net charge.

Conventions of the codes that consume these numbers:
* OpenMM `DrudeForce.addParticle(drude, parent, -1, -1, -1, q_D, α_nm³, 1, 1)`: α in nm³;
  OpenMM derives k = q_D²/(4πε₀ α) itself. k_D is also given in kJ mol⁻¹ nm⁻².
* LAMMPS (real units, `bond_style harmonic`, E = K (r − r0)²): K = k_D / 2 in kcal mol⁻¹ Å⁻²;
  `pair_style thole` takes α in Å³ and the damping a.
* Thole screening T(r) = 1 − (1 + a r / (2 (α_i α_j)^{1/6})) exp(−a r / (α_i α_j)^{1/6}),
  default a = 2.6 (CL&Pol, CHARMM Drude).
Defaults k_D = 4184 kJ mol⁻¹ Å⁻² (1000 kcal mol⁻¹ Å⁻², CHARMM/CL&Pol) and m_D = 0.4 u (CL&Pol,
SAPT-FF); `../shared/reference/science-notes.md` §3.3 collects the sources.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from polcg.errors import InputError
from polcg.units import ANGSTROM_TO_NM, COULOMB_KJ_MOL_ANGSTROM, KCAL_TO_KJ

#: spring-constant units accepted on input, as factors to kJ mol⁻¹ Å⁻²
KD_UNITS = {"kJ/mol/A2": 1.0, "kcal/mol/A2": KCAL_TO_KJ, "kJ/mol/nm2": ANGSTROM_TO_NM**2}
#: fewer steps than this per Drude period is flagged: velocity Verlet diverges at T/π per step
#: (3.1 steps), and the CHARMM-Drude/CL&Pol standard (k_D 4184, m_D 0.4 u, 1 fs) runs at ~6
STEPS_PER_PERIOD_MIN = 5.0
#: |q_D| above this (e) makes large Drude charges: stiff electrostatics, polarization catastrophe risk
QD_LARGE_E = 4.0


@dataclass(frozen=True)
class DrudeSettings:
    """How to realise polarizabilities: spring constant (kJ mol⁻¹ Å⁻²), Drude mass (u), Thole a,
    and the MD time step (fs) the model is meant for (used for the stability warning only)."""

    k_drude_kj_mol_a2: float = 4184.0
    drude_mass_u: float = 0.4
    thole: float = 2.6
    timestep_fs: float = 1.0

    @classmethod
    def from_user(cls, kd: float, kd_units: str, drude_mass: float, thole: float, timestep_fs: float):
        if kd_units not in KD_UNITS:
            raise InputError(f"unknown --kd-units {kd_units!r}; choose from {', '.join(KD_UNITS)}")
        if kd <= 0 or drude_mass <= 0 or thole <= 0 or timestep_fs <= 0:
            raise InputError("--kd, --drude-mass, --thole and the time step must be positive")
        return cls(kd * KD_UNITS[kd_units], drude_mass, thole, timestep_fs)


@dataclass(frozen=True)
class DrudeParameters:
    """One bead's Drude oscillator in the units OpenMM and LAMMPS use."""

    alpha_angstrom3: float
    alpha_nm3: float
    q_drude_e: float
    k_drude_kj_mol_a2: float
    k_drude_kj_mol_nm2: float
    lammps_bond_k_kcal_mol_a2: float
    drude_mass_u: float
    thole: float
    period_fs: float
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return asdict(self)


def drude_charge(alpha_angstrom3: float, k_drude_kj_mol_a2: float) -> float:
    """q_D (e, negative) with α = q_D²/(4πε₀ k_D)."""
    if alpha_angstrom3 < 0:
        raise InputError(f"negative polarizability {alpha_angstrom3} Å³")
    return -math.sqrt(alpha_angstrom3 * k_drude_kj_mol_a2 / COULOMB_KJ_MOL_ANGSTROM)


def oscillation_period_fs(k_drude_kj_mol_a2: float, drude_mass_u: float, parent_mass_u: float | None) -> float:
    """Period 2π sqrt(μ/k) of the bead–Drude relative motion (fs); μ the reduced mass (u)."""
    mu = drude_mass_u if parent_mass_u is None else drude_mass_u * parent_mass_u / (drude_mass_u + parent_mass_u)
    k_si_per_u = k_drude_kj_mol_a2 * 1e3 * 1e20 / 1e-3  # kJ/mol/Å² → J/kg/m² (per mol·u cancels)
    return 2.0 * math.pi * math.sqrt(mu / k_si_per_u) * 1e15


def drude_parameters(alpha_angstrom3: float, settings: DrudeSettings,
                     parent_mass_u: float | None = None, label: str = "") -> DrudeParameters:
    """Drude charge, spring, mass and Thole a for one bead, with stability warnings."""
    k = settings.k_drude_kj_mol_a2
    q = drude_charge(alpha_angstrom3, k)
    period = oscillation_period_fs(k, settings.drude_mass_u, parent_mass_u)
    warnings = []
    if period / settings.timestep_fs < STEPS_PER_PERIOD_MIN:
        warnings.append(f"{label}: Drude period {period:.1f} fs is under {STEPS_PER_PERIOD_MIN:.0f} steps of "
                        f"{settings.timestep_fs:g} fs: unstable; use a smaller step, a softer k_D or a heavier Drude")
    if abs(q) > QD_LARGE_E:
        warnings.append(f"{label}: |q_D| = {abs(q):.2f} e is large (α = {alpha_angstrom3:.2f} Å³): stiff model and "
                        "polarization-catastrophe risk; keep Thole screening and a hard wall (maxDrudeDistance)")
    return DrudeParameters(
        alpha_angstrom3=alpha_angstrom3, alpha_nm3=alpha_angstrom3 * ANGSTROM_TO_NM**3, q_drude_e=q,
        k_drude_kj_mol_a2=k, k_drude_kj_mol_nm2=k / ANGSTROM_TO_NM**2,
        lammps_bond_k_kcal_mol_a2=k / KCAL_TO_KJ / 2.0, drude_mass_u=settings.drude_mass_u,
        thole=settings.thole, period_fs=period, warnings=tuple(warnings),
    )


def thole_screening(r_angstrom: float, alpha_i: float, alpha_j: float, a: float = 2.6) -> float:
    """Thole factor T(r) multiplying the dipole–dipole interaction (α in Å³, r in Å)."""
    u = a * r_angstrom / (alpha_i * alpha_j) ** (1.0 / 6.0)
    return 1.0 - (1.0 + u / 2.0) * math.exp(-u)
