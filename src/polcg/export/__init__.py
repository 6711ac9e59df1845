"""Writers of a CG model + configuration for MD engines (OpenMM XML, GROMACS, LAMMPS).

Each engine is a module of this package that registers its writer in `ENGINES`
(``@ENGINES.register("name", help=...)`` on ``write(model, config, out_dir) -> {role: path}``);
another distribution adds one through the ``polcg.engines`` entry-point group. Engine modules
import their engine (openmm, ...) inside functions, so listing the engines stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from polcg.registry import Registry

if TYPE_CHECKING:
    from polcg.cg.model import CGModel
    from polcg.md.packing import Configuration

ENGINES: Registry[Callable[..., dict[str, Path]]] = Registry("engine", package="polcg.export",
                                                             entry_points="polcg.engines")


def export(model: CGModel, config: Configuration, engine: str, out_dir: str | Path) -> dict[str, Path]:
    """Write `model` in `config` for `engine` (a name in `ENGINES`); returns the written files by role."""
    return ENGINES.get(engine)(model, config, out_dir)


def export_start_box(model: CGModel, engine: str, out_dir: str | Path, pairs: int, water_fraction: float = 0.0,
                     density_g_cm3: float = 0.8, seed: int = 0, minimize: bool = True):
    """`polcg model export`: a lattice start box of `pairs` ion pairs (and water at `water_fraction`), minimised
    in OpenMM unless told not to, written for `engine`. Returns (files by role, the configuration)."""
    from polcg.md.layout import Composition
    from polcg.md.packing import lattice_box
    from polcg.md.system import minimized

    write = ENGINES.get(engine)  # an unknown engine fails before the box is built
    comp = Composition.from_water_fraction(model, pairs, water_fraction)
    config = lattice_box(model, comp, density_g_cm3, seed, drude_offset_nm=0.001)  # never r = 0 core–Drude
    if minimize:
        config = minimized(model, config)
    return write(model, config, out_dir), config
