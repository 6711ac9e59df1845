"""The `polcg` command line: one command per stage; parses, calls the API, prints."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from polcg.cli_common import errors, fail
from polcg.errors import PolcgError
from polcg.qm.backends import backend_registry
from polcg.qm.charge_schemes import CHARGE_SCHEMES

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Polarizable coarse-grained models of ionic liquids from GEBF quantum chemistry.")
console = Console(stderr=False)


from polcg.cli_chain import chain_cmd  # noqa: E402
from polcg.cli_fit import fit_dielectric_cmd  # noqa: E402
from polcg.cli_md import analyze_cmd, simulate_cmd  # noqa: E402
from polcg.cli_model import model_app  # noqa: E402

app.add_typer(model_app, name="model")
app.command("simulate")(simulate_cmd)
app.command("analyze")(analyze_cmd)
app.command("fit-dielectric")(fit_dielectric_cmd)
app.command("chain")(chain_cmd)


@app.callback()
def _main() -> None:
    """polcg: GEBF cluster charges → CG models → simulations."""


@app.command()
def charges(
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
    from polcg.cli_output import GEBFProgress, print_summary
    from polcg.gebf import GEBFSettings
    from polcg.io import write_json_atomic
    from polcg.qm import MethodSpec
    from polcg.qm.backends import devices, explain_device, gpu_stack_installed
    from polcg.qm.spec import embedding_option
    from polcg.structure.io import load_cluster

    try:
        if reference not in (None, "full"):
            raise PolcgError(f"--reference {reference!r}: the only reference is 'full'")
        if fragments not in ("pairs", "ions"):
            raise PolcgError(f"--fragments {fragments!r}: choose pairs or ions")
        if eta < 0 or workers < 0 or (memory is not None and memory < 100):
            raise PolcgError("--eta and --workers must be >= 0, --memory >= 100 MB")
        method = MethodSpec(xc=xc, basis=basis, auxbasis=auxbasis, grid_level=grid, scheme=scheme,
                            embedding_scheme=embedding_option(embedding_scheme),
                            max_cycle=scf_max_cycle)
        settings = GEBFSettings(xi=xi, eta=eta or None, tol_charge=tol, max_iter=max_iter, passes=passes)
        clus = load_cluster(cluster, total_charge=charge)
        if plan:
            _print_plan(clus, method, settings, fragments, workers, memory, json_out)
            return
        fallback = None
        if scheduler is None:  # on Dask, "auto" is probed on each worker, where the job runs
            device, fallback = explain_device(device)
        elif device not in devices():
            raise PolcgError(f"--device {device!r}: choose from {', '.join(devices())}")
        if fallback and gpu_stack_installed():  # without gpu4pyscf the CPU is no surprise: JSON only
            errors.print(fallback, soft_wrap=True)
        options = RunOptions(device=device, workers=workers, scheduler=scheduler, workdir=str(workdir),
                             memory_mb=memory, device_note=fallback)
        with GEBFProgress(errors) as progress:
            result = compute_charges(clus, method, settings, fragments, options, reference == "full",
                                     on_stage=progress.stage, on_job=progress.job)
    except (PolcgError, ValueError) as exc:
        fail(str(exc))
    print_summary(console, result)
    if json_out:
        write_json_atomic(json_out, result.to_dict())
        console.print(f"JSON written to {json_out}")
    if csv_out:
        _write_csv(csv_out, clus, result)
        console.print(f"CSV written to {csv_out}")
    if not result.converged:
        fail(f"embedding charges did not converge in {max_iter} passes "
             f"(last change {result.max_charge_change[-1]:.2e} e); results written but not converged", code=3)



@app.command()
def polarizability(
    target: str = typer.Argument(..., help="A library ion name (e.g. C4mim), or a structure file (.xyz/.pdb)."),
    ion: str | None = typer.Option(None, help="Library ion the structure must be (checked)."),
    in_cluster: bool = typer.Option(False, "--in-cluster", help="TARGET is a cluster: ions in their GEBF charges."),
    charges_json: Path | None = typer.Option(None, "--charges", help="In-cluster: a `polcg charges --json` file "
                                             "for this cluster (else GEBF charges are computed, default method)."),
    charge: int | None = typer.Option(None, help="Net charge of the ion (checked against the structure)."),
    xc: str = typer.Option("PBE0", help="Functional (PySCF name) or HF."),
    basis: str = typer.Option("def2-SVPD", help="Orbital basis (diffuse functions matter for α)."),
    auxbasis: str = typer.Option("def2-universal-jkfit", help="Auxiliary basis for density fitting."),
    grid: int = typer.Option(3, help="PySCF DFT grid level (0-9)."),
    route: str = typer.Option("analytic", help="analytic (CPHF/CPKS) | finite_field."),
    volumes: str = typer.Option("qtaim", help="Atomic volumes: qtaim (Bader basins) | hirshfeld."),
    density_cutoff: float = typer.Option(1e-3, help="Volumes are bounded by this density isosurface (a.u.)."),
    spacing: float = typer.Option(0.1, help="QTAIM density-grid spacing (Å)."),
    kd: float = typer.Option(4184.0, help="Drude spring constant k_D (E = ½ k_D d²)."),
    kd_units: str = typer.Option("kJ/mol/A2", help="Units of --kd: kJ/mol/A2 | kcal/mol/A2 | kJ/mol/nm2."),
    thole: float = typer.Option(2.6, help="Thole damping a."),
    drude_mass: float = typer.Option(0.4, help="Drude particle mass (u)."),
    timestep: float = typer.Option(1.0, help="MD time step the model is for (fs); used to flag unstable Drudes."),
    optimize: str = typer.Option("auto", help="Library-ion geometry: auto (shipped, else ff) | ff | xtb."),
    xi: float = typer.Option(3.0, help="In-cluster: ζ (Å) of the GEBF subsystems for the cluster α."),
    eta: int = typer.Option(3, help="In-cluster: η of the GEBF subsystems (0 = no cap)."),
    workdir: Path = typer.Option(Path("polcg_work"), help="Finished QM work is kept here and reused."),
    memory: int = typer.Option(4000, help="Memory for PySCF (MB)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the result as JSON."),
) -> None:
    """Ion polarizabilities from QM, split over CG beads by AIM volumes, with Drude and Thole parameters."""
    from polcg.cli_output import print_polarizabilities
    from polcg.io import write_json_atomic
    from polcg.polarizabilities import VolumeSettings, ion_from_file, ion_from_library, ion_polarizability
    from polcg.polarizabilities.drude import DrudeSettings
    from polcg.qm import MethodSpec, RunConfig

    try:
        method = MethodSpec(xc=xc, basis=basis, auxbasis=auxbasis, grid_level=grid)
        vols = VolumeSettings(volumes, density_cutoff, spacing)
        drude = DrudeSettings.from_user(kd, kd_units, drude_mass, thole, timestep)
        config = RunConfig(memory_mb=memory)
        if in_cluster:
            doc = _in_cluster(Path(target), charges_json, method, vols, drude, config, workdir, xi, eta or None)
            records = [i["in_cluster"] for i in doc["ions"]]
        else:
            if Path(target).exists():
                inp = ion_from_file(target, ion, charge)
            elif any(c in target for c in "./\\"):
                raise PolcgError(f"{target}: file not found")
            else:
                inp = ion_from_library(target, optimize)
                if charge is not None and charge != inp.charge:
                    raise PolcgError(f"{target}: the library ion has charge {inp.charge:+d}, not --charge {charge:+d}")
            res = ion_polarizability(inp, method, vols, drude, config, route, workdir)
            records, doc = [res.to_dict()], {"ions": [res.to_dict()]}
    except (PolcgError, ValueError) as exc:
        fail(str(exc))
    print_polarizabilities(console, records, doc.get("cluster"))
    for w in dict.fromkeys(w for r in records for w in r["warnings"]):
        errors.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    if json_out:
        write_json_atomic(json_out, doc)
        console.print(f"JSON written to {json_out}")


def _in_cluster(path: Path, charges_json, method, vols, drude, config, workdir, xi, eta) -> dict:
    """Per-ion α in the cluster's GEBF charges, and the GEBF cluster α."""
    from polcg.charges import RunOptions, compute_charges
    from polcg.polarizabilities.cluster import cluster_polarizabilities, read_charges_json
    from polcg.structure.io import load_cluster

    cluster = load_cluster(path, total_charge=0)
    if charges_json is not None:
        q = read_charges_json(charges_json, cluster)
    else:
        errors.print("computing GEBF charges of the cluster (default method; pass --charges to reuse a run)")
        q = compute_charges(cluster, options=RunOptions(workdir=str(workdir))).atom_charges
    res = cluster_polarizabilities(cluster, q, method, vols, drude, config, workdir, xi, eta)
    return res.to_dict()

