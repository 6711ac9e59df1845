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
