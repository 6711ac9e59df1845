"""Screen output for the CLI: progress over QM jobs and result tables (rich)."""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from polcg.charges import ClusterCharges


class GEBFProgress:
    """A progress bar per GEBF stage (isolated fragments, each embedding pass, reference)."""

    def __init__(self, console: Console):
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=console,
                                 transient=False, disable=not console.is_terminal)
        self.task = None

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def stage(self, name: str, njobs: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, info="")
        self.task = self.progress.add_task(name, total=njobs, info="")

    def job(self, job, result, cached: bool) -> None:
        info = f"{job.label}: reused" if cached else f"{job.label}: {result.wall_s:.1f} s"
        self.progress.update(self.task, advance=1, info=info)


def print_summary(console: Console, res: ClusterCharges) -> None:
    """Per-ion table, the mean cation/anion charges with their spread, energy and timing."""
    console.print(_ion_table(res))
    for label, sign in (("cations", 1), ("anions", -1)):
        q = np.array([i.charge for i in res.ions if np.sign(i.formal_charge) == sign])
        if len(q):
            console.print(f"mean charge of {len(q)} {label}: {q.mean():+.4f} e  "
                          f"(std {q.std():.4f}, range {q.min():+.4f} … {q.max():+.4f})")
    m, g = res.method, res.gebf
    console.print(f"GEBF energy: {res.energy_hartree:.8f} Eh   "
                  f"({m['xc']}/{m['basis']}, {m['scheme']} charges; ζ = {g['xi_angstrom']} Å, η = {g['eta']}, "
                  f"{g['n_subsystems']} subsystems)")
    status = "converged" if res.converged else "NOT converged"
    predicted = (g.get("passes") or [{}])[-1].get("predicted_remaining_change")
    if res.converged and predicted is not None:
        status += f", within {predicted:.1e} e of self-consistency by the last two changes"
    console.print(f"embedding passes: {res.iterations} ({status}; last change {res.max_charge_change[-1]:.1e} e)   "
                  f"jobs computed {res.timing['jobs_computed']}, reused {res.timing['jobs_reused']}   "
                  f"wall time {res.timing['wall_s']:.1f} s")
    if res.reference:
        r = res.reference
        console.print(f"full cluster: E = {r['energy_hartree']:.8f} Eh; GEBF error {r['energy_error_kcal_mol']:+.3f} "
                      f"kcal/mol; max ion charge error {r['max_ion_charge_error']:.4f} e; "
                      f"max atom charge error {r['max_atom_charge_error']:.4f} e")


def _ion_table(res: ClusterCharges) -> Table:
    ref = res.reference["ion_charges"] if res.reference else None
    table = Table(title="GEBF ion charges (e)")
    for col in ("#", "ion", "atoms", "formal", "GEBF", *(["full", "Δ"] if ref else []), "beads"):
        table.add_column(col, justify="left" if col in ("ion", "beads") else "right")
    for i, ion in enumerate(res.ions):
        beads = "  ".join(f"{b.name} {b.charge:+.3f}" for b in ion.beads)
        cells = [str(i), ion.name, str(len(ion.atoms)), f"{ion.formal_charge:+d}", f"{ion.charge:+.4f}"]
        if ref:
            cells += [f"{ref[i]:+.4f}", f"{ion.charge - ref[i]:+.4f}"]
        table.add_row(*cells, beads)
    return table


__all__ = ["GEBFProgress", "print_summary"]


def print_polarizabilities(console: Console, records: list[dict], cluster: dict | None = None) -> None:
    """One table per ion: α (isotropic, anisotropy), then per bead V, α and the Drude parameters."""
    for r in records:
        where = " (in cluster)" if r.get("embedded") else ""
        table = Table(title=f"{r['name']}{where}: α = {r['alpha_iso_angstrom3']:.3f} Å³, "
                            f"Δα = {r['anisotropy_angstrom3']:.3f} Å³ ({r['method']['xc']}/{r['method']['basis']}, "
                            f"{r['volumes']['scheme']} volumes)")
        for col in ("bead", "atoms", "V (Å³)", "α (Å³)", "q_D (e)", "k_D (kJ/mol/Å²)", "m_D (u)", "Thole a"):
            table.add_column(col, justify="left" if col == "bead" else "right")
        for b in r["beads"]:
            d = b["drude"]
            table.add_row(b["name"], str(len(b["atoms"])), f"{b['volume_angstrom3']:.2f}",
                          f"{b['alpha_angstrom3']:.3f}", f"{d['q_drude_e']:.3f}", f"{d['k_drude_kj_mol_a2']:.0f}",
                          f"{d['drude_mass_u']:.2f}",
                          f"{d['thole']:.2f}")
        console.print(table)
    if cluster:
        line = f"Σ ions α = {cluster['sum_of_ions_alpha_iso_angstrom3']:.3f} Å³"
        if "gebf_alpha_iso_angstrom3" in cluster:
            line += (f"; GEBF cluster α = {cluster['gebf_alpha_iso_angstrom3']:.3f} Å³ "
                     f"(non-additive {cluster['non_additive_alpha_iso_angstrom3']:+.3f} Å³)")
        console.print(line)


def print_plan(console: Console, plan) -> None:
    """The passes of a GEBF run, their jobs' sizes, memory and estimated times, and the worker layout."""
    lay = plan.layout
    console.print(f"{len(plan.subsystems)} subsystems; {lay.workers} worker(s) x {lay.threads} thread(s), "
                  f"{lay.memory_mb} MB each ({lay.cores} cores, {lay.available_mb} MB free; "
                  f"{plan.machine_gflops:.0f} GFLOP/s matrix multiply)")
    table = Table(title="GEBF plan (estimates: within ~1.5x)")
    for col in ("pass", "jobs", "atoms", "basis fns", "aux fns", "grid pts", "MB/job", "est. wall"):
        table.add_column(col, justify="left" if col == "pass" else "right")
    for p in plan.passes:
        table.add_row(p.name, str(len(p.jobs)), *(_range([getattr(j, key) for j in p.jobs])
                                                  for key in ("natoms", "nao", "naux", "ngrid", "memory_mb")),
                      _duration(p.estimated_wall_s))
    console.print(table)
    for p in plan.passes:
        console.print(f"  {p.name}: {p.level}")
    console.print(f"estimated wall time: {_duration(plan.estimated_wall_s)} (each further pass, if the charges "
                  f"need one: {_duration(plan.passes[-1].estimated_wall_s)})")


def _range(values) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:.0f}" if lo == hi else f"{lo:.0f}-{hi:.0f}"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
