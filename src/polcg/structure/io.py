"""Reading structures: XYZ and PDB files to (elements, coordinates in Å), and to a `Cluster`.

Every problem raises `StructureError` with one line that starts with the file path.
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from polcg.errors import StructureError
from polcg.structure.cluster import Cluster
from polcg.structure.elements import element_symbol
from polcg.structure.perceive import perceive

MIN_DISTANCE_ANGSTROM = 0.5

FORMATS = (".xyz", ".pdb")


def read_structure(path: str | os.PathLike[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """Elements and coordinates (Å, shape (n, 3)) from an XYZ or PDB file."""
    return parse_structure(_read_text(path), path)


def load_cluster(
    path: str | os.PathLike[str], total_charge: int | None = None, library=None
) -> Cluster:
    """Read a structure file and perceive its molecules; records the path and sha256."""
    data = _read_bytes(path)
    elements, coords = parse_structure(_decode(data, path), path)
    return perceive(
        elements,
        coords,
        library=library,
        total_charge=total_charge,
        source=str(path),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def parse_structure(text: str, path: str | os.PathLike[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """Parse file contents; the format comes from the extension of `path`."""
    label = str(path)
    suffix = _suffix(path)
    if not text.strip():
        raise StructureError(f"{label}: empty file")
    parser = _parse_xyz if suffix == ".xyz" else _parse_pdb
    elements, coords = parser(text.splitlines(), label)
    check_distances(coords, label)
    return elements, coords


def check_distances(
    coords_angstrom: np.ndarray, label: str, min_angstrom: float = MIN_DISTANCE_ANGSTROM
) -> None:
    """Raise StructureError naming the closest pair of atoms nearer than `min_angstrom`."""
    pairs = cKDTree(coords_angstrom).query_pairs(min_angstrom, output_type="ndarray")
    if len(pairs) == 0:
        return
    dist = np.linalg.norm(coords_angstrom[pairs[:, 0]] - coords_angstrom[pairs[:, 1]], axis=1)
    k = int(np.argmin(dist))
    i, j = sorted(int(a) for a in pairs[k])
    more = f" ({len(pairs)} such pairs)" if len(pairs) > 1 else ""
    raise StructureError(
        f"{label}: atoms {i + 1} and {j + 1} are {dist[k]:.3f} Å apart, "
        f"closer than {min_angstrom} Å{more}"
    )


# ---------------------------------------------------------------------------------------
# files


def _suffix(path: str | os.PathLike[str]) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        shown = f"'{suffix}'" if suffix else "none"
        raise StructureError(
            f"{path}: unsupported file type (extension {shown}); use .xyz or .pdb"
        )
    return suffix


def _read_bytes(path: str | os.PathLike[str]) -> bytes:
    _suffix(path)
    p = Path(path)
    if not p.exists():
        raise StructureError(f"{path}: no such file")
    if not p.is_file():
        raise StructureError(f"{path}: not a regular file")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise StructureError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _decode(data: bytes, path: str | os.PathLike[str]) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StructureError(f"{path}: not a text file (not UTF-8)") from None


def _read_text(path: str | os.PathLike[str]) -> str:
    return _decode(_read_bytes(path), path)


# ---------------------------------------------------------------------------------------
# XYZ


def _parse_xyz(lines: list[str], label: str) -> tuple[tuple[str, ...], np.ndarray]:
    first = lines[0].split()
    if len(first) != 1 or not first[0].isdigit():
        raise StructureError(
            f"{label}: line 1: expected the number of atoms, got '{lines[0].strip()}'"
        )
    natoms = int(first[0])
    if natoms == 0:
        raise StructureError(f"{label}: line 1: the count line says 0 atoms")
    body = lines[2 : 2 + natoms]
    nfound = next((k for k, line in enumerate(body) if not line.strip()), len(body))
    if nfound < natoms:
        raise StructureError(
            f"{label}: truncated: the count line says {natoms} atoms but {nfound} atom lines follow"
        )
    _check_xyz_tail(lines, natoms, label)
    elements, coords = [], []
    for k, line in enumerate(body):
        element, xyz = _xyz_atom(line, k + 3, label)
        elements.append(element)
        coords.append(xyz)
    return tuple(elements), np.array(coords, dtype=float)


def _check_xyz_tail(lines: list[str], natoms: int, label: str) -> None:
    tail = [(k + 3 + natoms, line) for k, line in enumerate(lines[2 + natoms :]) if line.strip()]
    if not tail:
        return
    lineno, line = tail[0]
    if line.split()[0].isdigit() and len(line.split()) == 1:
        raise StructureError(
            f"{label}: line {lineno}: a second frame starts here; multi-frame XYZ is not supported"
        )
    raise StructureError(
        f"{label}: the count line says {natoms} atoms but {natoms + len(tail)} atom lines follow"
    )


def _xyz_atom(line: str, lineno: int, label: str) -> tuple[str, list[float]]:
    tokens = line.split()
    if len(tokens) < 4:
        raise StructureError(
            f"{label}: line {lineno}: expected 'element x y z', got '{line.strip()}'"
        )
    element = element_symbol(tokens[0])
    if element is None:
        raise StructureError(f"{label}: line {lineno}: unknown element '{tokens[0]}'")
    return element, [_coordinate(t, lineno, label) for t in tokens[1:4]]


def _coordinate(token: str, lineno: int, label: str) -> float:
    if not token:
        raise StructureError(f"{label}: line {lineno}: missing coordinate")
    try:
        value = float(token)
    except ValueError:
        raise StructureError(f"{label}: line {lineno}: non-numeric coordinate '{token}'") from None
    if not math.isfinite(value):
        raise StructureError(f"{label}: line {lineno}: non-finite coordinate '{token}'")
    return value


# ---------------------------------------------------------------------------------------
# PDB


_PDB_XYZ_COLUMNS = ((30, 38), (38, 46), (46, 54))


def _parse_pdb(lines: list[str], label: str) -> tuple[tuple[str, ...], np.ndarray]:
    elements, coords = [], []
    models = 0
    for lineno, line in enumerate(lines, start=1):
        record = line[:6].strip().upper()
        if record == "MODEL":
            models += 1
            if models > 1:
                raise StructureError(
                    f"{label}: line {lineno}: a second MODEL starts here; "
                    "multi-model PDB is not supported"
                )
        if record not in ("ATOM", "HETATM"):
            continue
        if len(line.rstrip()) < 54:
            raise StructureError(f"{label}: line {lineno}: {record} record too short for x, y, z")
        coords.append([_coordinate(line[a:b].strip(), lineno, label) for a, b in _PDB_XYZ_COLUMNS])
        elements.append(_pdb_element(line, lineno, label))
    if not elements:
        raise StructureError(f"{label}: no ATOM or HETATM records")
    return tuple(elements), np.array(coords, dtype=float)


def _pdb_element(line: str, lineno: int, label: str) -> str:
    """Element from columns 77-78, else from the atom name (columns 13-16)."""
    field = line[76:78].strip()
    if field:
        element = element_symbol(field)
        if element is None:
            raise StructureError(f"{label}: line {lineno}: unknown element '{field}'")
        return element
    name = line[12:16]
    element = _element_from_atom_name(name)
    if element is None:
        raise StructureError(
            f"{label}: line {lineno}: no element in columns 77-78 and none "
            f"recognised in the atom name '{name.strip()}'"
        )
    return element


def _element_from_atom_name(name: str) -> str | None:
    """PDB convention: a one-letter element sits in column 14, a two-letter one in 13-14."""
    name = name.ljust(4)
    if name[0].isalpha() and name[1].isalpha() and name[0].upper() != "H":
        two = element_symbol(name[:2])
        if two is not None:
            return two
    letters = "".join(c for c in name if c.isalpha())
    if not letters:
        return None
    return element_symbol(letters[0])
