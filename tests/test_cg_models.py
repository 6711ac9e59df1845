"""CG models: library parameters, VaCG screening, Drude α, Thole screening, model files, bad input."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import openmm
import pytest
from typer.testing import CliRunner

from polcg.cg.builders import IonsSpec, build_drude, build_vacg
from polcg.cg.model import CGModel, Epsilon
from polcg.cli import app
from polcg.errors import InputError
from polcg.md.layout import Composition, particles
from polcg.md.packing import lattice_box
from polcg.md.system import GROUP_DRUDE, GROUP_LJ_SWITCHED, GROUP_NONBONDED, build_system
from polcg.polarizabilities import bead_polarizabilities
from polcg.polarizabilities.drude import drude_charge, thole_screening
from polcg.units import COULOMB_KJ_MOL_NM

RM = IonsSpec("C4mim", "PF6")


def _energy(system, pos, groups=-1) -> float:
    ctx = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(pos)
    return ctx.getState(getEnergy=True, groups=groups).getPotentialEnergy().value_in_unit(
        openmm.unit.kilojoule_per_mole)


def _coulomb(system, pos, keep) -> float:
    """Coulomb energy with only the charges of particles in `keep` (others zeroed), LJ off."""
    s = copy.deepcopy(system)
    nb = next(f for f in s.getForces() if isinstance(f, openmm.NonbondedForce))
    nb.setUseDispersionCorrection(False)
    for i in range(nb.getNumParticles()):
        q, sig, _ = nb.getParticleParameters(i)
        nb.setParticleParameters(i, q if i in keep else 0.0, sig, 0.0)
    return _energy(s, pos, {1})


def test_rm_library_parameters_and_rigid_geometry():
    model = build_vacg(RM, water=None)
    cat = model.role("cation")
    assert cat.base == "roy-maroncelli" and "Roy" in cat.citation
    # rigid cation: the three constraints reproduce the published site distances (Å → nm)
    xyz = {"IM": (0, -0.527, 1.365), "ME": (0, 1.641, 2.987), "BU": (0, 0.187, -2.389)}
    for c in cat.constraints:
        a, b = np.array(xyz[cat.beads[c.i]]), np.array(xyz[cat.beads[c.j]])
        assert c.r0_nm == pytest.approx(np.linalg.norm(a - b) / 10, abs=1e-12)
    assert len(cat.constraints) == 3
    charges = [model.bead_type(b).charge_e for m in model.molecules for b in m.beads]
    assert sum(charges) == pytest.approx(0.0, abs=1e-12)
    assert model.provenance["charges"]["source"].startswith("library default")


def test_vacg_coulomb_scales_exactly_by_group():
    base = build_vacg(RM, eps_il=Epsilon(value=1.0), eps_w=Epsilon(value=1.0))
    scaled = build_vacg(RM, eps_il=Epsilon(value=1.7), eps_w=Epsilon(value=2.5))
    comp = Composition(40, 20)
    config = lattice_box(base, comp, density_g_cm3=0.6, seed=3)
    parts = particles(base, comp)
    ions = {i for i, p in enumerate(parts) if p.role != "water"}
    water = {i for i, p in enumerate(parts) if p.role == "water"}
    out = {}
    for name, model in (("base", base), ("scaled", scaled)):
        system, _ = build_system(model, config)
        e_ii = _coulomb(system, config.positions_nm, ions)
        e_ww = _coulomb(system, config.positions_nm, water)
        e_all = _coulomb(system, config.positions_nm, ions | water)
        out[name] = (e_ii, e_ww, e_all - e_ii - e_ww)
    for got, ref, factor in zip(out["scaled"], out["base"], (1 / 1.7, 1 / 2.5, 1 / math.sqrt(1.7 * 2.5))):
        assert abs(ref) > 1.0
        assert got == pytest.approx(ref * factor, rel=1e-9)


def test_epsilon_of_water_fraction():
    eps = Epsilon(form="polynomial", coefficients=(1.0, 2.0, 3.0))
    assert eps.at(0.5) == pytest.approx(1 + 1 + 0.75)
    with pytest.raises(InputError):
        Epsilon(form="polynomial", coefficients=(1.0, -2.0)).at(1.0)


def test_drude_parameters_from_shipped_polarizabilities():
    model = build_drude(RM)
    alphas = bead_polarizabilities("C4mim")
    k_a2 = model.drude.k_drude_kj_mol_nm2 / 100.0
    parts = particles(model, Composition(1))
    drudes = [p for p in parts if p.is_drude]
    assert len(drudes) == 4  # IM, ME, BU, PF6
    im = next(p for p in drudes if p.type_name == "DIM")
    assert im.charge_e == pytest.approx(drude_charge(alphas["IM"], k_a2), rel=1e-12)
    # core + Drude keep the bead's charge and mass
    core = parts[parts.index(im) - 1]
    assert core.charge_e + im.charge_e == pytest.approx(model.bead_type("IM").charge_e, abs=1e-12)
    assert core.mass_u + im.mass_u == pytest.approx(67.07)


def test_induced_dipole_in_uniform_field_is_alpha_e():
    """Minimise the Drude of PF6⁻ in a uniform field: μ = q_D d = α E (4πε₀ units)."""
    model = build_drude(RM)
    config = lattice_box(model, Composition(1), density_g_cm3=0.01)
    system, _ = build_system(model, config)
    parts = particles(model, Composition(1))
    nb = next(f for f in system.getForces() if isinstance(f, openmm.NonbondedForce))
    for i in range(nb.getNumParticles()):
        nb.setParticleParameters(i, 0.0, 1.0, 0.0)
    field = np.array([120.0, -45.0, 60.0])  # kJ mol⁻¹ nm⁻¹ e⁻¹
    ext = openmm.CustomExternalForce("-q*(Ex*x+Ey*y+Ez*z)")
    for name in ("q", "Ex", "Ey", "Ez"):
        ext.addPerParticleParameter(name)
    d_index = next(i for i, p in enumerate(parts) if p.type_name == "DPF6")
    ext.addParticle(d_index, [parts[d_index].charge_e, *field])
    system.addForce(ext)
    for i, p in enumerate(parts):
        if not p.is_drude:
            system.setParticleMass(i, 0.0)
    ctx = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(config.positions_nm)
    openmm.LocalEnergyMinimizer.minimize(ctx, 1e-6, 10000)
    pos = ctx.getState(getPositions=True).getPositions(asNumpy=True)._value
    mu = parts[d_index].charge_e * (pos[d_index] - pos[d_index - 1])
    alpha = model.bead_type("PF6").alpha_nm3
    np.testing.assert_allclose(mu, alpha * field / COULOMB_KJ_MOL_NM, rtol=1e-5)


def _thole_reference(parts, pos, model, mol) -> float:
    """Σ over intramolecular dipole pairs of the four ±q_D charge pairs, screened by DESIGN's T(r)."""
    idx = [i for i in mol if parts[i].is_drude]
    e = 0.0
    for n, i in enumerate(idx):
        for j in idx[n + 1:]:
            ai = model.bead_type(parts[i].type_name[1:]).alpha_nm3 * 1e3
            aj = model.bead_type(parts[j].type_name[1:]).alpha_nm3 * 1e3
            for pi, qi in ((i, parts[i].charge_e), (i - 1, -parts[i].charge_e)):
                for pj, qj in ((j, parts[j].charge_e), (j - 1, -parts[j].charge_e)):
                    r = np.linalg.norm(pos[pi] - pos[pj]) * 10.0  # Å
                    e += COULOMB_KJ_MOL_NM * 10.0 * qi * qj / r * thole_screening(r, ai, aj, 2.6)
    return e


