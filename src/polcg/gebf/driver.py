"""The GEBF embedding loop: isolated fragments, then embedded subsystems until the charges settle."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from polcg.gebf.energy import assemble_atomic, assemble_vector, gebf_energy_hartree
from polcg.gebf.subsystems import Subsystem, build_subsystems
from polcg.qm.spec import MethodSpec, QMJob, QMResult

Runner = Callable[[Sequence[QMJob], str], dict[str, QMResult]]


@dataclass(frozen=True)
class GEBFSettings:
    """ξ (Å, closest-atom distance), η (max fragments per subsystem, None = no cap),
    charge tolerance (e, largest change between iterations) and the iteration cap."""

    xi: float = 3.0
    eta: int | None = 3
    tol_charge: float = 1e-3
    max_iter: int = 20


@dataclass(frozen=True)
class GEBFResult:
    """Assembled GEBF charges and energy. `embedding_charges` are the background charges of the
    last pass (those that enter the energy, in the method's embedding scheme); `atom_charges` are
    assembled from that pass in the reported scheme. `max_charge_change` follows the embedding
    charges, whose fixed point the loop seeks."""

    atom_charges: np.ndarray
    energy_hartree: float
    dipole_au: np.ndarray
    iterations: int
    converged: bool
    max_charge_change: tuple[float, ...]
    subsystems: tuple[Subsystem, ...]
    fragments: tuple[tuple[int, ...], ...]
    embedding_charges: np.ndarray
    njobs: int


def subsystem_job(sub: Subsystem, elements: Sequence[str], coords: np.ndarray, method: MethodSpec,
                  background: np.ndarray | None, label: str | None = None) -> QMJob:
    """The QM job for a subsystem, embedded in `background` charges on every atom outside it."""
    inside = np.zeros(len(elements), dtype=bool)
    inside[list(sub.atoms)] = True
    bg_idx = np.flatnonzero(~inside) if background is not None else np.array([], dtype=int)
    return QMJob.build([elements[a] for a in sub.atoms], coords[list(sub.atoms)], sub.charge, method,
                       bg_coords=coords[bg_idx], bg_charges=None if background is None else background[bg_idx],
                       label=label or sub.label)


def isolated_fragments(fragments, fragment_charges) -> list[Subsystem]:
    """Each fragment on its own (coefficient 1): the starting point of the embedding loop."""
    return [Subsystem((i,), 1, tuple(sorted(f)), int(q)) for i, (f, q) in enumerate(zip(fragments, fragment_charges))]


def run_gebf(elements: Sequence[str], coords_angstrom: np.ndarray, fragments: Sequence[Sequence[int]],
             fragment_charges: Sequence[int], method: MethodSpec, settings: GEBFSettings,
             runner: Runner) -> GEBFResult:
    """Run GEBF. `runner(jobs, stage)` returns results keyed by job key (it may reuse stored jobs)."""
    coords = np.asarray(coords_angstrom, dtype=float)
    natoms = len(elements)
    subs = build_subsystems(fragments, fragment_charges, coords, settings.xi, settings.eta)

    start = isolated_fragments(fragments, fragment_charges)
    jobs = [subsystem_job(s, elements, coords, method, None, label=f"F[{s.fragments[0]}]") for s in start]
    results = runner(jobs, "isolated fragments")
    q = assemble_atomic(start, [results[j.key()].background_charges for j in jobs], natoms)

    history: list[float] = []
    njobs = len(jobs)
    converged = False
    for iteration in range(1, settings.max_iter + 1):
        jobs = [subsystem_job(s, elements, coords, method, q) for s in subs]
        results = runner(jobs, f"embedding pass {iteration}")
        njobs += len(jobs)
        sub_results = [results[j.key()] for j in jobs]
        q_new = assemble_atomic(subs, [r.background_charges for r in sub_results], natoms)
        history.append(float(np.max(np.abs(q_new - q))))
        q_embedding, q = q, q_new
        if history[-1] < settings.tol_charge:
            converged = True
            break

    q_reported = assemble_atomic(subs, [r.charges for r in sub_results], natoms)
    energy = gebf_energy_hartree(subs, [r.energy_hartree for r in sub_results], coords, q_embedding)
    dipole = assemble_vector(subs, [r.dipole_au for r in sub_results])
    return GEBFResult(q_reported, energy, dipole, len(history), converged, tuple(history), tuple(subs),
                      tuple(tuple(sorted(f)) for f in fragments), q_embedding, njobs)
