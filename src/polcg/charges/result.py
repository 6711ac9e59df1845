"""Stage results of the charges stage: `ClusterCharges` (atom, ion and bead charges, energy), written
as the JSON document other tools read and loaded back from it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from polcg.errors import InputError
from polcg.structure.cluster import Cluster


@dataclass(frozen=True)
class BeadCharge:
    name: str
    atoms: tuple[int, ...]
    charge: float


@dataclass(frozen=True)
class IonCharge:
    """A molecule of the cluster with its summed charge (e) and its CG beads' charges."""

    name: str
    atoms: tuple[int, ...]
    formal_charge: int
    charge: float
    beads: tuple[BeadCharge, ...] = ()


@dataclass(frozen=True)
class ClusterCharges:
    """Result of `polcg charges`; `to_dict()` is the JSON document other tools read."""

    atom_charges: tuple[float, ...]
    ions: tuple[IonCharge, ...]
    energy_hartree: float
    dipole_debye: tuple[float, float, float]
    iterations: int
    converged: bool
    max_charge_change: tuple[float, ...]
    method: dict
    gebf: dict
    provenance: dict
    timing: dict
    reference: dict | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.reference is None:
            d.pop("reference")
        return d

    @classmethod
    def from_dict(cls, d: dict, where: str = "charges") -> ClusterCharges:
        """The inverse of `to_dict`; InputError naming `where` and the first field that is wrong."""
        if not isinstance(d, dict):
            raise InputError(f"{where}: not a polcg charges JSON (expected an object)")
        missing = [k for k in _REQUIRED if k not in d]
        if missing:
            raise InputError(f"{where}: not a polcg charges JSON (no {', '.join(missing)})")
        try:
            q = tuple(float(x) for x in d["atom_charges"])
            ions = tuple(_ion_from_dict(i) for i in d["ions"])
            return cls(atom_charges=q, ions=ions, energy_hartree=float(d["energy_hartree"]),
                       dipole_debye=tuple(float(x) for x in d.get("dipole_debye", (0.0, 0.0, 0.0))),
                       iterations=int(d.get("iterations", 0)), converged=bool(d.get("converged", True)),
                       max_charge_change=tuple(float(x) for x in d.get("max_charge_change", ())),
                       method=dict(d["method"]), gebf=dict(d.get("gebf", {})),
                       provenance=dict(d.get("provenance", {})), timing=dict(d.get("timing", {})),
                       reference=d.get("reference"))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{where}: malformed charges JSON ({type(exc).__name__}: {exc})") from None

    def save(self, path: str | Path) -> Path:
        """Write the JSON document (atomically) that `load` and `polcg model build --charges` read."""
        from polcg.io import write_json_atomic

        write_json_atomic(path, self.to_dict())
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> ClusterCharges:
        """Read back what `polcg charges --json` wrote."""
        from polcg.io import read_json

        out = cls.from_dict(read_json(path, "charges file"), str(path))
        bad = [i.name for i in out.ions if any(a >= len(out.atom_charges) for a in i.atoms)]
        if bad:
            raise InputError(f"{path}: ion {bad[0]} names atoms beyond the {len(out.atom_charges)} atom charges")
        return out

    def write_csv(self, path: str | Path, cluster: Cluster) -> Path:
        """One row per atom: index, element, molecule, ion name, bead, charge (and the full-cluster reference)."""
        from polcg.io import write_csv_atomic

        bead_of, mol_of = {}, {}
        for m_idx, (mol, ion) in enumerate(zip(cluster.molecules, self.ions)):
            mol_of.update({a: (m_idx, ion.name) for a in mol.atoms})
            bead_of.update({a: b.name for b in mol.beads for a in b.atoms})
        ref = self.reference["atom_charges"] if self.reference else None
        header = ["atom", "element", "molecule", "ion", "bead", "charge"] + (["charge_full"] if ref else [])
        rows = ([a, el, *mol_of[a], bead_of.get(a, ""), f"{q:.6f}"] + ([f"{ref[a]:.6f}"] if ref else [])
                for a, (el, q) in enumerate(zip(cluster.elements, self.atom_charges)))
        write_csv_atomic(path, header, rows)
        return Path(path)

    def check_structure(self, cluster: Cluster, where: str) -> None:
        """InputError unless these charges were computed for `cluster` (atom count, then file hash)."""
        if len(self.atom_charges) != cluster.natoms:
            raise InputError(f"{where}: {len(self.atom_charges)} atom charges for a cluster of {cluster.natoms} atoms")
        sha = self.provenance.get("input_sha256") or self.provenance.get("sha256")
        if sha and cluster.sha256 and sha != cluster.sha256:
            raise InputError(f"{where}: charges were computed for another structure file (sha256 differs)")


_REQUIRED = ("atom_charges", "ions", "energy_hartree", "method")


def _ion_from_dict(d: dict) -> IonCharge:
    beads = tuple(BeadCharge(str(b["name"]), tuple(int(a) for a in b["atoms"]), float(b["charge"]))
                  for b in d.get("beads", ()))
    return IonCharge(str(d["name"]), tuple(int(a) for a in d["atoms"]), int(d["formal_charge"]), float(d["charge"]),
                     beads)


def ion_charges(cluster: Cluster, atom_charges: np.ndarray) -> tuple[IonCharge, ...]:
    """Sum atomic charges over each molecule and over each of its CG beads."""
    out = []
    for mol in cluster.molecules:
        beads = tuple(BeadCharge(b.name, tuple(b.atoms), float(atom_charges[list(b.atoms)].sum())) for b in mol.beads)
        out.append(IonCharge(mol.name, tuple(mol.atoms), mol.formal_charge,
                             float(atom_charges[list(mol.atoms)].sum()), beads))
    return tuple(out)