def _print_plan(cluster, method, settings, fragments, workers, memory, json_out) -> None:
    from polcg.charges import molecule_fragments
    from polcg.cli_output import print_plan
    from polcg.gebf.plan import plan_gebf
    from polcg.io import write_json_atomic

    atoms, charges, _ = molecule_fragments(cluster, fragments)
    plan = plan_gebf(cluster.elements, cluster.coords_angstrom, atoms, charges, method, settings, workers, memory)
    print_plan(console, plan)
    if json_out:
        write_json_atomic(json_out, {"plan": plan.to_dict(), "input_file": cluster.source,
                                     "input_sha256": cluster.sha256})
        console.print(f"JSON written to {json_out}")


def _write_csv(path: Path, cluster, result) -> None:
    """One row per atom: index, element, molecule, ion name, bead, charge (and the reference)."""
    from polcg.io import write_csv_atomic

    bead_of, mol_of = {}, {}
    for m_idx, (mol, ion) in enumerate(zip(cluster.molecules, result.ions)):
        for a in mol.atoms:
            mol_of[a] = (m_idx, ion.name)
        for b in mol.beads:
            for a in b.atoms:
                bead_of[a] = b.name
    ref = result.reference["atom_charges"] if result.reference else None
    header = ["atom", "element", "molecule", "ion", "bead", "charge"] + (["charge_full"] if ref else [])
    rows = ([a, el, mol_of[a][0], mol_of[a][1], bead_of.get(a, ""), f"{q:.6f}"] + ([f"{ref[a]:.6f}"] if ref else [])
            for a, (el, q) in enumerate(zip(cluster.elements, result.atom_charges)))
    write_csv_atomic(path, header, rows)


def main() -> None:  # pragma: no cover - entry point for `python -m polcg.cli`
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
