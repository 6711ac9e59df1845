"""The ion library: `fragments/*.yaml` entries (SMILES, formal charge, CG beads, sources).

Bead atoms are 0-based indices of the heavy atoms of the entry's SMILES, in the order
they are written; every hydrogen goes with the heavy atom it is bonded to. Matching a
molecule to an entry is exact graph identity (elements and connectivity, with all
hydrogens explicit); bond orders and charges play no part, so a molecule perceived from
coordinates alone matches. See fragments/README.md for the file format.
"""

from __future__ import annotations

import functools
import os
import types
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from rdkit import Chem

from polcg.errors import InputError
from polcg.structure.cluster import Bead

ENV_VAR = "POLCG_FRAGMENTS"
REQUIRED_KEYS = ("name", "long_name", "smiles", "formal_charge", "beads", "sources")


@dataclass(frozen=True)
class BeadDef:
    """A CG bead of a library ion: name and heavy-atom indices (0-based, SMILES order)."""

    name: str
    atoms: tuple[int, ...]
    description: str = ""


@dataclass(frozen=True)
class IonEntry:
    """One ion of the library. `extra` holds any further keys of the YAML file, unread here."""

    name: str
    long_name: str
    smiles: str
    formal_charge: int
    beads: tuple[BeadDef, ...]
    sources: tuple[str, ...]
    extra: Mapping[str, object] = field(
        default_factory=lambda: types.MappingProxyType({}), compare=False, hash=False, repr=False
    )


@dataclass(frozen=True)
class _Template:
    """An entry as a plain graph (atomic numbers, single bonds, all H explicit)."""

    graph: Chem.Mol
    formula: str
    nbonds: int
    bead_of_atom: tuple[int, ...]  # bead index of every template atom (H after heavy atoms)


@dataclass(frozen=True)
class IonLibrary:
    """The ion library: entries plus their matching templates."""

    entries: tuple[IonEntry, ...]
    path: str = ""
    _templates: tuple[_Template, ...] = field(default=(), compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if not self._templates:
            object.__setattr__(self, "_templates", tuple(_template(e) for e in self.entries))
        names = [e.name for e in self.entries]
        dup = sorted(n for n, c in Counter(names).items() if c > 1)
        if dup:
            raise InputError(f"{self.path or 'ion library'}: duplicate entry names {dup}")

    def __iter__(self) -> Iterator[IonEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, name: object) -> bool:
        return any(e.name == name for e in self.entries)

    def __getitem__(self, name: str) -> IonEntry:
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entries)

    def match(self, mol: Chem.Mol) -> tuple[IonEntry, tuple[int, ...]] | None:
        """Find the entry whose graph is `mol`'s (all H explicit in `mol`).

        Returns (entry, atom_map) with atom_map[i] the index in `mol` of the entry's
        atom i (heavy atoms in SMILES order, then hydrogens as `Chem.AddHs` orders them),
        or None when no entry matches.
        """
        graph = _graph(mol)
        formula = hill_formula(a.GetSymbol() for a in graph.GetAtoms())
        for entry, tmpl in zip(self.entries, self._templates):
            if tmpl.formula != formula or tmpl.nbonds != graph.GetNumBonds():
                continue
            hit = graph.GetSubstructMatch(tmpl.graph, useChirality=False)
            if len(hit) == graph.GetNumAtoms():
                return entry, tuple(int(i) for i in hit)
        return None

    def beads(
        self, entry: IonEntry, atom_map: Sequence[int], atoms: Sequence[int] | None = None
    ) -> tuple[Bead, ...]:
        """The entry's beads on a matched molecule.

        atom_map: from `match`; atoms: the cluster index of each atom of the matched
        molecule (identity when None). Bead atoms are sorted cluster indices.
        """
        tmpl = self._templates[self.entries.index(entry)]
        members: list[list[int]] = [[] for _ in entry.beads]
        for t_atom, m_atom in enumerate(atom_map):
            idx = atoms[m_atom] if atoms is not None else m_atom
            members[tmpl.bead_of_atom[t_atom]].append(int(idx))
        return tuple(Bead(b.name, tuple(sorted(m))) for b, m in zip(entry.beads, members))


def map_beads(
    library: IonLibrary,
    entry: IonEntry,
    atom_map: Sequence[int],
    atoms: Sequence[int] | None = None,
) -> tuple[Bead, ...]:
    """Function form of `IonLibrary.beads`."""
    return library.beads(entry, atom_map, atoms)


# ---------------------------------------------------------------------------------------
# loading


