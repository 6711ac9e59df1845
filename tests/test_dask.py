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


def _fails_once(path):
    """Raises OSError on its first call (no marker file yet), then returns the path's name."""
    import os

    attempts = sorted(os.listdir(os.path.dirname(path)))
    open(f"{path}.{len(attempts)}", "w").close()
    if not attempts:
        raise OSError("transient failure")
    return os.path.basename(path)


def _always_fails(path):
    import os

    open(f"{path}.{len(os.listdir(os.path.dirname(path)))}", "w").close()
    raise MemoryError("worker out of memory")


def _polcg_error(path):
    import os

    from polcg.errors import QMError

    open(f"{path}.{len(os.listdir(os.path.dirname(path)))}", "w").close()
    raise QMError("SCF did not converge")


@pytest.mark.parametrize("fn, calls, error", [(_fails_once, 2, None),
                                              (_always_fails, 3, "after 2 retries: MemoryError"),
                                              (_polcg_error, 1, "SCF did not converge")])
def test_dask_retries_random_errors_a_bounded_number_of_times(client, tmp_path, fn, calls, error):
    from polcg.errors import PolcgError

    path = str(tmp_path / "job")
    executor = DaskExecutor(client, retries=2)
    if error is None:
        assert dict(executor.map_unordered(fn, [path])) == {path: "job"}
    else:
        with pytest.raises(PolcgError, match=error) as exc:
            dict(executor.map_unordered(fn, [path]))
        assert "\n" not in str(exc.value)
    assert len(list(tmp_path.iterdir())) == calls  # attempts made
