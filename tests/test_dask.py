"""Dask execution: subsystem jobs and simulations as tasks on a local Dask cluster give the serial
results; a worker lost mid-run costs only its own jobs, and a rerun recomputes nothing."""

from __future__ import annotations

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from polcg.charges import RunOptions, compute_charges  # noqa: E402
from polcg.gebf import GEBFSettings  # noqa: E402
from polcg.jobs.executors import DaskExecutor  # noqa: E402
from polcg.qm import MethodSpec  # noqa: E402
from polcg.structure.io import load_cluster  # noqa: E402

FAST = MethodSpec(xc="HF", basis="sto-3g", scheme="mulliken", conv_tol=1e-10)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _run(path, workdir, **options):
    return compute_charges(load_cluster(path, total_charge=0), FAST, GEBFSettings(xi=1.0, eta=None),
                           options=RunOptions(workdir=str(workdir), **options))


def test_dask_gives_the_serial_charges_and_survives_a_lost_worker(nh4cl_cluster, tmp_path, client):
    serial = _run(nh4cl_cluster, tmp_path / "serial")
    lost = []

    def drop_a_worker(job, result, cached):
        if not cached and not lost:  # after the first finished job, take a worker away
            lost.append(next(iter(client.scheduler_info()["workers"])))
            client.retire_workers(workers=lost, close_workers=True)

    res = compute_charges(load_cluster(nh4cl_cluster, total_charge=0), FAST, GEBFSettings(xi=1.0, eta=None),
                          options=RunOptions(workdir=str(tmp_path / "dask"), scheduler=client),
                          on_job=drop_a_worker)
    assert lost
    np.testing.assert_allclose(res.atom_charges, serial.atom_charges, atol=1e-7)
    assert res.energy_hartree == pytest.approx(serial.energy_hartree, abs=1e-8)
    client.cluster.scale(2)
    again = _run(nh4cl_cluster, tmp_path / "dask", scheduler=client)
    assert again.timing["jobs_computed"] == 0


def _square(v):
    return v * v


def test_dask_executor_maps_every_job(client):
    out = dict(DaskExecutor(client).map_unordered(_square, [1, 2, 3, 4]))
    assert out == {1: 1, 2: 4, 3: 9, 4: 16}
