"""Fast pass plan, warm starts, the worker layout and `polcg charges --plan` (real PySCF, tiny clusters)."""

import json

import numpy as np
import pytest
from pyscf import gto, scf
from typer.testing import CliRunner

from conftest import nh4cl_pair
from polcg.charges import RunOptions, compute_charges
from polcg.cli import app
from polcg.errors import InputError
from polcg.gebf import GEBFSettings
from polcg.gebf.plan import GPU_WORKERS_MAX, _makespan, choose_gpu_layout, choose_layout, plan_gebf
from polcg.qm import MethodSpec, QMJob, RunConfig
from polcg.qm.backends import explain_device, get_backend, probe_gpu
from polcg.qm.cost import job_size
from polcg.qm.guess import GuessPart, assemble_density, save_density
from polcg.structure.io import load_cluster

DFT = MethodSpec(xc="B3LYP", basis="sto-3g", scheme="mulliken", conv_tol=1e-10)


def test_fast_plan_matches_the_full_plan_in_fewer_accurate_jobs(nh4cl_cluster, tmp_path):
    clus = load_cluster(nh4cl_cluster, total_charge=0)
    res = {p: compute_charges(clus, DFT, GEBFSettings(xi=3.0, eta=2, passes=p),
                              options=RunOptions(workers=1, workdir=str(tmp_path / p))) for p in ("fast", "full")}
    fast, full = res["fast"], res["full"]
    assert fast.converged and full.converged
    assert np.max(np.abs(np.array(fast.atom_charges) - full.atom_charges)) < 1e-4
    assert abs(fast.energy_hartree - full.energy_hartree) < 1e-6
    levels = [p["level"] for p in fast.gebf["passes"]]
    assert levels[0].endswith("grid 1") and levels[-1].endswith(f"grid {DFT.grid_level}")  # cheap first
    accurate = sum(p["jobs"] for p in fast.gebf["passes"] if p["level"] == levels[-1])
    assert accurate < sum(p["jobs"] for p in full.gebf["passes"])


def test_fast_plan_stops_when_the_last_two_changes_put_the_charges_within_tolerance(nh4cl_cluster, tmp_path):
    # at tol 1e-4 the first accurate pass still moves the charges by ~3e-4 e (mostly the cheap grid's
    # error in the background), but after a 0.057 e cheap pass that is a contraction of ~0.005 per pass
    clus = load_cluster(nh4cl_cluster, total_charge=0)
    runs = {p: compute_charges(clus, DFT, GEBFSettings(xi=3.0, eta=2, passes=p, tol_charge=1e-4),
                               options=RunOptions(workers=1, workdir=str(tmp_path / p))) for p in ("fast", "full")}
    fast, full = runs["fast"], runs["full"]
    assert fast.converged and fast.max_charge_change[-1] > 1e-4
    accurate = [p for p in fast.gebf["passes"] if p["pass"].startswith("embedding")]
    assert len(accurate) == 1 and accurate[0]["predicted_remaining_change"] < 1e-5
    assert full.iterations > fast.iterations
    assert np.max(np.abs(np.array(fast.atom_charges) - full.atom_charges)) < 1e-4


def test_the_remaining_change_follows_the_contraction_and_refuses_slow_ones():
    from polcg.gebf.driver import remaining_change

    assert remaining_change([0.038, 1.345e-3]) == pytest.approx(1.345e-3 * 0.0354 / (1 - 0.0354), rel=1e-2)
    assert remaining_change([0.1, 0.05]) is None  # contracting by 0.5 per pass: no prediction
    assert remaining_change([0.02]) is None
    assert remaining_change([0.0, 0.0]) is None


def test_fast_plan_rejects_nonsense_settings():
    with pytest.raises(InputError):
        GEBFSettings(passes="quick")
    with pytest.raises(InputError):
        GEBFSettings(cheap_passes=-1)


def _pair_mol(atoms, charge):
    return gto.M(atom=[(el, x) for el, x in atoms], charge=charge, basis="sto-3g", verbose=0)


def test_fragment_densities_assemble_into_a_pair_guess(tmp_path):
    atoms = nh4cl_pair([0, 0, 0])
    cation, anion = _pair_mol(atoms[:5], 1), _pair_mol(atoms[5:], -1)
    for key, mol in (("cation", cation), ("anion", anion)):
        mf = scf.RHF(mol).run()
        save_density(str(tmp_path), key, mf.make_rdm1(), mol)
    pair = _pair_mol(atoms, 0)
    parts = (GuessPart("cation", tuple(range(5)), tuple(range(5))), GuessPart("anion", (0,), (5,)))
    dm = assemble_density(str(tmp_path), parts, pair)
    assert dm.shape == (pair.nao, pair.nao)
    # each block keeps its fragment's electrons, so the guess holds the pair's electron count
    assert abs(np.einsum("ij,ji", dm, pair.intor("int1e_ovlp")) - pair.nelectron) < 0.05
    assert assemble_density(str(tmp_path), parts + (GuessPart("missing", (0,), (0,)),), pair) is None


