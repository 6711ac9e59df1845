"""Time per ion for α (CPKS) and for AIM volumes against grid spacing; volume convergence.

For each ion: one SCF, the analytic α, then QTAIM volumes at each spacing and Hirshfeld
volumes, all from the same density. Writes JSON with wall times, per-bead volumes and
the largest relative change of an atom / bead volume against the finest spacing.

    python benchmarks/polarizability_timing.py BF4 C4mim --spacings 0.3,0.2,0.15,0.1 \
        --out benchmarks/results/polarizability_timing.json
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from polcg.jobs.store import write_json_atomic
from polcg.polarizabilities import POLARIZABILITY_METHOD, ion_from_library, ion_job
from polcg.qm import MethodSpec, RunConfig
from polcg.qm.aim import hirshfeld_volumes, qtaim_volumes
from polcg.qm.polarizability import analytic_polarizability, isotropic
from polcg.qm.pyscf_backend import build_mol, build_scf, versions
from polcg.units import AU_POLARIZABILITY_TO_ANGSTROM3


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ions", nargs="+")
    p.add_argument("--xc", default=POLARIZABILITY_METHOD.xc)
    p.add_argument("--basis", default=POLARIZABILITY_METHOD.basis)
    p.add_argument("--auxbasis", default=POLARIZABILITY_METHOD.auxbasis)
    p.add_argument("--spacings", default="0.3,0.2,0.15,0.1")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/polarizability_timing.json"))
    return p.parse_args(argv)


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def one_ion(name: str, method: MethodSpec, spacings: list[float]) -> dict:
    ion = ion_from_library(name)
    job = ion_job(ion, method)
    mol = build_mol(job, RunConfig())
    mf = build_scf(mol, job)
    _, t_scf = timed(mf.kernel)
    alpha, t_alpha = timed(analytic_polarizability, mf)
    dm = mf.make_rdm1()
    rec = {"ion": name, "natoms": mol.natm, "nao": mol.nao, "scf_wall_s": t_scf, "alpha_wall_s": t_alpha,
           "alpha_iso_angstrom3": isotropic(alpha) * AU_POLARIZABILITY_TO_ANGSTROM3, "qtaim": []}
    for h in spacings:
        vol, t = timed(qtaim_volumes, mol, dm, spacing_angstrom=h)
        rec["qtaim"].append({"spacing_angstrom": h, "wall_s": t, "atom_volumes_angstrom3": list(vol.volumes_angstrom3),
                             "bead_volumes_angstrom3": _beads(ion, vol.volumes_angstrom3),
                             "population_sum": float(sum(vol.populations)), "n_maxima": vol.n_maxima})
    vol, t = timed(hirshfeld_volumes, mol, dm)
    rec["hirshfeld"] = {"wall_s": t, "atom_volumes_angstrom3": list(vol.volumes_angstrom3),
                        "bead_volumes_angstrom3": _beads(ion, vol.volumes_angstrom3)}
    finest = rec["qtaim"][-1]
    for r in rec["qtaim"]:
        r["max_atom_rel_change_vs_finest"] = _max_rel(r["atom_volumes_angstrom3"], finest["atom_volumes_angstrom3"])
        r["max_bead_rel_change_vs_finest"] = _max_rel(r["bead_volumes_angstrom3"], finest["bead_volumes_angstrom3"])
    return rec


def _beads(ion, volumes) -> list[float]:
    beads = ion.beads or ()
    return [float(sum(volumes[a] for a in b.atoms)) for b in beads] or [float(sum(volumes))]


def _max_rel(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b) / b))


def main(argv=None) -> None:
    args = parse_args(argv)
    method = MethodSpec(xc=args.xc, basis=args.basis, auxbasis=args.auxbasis)
    spacings = [float(s) for s in args.spacings.split(",")]
    records = []
    for name in args.ions:
        records.append(one_ion(name, method, spacings))
        print(name, {k: records[-1][k] for k in ("scf_wall_s", "alpha_wall_s", "alpha_iso_angstrom3")},
              [(r["spacing_angstrom"], round(r["wall_s"], 1), round(r["max_bead_rel_change_vs_finest"], 4))
               for r in records[-1]["qtaim"]], flush=True)
        write_json_atomic(args.out, {"benchmark": "polarizability_timing", "method": method.as_dict(),
                                     "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
                                     "versions": versions(), "records": records})


if __name__ == "__main__":
    main()