@pytest.mark.parametrize("scale", [0.6, 1.0, 1.8, 3.0])
def test_thole_screened_pairs_match_design_formula(scale):
    model = build_drude(RM, thole=2.6)
    config = lattice_box(model, Composition(1), density_g_cm3=0.01, drude_offset_nm=0.01, seed=5)
    parts = particles(model, Composition(1))
    cation = range(0, 6)
    pos = config.positions_nm.copy()
    centre = pos[list(cation)].mean(axis=0)
    pos[list(cation)] = centre + (pos[list(cation)] - centre) * scale
    system, _ = build_system(model, config)
    springs = copy.deepcopy(system)
    drude = next(f for f in springs.getForces() if isinstance(f, openmm.DrudeForce))
    for k in range(drude.getNumScreenedPairs()):
        i, j, _ = drude.getScreenedPairParameters(k)
        drude.setScreenedPairParameters(k, i, j, 0.0)
    e_thole = _energy(system, pos, {GROUP_DRUDE}) - _energy(springs, pos, {GROUP_DRUDE})
    assert e_thole == pytest.approx(_thole_reference(parts, pos, model, cation), rel=1e-6)


def test_model_file_round_trip(tmp_path):
    model = build_drude(RM, intermolecular_thole=True)
    path = model.save(tmp_path)
    again = CGModel.load(tmp_path)
    assert again == model and again.sha256() == model.sha256()
    assert json.loads(path.read_text())["model_sha256"] == model.sha256()


