"""Where the time of GEBF subsystem jobs goes: one job phase by phase, and one embedding pass job by job.

The job is the largest subsystem of the first embedding pass, in the background of the isolated
fragments' charges (a single-subsystem cluster: the whole cluster, no background). Its phases are
timed on the PySCF objects the CPU backend builds (`polcg.qm.pyscf_backend.build_mol / build_scf`):
Mole build, initial guess, core Hamiltonian, point-charge embedding (`pyscf.qmmm` h1e and nuclear
terms), DF tensor, grid build and pruning, one Fock build split into J/K and XC, one diagonalisation;
then the job itself from a cold start through polcg's CPU backend with its SCF objects instrumented
(the time inside the SCF and its J/K, XC, eig, grids and DF is summed: `measured_inside_scf`); then
population analysis, dipole, and I/O (guess density, result JSON) on its converged density. The SCF
is projected as (J/K + XC + eig per cycle) x cycles + one-off builds; shares are of that projection
and of the whole job, on the wall clock and on this process's CPU time (the measure that waiting for
a busy core does not inflate). Measured per-unit costs are set beside `polcg.qm.cost`'s model.

The pass runs every subsystem job through `get_backend("cpu").compute`: cold (minao), warm from the
isolated fragments' densities (the driver's first embedding pass), and the next pass (background
reassembled from the first) warm from each job's own density (the driver's second pass). All at the
requested settings (the "full" pass plan). The committed results (2 cores, 3 and 5 minutes):

    python benchmarks/gebf_profile.py examples/clusters/etnh3_no3_4.xyz --xc HF --basis 6-31G --eta 2 \\
        --threads 1 --out benchmarks/results/gebf_profile_etnh3_no3_4_hf631g.json
    python benchmarks/gebf_profile.py examples/clusters/c4mim_bf4_1.xyz --xc M06-2X --basis 6-31G** --grid 3 \\
        --threads 1 --out benchmarks/results/gebf_profile_c4mim_bf4_1_m062x.json
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from polcg.charges import molecule_fragments
from polcg.gebf.driver import isolated_fragments, subsystem_job
from polcg.gebf.energy import assemble_atomic
from polcg.gebf.subsystems import build_subsystems
from polcg.jobs.store import write_json_atomic
from polcg.qm import MethodSpec, QMResult, RunConfig, get_backend
from polcg.qm.guess import GuessPart, load_density, save_density
from polcg.qm.populations import atomic_charges
from polcg.qm.pyscf_backend import PySCFBackend, build_mol, build_scf, qm_dipole_au, versions
from polcg.structure.io import load_cluster

SCF_PHASES = ("initial guess", "core Hamiltonian", "embedding", "DF tensor", "grid build", "grid prune",
              "J/K", "XC", "diagonalisation")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cluster", type=Path, nargs="?", default=Path("examples/clusters/etnh3_no3_4.xyz"))
    p.add_argument("--xc", default="M06-2X")
    p.add_argument("--basis", default="6-31G**")
    p.add_argument("--grid", type=int, default=3, help="PySCF grid level (DFT)")
    p.add_argument("--eta", type=int, default=3, help="max fragments per subsystem (0: no cap)")
    p.add_argument("--xi", type=float, default=3.0)
    p.add_argument("--scheme", default="npa")
    p.add_argument("--passes", default="cold,parts,next", help="pass variants to run (cold, parts, next)")
    p.add_argument("--threads", type=int, default=0, help="threads per QM job (0: PySCF's default)")
    p.add_argument("--note", action="append", default=[], help="a line for the JSON's notes")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/gebf_profile.json"))
    return p.parse_args(argv)


@dataclass(frozen=True)
class Span:
    """Wall seconds (time.perf_counter) and CPU seconds of this process, all threads (time.process_time)."""

    wall: float = 0.0
    cpu: float = 0.0

    def __add__(self, other: Span) -> Span:
        return Span(self.wall + other.wall, self.cpu + other.cpu)

    def __sub__(self, other: Span) -> Span:
        return Span(max(self.wall - other.wall, 0.0), max(self.cpu - other.cpu, 0.0))


def timed(fn, *args, **kwargs):
    """(fn's result, its Span)."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, Span(time.perf_counter() - w0, time.process_time() - c0)


def best_of(n: int, fn, *args, **kwargs):
    """(fn's result, the fastest of n calls): per-cycle phases without first-call set-up."""
    runs = [timed(fn, *args, **kwargs) for _ in range(n)]
    return runs[-1][0], Span(min(t.wall for _, t in runs), min(t.cpu for _, t in runs))


def phase(name: str, t: Span, per: str = "job", note: str = "") -> dict:
    """A phase row; `per` is "cycle" (repeats every SCF cycle), "scf" (once per SCF) or "job"."""
    return {"phase": name, "seconds": t.wall, "cpu_s": t.cpu, "per": per, "note": note}


# ---------------------------------------------------------------- the setup: fragments, subsystems, background


def setup(args):
    cluster = load_cluster(args.cluster, total_charge=0)
    method = MethodSpec(xc=args.xc, basis=args.basis, grid_level=args.grid, scheme=args.scheme)
    atoms, charges, _ = molecule_fragments(cluster, "pairs")
    subs = build_subsystems(atoms, charges, cluster.coords_angstrom, args.xi, args.eta or None)
    return cluster, method, atoms, charges, subs


def isolated_pass(cluster, atoms, charges, method, config: RunConfig):
    """The isolated fragments, cold, densities kept: (pass record, background charges, fragment keys)."""
    start = isolated_fragments(atoms, charges)
    coords = np.asarray(cluster.coords_angstrom)
    jobs = [subsystem_job(s, cluster.elements, coords, method, None, label=f"F[{s.fragments[0]}]") for s in start]
    record, results = run_pass("isolated fragments", "cold (minao)", jobs, config)
    q0 = assemble_atomic(start, [r.background_charges for r in results], len(cluster.elements))
    return record, q0, {s.fragments[0]: j.geometry_key() for s, j in zip(start, jobs)}


def fragment_guess(sub, atoms, fragment_keys) -> tuple:
    """The driver's first-pass guess: the fragments' densities, block-diagonal."""
    pos = {a: i for i, a in enumerate(sub.atoms)}
    parts = tuple(GuessPart(fragment_keys[f], tuple(range(len(atoms[f]))), tuple(pos[a] for a in atoms[f]))
                  for f in sub.fragments)
    return (parts,)


def pass_jobs(cluster, subs, method, background, atoms=None, fragment_keys=None) -> list:
    coords = np.asarray(cluster.coords_angstrom)
    guess = (lambda s: fragment_guess(s, atoms, fragment_keys)) if fragment_keys else (lambda s: ())
    return [subsystem_job(s, cluster.elements, coords, method, background, guess=guess(s)) for s in subs]


# ---------------------------------------------------------------- one job, phase by phase


def instrument(obj, name: str, tally: dict, key: str) -> None:
    """Replace obj.name by a wrapper adding its calls and wall seconds to tally[key]."""
    fn = getattr(obj, name)

    def wrapped(*args, **kwargs):
        out, t = timed(fn, *args, **kwargs)
        calls, spent = tally.get(key, (0, Span()))
        tally[key] = (calls + 1, spent + t)
        return out
    setattr(obj, name, wrapped)


def jk_phase(mf, mol, dm, method) -> dict:
    """One Coulomb (+ exchange, for HF and hybrids) build at the guess density."""
    if method.is_hf:
        _, t = best_of(2, mf.get_jk, mol, dm)
        return phase("J/K", t, "cycle", "DF J+K" if method.density_fit else "J+K")
    omega, _, hyb = mf._numint.rsh_and_hybrid_coeff(mf.xc, spin=mol.spin)
    if hyb == 0 and omega == 0:
        _, t = best_of(2, mf.get_j, mol, dm)
        return phase("J/K", t, "cycle", "J only (pure functional)")
    _, t = best_of(2, mf.get_jk, mol, dm)
    note = f"J+K, exact exchange {hyb:.2f}" + (f", omega {omega} (long-range K not timed)" if omega else "")
    return phase("J/K", t, "cycle", note)


def xc_phase(mf, mol, dm) -> dict:
    ni = mf._numint
    nr = ni.nr_rks if getattr(dm, "ndim", 2) == 2 else ni.nr_uks
    _, t = best_of(2, nr, mol, mf.grids, mf.xc, dm)
    return phase("XC", t, "cycle", f"{mf.grids.weights.size} grid points")


def one_off_phases(mf, mol, dm, job) -> list[dict]:
    """Core Hamiltonian, embedding, DF tensor, grids: built once per SCF."""
    from pyscf import scf
    from pyscf.dft import rks

    _, t_core = timed(scf.hf.get_hcore, mol)
    rows = [phase("core Hamiltonian", t_core, "scf", "T + V_nuc")]
    if job.bg_charges:
        _, t_h = timed(mf.get_hcore, mol)
        _, t_e = timed(mf.energy_nuc)
        rows.append(phase("embedding", (t_h - t_core) + t_e, "scf",
                          f"{len(job.bg_charges)} point charges: qmmm h1e + nuclear-charge energy"))
    if job.method.density_fit:
        _, t = timed(mf.with_df.build)
        rows.append(phase("DF tensor", t, "scf", f"{mf.with_df.get_naoaux()} auxiliary functions"))
    if not job.method.is_hf:
        _, t = timed(mf.grids.build, with_non0tab=True)
        rows.append(phase("grid build", t, "scf", f"level {job.method.grid_level}, {mf.grids.weights.size} points"))
        mf.grids, t = timed(rks.prune_small_rho_grids_, mf, mol, dm, mf.grids)
        rows.append(phase("grid prune", t, "scf", f"{mf.grids.weights.size} points kept"))
    return rows


def fock_phases(mf, mol, dm, job) -> list[dict]:
    """Per cycle: one diagonalisation of the Fock matrix at the guess, then J/K and XC at the density it gives,
    which carries its orbitals as in the SCF (DF exchange and the XC density are then built from the
    occupied orbitals: DF J/K at the bare minao guess density took 1.7x as long, HF/6-31G, 30 atoms)."""
    fock = mf.get_fock(dm=dm)
    (mo_energy, mo_coeff), t = best_of(2, mf.eig, fock, mf.get_ovlp())
    dm1 = mf.make_rdm1(mo_coeff, mf.get_occ(mo_energy, mo_coeff))
    rows = [jk_phase(mf, mol, dm1, job.method)]
    if not job.method.is_hf:
        rows.append(xc_phase(mf, mol, dm1))
    return rows + [phase("diagonalisation", t, "cycle")]


def build_phases(job, config):
    """The phases before the SCF, on one set of PySCF objects: (rows, sizes)."""
    mol, t_mol = timed(build_mol, job, config)
    mf = build_scf(mol, job)
    dm, t_guess = timed(mf.get_init_guess)
    rows = [phase("Mole build", t_mol), phase("initial guess", t_guess, "scf", "minao")]
    rows += one_off_phases(mf, mol, dm, job)
    rows += fock_phases(mf, mol, dm, job)
    sizes = {"natoms": job.natoms, "nao": mol.nao, "nelectron": mol.nelectron,
             "naux": mf.with_df.get_naoaux() if job.method.density_fit else None,
             "ngrid": None if job.method.is_hf else int(mf.grids.weights.size),
             "n_background_charges": len(job.bg_charges)}
    return rows, sizes


def instrument_scf(mf, job, tally: dict) -> None:
    """Sum the time spent inside the SCF's parts into `tally` (name -> (calls, Span))."""
    if job.method.density_fit:
        instrument(mf.with_df, "get_jk", tally, "J/K")
        instrument(mf.with_df, "build", tally, "DF tensor")
    else:
        instrument(mf, "get_jk", tally, "J/K")
    if not job.method.is_hf:
        instrument(mf._numint, "nr_rks" if mf.mol.spin == 0 else "nr_uks", tally, "XC")
        instrument(mf, "initialize_grids", tally, "grids (build + prune)")
    instrument(mf, "eig", tally, "diagonalisation")
    instrument(mf, "get_hcore", tally, "core Hamiltonian + embedding")
    instrument(mf, "kernel", tally, "SCF")


class ProfiledBackend(PySCFBackend):
    """polcg's CPU backend, its SCF objects instrumented (`instrument_scf`); keeps the last one (`mf`)."""

    def __init__(self) -> None:
        self.tally: dict = {}
        self.mf = None

    def build_scf(self, mol, job):
        self.mf = build_scf(mol, job)
        instrument_scf(self.mf, job, self.tally)
        return self.mf

    def inside_scf(self) -> dict:
        tally = dict(self.tally)
        if "DF tensor" in tally and "J/K" in tally:  # the first get_jk builds the DF tensor inside it
            tally["J/K"] = (tally["J/K"][0], tally["J/K"][1] - tally["DF tensor"][1])
        scf = tally["SCF"][1]
        return {k: {"calls": c, "seconds": t.wall, "cpu_s": t.cpu, "share_of_scf_wall": t.wall / scf.wall,
                    "share_of_scf_cpu": t.cpu / scf.cpu} for k, (c, t) in tally.items()}


def after_scf_phases(mol, mf, job, guess_dir: str) -> list[dict]:
    """Populations, dipole and I/O of the converged job, as the backend does them."""
    dm = mf.make_rdm1()
    dm_total = dm[0] + dm[1] if dm.ndim == 3 else dm
    m = job.method
    charges, t_pop = timed(atomic_charges, mol, dm_total, m.scheme)
    rows = [phase("population analysis", t_pop, "job", m.scheme)]
    if m.background_scheme != m.scheme:
        _, t = timed(atomic_charges, mol, dm_total, m.background_scheme)
        rows.append(phase("embedding-scheme charges", t, "job", m.background_scheme))
    dipole, t_dip = timed(qm_dipole_au, mol, dm_total)
    rows.append(phase("dipole", t_dip))
    _, t_save = timed(save_density, guess_dir, job.geometry_key(), dm, mol)
    _, t_load = timed(load_density, guess_dir, job.geometry_key(), (), mol)
    rows.append(phase("guess density I/O", t_save + t_load, "job", "npz save + load"))
    result = QMResult(job.key(), job.label, float(mf.e_tot), tuple(map(float, charges)), tuple(map(float, dipole)),
                      bool(mf.converged), int(mf.cycles), 0.0, "pyscf", versions())
    _, t = timed(write_json_atomic, Path(guess_dir) / "result.json", {"job": job.to_dict(), "result": result.to_dict()})
    rows.append(phase("result JSON I/O", t, "job", "write_json_atomic of the job and result dicts"))
    return rows


def project(rows: list[dict], cycles: int, scf: Span, clock: str) -> dict:
    """Per-cycle phases x cycles + the rest once, on one clock ("seconds": wall, "cpu_s": CPU); each
    phase's share of the projected SCF and job."""
    measured = scf.wall if clock == "seconds" else scf.cpu
    for r in rows:
        r["count"] = cycles if r["per"] == "cycle" else 1
        r[f"projected_{clock}"] = r[clock] * r["count"]
    total_scf = sum(r[f"projected_{clock}"] for r in rows if r["per"] != "job")
    total_job = sum(r[f"projected_{clock}"] for r in rows)
    for r in rows:
        r[f"share_of_scf_{clock}"] = r[f"projected_{clock}"] / total_scf if r["per"] != "job" else None
        r[f"share_of_job_{clock}"] = r[f"projected_{clock}"] / total_job
    return {"projected_scf": total_scf, "projected_job": total_job, "measured_scf": measured,
            "scf_unaccounted": measured - total_scf, "projected_over_measured_scf": total_scf / measured}


def profile_job(job, sub_label: str, config: RunConfig):
    """The job's phases, and the job through the instrumented backend: (profile, that run's job record)."""
    rows, sizes = build_phases(job, config)
    backend = ProfiledBackend()
    result, t = timed(backend.compute, job, config)
    mf, scf, inside = backend.mf, backend.tally["SCF"][1], backend.inside_scf()
    with tempfile.TemporaryDirectory() as tmp:
        rows += after_scf_phases(mf.mol, mf, job, tmp)
    cycles, record = int(mf.cycles), job_record(job, result, t, config)
    summary = {"wall_s": project(rows, cycles, scf, "seconds"), "cpu_s": project(rows, cycles, scf, "cpu_s")}
    return {"subsystem": sub_label, **sizes, "start": "cold (minao)", "scf_cycles": cycles, "backend_run": record,
            "fock_builds": inside.get("J/K", {}).get("calls"), "energy_hartree": float(mf.e_tot),
            "projection_rule": "rows per 'cycle' x scf_cycles + rows per 'scf' once (+ rows per 'job' for the job); "
                               "PySCF builds the Fock matrix fock_builds times (the guess energy, every cycle, the "
                               "convergence check): measured_inside_scf has the time spent inside each part",
            "projection": summary, "phases": rows, "measured_inside_scf": inside,
            "cost_model": cost_model_check(job, rows)}, record


def cost_model_check(job, rows: list[dict]) -> dict | None:
    """The measured per-unit costs (flop per n_grid n_ao^2 etc., at this machine's rate) against the model's."""
    try:
        from polcg.qm import cost
        size, flops = cost.job_size(job), cost.machine_flops()
    except (ImportError, AttributeError):
        return None
    t = {r["phase"]: r["seconds"] for r in rows}
    n2 = size.nao**2
    measured = {"k_jk": t["J/K"] * flops / (size.naux * n2) if size.naux else None,
                "k_df": t["DF tensor"] * flops / (size.naux * n2) if "DF tensor" in t else None,
                "k_xc": t["XC"] * flops / (size.ngrid * n2) if "XC" in t else None,
                "k_npa": t["population analysis"] * flops / size.nao**3}
    model = {"k_jk": cost.K_JK, "k_df": cost.K_DF, "k_xc": cost.K_XC.get(cost.xc_type(job.method)), "k_npa": cost.K_NPA}
    return {"machine_gflops": flops / 1e9, "model_sizes": size.__dict__, "measured": measured, "model": model,
            "model_estimate_cold_s": cost.estimate_seconds(size, job.method, "cold", flops)}


# ---------------------------------------------------------------- one pass, job by job


def run_pass(name: str, start: str, jobs, config: RunConfig):
    """Every job through the CPU backend: (pass record, results)."""
    backend = get_backend("cpu")
    records, results = [], []
    t0 = time.perf_counter()
    for job in jobs:
        res, t = timed(backend.compute, job, config)
        results.append(res)
        records.append(job_record(job, res, t, config))
        print(f"  {name}: {job.label} {job.natoms} atoms {res.scf_cycles} cycles {res.wall_s:.1f} s", flush=True)
    return pass_record(name, start, records, time.perf_counter() - t0), results


def job_record(job, res: QMResult, t: Span, config: RunConfig) -> dict:
    return {"label": job.label, "natoms": job.natoms, "nao": build_mol(job, config).nao,
            "scf_cycles": res.scf_cycles, "wall_s": res.wall_s, "cpu_s": t.cpu}


def pass_record(name: str, start: str, records: list[dict], loop_wall_s: float) -> dict:
    return {"pass": name, "start": start, "jobs": records, "njobs": len(records),
            "sum_wall_s": sum(r["wall_s"] for r in records), "sum_cpu_s": sum(r["cpu_s"] for r in records),
            "sum_scf_cycles": sum(r["scf_cycles"] for r in records), "loop_wall_s": loop_wall_s}


def embedding_passes(cluster, method, atoms, subs, q0, fragment_keys, warm: RunConfig, variants) -> list[dict]:
    """The first embedding pass cold and warm from the fragments (`warm.guess_dir` holds their densities),
    and the next pass warm from its own densities."""
    out, results = [], None
    if "cold" in variants:
        jobs = pass_jobs(cluster, subs, method, q0)
        out.append(run_pass("embedding pass 1", "cold (minao)", jobs, replace(warm, guess_dir=None))[0])
    if "parts" in variants or "next" in variants:
        jobs = pass_jobs(cluster, subs, method, q0, atoms, fragment_keys)
        record, results = run_pass("embedding pass 1", "warm: fragments' densities", jobs, warm)
        out.append(record)
    if "next" in variants:
        q1 = assemble_atomic(subs, [r.background_charges for r in results], len(cluster.elements))
        jobs = pass_jobs(cluster, subs, method, q1)
        record = run_pass("embedding pass 2", "warm: own densities from pass 1", jobs, warm)[0]
        record["max_background_change_e"] = float(np.abs(q1 - q0).max())
        out.append(record)
    return out


def warm_saving(passes: list[dict]) -> dict | None:
    """Cycles and wall time of each warm pass against the cold one."""
    cold = next((p for p in passes if p["start"].startswith("cold") and p["pass"] != "isolated fragments"), None)
    if cold is None:
        return None
    c, w, u = cold["sum_scf_cycles"], cold["sum_wall_s"], cold["sum_cpu_s"]
    return {"cold": {"scf_cycles": c, "sum_wall_s": w, "sum_cpu_s": u},
            "warm": [{"pass": p["pass"], "start": p["start"], "scf_cycles": p["sum_scf_cycles"],
                      "cycles_saved": c - p["sum_scf_cycles"], "cycles_ratio": p["sum_scf_cycles"] / c,
                      "wall_ratio": p["sum_wall_s"] / w, "cpu_ratio": p["sum_cpu_s"] / u}
                     for p in passes if p["start"].startswith("warm")]}


# ---------------------------------------------------------------- the document and the tables


def machine() -> dict:
    from pyscf import lib

    try:
        from polcg.qm.cost import machine_flops
        gflops = machine_flops() / 1e9
    except ImportError:
        gflops = None
    return {"platform": platform.platform(), "processor": platform.processor(), "cpu_count": os.cpu_count(),
            "pyscf_threads": lib.num_threads(), "blas_threads": blas_threads(), "gflops": gflops,
            "loadavg_start": list(os.getloadavg())}


def blas_threads() -> dict | None:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return {Path(i["filepath"]).name: i["num_threads"] for i in threadpool_info()}


def header(args, cluster, method, subs) -> dict:
    return {"benchmark": "gebf_profile", "command": shlex.join(["python", *sys.argv]),
            "cluster": {"file": str(args.cluster), "natoms": cluster.natoms, "sha256": cluster.sha256},
            "method": {"xc": method.xc, "basis": method.basis, "auxbasis": method.auxbasis,
                       "grid_level": None if method.is_hf else method.grid_level, "scheme": method.scheme,
                       "embedding_scheme": method.background_scheme, "conv_tol": method.conv_tol},
            "gebf": {"xi": args.xi, "eta": args.eta or None, "fragments": "pairs", "n_subsystems": len(subs),
                     "subsystems": [{"label": s.label, "natoms": len(s.atoms), "coefficient": s.coefficient}
                                    for s in subs]},
            "machine": machine(), "versions": versions(), "notes": list(args.note)}


def pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}"


