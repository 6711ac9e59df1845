"""Per-frame reductions of a run's trajectory, made one segment at a time (prepare / per-chunk /
conclude): centres of mass of every molecule, the rotational box dipole, and RDF histograms.

* Centres of mass use the particles' masses (a Drude particle's mass belongs to its bead's
  molecule), from unwrapped positions, so they move continuously across the box.
* The rotational dipole is Σ_molecules Σ_i q_i (r_i − R_molecule) with the *physical* charges
  (VaCG: before the ε scaling; Drude models: cores and Drudes, so induced dipoles are in it). It
  stays bounded in a conducting liquid, unlike Σ q r, which grows with the ionic current.
* RDFs are intermolecular, between bead types (Drude particles left out), by mdtraj.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from polcg.md.layout import molecule_slices
from polcg.md.trajectory import Chunk, Run

RDF_BIN_NM = 0.01
#: at most this many frames × pairs in one distance call (memory)
RDF_BLOCK = 20_000_000


@dataclass(frozen=True)
class Series:
    time_ps: np.ndarray  # (T,)
    com_nm: np.ndarray  # (T, M, 3) molecule centres of mass, unwrapped
    dipole_e_nm: np.ndarray  # (T, 3) rotational box dipole, physical charges
    volume_nm3: np.ndarray  # (T,)
    molecule_role: tuple[str, ...]  # (M,)
    molecule_name: tuple[str, ...]
    molecule_charge_e: np.ndarray  # (M,) physical net charge
    rdf_r_nm: np.ndarray | None = None
    rdf: dict[str, np.ndarray] | None = None  # "A-B" → g(r)


def collect(run: Run, rdf_max_frames: int | None = 200) -> Series:
    """Reduce every completed production segment of `run`; RDFs from at most `rdf_max_frames`
    evenly spread frames (None: no RDFs)."""
    parts = run.particles
    slices = molecule_slices(list(parts))
    masses = np.array([p.mass_u for p in parts])
    q = run.physical_charges()
    w = _com_matrix(slices, masses, len(parts))
    mol_q = np.array([q[list(sl)].sum() for sl in slices])
    n_frames = len(run.state())
    stride = max(1, int(np.ceil(n_frames / rdf_max_frames))) if rdf_max_frames else 0
    rdf = _RDF(run, slices) if stride else None
    times, coms, dipoles, volumes, seen = [], [], [], [], 0
    for chunk in run.chunks():
        com = _apply(w, chunk.positions_nm)
        times.append(chunk.time_ps)
        coms.append(com)
        dipoles.append(chunk.positions_nm.transpose(0, 2, 1) @ q - np.einsum("tmk,m->tk", com, mol_q))
        volumes.append(np.prod(chunk.box_nm, axis=1))
        if rdf is not None:
            take = np.arange(chunk.time_ps.size)[(np.arange(chunk.time_ps.size) + seen) % stride == 0]
            rdf.add(chunk, take)
        seen += chunk.time_ps.size
    r, g = rdf.conclude() if rdf is not None else (None, None)
    return Series(np.concatenate(times), np.concatenate(coms), np.concatenate(dipoles), np.concatenate(volumes),
                  tuple(parts[sl[0]].role for sl in slices), tuple(parts[sl[0]].mol_type for sl in slices),
                  mol_q, r, g)


def _com_matrix(slices, masses: np.ndarray, n: int) -> sparse.csr_matrix:
    rows, cols, vals = [], [], []
    for m, sl in enumerate(slices):
        idx = np.arange(sl.start, sl.stop)
        rows.extend([m] * idx.size)
        cols.extend(idx)
        vals.extend(masses[idx] / masses[idx].sum())
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(slices), n))


def _apply(w: sparse.csr_matrix, x: np.ndarray) -> np.ndarray:
    """(F, N, 3) → (F, M, 3) with the (M, N) weight matrix."""
    f, n, _ = x.shape
    out = w @ x.transpose(1, 0, 2).reshape(n, f * 3)
    return np.asarray(out).reshape(w.shape[0], f, 3).transpose(1, 0, 2)


class _RDF:
    """Histogram accumulators per bead-type pair (intermolecular pairs only)."""

    def __init__(self, run: Run, slices):
        import mdtraj

        parts = run.particles
        mol_of = np.empty(len(parts), dtype=int)
        for m, sl in enumerate(slices):
            mol_of[sl.start:sl.stop] = m
        types = list(dict.fromkeys(p.type_name for p in parts if not p.is_drude))
        index = {t: np.array([i for i, p in enumerate(parts) if p.type_name == t and not p.is_drude]) for t in types}
        self.pairs = {}
        for a, b in itertools.combinations_with_replacement(types, 2):
            ia, ib = index[a], index[b]
            grid = np.array(np.meshgrid(ia, ib, indexing="ij")).reshape(2, -1).T
            keep = mol_of[grid[:, 0]] != mol_of[grid[:, 1]]
            if a == b:
                keep &= grid[:, 0] < grid[:, 1]
            if keep.any():
                self.pairs[f"{a}-{b}"] = grid[keep]
        top = mdtraj.Topology()
        res = top.add_residue("CG", top.add_chain())
        for p in parts:
            top.add_atom(p.type_name, mdtraj.element.virtual, res)
        self.top, self.sums, self.weights, self.r_max = top, {}, 0.0, None

    def add(self, chunk: Chunk, frames: np.ndarray) -> None:
        import mdtraj

        if frames.size == 0:
            return
        box = chunk.box_nm[frames]
        if self.r_max is None:
            self.r_max = min(2.0, 0.5 * float(box.min()))
        traj = mdtraj.Trajectory(chunk.positions_nm[frames].astype(np.float32), self.top,
                                 unitcell_lengths=box, unitcell_angles=np.full_like(box, 90.0))
        weight = float(np.sum(1.0 / traj.unitcell_volumes))
        for key, pairs in self.pairs.items():
            step = max(1, RDF_BLOCK // len(pairs))
            for s in range(0, traj.n_frames, step):
                sub = traj[s:s + step]
                r, g = mdtraj.compute_rdf(sub, pairs, r_range=(0.0, self.r_max), bin_width=RDF_BIN_NM)
                self.sums[key] = self.sums.get(key, 0.0) + g * float(np.sum(1.0 / sub.unitcell_volumes))
        self.r, self.weights = r, self.weights + weight

    def conclude(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return self.r, {k: v / self.weights for k, v in self.sums.items()}
