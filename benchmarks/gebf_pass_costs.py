"""What each GEBF pass cost, from a job store's recorded jobs, and what stopping on the predicted
distance to self-consistency (`GEBFSettings.predict`, `polcg.gebf.driver.remaining_change`) saves.

No QM runs unless a job is missing from the store: both variants are assembled from the recorded
jobs (`polcg charges` reuses every finished job), each pass's cost is the sum of its jobs' recorded
wall times, and the two results are compared. Example (the 4-pair [C4mim][BF4] run of issue 17):

    python benchmarks/gebf_pass_costs.py examples/clusters/c4mim_bf4_4.xyz --workdir qm_jobs/gebf/c4mim_bf4 \\
        --out benchmarks/results/gebf_pass_costs_c4mim_bf4_4_m062x.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from polcg.charges import RunOptions, compute_charges
from polcg.gebf import GEBFSettings
from polcg.io import write_json_atomic
from polcg.qm import MethodSpec
from polcg.qm.pyscf_backend import versions
from polcg.structure.io import load_cluster
from polcg.units import HARTREE_TO_KCAL_MOL


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cluster", type=Path)
    p.add_argument("--workdir", type=Path, required=True, help="the job store the run recorded")
    p.add_argument("--xc", default="M06-2X")
    p.add_argument("--basis", default="6-31G**")
    p.add_argument("--eta", type=int, default=3)
    p.add_argument("--out", type=Path, required=True)
    return p.parse_args(argv)


def run(cluster, method, eta: int, workdir: Path, predict: bool) -> dict:
    stages: dict[str, dict] = {}
    current = {"name": None}

    def on_stage(name, n):
        current["name"] = name
        stages.setdefault(name, {"jobs": 0, "recorded_wall_s": 0.0, "scf_cycles": []})

    def on_job(job, result, cached):
        s = stages[current["name"]]
        s["jobs"] += 1
        s["recorded_wall_s"] += result.wall_s
        s["scf_cycles"].append(result.scf_cycles)

    res = compute_charges(cluster, method, GEBFSettings(eta=eta, predict=predict),
                          options=RunOptions(workers=1, workdir=str(workdir)), on_stage=on_stage, on_job=on_job)
    total = sum(s["recorded_wall_s"] for s in stages.values())
    return {"predict": predict, "passes": stages, "recorded_wall_s": total,
            "max_charge_change": list(res.max_charge_change),
            "predicted_remaining_change": res.gebf["passes"][-1].get("predicted_remaining_change"),
            "jobs_computed_now": res.timing["jobs_computed"], "converged": res.converged, "result": res}


def main(argv=None) -> None:
    args = parse_args(argv)
    cluster = load_cluster(args.cluster, total_charge=0)
    method = MethodSpec(xc=args.xc, basis=args.basis)
    strict, predicted = (run(cluster, method, args.eta, args.workdir, p) for p in (False, True))
    a, b = strict.pop("result"), predicted.pop("result")
    doc = {"benchmark": "gebf_pass_costs", "cluster": args.cluster.name, "natoms": cluster.natoms,
           "method": {"xc": args.xc, "basis": args.basis, "eta": args.eta}, "versions": versions(),
           "note": "wall times as recorded by each job where it ran (2 cores, other work beside some of them)",
           "strict": strict, "predicted": predicted,
           "predicted_vs_strict": {
               "max_atom_charge_diff_e": float(np.abs(np.array(a.atom_charges) - b.atom_charges).max()),
               "max_ion_charge_diff_e": float(max(abs(x.charge - y.charge) for x, y in zip(a.ions, b.ions))),
               "energy_diff_kcal_mol": (b.energy_hartree - a.energy_hartree) * HARTREE_TO_KCAL_MOL,
               "recorded_wall_ratio": predicted["recorded_wall_s"] / strict["recorded_wall_s"]}}
    write_json_atomic(args.out, doc)
    print({k: doc["predicted_vs_strict"][k] for k in doc["predicted_vs_strict"]},
          strict["recorded_wall_s"], predicted["recorded_wall_s"])


if __name__ == "__main__":
    main()
