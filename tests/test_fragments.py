"""The ion library: loading, checking entries, recognising every ion from a 3D structure."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from polcg.errors import InputError
from polcg.structure.io import load_cluster
from polcg.structure.library import (
    ENV_VAR,
    IonLibrary,
    default_path,
    hill_formula,
    load_entry,
    load_library,
    map_beads,
)

EXPECTED = {
    "C4mim": 1, "C2mim": 1, "C1mim": 1, "EtNH3": 1,
    "BF4": -1, "PF6": -1, "NO3": -1, "Cl": -1, "Br": -1, "TFSI": -1, "DCA": -1,
}  # fmt: skip


OCTAHEDRON = np.array(
    [[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=float
)


def embed(smiles: str, seed: int = 11) -> tuple[list[str], np.ndarray]:
    """3D structure of a SMILES: RDKit ETKDG, then MMFF (UFF where MMFF has no parameters).

    [PF6]- is built as an ideal octahedron (P-F 1.60 Å): RDKit's geometries for a
    hexavalent P put two F atoms 0.9-1.2 Å apart.
    """
    if smiles == "F[P-](F)(F)(F)(F)F":
        return ["P"] + ["F"] * 6, 1.60 * OCTAHEDRON
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    if mol.GetNumAtoms() > 1:
        assert AllChem.EmbedMolecule(mol, randomSeed=seed) == 0
        if AllChem.MMFFHasAllMoleculeParams(mol):
            AllChem.MMFFOptimizeMolecule(mol)
        else:
            AllChem.UFFOptimizeMolecule(mol)
        xyz = mol.GetConformer().GetPositions()
    else:
        xyz = np.zeros((1, 3))
    return [a.GetSymbol() for a in mol.GetAtoms()], xyz


def write_xyz(path: Path, elements, coords) -> Path:
    lines = [str(len(elements)), "test"]
    lines += [f"{e} {x:.6f} {y:.6f} {z:.6f}" for e, (x, y, z) in zip(elements, coords)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def library() -> IonLibrary:
    return load_library()


def test_library_has_the_expected_ions(library):
    assert {e.name: e.formal_charge for e in library} == EXPECTED
    assert library["C4mim"].long_name == "1-butyl-3-methylimidazolium"
    assert "TFSI" in library and "NH4" not in library
    for entry in library:
        assert entry.sources and all(s for s in entry.sources)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_ion_is_recognised_from_3d(tmp_path, library, name):
    entry = library[name]
    elements, xyz = embed(entry.smiles)
    perm = np.random.default_rng(3).permutation(len(elements))  # shuffled atom order
    path = write_xyz(tmp_path / f"{name}.xyz", [elements[i] for i in perm], xyz[perm])
    cluster = load_cluster(path, total_charge=entry.formal_charge, library=library)
    (mol,) = cluster.molecules
    assert (mol.name, mol.formal_charge, mol.library) == (name, entry.formal_charge, True)
    assert [b.name for b in mol.beads] == [b.name for b in entry.beads]
    covered = [a for b in mol.beads for a in b.atoms]
    assert sorted(covered) == list(range(len(elements)))  # every atom in exactly one bead


def test_c4mim_beads_are_ring_methyl_butyl(library):
    elements, xyz = embed(library["C4mim"].smiles)
    from polcg.structure.perceive import perceive

    (mol,) = perceive(elements, xyz, library=library).molecules
    formulas = {b.name: hill_formula(elements[i] for i in b.atoms) for b in mol.beads}
    assert formulas == {"IM": "C3H3N2", "ME": "CH3", "BU": "C4H9"}


def test_tfsi_and_ethylammonium_beads(library):
    from polcg.structure.perceive import perceive

    for name, want in [
        ("TFSI", {"CF1": "CF3", "SNS": "NO4S2", "CF2": "CF3"}),
        ("EtNH3", {"AM": "H3N", "ET": "C2H5"}),
        ("C2mim", {"IM": "C3H3N2", "ME": "CH3", "ET": "C2H5"}),
        ("C1mim", {"IM": "C3H3N2", "ME1": "CH3", "ME2": "CH3"}),
    ]:
        elements, xyz = embed(library[name].smiles)
        (mol,) = perceive(elements, xyz, library=library).molecules
        assert {b.name: hill_formula(elements[i] for i in b.atoms) for b in mol.beads} == want


def test_match_is_graph_identity(library):
    c4mim = Chem.AddHs(Chem.MolFromSmiles("C[n+]1ccn(CCCC)c1"))  # other SMILES, same ion
    entry, atom_map = library.match(c4mim)
    assert entry.name == "C4mim" and sorted(atom_map) == list(range(c4mim.GetNumAtoms()))
    beads = map_beads(library, entry, atom_map, atoms=[100 + i for i in range(25)])
    assert sorted(a for b in beads for a in b.atoms) == list(range(100, 125))
    # same formula C8H15N2+, different graph: 1-butyl-2-methylimidazolium
    assert library.match(Chem.AddHs(Chem.MolFromSmiles("CCCCn1cc[nH+]c1C"))) is None
    assert library.match(Chem.AddHs(Chem.MolFromSmiles("[NH4+]"))) is None
    # hydrogens must be explicit atoms
    assert library.match(Chem.MolFromSmiles("CCCCn1cc[n+](C)c1")) is None


def test_hill_formula():
    assert hill_formula("CCHHHN") == "C2H3N"
    assert hill_formula(["O", "H", "H"]) == "H2O"
    assert hill_formula(["F", "B", "F", "F", "F"]) == "BF4"
    assert hill_formula(["Cl"]) == "Cl"


GOOD = """\
name: X
long_name: test ion
smiles: CC[NH3+]
formal_charge: 1
beads:
  - {name: A, atoms: [2]}
  - {name: B, atoms: [0, 1]}
