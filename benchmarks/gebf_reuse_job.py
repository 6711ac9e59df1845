"""One GEBF subsystem job computed twice in a changed background, as in two embedding passes, with
and without `polcg.qm.reuse` (the saved potential of the starting density, the kept DF tensor, no
PySCF check cycle), side by side in one run: wall time, SCF cycles, Fock and DF builds, and the
differences in energy and charges. No GEBF loop: the job is a [C4mim][BF4] pair embedded in the NPA
charges of a second pair (from the committed 2-pair charges), the second pass's background scaled by
0.99 as a pass changes it.

    python benchmarks/gebf_reuse_job.py --threads 1 --out benchmarks/results/gebf_reuse_job_c4mim_bf4_m062x.json
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from polcg.charges import molecule_fragments
from polcg.io import write_json_atomic
from polcg.qm import MethodSpec, QMJob, RunConfig
from polcg.qm.backends import get_backend
from polcg.qm.pyscf_backend import versions
from polcg.structure.io import load_cluster

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--xc", default="M06-2X")
    p.add_argument("--basis", default="6-31G**")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)
    return p.parse_args(argv)


def counting_builds():
    """Counts PySCF's potential and DF builds (wrapping the real methods)."""
    from pyscf.df import df as pyscf_df
    from pyscf.dft import rks
    from pyscf.scf import hf

    counts = {"fock_builds": 0, "df_builds": 0}
    for cls in (hf.SCF, rks.RKS):
        real = cls.get_veff

        def veff(self, *a, _real=real, **k):
            counts["fock_builds"] += 1
            return _real(self, *a, **k)
        cls.get_veff = veff
    real_build = pyscf_df.DF.build

    def build(self, *a, **k):
        counts["df_builds"] += self._cderi is None
        return real_build(self, *a, **k)
    pyscf_df.DF.build = build
    return counts


def jobs(method: MethodSpec):
    cluster = load_cluster(ROOT / "examples" / "clusters" / "c4mim_bf4_2.xyz", total_charge=0)
    q = np.array(json.loads((ROOT / "qm_jobs" / "gebf" / "c4mim_bf4" / "charges_2.json").read_text())["atom_charges"])
    first = list(molecule_fragments(cluster, "pairs")[0][0])  # the first GEBF ion-pair fragment
    rest = [a for a in range(cluster.natoms) if a not in first]
    xyz = np.asarray(cluster.coords_angstrom)
    el = [cluster.elements[a] for a in first]
    return [QMJob.build(el, xyz[first], 0, method, bg_coords=xyz[rest], bg_charges=q[rest] * s, label=f"pass {i + 1}")
            for i, s in enumerate((1.0, 0.99))]


def main(argv=None) -> None:
    args = parse_args(argv)
    method = MethodSpec(xc=args.xc, basis=args.basis)
    counts = counting_builds()
    backend = get_backend("cpu")
    doc = {"benchmark": "gebf_reuse_job", "method": {"xc": args.xc, "basis": args.basis},
           "machine": {"platform": platform.platform(), "threads": args.threads}, "versions": versions(),
           "variants": {}}
    results = {}
    for reuse in (False, True):
        config = RunConfig(threads=args.threads, guess_dir=tempfile.mkdtemp(), reuse=reuse, check_cycle=not reuse)
        rows = []
        for job in jobs(method):
            counts.update(fock_builds=0, df_builds=0)
            t0 = time.perf_counter()
            res = backend.compute(job, config)
            rows.append({"job": job.label, "natoms": job.natoms, "wall_s": time.perf_counter() - t0,
                         "scf_cycles": res.scf_cycles, **counts})
            results[(reuse, job.label)] = res
            print(reuse, rows[-1], flush=True)
        doc["variants"]["reuse" if reuse else "rebuild"] = rows
        write_json_atomic(args.out, doc)
    a, b = results[(False, "pass 2")], results[(True, "pass 2")]
    doc["second_pass"] = {"wall_ratio_reuse_over_rebuild": doc["variants"]["reuse"][1]["wall_s"]
                          / doc["variants"]["rebuild"][1]["wall_s"],
                          "energy_diff_hartree": b.energy_hartree - a.energy_hartree,
                          "max_charge_diff_e": float(np.max(np.abs(np.array(b.charges) - a.charges)))}
    write_json_atomic(args.out, doc)
    print(doc["second_pass"])


if __name__ == "__main__":
    main()
