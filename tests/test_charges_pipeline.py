"""`polcg charges` end to end on tiny clusters with real PySCF calculations (HF/STO-3G)."""

import json
from dataclasses import replace

import numpy as np
import pytest

from polcg.charges import RunOptions, compute_charges
from polcg.errors import QMError
from polcg.gebf import GEBFSettings
from polcg.jobs import JobStore
from polcg.qm import MethodSpec
from polcg.structure.io import load_cluster

FAST = MethodSpec(xc="HF", basis="sto-3g", scheme="mulliken", conv_tol=1e-10)


def run(path, tmp_path, settings=GEBFSettings(), method=FAST, **kw):
    options = RunOptions(**{"workdir": str(tmp_path / "work"), **kw.pop("options", {})})
    return compute_charges(load_cluster(path, total_charge=0), method, settings, options=options, **kw)


def test_one_subsystem_reproduces_the_full_calculation(nh4cl_cluster, tmp_path):
    res = run(nh4cl_cluster, tmp_path, GEBFSettings(xi=50.0, eta=None), reference=True)
    assert res.gebf["n_subsystems"] == 1
    assert np.max(np.abs(np.array(res.atom_charges) - res.reference["atom_charges"])) < 1e-6
    assert abs(res.energy_hartree - res.reference["energy_hartree"]) < 1e-6


def test_fragmented_cluster_conserves_charge_and_is_close_to_full(nh4cl_cluster, tmp_path):
    # η = 2: subsystems {0,1}, {1,2} and the derived {1} (C = -1); pairs 0 and 2 only see charges
    res = run(nh4cl_cluster, tmp_path, GEBFSettings(xi=3.0, eta=2, tol_charge=1e-5), reference=True)
    assert sorted(res.gebf["coefficients"]) == [-1, 1, 1] and res.converged
    assert abs(sum(res.atom_charges)) < 1e-8
    assert res.reference["max_ion_charge_error"] < 0.005
    assert abs(res.reference["energy_error_kcal_mol"]) < 0.5


def test_well_separated_pairs_equal_isolated_pairs(separated_pairs, tmp_path):
    cluster_path, singles = separated_pairs
    res = run(cluster_path, tmp_path, GEBFSettings(xi=3.0), reference=True)
    isolated_q, isolated_e = [], 0.0
    for i, p in enumerate(singles):
        r = run(p, tmp_path / f"s{i}", GEBFSettings(xi=3.0))
        isolated_q += list(r.atom_charges)
        isolated_e += r.energy_hartree
    assert res.gebf["n_subsystems"] == 3
    assert np.max(np.abs(np.array(res.atom_charges) - isolated_q)) < 1e-3
    # pairs 25 Å apart interact through their dipoles (~12 D: ~0.1 kcal/mol); embedding captures it
    interaction = (res.reference["energy_hartree"] - isolated_e) * 627.5
    assert 0.01 < abs(interaction) < 0.5
    assert abs(res.reference["energy_error_kcal_mol"]) < 0.01 * abs(interaction) + 1e-4


def test_embedding_scheme_sets_the_background_and_scheme_the_report(nh4cl_cluster, tmp_path):
    # Mulliken charges reported from NPA-embedded subsystems (the default): the densities, energy and
    # background are those of the NPA run; the reported charges are Mulliken's of those same densities.
    settings = GEBFSettings(xi=3.0, eta=2, tol_charge=1e-5)
    npa = run(nh4cl_cluster, tmp_path, settings, replace(FAST, scheme="npa"))
    mixed = run(nh4cl_cluster, tmp_path, settings, FAST, reference=True)
    plain = run(nh4cl_cluster, tmp_path, settings, replace(FAST, embedding_scheme=None), reference=True)
    assert mixed.method["embedding_scheme"] == "npa" and mixed.method["scheme"] == "mulliken"
    assert plain.method["embedding_scheme"] == "mulliken"
    # the mixed run warm-starts from the NPA run's densities and potentials (same atoms and method):
    # so they agree to the SCF threshold's order, not bit for bit: the last pass's background comes from
    # the cheap pass (SCF 1e-6 Eh), ~1e-4 e apart between the runs; NPA and Mulliken backgrounds differ by 0.03 e
    assert abs(mixed.energy_hartree - npa.energy_hartree) < 1e-7
    assert np.allclose(mixed.gebf["energy_embedding_charges"], npa.gebf["energy_embedding_charges"], atol=5e-4)
    assert abs(mixed.energy_hartree - plain.energy_hartree) > 1e-6  # a different background
    # NPA and Mulliken differ by up to 0.036 e here (HF/STO-3G); the report is Mulliken's, close to the full Mulliken
    assert np.max(np.abs(np.array(mixed.atom_charges) - npa.atom_charges)) > 0.02
    assert mixed.reference["max_ion_charge_error"] < 0.005 and abs(sum(mixed.atom_charges)) < 1e-8
    # the full-cluster job does not depend on the embedding scheme: it was reused, not recomputed
    assert mixed.reference["energy_hartree"] == plain.reference["energy_hartree"]