def _charges_json(path, ions) -> str:
    """A `polcg charges --json` document with these ions' bead charges (one atom per bead)."""
    full, q = [], []
    for ion in ions:
        beads = [{**b, "atoms": [len(q) + k]} for k, b in enumerate(ion["beads"])]
        q += [b["charge"] for b in ion["beads"]]
        total = sum(b["charge"] for b in ion["beads"])
        full.append({"name": ion["name"], "atoms": [a for b in beads for a in b["atoms"]],
                     "formal_charge": round(total), "charge": total, "beads": beads})
    path.write_text(json.dumps({"atom_charges": q, "ions": full, "energy_hartree": 0.0, "method": {"xc": "hf"}}))
    return str(path)


def test_gebf_charges_are_averaged_per_bead(tmp_path):
    ions = [{"name": "C4mim", "beads": [{"name": "IM", "charge": q1}, {"name": "ME", "charge": 0.1},
                                        {"name": "BU", "charge": 0.2}]} for q1 in (0.55, 0.65)]
    ions += [{"name": "PF6", "beads": [{"name": "PF6", "charge": -0.9}]}] * 2
    model = build_vacg(RM, charges=_charges_json(tmp_path / "q.json", ions))
    im = model.bead_type("IM")
    assert im.charge_e == pytest.approx(0.6) and im.charge_spread_e == pytest.approx(0.05)
    assert im.charge_samples == 2
    assert model.provenance["charges"]["sha256"]


def _cli(args):
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def test_bad_input_one_line_errors(tmp_path):
    # charges JSON of other ions
    other = _charges_json(tmp_path / "cl.json", [{"name": "Cl", "beads": [{"name": "CL", "charge": -0.8}]}])
    code, out = _cli(["model", "build", "--kind", "vacg", "--cation", "C4mim", "--anion", "PF6",
                      "--charges", other, "--out", str(tmp_path / "m")])
    assert code == 2 and "no C4mim ions" in out and out.count("\n") <= 2
    # polarizabilities missing for a bead
    pol = tmp_path / "pol.json"
    from polcg.polarizabilities import load_shipped

    c4mim, pf6 = load_shipped("C4mim").to_dict(), load_shipped("PF6").to_dict()
    c4mim["beads"] = [b for b in c4mim["beads"] if b["name"] == "IM"]
    pol.write_text(json.dumps({"ions": [c4mim, pf6]}))
    code, out = _cli(["model", "build", "--kind", "drude", "--cation", "C4mim", "--anion", "PF6",
                      "--polarizability", str(pol), "--out", str(tmp_path / "m")])
    assert code == 2 and "ME, BU" in out
    # a parameter block whose beads do not match the library's mapping
    params = tmp_path / "p.yaml"
    params.write_text("BF4:\n  mine:\n    citation: test\n    beads:\n      B: {mass: 86.8, sigma: 0.47, "
                      "epsilon: 3.0, charge: -1}\n    positions:\n      B: [0, 0, 0]\n")
    code, out = _cli(["model", "build", "--kind", "vacg", "--cation", "C4mim", "--anion", "BF4",
                      "--params", str(params), "--out", str(tmp_path / "m")])
    assert code == 2 and "do not match the mapping" in out
    # an ion without CG parameters
    code, out = _cli(["model", "build", "--kind", "vacg", "--cation", "C2mim", "--anion", "PF6",
                      "--out", str(tmp_path / "m")])
    assert code == 2 and "no CG parameters" in out
    assert not (tmp_path / "m" / "model.json").exists()


