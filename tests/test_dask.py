"""Dask execution: subsystem jobs and simulations as tasks on a local Dask cluster give the serial
results; a worker lost mid-run costs only its own jobs, and a rerun recomputes nothing."""

from __future__ import annotations

import os
import signal

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


@pytest.fixture
def killable():
    """A fresh cluster for each SIGKILL test: two worker processes under nannies, which restart a killed
    worker. (Shared between the two kill tests, the second one's map waited for ever in 1 of 3 loaded full
    runs: a cluster that has already lost a worker is not a clean start.)"""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _within(seconds, fn):
    """fn() on a daemon thread: a Dask map that never returns fails the test instead of hanging CI."""
    import threading

    box = {}

    def call():
        try:
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"no result from the Dask cluster in {seconds} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _run(path, workdir, **options):
    return compute_charges(load_cluster(path, total_charge=0), FAST, GEBFSettings(xi=1.0, eta=None),
                           options=RunOptions(workdir=str(workdir), **options))


def test_dask_gives_the_serial_charges_and_survives_a_lost_worker(nh4cl_cluster, tmp_path):
    # a cluster of its own: the retired worker does not come back, and a later test given the shared
    # cluster with a worker still closing could wait on it for ever (seen once in a full run)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        _serial_charges_survive_a_retired_worker(nh4cl_cluster, tmp_path, client)


def _serial_charges_survive_a_retired_worker(nh4cl_cluster, tmp_path, client):
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


class _CountStarts(distributed.WorkerPlugin):
    """Appends the key of every task a worker starts to a file (survives worker restarts)."""

    def __init__(self, path):
        self.path = path

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing":
            with open(self.path, "a") as fh:
                fh.write(f"{key}\n")


def test_a_worker_killed_mid_pass_costs_only_the_jobs_it_held(nh4cl_cluster, tmp_path, killable):
    """SIGKILL one worker process while it computes a multi-fragment subsystem: Dask reruns only the
    tasks that worker held; finished results, already with the client, are not recomputed."""
    ions = GEBFSettings(xi=3.0, eta=None)  # 6 ion fragments, subsystems of 2-3 fragments
    cluster = load_cluster(nh4cl_cluster, total_charge=0)
    serial = compute_charges(cluster, FAST, ions, "ions", RunOptions(workdir=str(tmp_path / "serial"), workers=1))
    assert max(len(s["fragments"]) for s in serial.gebf["subsystems"]) == 3
    starts = tmp_path / "starts.txt"
    killable.register_plugin(_CountStarts(str(starts)), name="count-starts")
    held, killed, finished = [], [], []

    def kill_a_busy_worker(job, result, cached):
        finished.extend([job] if len(job.elements) >= 10 and not cached else [])
        busy = {w: keys for w, keys in killable.processing().items() if keys}
        if killed or not busy or len(finished) < 4:  # both workers have finished subsystems of this pass
            return
        kept = killable.has_what()  # results still held in worker memory: a fault must not cost them
        addr, keys = max(busy.items(), key=lambda wk: len(kept.get(wk[0], ())))
        pid = killable.run(os.getpid, workers=[addr])[addr]
        held.extend(keys)
        os.kill(pid, signal.SIGKILL)
        killed.append(addr)

    try:
        options = RunOptions(workdir=str(tmp_path / "dask"), scheduler=killable)
        res = _within(300, lambda: compute_charges(cluster, FAST, ions, "ions", options, on_job=kill_a_busy_worker))
    finally:
        killable.unregister_worker_plugin("count-starts")
    assert killed
    keys = starts.read_text().split()
    rerun = [k for k in set(keys) if keys.count(k) > 1]
    assert len(keys) - len(set(keys)) <= len(held) and set(rerun) <= set(held), (rerun, held)
    assert res.timing["jobs_computed"] == serial.timing["jobs_computed"]
    # A job rerun on the restarted worker may begin from another SCF start than in the serial run;
    # conv_tol 1e-10 leaves the orbital gradient at ~1e-5 (PySCF's sqrt(conv_tol)), so charges agree
    # to that level (CI saw 3e-7 e), far below the 1e-3 e a wrong background would move them.
    np.testing.assert_allclose(res.atom_charges, serial.atom_charges, atol=1e-5)
    assert res.energy_hartree == pytest.approx(serial.energy_hartree, abs=1e-8)
    killable.wait_for_workers(2, timeout=60)


