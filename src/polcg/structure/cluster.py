"""The `Cluster` data object: atoms (Å), molecules (ions), their formal charges and CG beads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Bead:
    """A CG bead of a library ion: its name and the 0-based input indices of its atoms."""

    name: str
    atoms: tuple[int, ...]


@dataclass(frozen=True)
class Molecule:
    """One covalently bonded molecule (an ion or a neutral species) of the cluster.

    atoms: 0-based indices into the cluster's atom list (input order).
    name: the library entry's name (e.g. "C4mim", "BF4") or, off the library, a Hill formula.
    library: True when the molecule matched an entry of the ion library.
    beads: the library's CG beads mapped onto this molecule's atoms (empty off the library).
    """

    atoms: tuple[int, ...]
    formal_charge: int
    name: str
    library: bool = False
    beads: tuple[Bead, ...] = ()


@dataclass(frozen=True)
class Cluster:
    """An ionic-liquid cluster: element symbols, coordinates in Å, perceived molecules.

    `source` is the path of the file read (for messages), `sha256` the hash of its bytes
    (for provenance). `coords_angstrom` is stored read-only.
    """

    elements: tuple[str, ...]
    coords_angstrom: np.ndarray
    molecules: tuple[Molecule, ...]
    source: str = ""
    sha256: str = ""

    def __post_init__(self) -> None:
        coords = np.array(self.coords_angstrom, dtype=float).reshape(-1, 3)
        coords.setflags(write=False)
        object.__setattr__(self, "coords_angstrom", coords)
        if len(self.elements) != len(coords):
            raise ValueError("Cluster: elements and coordinates differ in length")

    @property
    def natoms(self) -> int:
        return len(self.elements)

    @property
    def charge(self) -> int:
        """Total formal charge (sum over molecules)."""
        return sum(m.formal_charge for m in self.molecules)
