"""GEBF pass plans side by side: the original algorithm ("full": every pass at the requested settings,
one worker) against the fast plan (cheap first passes, warm starts, workers sized to the machine),
each from an empty job store, in one run, optionally with the full-cluster calculation.

Writes JSON: per variant the wall time, jobs, SCF cycles and the plan's estimate; the largest atom,
ion and energy differences of every variant from the first one; with --reference the GEBF / full
wall-time ratio. Example (the README example, 2 cores):

    python benchmarks/gebf_passes.py examples/clusters/etnh3_no3_4.xyz --xc HF --basis 6-31G --eta 2 \\
        --variants full:1,fast:1,fast:0 --out benchmarks/results/gebf_passes_readme.json

A variant is PLAN:WORKERS[:noreuse] (WORKERS 0 = the default layout; `noreuse` runs without keeping
potentials and DF tensors across passes and with PySCF's extra check cycle, as polcg did before
`polcg.qm.reuse`). Variants run one after another, never at the same time, so their wall times
compare. The README figure:

    python benchmarks/gebf_passes.py examples/clusters/etnh3_no3_4.xyz --xc HF --basis 6-31G --eta 2 \
        --variants fast:0:noreuse,fast:0 --out benchmarks/results/gebf_reuse_readme.json
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import time
from pathlib import Path

import numpy as np

from polcg.charges import RunOptions, compute_charges, full_reference, make_runner, molecule_fragments
from polcg.gebf import GEBFSettings
from polcg.gebf.plan import choose_layout, plan_gebf
from polcg.jobs.store import write_json_atomic
from polcg.qm import MethodSpec
from polcg.qm.cost import machine_flops
from polcg.qm.pyscf_backend import versions
from polcg.structure.io import load_cluster
from polcg.units import HARTREE_TO_KCAL_MOL


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cluster", type=Path)
    p.add_argument("--xc", default="M06-2X")
    p.add_argument("--basis", default="6-31G**")
    p.add_argument("--eta", type=int, default=3)
    p.add_argument("--variants", default="full:1,fast:0")
    p.add_argument("--reference", action="store_true", help="also the full-cluster job (default layout)")
    p.add_argument("--workdir", type=Path, default=Path("polcg_work/passes"))
    p.add_argument("--out", type=Path, required=True)
    return p.parse_args(argv)


def run_variant(cluster, method, plan: str, workers: int, args, reuse: bool = True) -> tuple[dict, object]:
    settings = GEBFSettings(eta=args.eta or None, passes=plan)
    store = args.workdir / f"{plan}_{workers}_{'reuse' if reuse else 'noreuse'}"
    shutil.rmtree(store, ignore_errors=True)  # cold: nothing reused
    atoms, charges, _ = molecule_fragments(cluster, "pairs")
    estimate = plan_gebf(cluster.elements, cluster.coords_angstrom, atoms, charges, method, settings, workers)
    t0 = time.perf_counter()
    options = RunOptions(workers=workers, workdir=str(store), reuse=reuse, check_cycle=not reuse)
    res = compute_charges(cluster, method, settings, options=options)
    wall = time.perf_counter() - t0
    cycles = [json.loads(p.read_text())["result"]["scf_cycles"] for p in (store / "jobs").glob("*/*.json")]
    record = {"plan": plan, "workers_option": workers, "reuse": reuse, "check_cycle": not reuse,
              "layout": res.provenance["layout"], "wall_s": wall,
              "estimated_wall_s": estimate.estimated_wall_s, "iterations": res.iterations,
              "max_charge_change": list(res.max_charge_change), "passes": res.gebf["passes"],
              "jobs_computed": res.timing["jobs_computed"], "scf_cycles_total": int(sum(cycles)),
              "energy_hartree": res.energy_hartree, "converged": res.converged}
    return record, res


def compare(a, b) -> dict:
    qa, qb = np.array(a.atom_charges), np.array(b.atom_charges)
    ia, ib = np.array([i.charge for i in a.ions]), np.array([i.charge for i in b.ions])
    return {"max_atom_charge_diff_e": float(np.abs(qa - qb).max()),
            "max_ion_charge_diff_e": float(np.abs(ia - ib).max()),
            "energy_diff_kcal_mol": float((a.energy_hartree - b.energy_hartree) * HARTREE_TO_KCAL_MOL)}


def reference_record(cluster, method, res, args) -> dict:
    store = args.workdir / "full_cluster"
    shutil.rmtree(store, ignore_errors=True)
    layout = choose_layout(0.0, 1)  # one job: one worker on every core, 80 % of the free memory
    runner = make_runner(RunOptions(workdir=str(store)), layout)
    ref = full_reference(cluster, method, runner, _Gebf(res))
    return {k: v for k, v in ref.items() if k not in ("atom_charges",)} | {"layout": layout.__dict__}


class _Gebf:
    """What `full_reference` reads of a GEBF result."""

    def __init__(self, res):
        self.atom_charges = np.array(res.atom_charges)
        self.energy_hartree = res.energy_hartree


def main(argv=None) -> None:
    args = parse_args(argv)
    cluster = load_cluster(args.cluster, total_charge=0)
    method = MethodSpec(xc=args.xc, basis=args.basis)
    doc = {"benchmark": "gebf_passes", "cluster": args.cluster.name, "natoms": cluster.natoms,
           "method": {"xc": args.xc, "basis": args.basis, "eta": args.eta},
           "machine": {"platform": platform.platform(), "gflops_at_start": machine_flops() / 1e9},
           "versions": versions(), "variants": []}
    results = []
    for v in args.variants.split(","):
        plan, workers, *flags = v.split(":")
        record, res = run_variant(cluster, method, plan, int(workers), args, reuse="noreuse" not in flags)
        results.append(res)
        record["vs_first"] = compare(res, results[0])
        doc["variants"].append(record)
        shown = ("plan", "workers_option", "reuse", "wall_s", "scf_cycles_total", "vs_first")
        print(json.dumps({k: record[k] for k in shown}), flush=True)
        write_json_atomic(args.out, doc)
    if args.reference:
        doc["full_cluster"] = reference_record(cluster, method, results[-1], args)
        for r in doc["variants"]:
            r["gebf_over_full_wall"] = r["wall_s"] / doc["full_cluster"]["wall_s"]
        print(json.dumps(doc["full_cluster"]), flush=True)
    doc["speedup_first_over_last"] = doc["variants"][0]["wall_s"] / doc["variants"][-1]["wall_s"]
    write_json_atomic(args.out, doc)


if __name__ == "__main__":
    main()