sources: made up
"""


@pytest.mark.parametrize(
    "change, message",
    [
        (("formal_charge: 1", "formal_charge: -1"), "formal_charge -1 but the SMILES carries 1"),
        (("atoms: [0, 1]", "atoms: [1]"), "heavy atoms [0] are in no bead"),
        (("atoms: [0, 1]", "atoms: [0, 1, 2]"), "heavy atoms [2] are in more than one bead"),
        (("atoms: [0, 1]", "atoms: [0, 1, 7]"), "out of range"),
        (("name: X", "name: Y"), "differs from the file name"),
        (("smiles: CC[NH3+]", "smiles: C1CC"), "cannot parse SMILES"),
        (("sources: made up\n", ""), "missing keys ['sources']"),
        (("{name: B,", "{name: A,"), "bead names repeat"),
        (("beads:", "beads: [\n"), "cannot read ion entry"),
    ],
)
def test_bad_entries_raise_naming_the_file(tmp_path, change, message):
    path = tmp_path / "X.yaml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(InputError) as err:
        load_entry(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value)


def test_good_entry_and_extra_keys(tmp_path):
    path = tmp_path / "X.yaml"
    path.write_text(GOOD + "lj: {sigma_nm: 0.4}\n")
    entry = load_entry(path)
    assert entry.sources == ("made up",) and entry.extra["lj"] == {"sigma_nm": 0.4}
    assert [b.atoms for b in entry.beads] == [(2,), (0, 1)]


def test_env_var_and_path_override(tmp_path, monkeypatch):
    (tmp_path / "X.yaml").write_text(GOOD)
    assert load_library(tmp_path).names == ("X",)
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert default_path() == tmp_path and load_library().names == ("X",)
    monkeypatch.delenv(ENV_VAR)
    assert default_path().name == "fragments" and len(load_library()) == len(EXPECTED)


def test_missing_or_empty_library_directory(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_library(tmp_path / "nope")
    with pytest.raises(InputError, match="no \\*.yaml"):
        load_library(tmp_path)


def test_beads_partition_the_heavy_atoms(library):
    for entry in library:
        heavy = Chem.MolFromSmiles(entry.smiles).GetNumAtoms()
        assert Counter(a for b in entry.beads for a in b.atoms) == Counter(range(heavy))
