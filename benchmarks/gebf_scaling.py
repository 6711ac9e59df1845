"""GEBF vs full-cluster calculation: wall time and errors against cluster size, per charge scheme.

Writes JSON (one record per cluster × scheme × ζ/η) with the GEBF and full wall times, the
largest ion and atom charge errors (e) and the energy error (kcal/mol). Example (2 cores):

    python benchmarks/gebf_scaling.py examples/clusters/etnh3_no3_{2,4,6}.xyz \
        --xc B3LYP --basis 6-31G* --schemes npa,mulliken --out benchmarks/results/gebf_scaling.json

Finished QM jobs are kept in --workdir (one store per cluster), so an interrupted
benchmark resumes; a record whose jobs were reused says so (jobs_reused) and its GEBF wall time
then is not a timing. SCF densities are shared across schemes as warm starts, so only the first
scheme of a cluster is timed cold. full_wall_s is the recorded time of the full-cluster job; with
--full-alone that job runs in a run of its own (one worker with every core, cold start, fresh store),
as a user would run it, rather than in the GEBF run's layout and beside its saved densities.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from polcg.charges import RunOptions, compute_charges
from polcg.gebf import GEBFSettings
from polcg.jobs.store import write_json_atomic
from polcg.qm import MethodSpec
from polcg.qm.pyscf_backend import versions
from polcg.qm.spec import embedding_option
from polcg.structure.io import load_cluster
from polcg.structure.pairing import fragment_molecules


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("clusters", nargs="+", type=Path)
    p.add_argument("--xc", default="M06-2X")
    p.add_argument("--basis", default="6-31G**")
    p.add_argument("--grid", type=int, default=3)
    p.add_argument("--schemes", default="npa")
    p.add_argument("--embedding", default="npa",
                   help="scheme of the background charges, or 'same' (each scheme embeds with itself)")
    p.add_argument("--settings", default="3.0:4", help="comma list of ζ:η (η 0 = no cap)")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu | gpu | auto (the QM backend)")
    p.add_argument("--no-reference", action="store_true", help="skip the full-cluster calculation")
    p.add_argument("--full-alone", action="store_true",
                   help="run the full cluster in its own run: one worker with every core, a fresh store, a cold "
                        "start (as a user would run it), not in the GEBF run's worker layout and warm-start folder")
    p.add_argument("--workdir", type=Path, default=Path("polcg_work/bench"))
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/gebf_scaling.json"))
    return p.parse_args(argv)


def one_record(path: Path, scheme: str, xi: float, eta: int, args) -> dict:
    cluster = load_cluster(path, total_charge=0)
    method = MethodSpec(xc=args.xc, basis=args.basis, grid_level=args.grid, scheme=scheme,
                        embedding_scheme=embedding_option(args.embedding))
    options = RunOptions(device=args.device, workers=args.workers, workdir=str(args.workdir / path.stem))
    t0 = time.perf_counter()
    res = compute_charges(cluster, method, GEBFSettings(xi=xi, eta=eta or None), options=options,
                         reference=not (args.no_reference or args.full_alone))
    ref = full_alone(cluster, method, res, args, path) if args.full_alone else (res.reference or {})
    return {
        "cluster": path.name, "natoms": cluster.natoms, "n_pairs": len(fragment_molecules(cluster, "pairs")),
        "scheme": scheme, "embedding_scheme": method.background_scheme, "xi_angstrom": xi, "eta": eta or None,
        "n_subsystems": res.gebf["n_subsystems"], "max_subsystem_atoms": max(res.gebf["subsystem_sizes"]),
        "iterations": res.iterations, "converged": res.converged,
        "device": res.provenance.get("device", args.device),
        "gebf_wall_s": res.timing["gebf_wall_s"], "full_wall_s": ref.get("wall_s"),
        "gebf_over_full": res.timing["gebf_wall_s"] / ref["wall_s"] if ref.get("wall_s") else None,
        "gebf_layout": res.provenance.get("layout"), "full_layout": ref.get("layout"),
        "jobs_computed": res.timing["jobs_computed"], "jobs_reused": res.timing["jobs_reused"],
        "this_run_wall_s": time.perf_counter() - t0,
        "max_ion_charge_error_e": ref.get("max_ion_charge_error"),
        "max_atom_charge_error_e": ref.get("max_atom_charge_error"),
        "energy_error_kcal_mol": ref.get("energy_error_kcal_mol"),
        "mean_cation_charge_gebf": _mean(res, +1),
        "mean_cation_charge_full": _mean_ref(ref, cluster, +1) if ref else None,
    }


def full_alone(cluster, method, gebf, args, path: Path) -> dict:
    """The whole cluster as one job in its own run (one worker, all cores, cold start), and GEBF's errors
    against it (`polcg.charges.run.full_reference`)."""
    from dataclasses import replace
    from types import SimpleNamespace

    import numpy as np

    from polcg.charges.run import full_reference, make_runner
    from polcg.gebf.plan import choose_layout
    from polcg.qm.cost import job_size
    from polcg.qm.spec import QMJob

    job = QMJob.build(cluster.elements, cluster.coords_angstrom, cluster.charge,
                      replace(method, embedding_scheme=None), label="full cluster")
    layout = choose_layout(job_size(job).memory_mb, 1, workers=1)
    options = RunOptions(device=args.device, workers=1, workdir=str(args.workdir / f"{path.stem}_full"),
                         warm_start=False)
    runner = make_runner(options, layout)
    try:
        as_gebf = SimpleNamespace(atom_charges=np.asarray(gebf.atom_charges), energy_hartree=gebf.energy_hartree)
        ref = full_reference(cluster, method, runner, as_gebf)
    finally:
        runner.executor.close()
    return {**ref, "layout": {"workers": layout.workers, "threads": layout.threads, "memory_mb": layout.memory_mb}}


def _mean(res, sign):
    q = [i.charge for i in res.ions if i.formal_charge * sign > 0]
    return sum(q) / len(q)


def _mean_ref(ref, cluster, sign):
    q = [qi for qi, m in zip(ref["ion_charges"], cluster.molecules) if m.formal_charge * sign > 0]
    return sum(q) / len(q)


def main(argv=None) -> None:
    args = parse_args(argv)
    settings = [(float(s.split(":")[0]), int(s.split(":")[1])) for s in args.settings.split(",")]
    records = []
    for path in args.clusters:
        for scheme in args.schemes.split(","):
            for xi, eta in settings:
                records.append(one_record(path, scheme, xi, eta, args))
                print(json.dumps(records[-1]), flush=True)
                write_json_atomic(args.out, _document(records, args))


def _document(records, args) -> dict:
    return {"benchmark": "gebf_scaling", "method": {"xc": args.xc, "basis": args.basis, "grid_level": args.grid},
            "machine": {"cpu_count": __import__("os").cpu_count(), "platform": platform.platform(),
                        "workers": args.workers},
            "versions": versions(), "records": records}


if __name__ == "__main__":
    main()
