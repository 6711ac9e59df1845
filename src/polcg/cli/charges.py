"""`polcg charges`: GEBF charges of a cluster (or, with --plan, its subsystems and jobs, run nothing)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import typer

from polcg.cli.common import console, errors, fail
from polcg.errors import PolcgError
from polcg.qm.backends import backend_registry
from polcg.qm.charge_schemes import CHARGE_SCHEMES


def charges_cmd(
    cluster: Path = typer.Argument(..., help="Cluster structure (.xyz or .pdb), Å."),
    xc: str = typer.Option("M06-2X", help="Functional (PySCF name) or HF."),
    basis: str = typer.Option("6-31G**", help="Orbital basis."),
    auxbasis: str = typer.Option("def2-universal-jkfit", help="Auxiliary basis for density fitting."),
    grid: int = typer.Option(3, help="PySCF DFT grid level (0-9)."),
    scheme: str = typer.Option("npa", help=f"Charge scheme: {CHARGE_SCHEMES.choices_help()}."),
    embedding_scheme: str = typer.Option("npa", help="Scheme of the background (embedding) charges, or 'same' "
                                         "(= --scheme); the reported charges are always --scheme's."),
    xi: float = typer.Option(3.0, help="ζ: closest-atom distance (Å) that puts two fragments in one subsystem."),
    eta: int = typer.Option(3, help="η: most fragments per subsystem (0 = no cap)."),
    fragments: str = typer.Option("pairs", help="Primitive fragments: pairs (neutral ion pairs) | ions."),
    charge: int = typer.Option(0, help="Total charge of the cluster; checked against the ions' formal charges."),
    tol: float = typer.Option(1e-3, help="Convergence: largest atomic charge change between passes (e)."),
    max_iter: int = typer.Option(20, help="Most embedding passes."),
    passes: str = typer.Option("fast", help="fast: cheap passes (grid level 1, SCF 1e-6, primitive subsystems) "
                               "until the background settles, then one pass at the requested settings | full: every "
                               "pass at the requested settings."),
    reference: str | None = typer.Option(None, help="'full': also compute the whole cluster and report errors."),
    device: str = typer.Option("auto", help="auto (the GPU where a tiny GPU4PySCF calculation runs, else the CPU, "
                               f"saying why), {backend_registry().choices_help()}."),
    workers: int = typer.Option(0, help="Local worker processes for subsystem jobs (0: as many as the cores and "
                                "the free memory allow for the largest job; the cores are shared out as threads)."),
    scheduler: str | None = typer.Option(None, help="Dask scheduler address (tcp://host:8786): subsystem jobs "
                                         "as Dask tasks (needs polcg[dask]); the store must be on this machine."),
    workdir: Path = typer.Option(Path("polcg_work"), help="Job store: finished QM jobs are kept and reused."),
    memory: int | None = typer.Option(None, help="Memory per QM process (MB); default 80 % of the free memory "
                                      "shared between the workers."),
    plan: bool = typer.Option(False, "--plan", help="Print the subsystems, the jobs of each pass with their sizes, "
                              "memory and estimated time on this machine, and run no QM."),
    scf_max_cycle: int = typer.Option(100, help="Most SCF cycles per job (a damped retry follows)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the result as JSON."),
    csv_out: Path | None = typer.Option(None, "--csv", help="Write per-atom charges as CSV."),
) -> None:
    """GEBF atomic, ion and CG-bead charges and the GEBF energy of an ionic-liquid cluster."""
    from polcg.charges import RunOptions, compute_charges
    from polcg.cli.output import GEBFProgress, print_summary
    from polcg.gebf import GEBFSettings
    from polcg.qm import MethodSpec
    from polcg.qm.backends import explain_device, gpu_stack_installed
    from polcg.qm.spec import embedding_option
    from polcg.structure.io import load_cluster

    try:
        if reference not in (None, "full"):
            raise PolcgError(f"--reference {reference!r}: the only reference is 'full'")
        method = MethodSpec(xc=xc, basis=basis, auxbasis=auxbasis, grid_level=grid, scheme=scheme,
                            embedding_scheme=embedding_option(embedding_scheme),
                            max_cycle=scf_max_cycle)
        settings = GEBFSettings(xi=xi, eta=eta or None, tol_charge=tol, max_iter=max_iter, passes=passes)
        clus = load_cluster(cluster, total_charge=charge)
        if plan:
            _print_plan(clus, method, settings, fragments, workers, memory, json_out)
            return
        options = RunOptions(device=device, workers=workers, scheduler=scheduler, workdir=str(workdir),
                             memory_mb=memory)
        if scheduler is None:  # on Dask, "auto" is probed on each worker, where the job runs
            device, fallback = explain_device(device)
            options = replace(options, device=device, device_note=fallback)
            if fallback and gpu_stack_installed():  # without gpu4pyscf the CPU is no surprise: JSON only
                errors.print(fallback, soft_wrap=True)
        with GEBFProgress(errors) as progress:
            result = compute_charges(clus, method, settings, fragments, options, reference == "full",
                                     on_stage=progress.stage, on_job=progress.job)
    except (PolcgError, ValueError) as exc:
        fail(str(exc))
    print_summary(console, result)
    if json_out:
        result.save(json_out)
        console.print(f"JSON written to {json_out}")
    if csv_out:
        result.write_csv(csv_out, clus)
        console.print(f"CSV written to {csv_out}")
    if not result.converged:
        fail(f"embedding charges did not converge in {max_iter} passes "
             f"(last change {result.max_charge_change[-1]:.2e} e); results written but not converged", code=3)


def _print_plan(cluster, method, settings, fragments, workers, memory, json_out) -> None:
    from polcg.charges import molecule_fragments
    from polcg.cli.output import print_plan
    from polcg.gebf.plan import plan_gebf
    from polcg.io import write_json_atomic

    atoms, charges, _ = molecule_fragments(cluster, fragments)
    plan = plan_gebf(cluster.elements, cluster.coords_angstrom, atoms, charges, method, settings, workers, memory)
    print_plan(console, plan)
    if json_out:
        write_json_atomic(json_out, {"plan": plan.to_dict(), "input_file": cluster.source,
                                     "input_sha256": cluster.sha256})
        console.print(f"JSON written to {json_out}")