def test_warm_start_changes_cycles_not_the_answer(tmp_path):
    atoms = nh4cl_pair([0, 0, 0])
    job = QMJob.build([a for a, _ in atoms], [x for _, x in atoms], 0, DFT)
    backend = get_backend("cpu")
    cold = backend.compute(job, RunConfig(guess_dir=str(tmp_path)))  # saves its density
    warm = backend.compute(job, RunConfig(guess_dir=str(tmp_path)))
    assert warm.scf_cycles < cold.scf_cycles
    assert abs(warm.energy_hartree - cold.energy_hartree) < 1e-8
    assert np.max(np.abs(np.array(warm.charges) - cold.charges)) < 1e-6


def test_plan_sizes_are_the_real_job_sizes(nh4cl_cluster):
    clus = load_cluster(nh4cl_cluster, total_charge=0)
    from polcg.charges import molecule_fragments

    frags, charges, _ = molecule_fragments(clus, "pairs")
    method = MethodSpec(xc="B3LYP", basis="6-31G*", scheme="npa")
    plan = plan_gebf(clus.elements, clus.coords_angstrom, frags, charges, method, GEBFSettings(xi=3.0, eta=2))
    assert [p.name for p in plan.passes] == ["isolated fragments", "cheap pass 1", "embedding pass 1"]
    biggest = max(plan.subsystems, key=lambda s: s["nao"])
    atoms = [a for f in biggest["fragments"] for a in frags[f]]
    mol = gto.M(atom=[(clus.elements[a], clus.coords_angstrom[a]) for a in atoms], basis="6-31G*", verbose=0)
    assert biggest["nao"] == mol.nao
    assert plan.estimated_wall_s == pytest.approx(sum(p.estimated_wall_s for p in plan.passes), rel=1e-6)
    assert all(j.estimated_s > 0 and j.memory_mb > 0 for p in plan.passes for j in p.jobs)
    # the cheap pass runs the same jobs on a smaller grid
    assert max(j.ngrid for j in plan.passes[1].jobs) < max(j.ngrid for j in plan.passes[2].jobs)


def test_job_memory_grows_with_the_auxiliary_basis():
    atoms = nh4cl_pair([0, 0, 0])
    small = job_size(QMJob.build([a for a, _ in atoms], [x for _, x in atoms], 0, MethodSpec(basis="sto-3g")))
    big = job_size(QMJob.build([a for a, _ in atoms], [x for _, x in atoms], 0, MethodSpec(basis="6-31G**")))
    assert big.nao > small.nao and big.memory_mb > small.memory_mb


def test_layout_is_bounded_by_cores_jobs_and_memory():
    assert choose_layout(100, 10, cores=2, available_mb=10000).workers == 2
    assert choose_layout(100, 1, cores=2, available_mb=10000).workers == 1  # one job: all threads to it
    one = choose_layout(5000, 10, cores=2, available_mb=10000)  # two 5 GB jobs do not fit in 80 %
    assert (one.workers, one.threads, one.memory_mb) == (1, 2, 8000)
    assert choose_layout(100, 10, workers=3, memory_mb=1500, cores=4, available_mb=10000).memory_mb == 1500


def test_gpu_layout_places_jobs_by_device_memory():
    # 80 % of 80 GB free holds three 20 GB jobs; the host's 2 cores and 10 GB are shared by the processes
    three = choose_gpu_layout(20000, 10, gpu_free_mb=80000, cores=2, available_mb=10000)
    assert (three.workers, three.threads, three.memory_mb) == (3, 1, 2666)
    assert choose_gpu_layout(500, 50, gpu_free_mb=80000, cores=16, available_mb=1e5).workers == GPU_WORKERS_MAX
    assert choose_gpu_layout(90000, 10, gpu_free_mb=80000, cores=2, available_mb=1e4).workers == 1  # never 0
    assert choose_gpu_layout(500, 2, gpu_free_mb=80000, cores=2, available_mb=1e4).workers == 2  # jobs cap it


def test_makespan_is_the_longest_worker():
    assert _makespan([4, 3, 3, 2], 2) == 6  # largest first: 4+2 | 3+3
    assert _makespan([5, 1], 4) == 5


def test_cli_plan_runs_no_qm(nh4cl_cluster, tmp_path):
    out = tmp_path / "plan.json"
    r = CliRunner().invoke(app, ["charges", str(nh4cl_cluster), "--xc", "B3LYP", "--basis", "sto-3g", "--eta", "2",
                                 "--workdir", str(tmp_path / "work"), "--plan", "--json", str(out)])
    assert r.exit_code == 0, r.output
    plan = json.loads(out.read_text())["plan"]
    assert len(plan["subsystems"]) == 3 and plan["estimated_wall_s"] > 0
    assert not (tmp_path / "work").exists()


def test_device_auto_falls_back_with_a_reason():
    assert explain_device("cpu") == ("cpu", None)
    with pytest.raises(InputError):
        explain_device("tpu")
    reason = probe_gpu()
    device, why = explain_device("auto")
    assert device == ("cpu" if reason else "gpu")
    assert (why is None) == (reason is None) and (why is None or reason in why)
