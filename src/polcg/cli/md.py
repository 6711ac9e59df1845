"""`polcg simulate`: OpenMM runs of a CG model (resumable)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress

from polcg.cli.common import console, fail
from polcg.errors import PolcgError
from polcg.md.properties import choices_help, default_names
from polcg.units import duration_ps


def simulate_cmd(
    model_dir: Path = typer.Argument(..., help="Model directory from `polcg model build`."),
    out: Path = typer.Option(..., help="Run directory (rerun the same command to continue a killed run)."),
    pairs: int = typer.Option(500, help="Ion pairs."),
    water_fraction: float = typer.Option(0.0, help="Mole fraction of water x (VaCG models with water)."),
    waters: int | None = typer.Option(None, help="Water-model molecules instead of --water-fraction "
                                      "(with --pairs 0: water alone)."),
    temperature: float = typer.Option(298.15, help="Temperature, K."),
    pressure: float = typer.Option(1.0, help="Pressure, bar (0: NVT throughout)."),
    ensemble: str = typer.Option("npt", help="Production ensemble: npt | nvt."),
    equilibrate: str = typer.Option("1ns", help="Equilibration (NPT) length."),
    production: str = typer.Option("5ns", help="Production length."),
    timestep: str = typer.Option("auto", help="auto (10 fs fixed-charge, 1 fs Drude) or e.g. 5fs."),
    report: str = typer.Option("10ps", help="Frame and state interval."),
    segment: str = typer.Option("100ps", help="Checkpoint interval."),
    platform: str = typer.Option("auto", help="auto (CUDA, OpenCL, CPU) | CUDA | OpenCL | CPU | Reference."),
    seed: int = typer.Option(1, help="Random seed (start box, velocities, thermostat)."),
) -> None:
    """Run a CG model in OpenMM: pack, minimise, equilibrate NPT, produce; resumable."""
    from polcg.cg.model import CGModel
    from polcg.md.run import RunSettings, simulate

    try:
        model = CGModel.load(model_dir)
        settings = RunSettings(
            n_pairs=pairs, water_fraction=water_fraction, n_water=waters, temperature_k=temperature,
            pressure_bar=pressure if pressure > 0 else None, ensemble=ensemble,
            equilibrate_ps=duration_ps(equilibrate, "--equilibrate"),
            production_ps=duration_ps(production, "--production"),
            timestep_fs=None if timestep == "auto" else duration_ps(timestep, "--timestep") * 1e3,
            report_ps=duration_ps(report, "--report"), segment_ps=duration_ps(segment, "--segment"),
            platform=platform, seed=seed)
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("segments", total=None)
            result = simulate(model, settings, out, progress=lambda k, n: bar.update(task, completed=k, total=n))
    except (PolcgError, ValueError) as exc:
        fail(exc)
    console.print(f"run in {result.directory}: platform {result.platform}, {result.frames} production frames, "
                  f"{result.ns_per_day:.1f} ns/day (this invocation)")


def analyze_cmd(
    run_dir: Path = typer.Argument(..., help="Run directory of `polcg simulate`."),
    properties: str = typer.Option(",".join(default_names()), help=f"Comma-separated, from: {choices_help()}."),
    viscosity: float | None = typer.Option(None, help="Shear viscosity (mPa s) for the Yeh-Hummer correction of D."),
    blocks: int = typer.Option(10, help="Time blocks for the errors of D and the conductivity."),
    gas_production: str = typer.Option("2ns", help="Gas-phase ion-pair sampling for the heat of vaporisation."),
    platform: str = typer.Option("CPU", help="OpenMM platform for the gas-phase ion-pair runs."),
    out: Path | None = typer.Option(None, help="Output directory (default RUN_DIR/analysis)."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the properties JSON here."),
) -> None:
    """Properties of a run, each ± a standard error: density, D, conductivity, ε, ΔH_vap, RDFs."""
    from polcg.io import write_json_atomic
    from polcg.md.analysis import AnalysisSettings, analyze
    from polcg.md.report import write_outputs

    try:
        settings = AnalysisSettings(properties=tuple(p.strip() for p in properties.split(",") if p.strip()),
                                    viscosity_mpa_s=viscosity, blocks=blocks, platform=platform,
                                    gas_production_ps=duration_ps(gas_production, "--gas-production"))
        with console.status("analysing"):
            props = analyze(run_dir, settings)
        files = write_outputs(props, out or run_dir / "analysis")
    except (PolcgError, ValueError) as exc:
        fail(exc)
    _print_properties(props)
    if json_out:
        write_json_atomic(json_out, props.to_dict())
    console.print("written: " + ", ".join(str(p) for p in files.values()) + (f", {json_out}" if json_out else ""))


def _print_properties(props) -> None:
    from rich.table import Table

    table = Table(title=f"{props.run}: {props.frames} frames every {props.frame_interval_ps:g} ps, "
                        f"T {props.temperature_k:g} K, x {props.water_fraction:.3f}")
    for col in ("property", "value", "± s.e.", "how"):
        table.add_column(col)
    for name, est in props.values.items():
        table.add_row(name, f"{est.value:.5g}", f"{est.error:.2g}", est.detail)
    console.print(table)
    for note in props.notes:
        console.print(f"[yellow]note:[/] {note}")
