"""Reruns are reproducible on one machine: the same `polcg charges` from a fresh job store gives the same
charges (1e-8 e), and the same `simulate` seed on the CPU platform the same trajectory (docs/simulate.md
says what is and is not bit-reproducible)."""

import os
import subprocess
import sys

import numpy as np

from polcg.charges import RunOptions, compute_charges
from polcg.gebf import GEBFSettings
from polcg.md.run import read_state
from polcg.qm import MethodSpec
from polcg.structure.io import load_cluster

METHOD = MethodSpec(xc="B3LYP", basis="sto-3g", scheme="npa")


def test_charges_rerun_from_a_fresh_store_is_the_same(nh4cl_cluster, tmp_path):
    clus = load_cluster(nh4cl_cluster, total_charge=0)
    runs = [compute_charges(clus, METHOD, GEBFSettings(xi=3.0, eta=2),
                            options=RunOptions(workers=w, workdir=str(tmp_path / f"store{i}")))
            for i, w in enumerate((1, 1, 2))]
    for other in runs[1:]:
        assert np.max(np.abs(np.array(other.atom_charges) - runs[0].atom_charges)) < 1e-8
        assert abs(other.energy_hartree - runs[0].energy_hartree) < 1e-9


SIMULATE = """
import sys
from polcg.cg.builders import IonsSpec, build_vacg
from polcg.md.run import RunSettings, simulate
settings = RunSettings(n_pairs=40, equilibrate_ps=0.5, production_ps=0.5, report_ps=0.1, segment_ps=0.5,
                       platform="CPU", seed=int(sys.argv[2]))
simulate(build_vacg(IonsSpec("C4mim", "PF6"), water=None), settings, sys.argv[1])
"""


def test_same_seed_same_trajectory_on_one_cpu_thread(tmp_path):
    # bit-reproducible with one CPU thread (OPENMM_CPU_THREADS=1, read when OpenMM loads, hence the
    # subprocesses); with several, the force sums follow the thread schedule and the trajectories part
    env = {**os.environ, "OPENMM_CPU_THREADS": "1"}
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        subprocess.run([sys.executable, "-c", SIMULATE, str(tmp_path / name), str(seed)], env=env, check=True,
                       timeout=300)
    a, b, c = (read_state(tmp_path / n) for n in "abc")
    for col in ("potential_kj_mol", "volume_nm3"):
        np.testing.assert_array_equal(a[col], b[col])
    assert not np.array_equal(a["potential_kj_mol"], c["potential_kj_mol"])