def _square(v):
    return v * v


def test_dask_executor_maps_every_job(client):
    out = _within(120, lambda: dict(DaskExecutor(client).map_unordered(_square, [1, 2, 3, 4])))
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


def test_fit_simulations_on_dask_lose_only_the_segment_in_flight(killable, tmp_path):
    """fit-dielectric's simulations as Dask tasks: SIGKILL the worker running one after its first
    segment; Dask reruns that task alone, which continues from its checkpoint (the finished segment's
    files are not rewritten), and both points give their records."""
    import json
    import threading
    import time

    import psutil

    from polcg.fit.evaluate import SimJob, SimSettings, run_job
    from polcg.fit.loop import Point

    sim = SimSettings(n_pairs=60, equilibrate_ps=5.0, production_ps=30.0, report_ps=0.5, reweight=False)
    jobs = [SimJob.at(Point(0.0, eps, 2.5), sim, tmp_path) for eps in (1.2, 2.0)]
    pids = killable.run(os.getpid)
    killed = {}

    def kill_after_first_segment():
        deadline = time.monotonic() + 120
        while not killed and time.monotonic() < deadline:
            for job in jobs:
                progress = tmp_path / job.label / "run" / "progress.json"
                if progress.is_file() and json.loads(progress.read_text())["segments"] == 1:
                    victim = [p for p in pids.values() if any(job.directory in f.path for f in
                                                              psutil.Process(p).open_files())]
                    if victim:
                        traj = tmp_path / job.label / "run" / "traj"
                        killed.update(job=job, files={f: f.stat().st_mtime_ns for f in traj.glob("equil_*")})
                        os.kill(victim[0], signal.SIGKILL)
                        return
            time.sleep(0.05)

    watcher = threading.Thread(target=kill_after_first_segment)
    watcher.start()
    out = _within(300, lambda: dict(DaskExecutor(killable).map_unordered(run_job, jobs)))
    watcher.join()
    assert killed and set(out) == set(jobs)
    assert all(f.stat().st_mtime_ns == t for f, t in killed["files"].items())  # continued, not restarted
    assert all("density_g_cm3" in doc["values"] for doc in out.values())
    killable.wait_for_workers(2, timeout=60)


def test_threads_memory_and_device_are_decided_on_the_worker(client, tmp_path, monkeypatch):
    from polcg.charges import make_runner
    from polcg.gebf.plan import Layout
    from polcg.jobs.executors import local_config
    from polcg.qm.backends import resolve_device
    from polcg.qm.cost import cpu_count

    monkeypatch.chdir(tmp_path)
    runner = make_runner(RunOptions(device="auto", workdir="store", scheduler=client), Layout(1, 64, 123, 64, 1000))
    runner.executor.close()
    cfg = runner.config
    assert (cfg.device, cfg.threads, cfg.memory_mb) == ("auto", 0, None)  # nothing taken from this machine
    assert cfg.guess_dir == str(tmp_path / "store" / "guess")  # absolute: the same folder on every worker
    addr, info = next(iter(client.scheduler_info()["workers"].items()))
    there = client.submit(local_config, cfg, workers=[addr], pure=False).result()
    cores = client.submit(cpu_count, workers=[addr], pure=False).result()
    assert there.threads == max(1, cores // info["nthreads"]) and there.memory_mb >= 1000
    assert there.device == client.submit(resolve_device, "auto", workers=[addr], pure=False).result()
    assert there.guess_dir == cfg.guess_dir


def test_a_guess_folder_the_worker_cannot_see_is_skipped_with_a_warning(tmp_path):
    from polcg.jobs.executors import local_config
    from polcg.qm.spec import RunConfig

    with pytest.warns(UserWarning, match="warm starts off"):
        cfg = local_config(RunConfig(guess_dir=str(tmp_path / "not-mounted-here")))
    assert cfg.guess_dir is None
    assert local_config(RunConfig(guess_dir=str(tmp_path))).guess_dir == str(tmp_path)


def test_an_executor_made_from_an_address_closes_its_client(client):
    executor = DaskExecutor(client.scheduler.address)
    assert dict(executor.map_unordered(_square, [3])) == {3: 9}
    executor.close()
    assert executor.client.status == "closed" and client.status == "running"