def test_cli_build_and_openmm_export(tmp_path):
    code, out = _cli(["model", "build", "--kind", "vacg", "--cation", "C4mim", "--anion", "PF6",
                      "--eps-il", "polynomial:1.2,0.8", "--out", str(tmp_path / "m")])
    assert code == 0, out
    model = CGModel.load(tmp_path / "m")
    assert model.dielectric.eps_il.at(0.5) == pytest.approx(1.6)
    code, out = _cli(["model", "export", str(tmp_path / "m"), "--to", "openmm", "--out", str(tmp_path / "o"),
                      "--pairs", "20", "--water-fraction", "0.5"])
    assert code == 2 and "half the box" in out  # 20 pairs: a 2.3 nm box under a 1.2 nm cutoff
    code, out = _cli(["model", "export", str(tmp_path / "m"), "--to", "openmm", "--out", str(tmp_path / "o"),
                      "--pairs", "40", "--water-fraction", "0.5"])
    assert code == 0, out
    system = openmm.XmlSerializer.deserialize((tmp_path / "o" / "system.xml").read_text())
    pdb = openmm.app.PDBFile(str(tmp_path / "o" / "topology.pdb"))
    assert system.getNumParticles() == pdb.topology.getNumAtoms() == 40 * 4 + 10 * 3
    assert _energy(system, pdb.positions) < 0


@pytest.mark.parametrize("distance_nm", [0.3, 0.45, 0.6])
def test_intermolecular_thole_is_the_screening_correction(distance_nm):
    """Two PF6⁻ dipoles in different molecules: group 3 adds Σ C q_i q_j (T(r) − 1)/r over the ±q_D charges."""
    model = build_drude(RM, intermolecular_thole=True)
    config = lattice_box(model, Composition(2), density_g_cm3=0.01, drude_offset_nm=0.015, seed=2)
    parts = particles(model, Composition(2))
    anions = [i for i, p in enumerate(parts) if p.type_name == "DPF6"]
    pos = config.positions_nm.copy()
    (d1, d2), shift = anions, np.array([distance_nm, 0.0, 0.0])
    pos[d2 - 1:d2 + 1] += pos[d1 - 1] + shift - pos[d2 - 1]
    system, _ = build_system(model, config)
    alpha = model.bead_type("PF6").alpha_nm3 * 1e3
    ref = 0.0
    for pi, qi in ((d1, parts[d1].charge_e), (d1 - 1, -parts[d1].charge_e)):
        for pj, qj in ((d2, parts[d2].charge_e), (d2 - 1, -parts[d2].charge_e)):
            r = np.linalg.norm(pos[pi] - pos[pj]) * 10.0
            ref += COULOMB_KJ_MOL_NM * 10.0 * qi * qj / r * (thole_screening(r, alpha, alpha, 2.6) - 1.0)
    assert abs(ref) > 1e-5
    assert _energy(system, pos, {3}) == pytest.approx(ref, rel=1e-6)


# -- LJ force switch (MARTINI 2 convention) ----------------------------------------------------


def _two_pw(r_nm: float, box_nm: float | None = 4.0):
    """Two PW molecules with their W beads r_nm apart along x (charged beads pointing away); no box:
    a gas-phase configuration."""
    from polcg.md.packing import Configuration

    one = np.array([[0.0, 0.0, 0.0], [-0.14, 0.0, 0.0], [0.0, -0.14, 0.0]])
    two = np.array([[r_nm, 0.0, 0.0], [r_nm + 0.14, 0.0, 0.0], [r_nm, 0.14, 0.0]])
    return Configuration(Composition(0, 2), np.vstack([one, two]) + 1.0, None if box_nm is None else (box_nm,) * 3)


def _lj_pair_curve(model, box_nm: float | None = 4.0):
    """r ↦ (LJ energy kJ/mol, x force on the second W bead kJ/mol/nm) for two PW at W–W distance r."""
    config = _two_pw(0.5, box_nm)
    system, _ = build_system(model, config)
    for force in system.getForces():
        if isinstance(force, openmm.NonbondedForce):
            for i in range(force.getNumParticles()):
                _, s, e = force.getParticleParameters(i)
                force.setParticleParameters(i, 0.0, s, e)
    ctx = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    kj, groups = openmm.unit.kilojoule_per_mole, {GROUP_NONBONDED, GROUP_LJ_SWITCHED}

    def at(r_nm: float) -> tuple[float, float]:
        ctx.setPositions(_two_pw(r_nm).positions_nm)
        state = ctx.getState(getEnergy=True, getForces=True, groups=groups)
        f = state.getForces(asNumpy=True).value_in_unit(kj / openmm.unit.nanometer)
        return state.getPotentialEnergy().value_in_unit(kj), float(f[3, 0])

    return at


