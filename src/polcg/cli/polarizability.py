"""`polcg polarizability`: α of a library ion or an ion structure, split over its CG beads, with Drude and
Thole parameters; with --in-cluster, α of each ion of a cluster in its GEBF charges."""

from __future__ import annotations

from pathlib import Path

import typer

from polcg.cli.common import console, errors, fail
from polcg.errors import PolcgError


def polarizability_cmd(
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
    from polcg.cli.output import print_polarizabilities
    from polcg.io import write_json_atomic
    from polcg.polarizabilities import VolumeSettings, ion_from_target, ion_polarizability
    from polcg.polarizabilities.cluster import in_cluster as in_cluster_polarizabilities
    from polcg.polarizabilities.drude import DrudeSettings
    from polcg.qm import MethodSpec, RunConfig

    try:
        method = MethodSpec(xc=xc, basis=basis, auxbasis=auxbasis, grid_level=grid)
        vols = VolumeSettings(volumes, density_cutoff, spacing)
        drude = DrudeSettings.from_user(kd, kd_units, drude_mass, thole, timestep)
        config = RunConfig(memory_mb=memory)
        if in_cluster:
            doc = in_cluster_polarizabilities(target, charges_json, method, vols, drude, config, workdir, xi,
                                              eta or None, on_note=errors.print)
            records = [i["in_cluster"] for i in doc["ions"]]
        else:
            res = ion_polarizability(ion_from_target(target, ion, charge, optimize), method, vols, drude, config,
                                     route, workdir)
            records, doc = [res.to_dict()], {"ions": [res.to_dict()]}
    except (PolcgError, ValueError) as exc:
        fail(str(exc))
    print_polarizabilities(console, records, doc.get("cluster"))
    for w in dict.fromkeys(w for r in records for w in r["warnings"]):
        errors.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    if json_out:
        write_json_atomic(json_out, doc)
        console.print(f"JSON written to {json_out}")
