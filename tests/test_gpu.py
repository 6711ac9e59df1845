"""GPU4PySCF backend against the CPU backend on the same embedded jobs (skipped without a GPU)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import nh4cl_pair
from polcg.charges import RunOptions, compute_charges
from polcg.gebf import GEBFSettings
from polcg.qm import MethodSpec, QMJob, RunConfig
from polcg.qm.backends import get_backend
from polcg.structure.io import load_cluster

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("method", [MethodSpec(xc="HF", basis="6-31G*", scheme="mulliken"),
                                    MethodSpec(xc="B3LYP", basis="6-31G*", scheme="npa"),
                                    MethodSpec(xc="M06-2X", basis="6-31G**", scheme="meta_lowdin")])
def test_gpu_and_cpu_agree_on_an_embedded_job(method):
    atoms = nh4cl_pair([0, 0, 0])
    bg = np.array([[4.0, 0.5, 0.0], [-3.5, 2.0, 1.0], [0.5, -4.0, 2.0]])
    job = QMJob.build([a for a, _ in atoms], [x for _, x in atoms], 0, method, bg, [0.8, -0.9, 0.1])
    cpu = get_backend("cpu").compute(job, RunConfig())
    gpu = get_backend("gpu").compute(job, RunConfig(device="gpu"))
    assert gpu.backend == "gpu4pyscf" and gpu.key == cpu.key
    assert abs(gpu.energy_hartree - cpu.energy_hartree) < 1e-6
    assert np.max(np.abs(np.array(gpu.charges) - cpu.charges)) < 1e-4


def test_gpu_gebf_charges_equal_cpu(nh4cl_cluster, tmp_path):
    method = MethodSpec(xc="B3LYP", basis="6-31G*", scheme="npa")
    res = {d: compute_charges(load_cluster(nh4cl_cluster, total_charge=0), method, GEBFSettings(xi=3.0, eta=2),
                              options=RunOptions(device=d, workdir=str(tmp_path / d))) for d in ("cpu", "gpu")}
    assert abs(res["gpu"].energy_hartree - res["cpu"].energy_hartree) < 1e-6
    assert np.max(np.abs(np.array(res["gpu"].atom_charges) - res["cpu"].atom_charges)) < 1e-4
