"""Polarizabilities inside a cluster: ions polarised by their GEBF environment.

The environment is the cluster's converged GEBF atomic charges (from `polcg charges`, or
computed here), held fixed. Two results:

* per ion: α of the ion in the field of every other atom's GEBF charge (the ion-level GEBF
  term: one-ion subsystems, coefficient 1), split over beads like the gas-phase α, and the
  ratio to the gas-phase α of the same geometry;
* the cluster: α_cluster = Σ_m C_m α_m over the pair-level GEBF subsystems, each embedded in
  the fixed charges of the atoms outside it. Its difference from Σ_ion α_ion is the
  non-additive part (mutual induction and charge flow between ions in contact).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polcg.io import write_json_atomic
from polcg.qm import MethodSpec, QMJob, RunConfig
from polcg.structure.cluster import Cluster
from polcg.units import AU_POLARIZABILITY_TO_ANGSTROM3


@dataclass(frozen=True)
class ClusterPolarizability:
    ions: tuple[dict, ...]
    cluster: dict
    embedding: dict

    def to_dict(self) -> dict:
        return {"ions": list(self.ions), "cluster": self.cluster, "embedding": self.embedding}


def job_alpha_au(job: QMJob, config: RunConfig, workdir: str | Path | None) -> np.ndarray:
    """Analytic α (bohr³) of one QM job, cached as workdir/polarizability/alpha-<key>.json."""
    from polcg.qm.polarizability import analytic_polarizability, converged_scf

    path = None if workdir is None else Path(workdir) / "polarizability" / f"alpha-{job.key()}.json"
    if path is not None and path.exists():
        return np.asarray(json.loads(path.read_text())["alpha_au"])
    t0 = time.perf_counter()
    alpha = analytic_polarizability(converged_scf(job, config))
    if path is not None:
        write_json_atomic(path, {"job": job.to_dict(), "alpha_au": alpha.tolist(), "wall_s": time.perf_counter() - t0})
    return alpha


def subsystem_alpha_angstrom3(cluster: Cluster, atom_charges: np.ndarray, method: MethodSpec, xi: float,
                              eta: int | None, config: RunConfig, workdir=None, on_job=None) -> tuple[np.ndarray, dict]:
    """Σ_m C_m α_m over pair-level GEBF subsystems embedded in the fixed charges (Å³ tensor)."""
    from polcg.charges import molecule_fragments
    from polcg.gebf.driver import subsystem_job
    from polcg.gebf.subsystems import build_subsystems

    frag_atoms, frag_q, _ = molecule_fragments(cluster, "pairs")
    coords = np.asarray(cluster.coords_angstrom)
    subs = build_subsystems(frag_atoms, frag_q, coords, xi, eta)
    total = np.zeros((3, 3))
    for k, sub in enumerate(subs):
        job = subsystem_job(sub, cluster.elements, coords, method, atom_charges)
        total += sub.coefficient * job_alpha_au(job, config, workdir)
        if on_job:
            on_job(k + 1, len(subs))
    info = {"xi_angstrom": xi, "eta": eta, "n_subsystems": len(subs),
            "coefficients": [s.coefficient for s in subs], "sizes": [len(s.atoms) for s in subs]}
    return total * AU_POLARIZABILITY_TO_ANGSTROM3, info


def cluster_polarizabilities(cluster: Cluster, atom_charges: np.ndarray, method: MethodSpec, volumes, drude,
                             config: RunConfig, workdir=None, xi: float = 3.0, eta: int | None = 3,
                             subsystems: bool = True, on_job=None) -> ClusterPolarizability:
    """Per-ion embedded and gas-phase α (with bead split), and the GEBF cluster α."""
    from polcg.polarizabilities import ion_input, ion_polarizability
    from polcg.qm.polarizability import isotropic

    q = np.asarray(atom_charges, dtype=float)
    coords = np.asarray(cluster.coords_angstrom)
    ions, alpha_sum = [], np.zeros((3, 3))
    for k, mol in enumerate(cluster.molecules):
        outside = np.setdiff1d(np.arange(cluster.natoms), mol.atoms)
        label = f"{mol.name}#{k}"
        emb = ion_input(mol, cluster.elements, coords, f"{cluster.source} {label}", coords[outside], q[outside])
        gas = ion_input(mol, cluster.elements, coords, f"{cluster.source} {label}")
        r_emb = ion_polarizability(emb, method, volumes, drude, config, workdir=workdir)
        r_gas = ion_polarizability(gas, method, volumes, drude, config, workdir=workdir)
        alpha_sum += np.asarray(r_emb.alpha_tensor_angstrom3)
        ions.append({"index": k, "atoms": list(mol.atoms), "in_cluster": r_emb.to_dict(), "gas_phase": r_gas.to_dict(),
                     "ratio_in_cluster_to_gas": r_emb.alpha_iso_angstrom3 / r_gas.alpha_iso_angstrom3})
        if on_job:
            on_job(k + 1, len(cluster.molecules))
    cl = {"sum_of_ions_alpha_iso_angstrom3": isotropic(alpha_sum)}
    if subsystems and len(cluster.molecules) > 1:
        a_gebf, info = subsystem_alpha_angstrom3(cluster, q, method, xi, eta, config, workdir)
        cl.update({"gebf_alpha_tensor_angstrom3": a_gebf.tolist(), "gebf_alpha_iso_angstrom3": isotropic(a_gebf),
                   "non_additive_alpha_iso_angstrom3": isotropic(a_gebf) - isotropic(alpha_sum), "gebf": info})
    embedding = {"charges_sha256": hashlib.sha256(np.round(q, 10).tobytes()).hexdigest(), "natoms": cluster.natoms}
    return ClusterPolarizability(tuple(ions), cl, embedding)


def in_cluster(path: str | Path, charges_json: str | Path | None, method: MethodSpec, volumes, drude,
               config: RunConfig, workdir: str | Path, xi: float, eta: int | None, on_note=None) -> dict:
    """`polcg polarizability CLUSTER --in-cluster`: per-ion α in the cluster's GEBF charges (read from a
    `polcg charges --json` file made for it, else computed at the default method) and the GEBF cluster α."""
    from polcg.charges import ClusterCharges, RunOptions, compute_charges
    from polcg.structure.io import load_cluster

    cluster = load_cluster(path, total_charge=0)
    if charges_json is not None:
        charges = ClusterCharges.load(charges_json)
        charges.check_structure(cluster, str(charges_json))  # made for this very cluster file
    else:
        if on_note:
            on_note("computing GEBF charges of the cluster (default method; pass --charges to reuse a run)")
        charges = compute_charges(cluster, options=RunOptions(workdir=str(workdir)))
    q = np.asarray(charges.atom_charges)
    return cluster_polarizabilities(cluster, q, method, volumes, drude, config, workdir, xi, eta).to_dict()
