"""How well GEBF ESP charges reproduce the whole cluster's potential, and how well that potential
determines atom and ion charges at all.

ESP charges of a cluster are fitted to its potential outside the van der Waals envelope, which
says little about buried atoms. This script takes a cluster's full-cluster density (one SCF, warm
started from the benchmark's job store) and, on the full cluster's CHELPG points, compares:

* the potential of the full-cluster ESP charges, of the GEBF ESP charges (and of any other
  GEBF/full charge sets, e.g. NPA) with the QM potential (RRMS, relative to the QM potential's rms);
* the full-cluster ESP charges refitted on shifted and finer lattices (spacing 0.3 -> 0.25 and
  0.2 Å, the lattice offset by half a spacing): how far atom and ion charges move when only the
  fit points change, i.e. how well the reference itself is determined.

Run after `gebf_scaling.py --schemes esp` with the same --workdir, which holds the jobs (all
reused here). Example (2 cores, a few minutes):

    python benchmarks/esp_determinacy.py examples/clusters/etnh3_no3_4.xyz --xc HF --basis 6-31G* \
        --embedding same --workdir /tmp/bench --out benchmarks/results/esp_determinacy_etnh3_no3_4_hf631gs.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from polcg.charges import RunOptions, compute_charges, ion_charges
from polcg.gebf import GEBFSettings
from polcg.jobs.store import write_json_atomic
from polcg.qm import MethodSpec, QMJob, RunConfig
from polcg.qm.charge_schemes.esp import chelpg_points, fit_esp
from polcg.qm.guess import load_density
from polcg.qm.pyscf_backend import build_mol, build_scf, versions
from polcg.qm.spec import embedding_option
from polcg.structure.io import load_cluster
from polcg.units import ANGSTROM_TO_BOHR


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cluster", type=Path)
    p.add_argument("--xc", default="M06-2X")
    p.add_argument("--basis", default="6-31G**")
    p.add_argument("--xi", type=float, default=3.0)
    p.add_argument("--eta", type=int, default=3)
    p.add_argument("--also", default="", help="comma list of other schemes (e.g. npa) to compare; their GEBF "
                   "runs are computed unless the store holds them")
    p.add_argument("--embedding", default="npa", help="background scheme of the GEBF runs, or 'same'")
    p.add_argument("--workdir", type=Path, default=Path("polcg_work/bench"))
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/esp_determinacy.json"))
    return p.parse_args(argv)


def full_density(cluster, method: MethodSpec, guess_dir: Path):
    """The whole cluster's SCF (a few cycles from the stored density) as (mol, total density)."""
    job = QMJob.build(cluster.elements, cluster.coords_angstrom, cluster.charge, method, label="full cluster")
    config = RunConfig(guess_dir=str(guess_dir))
    mol = build_mol(job, config)
    mf = build_scf(mol, job)
    mf.kernel(dm0=load_density(config.guess_dir, job.geometry_key(), job.guess, mol))
    if not mf.converged:
        raise SystemExit("full-cluster SCF did not converge")
    return mol, mf.make_rdm1()


def ion_sums(cluster, q) -> np.ndarray:
    return np.array([ion.charge for ion in ion_charges(cluster, np.asarray(q))])


def rrms(mol, points, v_qm, q) -> float:
    a = 1.0 / np.linalg.norm(points[:, None, :] - mol.atom_coords()[None, :, :], axis=2)
    return float(np.sqrt(np.mean((a @ np.asarray(q) - v_qm) ** 2) / np.mean(v_qm**2)))


def refits(mol, dm, ref_q, cluster) -> list[dict]:
    """The full-cluster ESP fit on other lattices: spacing and a half-spacing offset."""
    out = []
    for spacing, shift in ((0.3, 0.5), (0.25, 0.0), (0.2, 0.0)):
        pts = chelpg_points(mol, spacing=spacing)
        if shift:
            pts = pts + shift * spacing * ANGSTROM_TO_BOHR * np.ones(3) / np.sqrt(3.0)
        fit = fit_esp(mol, dm, points=pts)
        ion_change = ion_sums(cluster, fit.charges) - ion_sums(cluster, ref_q)
        out.append({"spacing_angstrom": spacing, "offset_fraction": shift, "n_points": len(pts), "rrms": fit.rrms,
                    "max_atom_change_e": float(np.max(np.abs(fit.charges - ref_q))),
                    "max_ion_change_e": float(np.max(np.abs(ion_change)))})
    return out


def main(argv=None) -> None:
    args = parse_args(argv)
    cluster = load_cluster(args.cluster, total_charge=0)
    store = args.workdir / args.cluster.stem
    options = RunOptions(workdir=str(store))
    settings = GEBFSettings(xi=args.xi, eta=args.eta or None)
    embedding = embedding_option(args.embedding)
    runs = {s: compute_charges(cluster, MethodSpec(xc=args.xc, basis=args.basis, scheme=s, embedding_scheme=embedding),
                               settings, options=options, reference=True)
            for s in ["esp", *filter(None, args.also.split(","))]}
    mol, dm = full_density(cluster, MethodSpec(xc=args.xc, basis=args.basis, scheme="esp"), store / "guess")
    ref = fit_esp(mol, dm)
    q_full = np.asarray(runs["esp"].reference["atom_charges"])
    sets = {f"{s}_{kind}": np.asarray(r.atom_charges if kind == "gebf" else r.reference["atom_charges"])
            for s, r in runs.items() for kind in ("gebf", "full")}
    doc = {
        "benchmark": "esp_determinacy", "cluster": args.cluster.name, "natoms": cluster.natoms,
        "method": {"xc": args.xc, "basis": args.basis, "xi_angstrom": args.xi, "eta": args.eta,
                   "embedding_scheme": embedding or "same"},
        "n_points": len(ref.points), "refit_reproduces_reference_e": float(np.max(np.abs(ref.charges - q_full))),
        "potential_rrms": {k: rrms(mol, ref.points, ref.v_qm, q) for k, q in sets.items()},
        "gebf_vs_full_esp": {"max_atom_e": runs["esp"].reference["max_atom_charge_error"],
                             "max_ion_e": runs["esp"].reference["max_ion_charge_error"]},
        "full_esp_refits": refits(mol, dm, q_full, cluster),
        "jobs_computed": sum(r.timing["jobs_computed"] for r in runs.values()), "versions": versions(),
    }
    print(json.dumps(doc, indent=1))
    write_json_atomic(args.out, doc)


if __name__ == "__main__":
    main()