def default_path() -> Path:
    """`$POLCG_FRAGMENTS` if set, else the repository's `fragments/` directory."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "fragments"


def load_library(path: str | os.PathLike[str] | None = None) -> IonLibrary:
    """Load every `*.yaml` of `path` (default: `default_path()`); cached per directory."""
    directory = Path(path) if path is not None else default_path()
    return _load_cached(str(directory.resolve()))


@functools.lru_cache(maxsize=8)
def _load_cached(directory: str) -> IonLibrary:
    root = Path(directory)
    if not root.is_dir():
        raise InputError(f"{root}: ion library directory not found")
    files = sorted(root.glob("*.yaml"))
    if not files:
        raise InputError(f"{root}: no *.yaml ion entries")
    return IonLibrary(tuple(load_entry(f) for f in files), path=str(root))


def load_entry(path: str | os.PathLike[str]) -> IonEntry:
    """Read and check one YAML entry; any problem raises InputError naming the file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read ion entry: {_one_line(exc)}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of keys")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise InputError(f"{path}: missing keys {missing}")
    entry = IonEntry(
        name=str(data["name"]),
        long_name=str(data["long_name"]),
        smiles=str(data["smiles"]),
        formal_charge=_int(data["formal_charge"], path, "formal_charge"),
        beads=_bead_defs(data["beads"], path),
        sources=_sources(data["sources"], path),
        extra=types.MappingProxyType({k: v for k, v in data.items() if k not in REQUIRED_KEYS}),
    )
    if entry.name != path.stem:
        raise InputError(f"{path}: name '{entry.name}' differs from the file name '{path.stem}'")
    _check_entry(entry, path)
    return entry


def _int(value: object, path: Path, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{path}: {key} must be an integer, got {value!r}")
    return value


def _bead_defs(raw: object, path: Path) -> tuple[BeadDef, ...]:
    if not isinstance(raw, list) or not raw:
        raise InputError(f"{path}: beads must be a non-empty list")
    beads = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or "name" not in item or "atoms" not in item:
            raise InputError(f"{path}: bead {i + 1} needs 'name' and 'atoms'")
        atoms = item["atoms"]
        if not isinstance(atoms, list) or not all(
            isinstance(a, int) and not isinstance(a, bool) for a in atoms
        ):
            raise InputError(f"{path}: bead '{item['name']}': atoms must be a list of integers")
        beads.append(BeadDef(str(item["name"]), tuple(atoms), str(item.get("description", ""))))
    return tuple(beads)


def _sources(raw: object, path: Path) -> tuple[str, ...]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or not all(isinstance(s, str) for s in items):
        raise InputError(f"{path}: sources must be a string or a non-empty list of strings")
    return tuple(s.strip() for s in items)


def _check_entry(entry: IonEntry, path: Path) -> None:
    mol = Chem.MolFromSmiles(entry.smiles)
    if mol is None:
        raise InputError(f"{path}: RDKit cannot parse SMILES '{entry.smiles}'")
    charge = sum(a.GetFormalCharge() for a in mol.GetAtoms())
    if charge != entry.formal_charge:
        raise InputError(
            f"{path}: formal_charge {entry.formal_charge} but the SMILES carries {charge}"
        )
    names = [b.name for b in entry.beads]
    if len(set(names)) != len(names):
        raise InputError(f"{path}: bead names repeat: {names}")
    seen = [a for b in entry.beads for a in b.atoms]
    heavy = mol.GetNumAtoms()
    bad = sorted({a for a in seen if not 0 <= a < heavy})
    if bad:
        raise InputError(f"{path}: bead atoms {bad} out of range 0..{heavy - 1}")
    twice = sorted(a for a, c in Counter(seen).items() if c > 1)
    if twice:
        raise InputError(f"{path}: heavy atoms {twice} are in more than one bead")
    left = sorted(set(range(heavy)) - set(seen))
    if left:
        raise InputError(f"{path}: heavy atoms {left} are in no bead")


# ---------------------------------------------------------------------------------------
# graphs


def _template(entry: IonEntry) -> _Template:
    mol = Chem.AddHs(Chem.MolFromSmiles(entry.smiles))
    bead_of_heavy = {a: i for i, b in enumerate(entry.beads) for a in b.atoms}
    bead_of_atom = []
    for atom in mol.GetAtoms():
        anchor = atom.GetIdx()
        if atom.GetAtomicNum() == 1 and atom.GetDegree() == 1:
            anchor = atom.GetNeighbors()[0].GetIdx()
        bead_of_atom.append(bead_of_heavy[anchor])
    graph = _graph(mol)
    formula = hill_formula(a.GetSymbol() for a in graph.GetAtoms())
    return _Template(graph, formula, graph.GetNumBonds(), tuple(bead_of_atom))


def _graph(mol: Chem.Mol) -> Chem.Mol:
    """A copy of `mol` reduced to its graph: atomic numbers, single bonds, no implicit H."""
    graph = Chem.RWMol()
    for atom in mol.GetAtoms():
        bare = Chem.Atom(atom.GetAtomicNum())
        bare.SetNoImplicit(True)
        graph.AddAtom(bare)
    for bond in mol.GetBonds():
        graph.AddBond(bond.GetBeginAtomIdx(), bond.GetEndAtomIdx(), Chem.BondType.SINGLE)
    graph.UpdatePropertyCache(strict=False)
    return graph.GetMol()


def hill_formula(symbols: Sequence[str] | Iterator[str]) -> str:
    """Hill formula: C, then H, then the rest alphabetically (all alphabetical without C)."""
    counts = Counter(symbols)
    if "C" in counts:
        order = ["C"] + (["H"] if "H" in counts else [])
        order += sorted(s for s in counts if s not in ("C", "H"))
    else:
        order = sorted(counts)
    return "".join(s + (str(counts[s]) if counts[s] > 1 else "") for s in order)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
