"""The QM backend registry: devices, lookup, the one-way imports of the backend modules, and the CPU
backend against PySCF itself."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from polcg.cli import app
from polcg.errors import BackendNotFound, InputError
from polcg.qm import MethodSpec, QMJob, RunConfig
from polcg.qm.backends import backend_registry, devices, get_backend, gpu_usable
from polcg.qm.gpu4pyscf_backend import GPU4PySCFBackend
from polcg.qm.pyscf_backend import PySCFBackend

WATER = [("O", (0.0, 0.0, 0.117)), ("H", (0.0, 0.757, -0.467)), ("H", (0.0, -0.757, -0.467))]


def test_devices_are_auto_and_the_registered_backends():
    assert devices() == ("auto", "cpu", "gpu")
    assert backend_registry().get("cpu") is PySCFBackend and backend_registry().get("gpu") is GPU4PySCFBackend
    with pytest.raises(InputError, match=r"unknown device 'tpu'; choose from cpu, gpu"):
        get_backend("tpu")


@pytest.mark.skipif(gpu_usable(), reason="a usable GPU is here")
def test_gpu_without_a_usable_gpu_says_how_to_install():
    with pytest.raises(BackendNotFound, match=r"--device gpu: no usable GPU .*pip install polcg\[gpu\]"):
        get_backend("gpu")


def test_the_backend_modules_import_the_registry_not_the_reverse():
    code = ("import sys; import polcg.qm.backends as b; print('polcg.qm.pyscf_backend' in sys.modules);"
            "print(b.devices()); print(any(m in sys.modules for m in ('cupy', 'gpu4pyscf')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.splitlines() == ["False", "('auto', 'cpu', 'gpu')", "False"]


def test_the_cpu_backend_matches_a_direct_pyscf_calculation():
    from pyscf import gto, scf

    method = MethodSpec(xc="HF", basis="sto-3g", scheme="mulliken", embedding_scheme=None)
    job = QMJob.build([a for a, _ in WATER], [x for _, x in WATER], 0, method)
    result = get_backend("cpu").compute(job, RunConfig(check_cycle=True))  # PySCF's default SCF
    mf = scf.RHF(gto.M(atom=WATER, basis="sto-3g", verbose=0)).density_fit(auxbasis=method.auxbasis)
    mf.conv_tol = method.conv_tol
    energy = mf.kernel()
    _, charges = mf.mulliken_pop(verbose=0)
    assert result.backend == "pyscf" and abs(result.energy_hartree - energy) < 1e-8
    assert np.max(np.abs(np.array(result.charges) - charges)) < 1e-6
    # without PySCF's extra check cycle (polcg's default) the answer moves within the SCF threshold
    lean = get_backend("cpu").compute(job, RunConfig())
    assert abs(lean.energy_hartree - energy) < method.conv_tol * 10
    assert np.max(np.abs(np.array(lean.charges) - charges)) < 1e-5


def test_charges_help_lists_every_device():
    out = CliRunner().invoke(app, ["charges", "--help"], env={"COLUMNS": "300"}).output
    text = " ".join(out.replace("│", " ").split())
    assert all(f"{e.name} ({e.help})" in text for e in backend_registry().entries()), out


def test_a_job_holds_blas_and_openmp_to_its_threads_and_restores_them():
    """`thread_limits` caps numpy's BLAS pools beside PySCF's OpenMP pool (OpenBLAS otherwise keeps one
    thread per core in every worker process) and gives both back afterwards."""
    from threadpoolctl import threadpool_info

    from polcg.qm.pyscf_backend import thread_limits

    def counts():
        return {(p["user_api"], p["filepath"]): p["num_threads"] for p in threadpool_info()}

    from pyscf import lib

    before, omp_before = counts(), lib.num_threads()
    with thread_limits(1):
        inside = counts()
        assert lib.num_threads() == 1
    assert all(n == 1 for (api, _), n in inside.items() if api == "blas")
    assert counts() == before and lib.num_threads() == omp_before
    with thread_limits(0):  # 0: leave them alone
        assert counts() == before
