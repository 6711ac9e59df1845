"""The committed QM job records reproduce the committed [C4mim][BF4] GEBF charges without running QM
(issue 17: the model's charges are rebuilt from `qm_jobs/`, not recomputed)."""

import json
from pathlib import Path

import numpy as np
import pytest

from polcg.charges import molecule_fragments
from polcg.gebf import GEBFSettings
from polcg.gebf.driver import run_gebf
from polcg.jobs.store import JobStore
from polcg.qm import MethodSpec
from polcg.structure.io import load_cluster

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "qm_jobs" / "gebf" / "c4mim_bf4"


def _from_records(pairs: int, settings: GEBFSettings):
    store = JobStore(STORE)
    cluster = load_cluster(ROOT / "examples" / "clusters" / f"c4mim_bf4_{pairs}.xyz", total_charge=0)
    atoms, charges, _ = molecule_fragments(cluster, "pairs")

    def recorded_only(jobs, stage):
        found = {job.key(): store.get(job) for job in jobs}
        missing = [job.label for job in jobs if found[job.key()] is None]
        assert not missing, f"{stage}: {missing} not recorded in {STORE}"
        return found
    return run_gebf(cluster.elements, cluster.coords_angstrom, atoms, charges, MethodSpec(), settings, recorded_only)


@pytest.mark.parametrize("pairs", [1, 2, 4])
def test_the_recorded_jobs_give_the_committed_charges(pairs):
    committed = json.loads((STORE / f"charges_{pairs}.json").read_text())
    res = _from_records(pairs, GEBFSettings(predict=False))  # the strict test the committed run used
    assert res.converged and res.iterations == committed["iterations"]
    assert np.max(np.abs(res.atom_charges - np.array(committed["atom_charges"]))) < 1e-10
    assert res.energy_hartree == pytest.approx(committed["energy_hartree"], abs=1e-9)


def test_the_predicted_stop_is_within_tolerance_of_the_committed_4_pair_charges():
    committed = np.array(json.loads((STORE / "charges_4.json").read_text())["atom_charges"])
    res = _from_records(4, GEBFSettings())
    assert res.converged and res.passes[-1]["predicted_remaining_change"] < 1e-4
    assert np.max(np.abs(res.atom_charges - committed)) < 1e-4