def test_lj_force_switch_is_smooth_and_zero_at_the_cutoff():
    """GROMACS force switch 0.9–1.2 nm on the PW W–W pair (σ 0.47 nm, ε 4 kJ/mol): below the switch
    it is plain LJ shifted by a constant; the force is continuous at 0.9 nm, and force, its slope
    and the energy vanish at 1.2 nm; the energy is the integral of the force from the cutoff."""
    from dataclasses import replace

    from scipy.integrate import quad

    from polcg.cg.model import Nonbonded

    model = build_vacg(RM, water="PW")
    plain = _lj_pair_curve(replace(model, nonbonded=Nonbonded(dispersion_correction=False)))
    switched = _lj_pair_curve(replace(model, nonbonded=Nonbonded(dispersion_correction=False, lj_switch_nm=0.9)))
    shift = [switched(r)[0] - plain(r)[0] for r in (0.45, 0.6, 0.85)]
    assert np.ptp(shift) < 1e-9 and abs(shift[0]) > 1e-3  # a constant, and not zero
    h = 1e-5  # across 0.9 nm the force changes as plain LJ's does (the added A d² + B d³ starts flat)
    below, above = switched(0.9 - h)[1], switched(0.9 + h)[1]
    plain_step = plain(0.9 + h)[1] - plain(0.9 - h)[1]
    assert abs((above - below) - plain_step) < 1e-7 * abs(below)
    e_c, f_c = switched(1.2 - 1e-7)
    f_near = switched(1.2 - 1e-3)[1]
    assert abs(e_c) < 1e-9 and abs(f_c) < 1e-9 and abs(f_near) < 1e-4 * abs(below)
    for r in (0.7, 1.0, 1.1):
        work, _ = quad(lambda x: switched(x)[1], r, 1.2, limit=20)
        assert switched(r)[0] == pytest.approx(work, rel=1e-6, abs=1e-8)
    plain_f = plain(1.0)[1]
    assert abs(switched(1.0)[1]) < abs(plain_f)  # the switch weakens the tail


def test_lj_force_switch_in_a_gas_phase_system_is_the_periodic_one():
    """ΔH_vap's gas-phase pairs (no box, Coulomb without cutoff) keep the switched LJ and its cutoff:
    the pair energy and force of a periodic box, zero beyond 1.2 nm. (OpenMM refuses a cutoff LJ force
    beside a no-cutoff NonbondedForce: the gas phase's LJ cutoff is a select() in the expression.)"""
    from dataclasses import replace

    from polcg.cg.model import Nonbonded

    model = replace(build_vacg(RM, water="PW"), nonbonded=Nonbonded(dispersion_correction=False, lj_switch_nm=0.9))
    box, gas = _lj_pair_curve(model), _lj_pair_curve(model, box_nm=None)
    for r in (0.45, 0.8, 1.0, 1.19):
        (e_box, f_box), (e_gas, f_gas) = box(r), gas(r)
        assert e_gas == pytest.approx(e_box, rel=1e-9) and f_gas == pytest.approx(f_box, rel=1e-9)
        assert abs(e_box) > 1e-6
    assert gas(1.3) == (0.0, 0.0) and gas(2.5) == (0.0, 0.0)
    # ΔH_vap's 32 ion-pair copies, 200 nm apart, in single precision: far pairs add nothing, not NaN
    from polcg.md.gas import gas_configuration

    config = gas_configuration(model, 32, 1)
    system, _ = build_system(model, config)
    ctx = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("CPU"))
    ctx.setPositions(config.positions_nm)
    forces = ctx.getState(getForces=True, groups={GROUP_LJ_SWITCHED}).getForces(asNumpy=True)._value
    assert np.isfinite(forces).all() and np.abs(forces).max() > 0


def test_lj_switch_needs_a_sensible_range_and_no_tail_correction():
    from polcg.cg.model import Nonbonded

    with pytest.raises(InputError, match="between 0 and the cutoff"):
        Nonbonded(dispersion_correction=False, lj_switch_nm=1.3)
    with pytest.raises(InputError, match="dispersion correction"):
        Nonbonded(lj_switch_nm=0.9)
    model = build_vacg(RM, water="PW", nonbonded=Nonbonded(dispersion_correction=False, lj_switch_nm=0.9))
    assert CGModel.from_dict(json.loads(json.dumps(model.to_dict()))) == model
