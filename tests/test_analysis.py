"""`polcg analyze` on runs whose answers are known exactly.

An ideal ionic "liquid": C4mim/PF6 beads with no LJ and Coulomb scaled away (ε_IL = 1e8), in a
Langevin bath of friction γ. Every molecule diffuses freely, so D = k_B T / (M γ) exactly; the ions
are independent, so Einstein–Helfand = Nernst–Einstein; the rigid cations rotate freely, so the
dipole fluctuation is the ideal-gas (Kirkwood) value N μ² / (3 ε₀ V k_B T) with the *physical*
charges; g(r) = 1; and with no interactions at all ΔH_vap = RT.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from polcg.cg.builders import IonsSpec, build_vacg
from polcg.cg.model import BeadType, CGModel, DrudeModel, Epsilon, MoleculeType
from polcg.cli import app
from polcg.errors import InputError
from polcg.md.analysis import AnalysisSettings, Properties, analyze
from polcg.md.electronic import drude_electronic
from polcg.md.estimators import E_C, EPS0_F_M, KB_J_K, NM
from polcg.md.gas import gas_configuration
from polcg.md.layout import Composition
from polcg.md.packing import Configuration
from polcg.md.report import write_outputs
from polcg.md.run import RunSettings, simulate
from polcg.md.series import collect
from polcg.md.system import build_system, minimized
from polcg.md.trajectory import Run
from polcg.units import AVOGADRO, KB_KJ_MOL_K

T, GAMMA = 300.0, 5.0
IDEAL = {
    "C4mim": {"ideal": {"citation": "test", "rigid": True,
                        "beads": {"IM": {"mass": 67.07, "sigma": 0.3, "epsilon": 0.0, "charge": 0.4374},
                                  "ME": {"mass": 15.04, "sigma": 0.3, "epsilon": 0.0, "charge": 0.1578},
                                  "BU": {"mass": 57.12, "sigma": 0.3, "epsilon": 0.0, "charge": 0.1848}},
                        "positions": {"IM": [0.0, -0.0527, 0.1365], "ME": [0.0, 0.1641, 0.2987],
                                      "BU": [0.0, 0.0187, -0.2389]}}},
    "PF6": {"ideal": {"citation": "test", "beads": {"PF6": {"mass": 144.96, "sigma": 0.3, "epsilon": 0.0,
                                                            "charge": -0.78}},
                      "positions": {"PF6": [0.0, 0.0, 0.0]}}},
}


@pytest.fixture(scope="module")
def ideal_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("ideal")
    params = d / "ideal.yaml"
    params.write_text(yaml.safe_dump(IDEAL))
    model = build_vacg(IonsSpec("C4mim", "PF6", base="ideal", params=str(params)), water=None,
                       eps_il=Epsilon(value=1e8))
    settings = RunSettings(n_pairs=100, temperature_k=T, pressure_bar=None, equilibrate_ps=5.0, production_ps=240.0,
                           report_ps=0.4, segment_ps=40.0, friction_per_ps=GAMMA, timestep_fs=10.0, platform="CPU",
                           seed=3)
    simulate(model, settings, d / "run")
    props = analyze(d / "run", AnalysisSettings(blocks=5, gas_copies=8, gas_production_ps=20.0))
    return model, d / "run", props


def test_free_diffusion_is_kt_over_m_gamma(ideal_run):
    model, _, props = ideal_run
    for mol in model.molecules:
        mass_kg = sum(model.bead_type(b).mass_u for b in mol.beads) * 1e-3 / AVOGADRO
        exact = KB_J_K * T / (mass_kg * GAMMA * 1e12)
        d = props.values[f"diffusion_{mol.name}_m2_s"]
        assert d.value == pytest.approx(exact, rel=0.12), (mol.name, d, exact)
        assert abs(d.value - exact) < 5 * d.error + 0.02 * exact


def test_independent_ions_conduct_as_nernst_einstein(ideal_run):
    _, _, props = ideal_run
    ratio = props.values["conductivity_ratio_eh_ne"]
    assert abs(ratio.value - 1.0) < max(4 * ratio.error, 0.05)
    assert ratio.error < 0.5


def test_free_rotor_dipole_fluctuation_is_kirkwood_with_physical_charges(ideal_run):
    model, run_dir, props = ideal_run
    cat = model.role("cation")
    q = np.array([model.bead_type(b).charge_e for b in cat.beads])
    m = np.array([model.bead_type(b).mass_u for b in cat.beads])
    xyz = np.asarray(cat.positions_nm)
    mu = q @ (xyz - (m @ xyz) / m.sum())  # e nm, about the centre of mass
    volume = float(np.mean(collect(Run.open(run_dir), None).volume_nm3))
    kirkwood = 100 * np.sum(mu**2) * (E_C * NM) ** 2 / (3 * EPS0_F_M * volume * NM**3 * KB_J_K * T)
    eps, bg = props.values["dielectric_constant"], props.values["dielectric_background"]
    assert bg.value == pytest.approx(1e8)
    # within 3 standard errors (the estimate's own, from blocking: ~14 % of the value for 240 ps of 100
    # rotors, so a fixed 15 % band passed or failed with the trajectory's luck), and the error small enough
    # that a factor lost in the estimator (3, ε0, the √ε scaling) would still fail
    assert abs(eps.value - bg.value - kirkwood) < 3 * eps.error and eps.error < 0.2 * kirkwood


def test_ideal_rdf_is_one_and_hvap_is_rt(ideal_run):
    _, _, props = ideal_run
    r = props.rdf_r_nm
    far = (r > 0.6) & (r < r.max() - 0.05)
    for key, g in props.rdf.items():
        assert np.mean(g[far]) == pytest.approx(1.0, abs=0.03), key
    hvap = props.values["hvap_kj_mol"]
    assert hvap.value == pytest.approx(KB_KJ_MOL_K * T, abs=1e-3)


def test_cli_writes_json_csv_png_and_refuses_bad_input(ideal_run, tmp_path):
    _, run_dir, _ = ideal_run
    runner = CliRunner()
    res = runner.invoke(app, ["analyze", str(run_dir), "--properties", "density,rdf", "--out", str(tmp_path / "a"),
                              "--json", str(tmp_path / "p.json")])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "p.json").read_text())
    mass_g = 100 * (139.23 + 144.96) / AVOGADRO
    volume_cm3 = float(np.mean(collect(Run.open(run_dir), None).volume_nm3)) * 1e-21
    assert doc["properties"]["density_g_cm3"]["value"] == pytest.approx(mass_g / volume_cm3, rel=1e-5)
    header = (tmp_path / "a" / "rdf.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "r_nm" and "g_IM-PF6" in header and (tmp_path / "a" / "rdf.png").stat().st_size > 1000
    res = runner.invoke(app, ["analyze", str(run_dir), "--properties", "density,viscosity"])
    assert res.exit_code == 2 and "unknown properties viscosity" in res.output
    res = runner.invoke(app, ["analyze", str(tmp_path / "nothing")])
    assert res.exit_code == 2 and "not a polcg run directory" in res.output


def test_properties_json_loads_back_and_a_broken_one_is_refused_in_one_line(ideal_run, tmp_path):
    _, _, props = ideal_run
    files = write_outputs(props, tmp_path / "a")
    back = Properties.load(files["json"])
    assert back.values == props.values and list(back.values) == list(props.values)
    assert (back.run, back.frames, back.finished, back.notes) == (props.run, props.frames, props.finished, props.notes)
    assert json.loads(json.dumps(back.to_dict())) == json.loads(files["json"].read_text()) and back.rdf is None
    doc = json.loads(files["json"].read_text())
    del doc["frames"]
    (tmp_path / "broken.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"broken.json: properties file has no field 'frames'$"):
        Properties.load(tmp_path / "broken.json")
    doc = json.loads(files["json"].read_text())
    doc["properties"]["density_g_cm3"] = {"value": "1.2", "error": 0.1}
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"bad.json: property 'density_g_cm3' must be \{value: number"):
        Properties.load(tmp_path / "bad.json")
    with pytest.raises(InputError, match="nothing.json: properties file not found"):
        Properties.load(tmp_path / "nothing.json")


def test_series_undo_vacg_scaling_and_match_direct_sums(tmp_path):
    """COMs and the rotational dipole (physical charges) against a loop over molecules."""
    model = build_vacg(IonsSpec("C4mim", "PF6"), water="PW", eps_il=Epsilon(value=2.0))
    s = RunSettings(n_pairs=40, n_water=20, equilibrate_ps=0.0, production_ps=0.4, report_ps=0.1, segment_ps=0.2,
                    platform="CPU", timestep_fs=5.0, pressure_bar=None)
    simulate(model, s, tmp_path / "r")
    run = Run.open(tmp_path / "r")
    series = collect(run, None)
    chunk = next(run.chunks())
    pos = chunk.positions_nm[1]
    k, coms, dip = 0, [], np.zeros(3)
    for mol in [model.role("cation")] * 40 + [model.role("anion")] * 40 + [model.role("water")] * 20:
        xyz = pos[k:k + mol.nbeads]
        m = np.array([model.bead_type(b).mass_u for b in mol.beads])
        q = np.array([model.bead_type(b).charge_e for b in mol.beads])
        com = m @ xyz / m.sum()
        coms.append(com)
        dip += q @ (xyz - com)
        k += mol.nbeads
    np.testing.assert_allclose(series.com_nm[1], np.array(coms), atol=1e-6)
    np.testing.assert_allclose(series.dipole_e_nm[1], dip, atol=1e-6)


def test_drude_background_is_clausius_mossotti_on_a_cubic_lattice():
    """Polarizable ±1 points on a CsCl lattice: every site has cubic symmetry, so the Lorentz local
    field is exact and (ε_∞ − 1)/(ε_∞ + 2) = (4π/3) Σ n_i α_i."""
    a, n = 0.65, 4
    model = CGModel(kind="drude", drude=DrudeModel(),
                    bead_types=(BeadType("XC", 40.0, 0.4, 0.5, 1.0, alpha_nm3=0.004, thole=2.6),
                                BeadType("YA", 80.0, 0.45, 0.5, -1.0, alpha_nm3=0.006, thole=2.6)),
                    molecules=(MoleculeType("X", "cation", ("XC",), ((0.0, 0.0, 0.0),)),
                               MoleculeType("Y", "anion", ("YA",), ((0.0, 0.0, 0.0),))))
    sites = np.array(list(itertools.product(range(n), repeat=3)), float) * a
    offset = np.full(3, 5e-4)  # a frame's Drudes are off their cores; a uniform shift keeps the symmetry
    pos = [x for site in (*sites, *(sites + a / 2)) for x in (site, site + offset)]
    eps = drude_electronic(model, Configuration(Composition(n**3), np.array(pos), (n * a,) * 3))
    x = 4 * np.pi / 3 * (0.004 + 0.006) / a**3
    assert eps.value == pytest.approx((1 + 2 * x) / (1 - x), rel=2e-4)


def test_gas_copies_do_not_interact():
    """The energy of the far-apart copies is the sum of each pair's energy alone."""
    model = build_vacg(IonsSpec("C4mim", "PF6"), water=None)
    config = minimized(model, gas_configuration(model, 4, seed=2))
    total = _energy(model, config)
    alone = 0.0
    for k in range(4):
        idx = [3 * k, 3 * k + 1, 3 * k + 2, 12 + k]  # the k-th cation's beads and the k-th anion
        alone += _energy(model, Configuration(Composition(1), config.positions_nm[idx], None))
    assert total == pytest.approx(alone, abs=1e-4)
    assert total / 4 < -100.0  # bound ion pairs


def _energy(model, config) -> float:
    import openmm

    system, _ = build_system(model, config)
    ctx = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(config.positions_nm)
    return ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(openmm.unit.kilojoule_per_mole)
