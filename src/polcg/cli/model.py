"""`polcg model build` and `polcg model export`: CG models from the library, charges and α."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from polcg.cli.common import console, fail
from polcg.errors import InputError, PolcgError
from polcg.export import ENGINES

model_app = typer.Typer(add_completion=False, no_args_is_help=True,
                        help="Build CG models (VaCG, Drude) and export them to OpenMM, GROMACS, LAMMPS.")


@model_app.command("build")
def build(
    kind: str = typer.Option(..., help="vacg | drude"),
    cation: str = typer.Option(..., help="Library cation, e.g. C4mim."),
    anion: str = typer.Option(..., help="Library anion, e.g. PF6."),
    out: Path = typer.Option(..., help="Model directory to write (model.json)."),
    charges: Path = typer.Option(None, help="Charges JSON of `polcg charges` (default: library bead charges)."),
    polarizability: Path = typer.Option(None, help="Drude: JSON of `polcg polarizability` (default: shipped)."),
    water: str = typer.Option("pw", help="VaCG water model: pw | none."),
    eps_il: str = typer.Option("1.0", help="VaCG ε_IL: number or FORM:c0,c1,.. of the water fraction x."),
    eps_w: str = typer.Option(None, help="VaCG ε_W (default: the water model's, 2.5 for PW)."),
    thole: float = typer.Option(2.6, help="Drude: Thole damping a per bead (pair value: mean)."),
    intermolecular_thole: bool = typer.Option(False, help="Drude: Thole screening between molecules too."),
    kd: float = typer.Option(1046.0, help="Drude spring constant, kJ/mol/Å² (CHARMM: 4184)."),
    drude_mass: float = typer.Option(3.2, help="Drude mass, u, taken from the bead (CHARMM: 0.4)."),
    base: str = typer.Option(None, help="Base model of the library parameters (e.g. roy-maroncelli)."),
    params: Path = typer.Option(None, help="YAML of extra CG parameters: {ion: {base: block}}."),
    cutoff: float = typer.Option(1.2, help="Nonbonded cutoff, nm."),
    dispersion_correction: bool | None = typer.Option(None, help="Long-range LJ dispersion correction "
                                               "(default: on, off with --lj-switch)."),
    lj_switch: float | None = typer.Option(None, help="Force-switch LJ from this distance (nm) to the cutoff, as "
                                    "GROMACS vdw-modifier=force-switch (MARTINI 2: 0.9 with cutoff 1.2)."),
) -> None:
    """Build a VaCG or Drude CG model of a 1:1 ionic liquid and write DIR/model.json."""
    try:
        _build(kind, cation, anion, out, charges, polarizability, water, eps_il, eps_w, thole,
               intermolecular_thole, kd, drude_mass, base, params, cutoff, dispersion_correction, lj_switch)
    except (PolcgError, ValueError) as exc:
        fail(exc)


def _build(kind, cation, anion, out, charges, polarizability, water, eps_il, eps_w, thole,
           intermolecular_thole, kd, drude_mass, base, params, cutoff, dispersion_correction, lj_switch) -> None:
    from polcg.cg.builders import IonsSpec, build_drude, build_vacg
    from polcg.cg.model import Epsilon, Nonbonded

    ions = IonsSpec(cation, anion, base, str(params) if params else None)
    nb = Nonbonded.from_options(cutoff, dispersion_correction, lj_switch)
    q = str(charges) if charges else None
    if kind == "vacg":
        w = None if water.lower() == "none" else water.upper()
        model = build_vacg(ions, q, w, Epsilon.parse(eps_il, "--eps-il"),
                           Epsilon.parse(eps_w, "--eps-w") if eps_w else None, nb)
    elif kind == "drude":
        model = build_drude(ions, q, str(polarizability) if polarizability else None, thole,
                            intermolecular_thole, kd, drude_mass, nb)
    else:
        raise InputError(f"--kind {kind!r}: choose vacg or drude")
    path = model.save(out)
    print_model(model)
    console.print(f"model written to {path}")


@model_app.command("export")
def export_cmd(
    model_dir: Path = typer.Argument(..., help="Model directory (or model.json) from `polcg model build`."),
    to: str = typer.Option(..., help=f"MD engine: {ENGINES.choices_help()}."),
    out: Path = typer.Option(..., help="Directory for the engine's input files."),
    pairs: int = typer.Option(64, help="Ion pairs in the box."),
    water_fraction: float = typer.Option(0.0, help="Mole fraction of water x (VaCG with water)."),
    density: float = typer.Option(0.8, help="Start density, g/cm³ (the box is relaxed by minimisation only)."),
    seed: int = typer.Option(0, help="Seed of the start configuration."),
    minimize: bool = typer.Option(True, help="Minimise the start configuration in OpenMM first."),
) -> None:
    """Write the model, in a start box of the given composition, as input files of an MD engine."""
    try:
        _export(model_dir, to, out, pairs, water_fraction, density, seed, minimize)
    except (PolcgError, ValueError) as exc:
        fail(exc)


def _export(model_dir, to, out, pairs, water_fraction, density, seed, minimize) -> None:
    from polcg.cg.model import CGModel
    from polcg.export import export_start_box

    model = CGModel.load(model_dir)
    files, config = export_start_box(model, to, out, pairs, water_fraction, density, seed, minimize)
    comp = config.composition
    console.print(f"{to}: {comp.n_pairs} pairs, {comp.n_water} water molecules, box "
                  f"{config.box_nm[0]:.3f} nm; x = {comp.water_fraction(model):.3f}")
    for role, path in files.items():
        console.print(f"  {role:10s} {path}")


def print_model(model) -> None:
    table = Table(title=f"{model.kind} CG model")
    for col in ("molecule", "bead", "mass u", "σ nm", "ε kJ/mol", "q e", "± spread", "α Å³"):
        table.add_column(col)
    for mol in model.molecules:
        for b in mol.beads:
            t = model.bead_type(b)
            table.add_row(mol.name, b, f"{t.mass_u:.2f}", f"{t.sigma_nm:.3f}", f"{t.epsilon_kj_mol:.3f}",
                          f"{t.charge_e:+.4f}", f"{t.charge_spread_e:.4f}" if t.charge_samples else "-",
                          f"{t.alpha_nm3 * 1000:.3f}" if t.alpha_nm3 else "-")
    console.print(table)
    if model.kind == "vacg":
        d = model.dielectric
        console.print(f"ε_IL {d.eps_il.form} {d.eps_il.coefficients or d.eps_il.value}; "
                      f"ε_W {d.eps_w.form} {d.eps_w.coefficients or d.eps_w.value}")
    console.print(f"charges: {model.provenance.get('charges', {}).get('source')}")
