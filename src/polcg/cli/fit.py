"""`polcg fit-dielectric`: ε_IL(x), ε_W(x) of a VaCG model fitted to experiment."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress
from rich.table import Table

from polcg.cli.common import console, fail
from polcg.errors import InputError, PolcgError
from polcg.units import duration_ps


def _floats(text: str, option: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise InputError(f"{option} {text!r}: give comma-separated numbers") from None


def fit_dielectric_cmd(
    cation: str = typer.Option("C4mim", help="Library cation."),
    anion: str = typer.Option("BF4", help="Library anion."),
    charges: Path | None = typer.Option(None, help="GEBF charges JSON (`polcg charges --json`); else library charges."),
    targets: Path | None = typer.Option(None, help="Targets CSV/YAML (default: the shipped [C4mim][BF4]-water set)."),
    x: str = typer.Option("0,20,50,80,100", help="Water fractions, mol %."),
    temperature: float = typer.Option(298.15, help="Temperature, K (targets within 0.5 K are used)."),
    budget: int = typer.Option(60, help="Most simulations in all."),
    surrogate: str = typer.Option("gp", help="Surrogate model: gp (Gaussian process) | rf (random forest)."),
    bounds_il: str = typer.Option("1.0,4.0", help="Search range of ε_IL."),
    bounds_w: str = typer.Option("1.5,4.0", help="Search range of ε_W."),
    pairs: int = typer.Option(100, help="Ion pairs per simulation box."),
    waters_alone: int = typer.Option(400, help="PW molecules of the pure-water box (x = 100)."),
    equilibrate: str = typer.Option("200ps", help="Equilibration per simulation."),
    production: str = typer.Option("400ps", help="Production per simulation."),
    timestep: str = typer.Option("10fs", help="Time step."),
    platform: str = typer.Option("CPU", help="OpenMM platform of the simulations."),
    lj_switch: float | None = typer.Option(None, help="Force-switch LJ from this distance (nm) to the 1.2 nm cutoff, "
                                           "no dispersion correction (MARTINI 2, PW's convention: 0.9); "
                                           "default: plain cut + dispersion correction."),
    reweight: bool = typer.Option(True, help="MBAR-reweight static properties to nearby ε."),
    workers: int = typer.Option(1, help="Simulations run at once (local processes)."),
    scheduler: str | None = typer.Option(None, help="Dask scheduler address (e.g. tcp://host:8786)."),
    seed: int = typer.Option(1, help="Seed of the design and the simulations."),
    out: Path = typer.Option(Path("fit"), help="Fit directory (rerun the same command to resume)."),
) -> None:
    """Fit the VaCG dielectric constants over water fractions to experimental targets."""
    from polcg.fit.dielectric import fit_dielectric
    from polcg.fit.evaluate import SimSettings
    from polcg.fit.loop import LoopSettings
    from polcg.jobs.executors import make_executor

    try:
        xs = _floats(x, "--x")
        if any(not 0 <= v <= 100 for v in xs):
            raise InputError(f"--x {x}: water fractions must be in [0, 100] mol %")
        b_il, b_w = _floats(bounds_il, "--bounds-il"), _floats(bounds_w, "--bounds-w")
        if len(b_il) != 2 or len(b_w) != 2:
            raise InputError("--bounds-il and --bounds-w take two numbers: low,high")
        loop = LoopSettings(xs=tuple(v / 100 for v in xs), budget=budget, bounds_il=b_il, bounds_w=b_w,
                            surrogate=surrogate, seed=seed)
        sim = SimSettings(cation=cation, anion=anion, charges=str(charges) if charges else None,
                          temperature_k=temperature, n_pairs=pairs, n_water_alone=waters_alone,
                          equilibrate_ps=duration_ps(equilibrate, "--equilibrate"),
                          production_ps=duration_ps(production, "--production"),
                          timestep_fs=duration_ps(timestep, "--timestep") * 1e3, platform=platform,
                          reweight=reweight, seed=seed, lj_switch_nm=lj_switch)
        executor = make_executor(workers, scheduler)
        try:
            with Progress(console=console, transient=True) as bar:
                task = bar.add_task("simulations", total=budget)
                result = fit_dielectric(sim, loop, out, targets, executor,
                                        on_round=lambda n, total: bar.update(task, completed=n))
        finally:
            executor.close()
    except (PolcgError, ValueError) as exc:
        fail(exc)
    _print(result)


def _print(result) -> None:
    table = Table(title=f"dielectric fit: {result.simulations} simulations, {result.reweighted} reweighted points")
    for col in ("x mol %", "ε_IL", "ε_W", "loss χ²", "sims", "largest target error"):
        table.add_column(col)
    for px in result.per_x:
        opt, unc = px["optimum"], px["uncertainty"]
        cell = {n: f"{opt[n]:.3f} ± {unc[n]:.3f}" for n in opt}
        worst = max(px["against_targets"].items(), key=lambda kv: abs(kv[1]["relative_error"]))
        table.add_row(f"{px['x_mol_percent']:g}", cell.get("eps_il", "-"), cell.get("eps_w", "-"),
                      f"{px['loss']:.3g}", str(px["simulations"]),
                      f"{worst[0]} {100 * worst[1]['relative_error']:+.2f} %")
    console.print(table)
    for name in ("eps_il", "eps_w"):
        fit = getattr(result, name)
        if fit:
            console.print(f"{name}(x): {fit['form']} {fit['epsilon']['coefficients']} (AICc {fit['aicc']:.2f})")
    console.print(f"written: {result.directory}/result.json, model/, *.png")
