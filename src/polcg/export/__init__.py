"""Writers of a CG model + configuration for OpenMM (XML), GROMACS and LAMMPS."""

from __future__ import annotations

from pathlib import Path

from polcg.cg.model import CGModel
from polcg.errors import InputError
from polcg.md.packing import Configuration

ENGINES = ("openmm", "gromacs", "lammps")


def export(model: CGModel, config: Configuration, engine: str, out_dir: str | Path) -> dict[str, Path]:
    """Write `model` in `config` for `engine`; returns the written files by role."""
    if engine == "openmm":
        from polcg.export.openmm_xml import write_openmm

        return write_openmm(model, config, out_dir)
    if engine == "gromacs":
        from polcg.export.gromacs import write_gromacs

        return write_gromacs(model, config, out_dir)
    if engine == "lammps":
        from polcg.export.lammps import write_lammps

        return write_lammps(model, config, out_dir)
    raise InputError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
