"""From which cluster size GEBF beats the full calculation on this machine: the cost model of
`polcg charges --plan` (exact job sizes, this machine's matrix-multiply rate) applied to GEBF and to the
whole cluster for every cluster given, checked against the wall times measured on the same machine.

No QM runs: the script sizes every job, so it takes seconds. The `measured` entries are wall times
recorded by the other benchmarks (files under benchmarks/results/), put beside the model's estimate of
the same calculation so that the extrapolation's error is visible. Example (2 cores):

    python benchmarks/gebf_crossover.py examples/clusters/c4mim_bf4_{2,4,6,8,30}.xyz \\
        examples/clusters/etnh3_no3_{4,6}.xyz --out benchmarks/results/gebf_crossover_m062x.json
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from polcg.charges import molecule_fragments
from polcg.gebf import GEBFSettings
from polcg.gebf.plan import THREAD_EXPONENT, plan_gebf
from polcg.jobs.store import write_json_atomic
from polcg.qm import MethodSpec, QMJob
from polcg.qm.cost import available_memory_mb, cpu_count, estimate_seconds, job_size, machine_flops
from polcg.qm.pyscf_backend import versions
from polcg.structure.io import load_cluster

RESULTS = Path(__file__).resolve().parent / "results"
# wall times measured on this 2-core machine by other benchmarks: (file, cluster stem, key, what)
MEASURED = [
    ("gebf_scaling_etnh3_no3_4_m062x.json", "etnh3_no3_4", "full_wall_s", "full cluster, M06-2X/6-31G**"),
    ("gebf_scaling_etnh3_no3_4_m062x.json", "etnh3_no3_4", "gebf_wall_s", "GEBF, original 'full' pass plan"),
    ("gebf_scaling_c1mim_cl_4_m062x.json", "c1mim_cl_4", "full_wall_s", "full cluster, M06-2X/6-31G**"),
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("clusters", type=Path, nargs="+")
    p.add_argument("--xc", default="M06-2X")
    p.add_argument("--basis", default="6-31G**")
    p.add_argument("--eta", type=int, default=3)
    p.add_argument("--gflops", type=float, default=None,
                   help="matrix-multiply rate to assume (default: measured now; a loaded machine measures low)")
    p.add_argument("--out", type=Path, required=True)
    return p.parse_args(argv)


def estimate(path: Path, method: MethodSpec, settings: GEBFSettings, flops: float) -> dict:
    cluster = load_cluster(path, total_charge=0)
    atoms, charges, _ = molecule_fragments(cluster, "pairs")
    plan = plan_gebf(cluster.elements, cluster.coords_angstrom, atoms, charges, method, settings, flops=flops)
    full = job_size(QMJob.build(cluster.elements, cluster.coords_angstrom, 0, method))
    full_s = estimate_seconds(full, method, "cold", flops)  # one job on every core
    in_core = full.memory_mb < 0.8 * available_memory_mb()
    return {"cluster": path.stem, "pairs": len(atoms), "atoms": len(cluster.elements),
            "subsystems": len(plan.subsystems), "largest_subsystem_nao": max(s["nao"] for s in plan.subsystems),
            "gebf_estimated_s": plan.estimated_wall_s, "passes": {p.name: p.estimated_wall_s for p in plan.passes},
            "full_nao": full.nao, "full_naux": full.naux, "full_memory_mb": round(full.memory_mb),
            "full_df_in_core_here": in_core, "full_estimated_s": round(full_s, 1),
            "gebf_over_full": round(plan.estimated_wall_s / full_s, 3), "layout": plan.to_dict()["layout"]}


def crossover(rows: list[dict]) -> dict:
    """The smallest cluster where GEBF's estimate is below the full job's, and the interpolated size
    (in pairs) where the ratio crosses 1 on a log-log line between its neighbours."""
    import math

    rows = sorted(rows, key=lambda r: r["pairs"])
    for a, b in zip(rows, rows[1:]):
        if a["gebf_over_full"] >= 1 > b["gebf_over_full"]:
            la, lb = math.log(a["gebf_over_full"]), math.log(b["gebf_over_full"])
            x = math.exp(math.log(a["pairs"]) + (0 - la) * (math.log(b["pairs"]) - math.log(a["pairs"])) / (lb - la))
            return {"first_cheaper_cluster": b["cluster"], "pairs_at_ratio_1": round(x, 1)}
    cheaper = [r for r in rows if r["gebf_over_full"] < 1]
    return {"first_cheaper_cluster": cheaper[0]["cluster"] if cheaper else None, "pairs_at_ratio_1": None}


def measured(rows: list[dict], method: MethodSpec, flops: float) -> list[dict]:
    out = []
    for name, stem, key, what in MEASURED:
        path = RESULTS / name
        if not path.is_file():
            continue
        rec = next((r for r in json.loads(path.read_text())["records"] if Path(r["cluster"]).stem == stem), None)
        if rec is None or key not in rec:
            continue
        entry = {"file": name, "cluster": stem, "what": what, "measured_s": round(rec[key], 1)}
        if key == "full_wall_s":
            entry["estimated_s"] = _full_estimate(stem, method, flops)
            entry["measured_over_estimated"] = round(rec[key] / entry["estimated_s"], 2)
        out.append(entry)
    return out


def recorded_jobs(method: MethodSpec, flops: float) -> list[dict]:
    """Subsystem-sized jobs at the requested settings recorded in qm_jobs/gebf/ (measured vs estimated)."""
    out = []
    root = Path(__file__).resolve().parents[1] / "qm_jobs" / "gebf"
    for path in sorted(root.glob("*/jobs/*/*.json")):
        doc = json.loads(path.read_text())
        j, res = doc["job"], doc["result"]
        m = MethodSpec(**j["method"])
        if (m.xc, m.basis, m.grid_level) != (method.xc, method.basis, method.grid_level):
            continue
        job = QMJob.build(j["elements"], j["coords_angstrom"], j["charge"], m)
        est = estimate_seconds(job_size(job), m, "cold", flops)
        out.append({"file": str(path.relative_to(root.parents[1])), "what": f"job {res['label']}, "
                    f"{len(job.elements)} atoms", "measured_s": round(res["wall_s"], 1), "estimated_s": round(est, 1),
                    "measured_over_estimated": round(res["wall_s"] / est, 2)})
    return out


def calibrated(rows: list[dict], checks: list[dict]) -> dict:
    """The ratios with each side scaled by its measured/estimated factor: full-cluster jobs for the full
    side, subsystem-sized jobs for GEBF (geometric means), and the crossover they give."""
    import math

    def factor(kind: str) -> float | None:
        f = [c["measured_over_estimated"] for c in checks if "measured_over_estimated" in c
             and c["what"].startswith(kind)]
        return math.exp(sum(map(math.log, f)) / len(f)) if f else None

    full, sub = factor("full cluster"), factor("job ")
    if not (full and sub):
        return {}
    scaled = [{**r, "gebf_over_full": round(r["gebf_over_full"] * sub / full, 3)} for r in rows]
    return {"full_factor": round(full, 2), "subsystem_factor": round(sub, 2),
            "ratios": {r["cluster"]: r["gebf_over_full"] for r in scaled}, "crossover": crossover(scaled)}


def _full_estimate(stem: str, method: MethodSpec, flops: float) -> float:
    path = Path(__file__).resolve().parents[1] / "examples" / "clusters" / f"{stem}.xyz"
    cluster = load_cluster(path, total_charge=0)
    return round(estimate_seconds(job_size(QMJob.build(cluster.elements, cluster.coords_angstrom, 0, method)),
                                  method, "cold", flops), 1)


def main(argv=None) -> None:
    args = parse_args(argv)
    method = MethodSpec(xc=args.xc, basis=args.basis, scheme="npa")
    settings = GEBFSettings(eta=args.eta or None)
    flops = args.gflops * 1e9 if args.gflops else machine_flops()
    rows = [estimate(p, method, settings, flops) for p in args.clusters]
    checks = measured(rows, method, flops) + recorded_jobs(method, flops)
    doc = {"benchmark": "gebf_crossover", "method": {"xc": args.xc, "basis": args.basis, "eta": args.eta,
                                                     "passes": settings.passes},
           "machine": {"cores": cpu_count(), "gflops": round(flops / 1e9, 1), "platform": platform.platform(),
                       "thread_exponent": THREAD_EXPONENT},
           "versions": versions(), "rows": rows, "crossover": crossover(rows),
           "measured": checks, "calibrated": calibrated(rows, checks),
           "note": "estimates from polcg.qm.cost (within ~1.5x of measured jobs); GEBF subsystem jobs share the "
                   "cores as the default layout does, the full job runs on every core; a full job whose "
                   "density-fitting tensor does not fit in memory runs out of core and is slower than estimated"}
    write_json_atomic(args.out, doc)
    for r in rows:
        print(f"{r['cluster']:>14} {r['pairs']:>3} pairs  GEBF {r['gebf_estimated_s'] / 3600:8.2f} h  "
              f"full {r['full_estimated_s'] / 3600:8.2f} h  ratio {r['gebf_over_full']:.2f}")
    print(json.dumps(doc["crossover"]), f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
