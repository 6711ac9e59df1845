"""CG force-field parameters of the ion library (`cg:` blocks of fragments/*.yaml) and water models
(fragments/water/*.yaml), read into `MoleculeType` + `BeadType` objects.

An ion's `cg:` block has one entry per published base model (`roy-maroncelli`, …), each with a
citation, per-bead mass/σ/ε/default charge (keyed by the library's bead names, so GEBF bead
charges map onto them), a template geometry, and bonded terms or `rigid: true` (all bead pairs
constrained, for up to three beads).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import yaml

from polcg.cg.model import Angle, BeadType, Bond, Constraint, Dihedral, MoleculeType
from polcg.errors import InputError
from polcg.structure.library import IonEntry, default_path

BEAD_KEYS = ("mass", "sigma", "epsilon", "charge")


def bases(entry: IonEntry) -> tuple[str, ...]:
    """The base models the library has CG parameters for, first = default."""
    block = entry.extra.get("cg") or {}
    return tuple(block) if isinstance(block, dict) else ()


def ion_molecule(entry: IonEntry, base: str | None, role: str) -> tuple[MoleculeType, dict[str, BeadType]]:
    """MoleculeType and default BeadTypes of a library ion for `base` (None: its first base)."""
    where = f"fragments/{entry.name}.yaml"
    have = bases(entry)
    if not have:
        raise InputError(f"{where}: no CG parameters (`cg:` block) for {entry.name}; add a published base "
                         "model there or pass --params FILE with one")
    if base is None:
        base = have[0]
    elif base not in have:
        raise InputError(f"{where}: no base model {base!r} for {entry.name}; it has {', '.join(have)}")
    block = entry.extra["cg"][base]
    names = [b.name for b in entry.beads]
    return _molecule(block, names, entry.name, role, base, where)


def _molecule(block: dict, names: list[str], mol: str, role: str, base: str, where: str):
    beads_raw = block.get("beads") or {}
    missing = [n for n in names if n not in beads_raw]
    extra = [n for n in beads_raw if n not in names]
    if missing or extra:
        raise InputError(f"{where}: {base} beads {sorted(beads_raw)} do not match the mapping {names}")
    types = {n: _bead_type(n, beads_raw[n], where) for n in names}
    pos = block.get("positions") or {}
    if sorted(pos) != sorted(names):
        raise InputError(f"{where}: {base} positions must give every bead of {names}")
    positions = tuple(tuple(float(v) for v in pos[n]) for n in names)
    index = {n: i for i, n in enumerate(names)}
    constraints = [_constraint(c, index, where) for c in block.get("constraints", [])]
    if block.get("rigid"):
        if len(names) > 3:
            raise InputError(f"{where}: rigid molecules of more than 3 beads need explicit constraints")
        xyz = np.asarray(positions)
        constraints = [Constraint(i, j, float(np.linalg.norm(xyz[i] - xyz[j])))
                       for i, j in itertools.combinations(range(len(names)), 2)]
    molecule = MoleculeType(
        name=mol, role=role, beads=tuple(names), positions_nm=positions,
        bonds=tuple(_bond(b, index, where) for b in block.get("bonds", [])),
        constraints=tuple(constraints),
        angles=tuple(_angle(a, index, where) for a in block.get("angles", [])),
        dihedrals=tuple(_dihedral(d, index, where) for d in block.get("dihedrals", [])),
        base=base, citation=" ".join(str(block.get("citation", "")).split()),
        waters_per_molecule=int(block.get("waters_per_molecule", 0)),
    )
    return molecule, types


def _bead_type(name: str, raw: dict, where: str) -> BeadType:
    if not isinstance(raw, dict) or any(k not in raw for k in BEAD_KEYS):
        raise InputError(f"{where}: bead {name} needs {', '.join(BEAD_KEYS)}")
    vals = {k: float(raw[k]) for k in BEAD_KEYS}
    if vals["mass"] <= 0 or vals["sigma"] < 0 or vals["epsilon"] < 0:
        raise InputError(f"{where}: bead {name}: mass must be positive, sigma and epsilon non-negative")
    return BeadType(name, vals["mass"], vals["sigma"], vals["epsilon"], vals["charge"])


def _idx(names, index, where, n) -> list[int]:
    if len(names) != n or any(x not in index for x in names):
        raise InputError(f"{where}: bonded term {names} must name {n} beads of {sorted(index)}")
    return [index[x] for x in names]


def _bond(raw: list, index, where) -> Bond:
    i, j = _idx(raw[:2], index, where, 2)
    return Bond(i, j, float(raw[2]), float(raw[3]))


def _constraint(raw: list, index, where) -> Constraint:
    i, j = _idx(raw[:2], index, where, 2)
    return Constraint(i, j, float(raw[2]))


def _angle(raw: dict, index, where) -> Angle:
    i, j, k = _idx(raw["beads"], index, where, 3)
    form = raw.get("form", "harmonic")
    if form not in ("harmonic", "cosine_squared"):
        raise InputError(f"{where}: angle form {form!r} (harmonic | cosine_squared)")
    return Angle(i, j, k, float(raw["theta0_deg"]), float(raw["k"]), form)


def _dihedral(raw: dict, index, where) -> Dihedral:
    i, j, k, l = _idx(raw["beads"], index, where, 4)  # noqa: E741
    return Dihedral(i, j, k, l, int(raw["periodicity"]), float(raw["phi0_deg"]), float(raw["k"]))


def water_molecule(name: str = "PW", path: Path | None = None) -> tuple[MoleculeType, dict[str, BeadType], float]:
    """A water model of fragments/water/: MoleculeType, BeadTypes and its recommended ε_r."""
    root = path or default_path() / "water"
    file = Path(root) / f"{name}.yaml"
    if not file.is_file():
        have = sorted(p.stem for p in Path(root).glob("*.yaml"))
        raise InputError(f"{file}: unknown water model {name!r}; the library has {', '.join(have) or 'none'}")
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        names = list(raw["beads"])
        sources = raw["sources"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise InputError(f"{file}: cannot read water model: {exc}") from None
    block = {**raw, "citation": " ".join(sources) if isinstance(sources, list) else sources}
    mol, types = _molecule(block, names, name, "water", name, str(file))
    eps = float(raw.get("epsilon_r", 1.0))
    if not math.isfinite(eps) or eps <= 0:
        raise InputError(f"{file}: epsilon_r must be positive")
    return mol, types, eps
