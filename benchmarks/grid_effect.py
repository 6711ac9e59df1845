"""Effect of the DFT integration grid on atomic charges and energy, and its cost.

Runs one structure (no embedding) at several PySCF grid levels and writes JSON with, per level,
the wall time, SCF cycles, energy and the largest atomic and ion (molecule) charge difference
from the finest level. Example:

    python benchmarks/grid_effect.py examples/clusters/c4mim_bf4_1.xyz --levels 1,2,3,5 \
        --out benchmarks/results/grid_effect_c4mim_bf4_1.json
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from polcg.jobs.store import write_json_atomic
from polcg.qm import MethodSpec, QMJob, RunConfig
from polcg.qm.pyscf_backend import PySCFBackend, versions
from polcg.structure.io import load_cluster


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("structure", type=Path)
    p.add_argument("--xc", default="M06-2X")
    p.add_argument("--basis", default="6-31G**")
    p.add_argument("--scheme", default="npa")
    p.add_argument("--levels", default="1,2,3,5")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/grid_effect.json"))
    args = p.parse_args(argv)

    cluster = load_cluster(args.structure, total_charge=0)
    levels = sorted(int(x) for x in args.levels.split(","))
    runs = {}
    for level in reversed(levels):  # finest first: it is the reference
        method = MethodSpec(xc=args.xc, basis=args.basis, grid_level=level, scheme=args.scheme)
        job = QMJob.build(cluster.elements, cluster.coords_angstrom, cluster.charge, method, label=f"grid {level}")
        runs[level] = PySCFBackend().compute(job, RunConfig())
        print(level, runs[level].wall_s, flush=True)
    ref = runs[levels[-1]]
    q_ref = np.asarray(ref.charges)
    records = []
    for level in levels:
        r = runs[level]
        dq = np.asarray(r.charges) - q_ref
        ion_dq = [abs(dq[list(m.atoms)].sum()) for m in cluster.molecules]
        records.append({"grid_level": level, "wall_s": r.wall_s, "scf_cycles": r.scf_cycles,
                        "energy_hartree": r.energy_hartree,
                        "energy_diff_kcal_mol": (r.energy_hartree - ref.energy_hartree) * 627.5094740631,
                        "max_atom_charge_diff_e": float(np.abs(dq).max()), "max_ion_charge_diff_e": float(max(ion_dq))})
    write_json_atomic(args.out, {"benchmark": "grid_effect", "structure": args.structure.name,
                                 "natoms": cluster.natoms, "xc": args.xc, "basis": args.basis, "scheme": args.scheme,
                                 "reference_level": levels[-1], "cpu_count": os.cpu_count(),
                                 "versions": versions(), "records": records})


if __name__ == "__main__":
    main()