def test_embedding_scheme_equal_to_scheme_keeps_job_keys():
    from polcg.qm import QMJob
    job = lambda m: QMJob.build(["H", "H"], [[0, 0, 0], [0, 0, 0.74]], 0, m).key()  # noqa: E731
    npa = MethodSpec(xc="HF", basis="sto-3g")
    assert job(npa) == job(replace(npa, embedding_scheme=None))  # NPA jobs have the keys they always had
    assert job(replace(FAST, embedding_scheme=None)) == job(replace(FAST, embedding_scheme="mulliken"))
    assert job(FAST) != job(replace(FAST, embedding_scheme=None))
    with pytest.raises(ValueError, match="unknown charge scheme"):
        replace(FAST, embedding_scheme="bader")


def test_rerun_reuses_jobs_and_interrupted_run_resumes(nh4cl_cluster, tmp_path):
    settings = GEBFSettings(xi=1.0, eta=None)
    computed = []

    def stop_after_two(job, result, cached):
        if not cached:
            computed.append(job.key())
            if len(computed) == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(nh4cl_cluster, tmp_path, settings, on_job=stop_after_two)
    assert JobStore(tmp_path / "work").count() == 2
    resumed = run(nh4cl_cluster, tmp_path, settings)
    assert resumed.timing["jobs_reused"] >= 2
    fresh = run(nh4cl_cluster, tmp_path / "fresh", settings)
    assert resumed.timing["jobs_computed"] == fresh.timing["jobs_computed"] - 2
    assert np.allclose(resumed.atom_charges, fresh.atom_charges, atol=1e-8)
    again = run(nh4cl_cluster, tmp_path, settings)
    assert again.timing["jobs_computed"] == 0
    assert again.energy_hartree == pytest.approx(resumed.energy_hartree, abs=1e-10)


def test_process_workers_agree_with_serial(nh4cl_cluster, tmp_path):
    settings = GEBFSettings(xi=1.0, eta=None)
    serial = run(nh4cl_cluster, tmp_path / "a", settings)
    parallel = run(nh4cl_cluster, tmp_path / "b", settings, options={"workers": 2})
    assert np.allclose(serial.atom_charges, parallel.atom_charges, atol=1e-7)
    assert serial.energy_hartree == pytest.approx(parallel.energy_hartree, abs=1e-8)


def test_scf_failure_names_the_subsystem(nh4cl_cluster, tmp_path):
    method = MethodSpec(xc="HF", basis="sto-3g", scheme="mulliken", max_cycle=1, conv_tol=1e-12)
    with pytest.raises(QMError, match=r"SCF did not converge for subsystem F\[0\]"):
        run(nh4cl_cluster, tmp_path, GEBFSettings(xi=1.0), method=method, options={"workers": 1})  # in order


def test_json_document_has_the_contract_fields(nh4cl_cluster, tmp_path):
    res = run(nh4cl_cluster, tmp_path, GEBFSettings(xi=1.0), reference=True)
    doc = json.loads(json.dumps(res.to_dict()))
    for key in ("atom_charges", "ions", "energy_hartree", "iterations", "converged", "method", "gebf",
                "provenance", "reference"):
        assert key in doc
    assert len(doc["atom_charges"]) == 18
    assert {"name", "atoms", "formal_charge", "charge", "beads"} <= set(doc["ions"][0])
    assert {"xc", "basis", "auxbasis", "grid", "scheme"} <= set(doc["method"])
    assert {"n_subsystems", "subsystem_sizes", "coefficients"} <= set(doc["gebf"])
    assert {"polcg", "pyscf", "numpy", "input_sha256"} <= set(doc["provenance"])
    assert {"energy_hartree", "atom_charges", "ion_charges", "max_ion_charge_error",
            "energy_error_kcal_mol"} <= set(doc["reference"])


def test_the_json_document_loads_back_and_checks_what_it_is_used_for(nh4cl_cluster, tmp_path):
    from polcg.charges import ClusterCharges
    from polcg.errors import InputError
    from polcg.io import write_json_atomic

    res = run(nh4cl_cluster, tmp_path, GEBFSettings(xi=1.0), reference=True)
    path = tmp_path / "q.json"
    write_json_atomic(path, res.to_dict())
    back = ClusterCharges.load(path)
    assert back == res  # every field, the ions' beads included
    back.check_structure(load_cluster(nh4cl_cluster, total_charge=0), "q.json")
    other = tmp_path / "other.xyz"
    other.write_text(nh4cl_cluster.read_text() + "\n")  # same atoms, another file
    with pytest.raises(InputError, match="computed for another structure file"):
        back.check_structure(load_cluster(other, total_charge=0), "q.json")
    doc = res.to_dict()
    del doc["method"]
    write_json_atomic(path, doc)
    with pytest.raises(InputError, match=r"q.json: not a polcg charges JSON \(no method\)"):
        ClusterCharges.load(path)
    doc = res.to_dict()
    doc["ions"][0]["atoms"] = [99]
    write_json_atomic(path, doc)
    with pytest.raises(InputError, match="atoms beyond the 18 atom charges"):
        ClusterCharges.load(path)
