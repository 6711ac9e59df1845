"""Per-frame reductions of a run's trajectory, made one segment at a time (prepare / per-chunk /
conclude): centres of mass of every molecule and the rotational box dipole, shared by the
properties; a property that needs more per frame (RDF histograms) passes a reducer that sees the
same segments.

* Centres of mass use the particles' masses (a Drude particle's mass belongs to its bead's
  molecule), from unwrapped positions, so they move continuously across the box.
* The rotational dipole is Σ_molecules Σ_i q_i (r_i − R_molecule) with the *physical* charges
  (VaCG: before the ε scaling; Drude models: cores and Drudes, so induced dipoles are in it). It
  stays bounded in a conducting liquid, unlike Σ q r, which grows with the ionic current.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import sparse

from polcg.md.layout import molecule_slices
from polcg.md.trajectory import Chunk, Run


class Reducer(Protocol):
    """A property's per-segment reduction (MDAnalysis's _single_frame, a segment at a time)."""

    def add(self, chunk: Chunk, first_frame: int) -> None:
        """`chunk` holds production frames first_frame, first_frame + 1, ... of the run."""


@dataclass(frozen=True)
class Series:
    time_ps: np.ndarray  # (T,)
    com_nm: np.ndarray  # (T, M, 3) molecule centres of mass, unwrapped
    dipole_e_nm: np.ndarray  # (T, 3) rotational box dipole, physical charges
    volume_nm3: np.ndarray  # (T,)
    molecule_role: tuple[str, ...]  # (M,)
    molecule_name: tuple[str, ...]
    molecule_charge_e: np.ndarray  # (M,) physical net charge


def collect(run: Run, reducers: Iterable[Reducer] | None = None) -> Series:
    """Reduce every completed production segment of `run`, passing each also to `reducers`."""
    reducers = list(reducers or ())
    parts = run.particles
    slices = molecule_slices(list(parts))
    masses = np.array([p.mass_u for p in parts])
    q = run.physical_charges()
    w = _com_matrix(slices, masses, len(parts))
    mol_q = np.array([q[list(sl)].sum() for sl in slices])
    times, coms, dipoles, volumes, seen = [], [], [], [], 0
    for chunk in run.chunks():
        com = _apply(w, chunk.positions_nm)
        times.append(chunk.time_ps)
        coms.append(com)
        dipoles.append(chunk.positions_nm.transpose(0, 2, 1) @ q - np.einsum("tmk,m->tk", com, mol_q))
        volumes.append(np.prod(chunk.box_nm, axis=1))
        for reducer in reducers:
            reducer.add(chunk, seen)
        seen += chunk.time_ps.size
    return Series(np.concatenate(times), np.concatenate(coms), np.concatenate(dipoles), np.concatenate(volumes),
                  tuple(parts[sl[0]].role for sl in slices), tuple(parts[sl[0]].mol_type for sl in slices), mol_q)


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