def inside_table(prof: dict):
    from rich.table import Table

    t = Table(title=f"measured inside the SCF ({prof['fock_builds']} Fock builds for {prof['scf_cycles']} cycles)")
    for col in ("part", "calls", "wall s", "CPU s", "% SCF CPU"):
        t.add_column(col, justify="left" if col == "part" else "right")
    for name, r in prof["measured_inside_scf"].items():
        t.add_row(name, str(r["calls"]), f"{r['seconds']:.2f}", f"{r['cpu_s']:.2f}", pct(r["share_of_scf_cpu"]))
    return t


def print_tables(doc: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    prof = doc["job_profile"]
    w, c = prof["projection"]["wall_s"], prof["projection"]["cpu_s"]
    t = Table(title=f"{prof['subsystem']}: {prof['natoms']} atoms, nao {prof['nao']}, {prof['scf_cycles']} cycles; "
                    f"SCF wall {w['measured_scf']:.1f} s (projected {w['projected_scf']:.1f}), "
                    f"CPU {c['measured_scf']:.1f} s (projected {c['projected_scf']:.1f})")
    for col in ("phase", "per", "wall s", "CPU s", "count", "% SCF wall", "% SCF CPU", "% job CPU"):
        t.add_column(col, justify="left" if col in ("phase", "per") else "right")
    for r in prof["phases"]:
        t.add_row(r["phase"], r["per"], f"{r['seconds']:.3f}", f"{r['cpu_s']:.3f}", str(r["count"]),
                  pct(r["share_of_scf_seconds"]), pct(r["share_of_scf_cpu_s"]), pct(r["share_of_job_cpu_s"]))
    p = Table(title="passes")
    for col in ("pass", "start", "jobs", "SCF cycles", "sum wall s", "sum CPU s"):
        p.add_column(col)
    for r in doc["passes"]:
        p.add_row(r["pass"], r["start"], str(r["njobs"]), str(r["sum_scf_cycles"]), f"{r['sum_wall_s']:.1f}",
                  f"{r['sum_cpu_s']:.1f}")
    Console(width=140).print(t, inside_table(prof), p)


def run_profile(args, doc: dict, config: RunConfig, case) -> None:
    """The job profile and the passes into `doc`; `case` is `setup`'s."""
    cluster, method, atoms, charges, subs = case
    if len(subs) == 1:
        doc["notes"].append("one subsystem holds the whole cluster: the profiled job and the pass are the single "
                            "whole-cluster job (no background, no embedding phase, no warm start in GEBF); the pass "
                            "is the profiled job's run through the (instrumented) CPU backend, not a second run")
        job = pass_jobs(cluster, subs, method, None)[0]
        doc["job_profile"], record = profile_job(job, "whole cluster", config)
        doc["passes"] = [pass_record("whole cluster", "cold (minao)", [record], record["wall_s"])]
        return
    with tempfile.TemporaryDirectory() as guess_dir:
        warm = replace(config, guess_dir=guess_dir)
        iso, q0, keys = isolated_pass(cluster, atoms, charges, method, warm)
        doc["job_profile"] = profile_job(pass_jobs(cluster, subs[:1], method, q0)[0], subs[0].label, config)[0]
        variants = set(args.passes.split(","))
        doc["passes"] = [iso, *embedding_passes(cluster, method, atoms, subs, q0, keys, warm, variants)]


def thread_limit(threads: int):
    """With threads > 0: PySCF's OpenMP threads and every BLAS pool (numpy's too) limited to that."""
    from pyscf import lib

    if threads <= 0:
        return contextlib.nullcontext()
    lib.num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads)


def main(argv=None) -> None:
    args = parse_args(argv)
    with thread_limit(args.threads):
        case = setup(args)
        doc = header(args, case[0], case[1], case[4])
        run_profile(args, doc, RunConfig(threads=args.threads), case)
    doc["warm_start"] = warm_saving(doc["passes"])
    doc["machine"]["loadavg_end"] = list(os.getloadavg())
    write_json_atomic(args.out, doc)
    print_tables(doc)


if __name__ == "__main__":
    main()
