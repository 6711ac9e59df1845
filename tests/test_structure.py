"""Structure stage: reading XYZ/PDB, perceiving molecules and charges, pairing ions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from polcg.errors import InputError, StructureError
from polcg.structure import fragment_molecules, load_cluster, perceive, read_structure
from polcg.structure.cluster import Cluster, Molecule
from polcg.structure.library import load_library

DATA = Path(__file__).parent / "data"
C4MIM, BF4, CL = "CCCCn1cc[n+](C)c1", "F[B-](F)(F)F", "[Cl-]"
C2_ATOM = 9  # ring C2 of C4MIM (heavy-atom index in the SMILES)


def embed(smiles: str, seed: int = 5) -> tuple[list[str], np.ndarray]:
    """3D structure of a SMILES: RDKit ETKDG + MMFF."""
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    if mol.GetNumAtoms() == 1:
        return [mol.GetAtomWithIdx(0).GetSymbol()], np.zeros((1, 3))
    assert AllChem.EmbedMolecule(mol, randomSeed=seed) == 0
    AllChem.MMFFOptimizeMolecule(mol)
    return [a.GetSymbol() for a in mol.GetAtoms()], mol.GetConformer().GetPositions()


def write_xyz(path: Path, elements, coords, comment: str = "test") -> Path:
    lines = [str(len(elements)), comment]
    lines += [f"{e} {x:.6f} {y:.6f} {z:.6f}" for e, (x, y, z) in zip(elements, coords)]
    path.write_text("\n".join(lines) + "\n")
    return path


def rotation_onto(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation matrix taking direction a onto direction b."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    v, c = np.cross(a, b), float(a @ b)
    if np.linalg.norm(v) < 1e-9:
        return np.eye(3) if c > 0 else -np.eye(3)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1 + c)


def c2h_contact_pair(anion: str, contact_angstrom: float):
    """[C4mim]+ with an anion atom on the C2-H axis, `contact_angstrom` from the H."""
    cel, cxyz = embed(C4MIM)
    ael, axyz = embed(anion)
    mol = Chem.AddHs(Chem.MolFromSmiles(C4MIM))
    c2 = mol.GetAtomWithIdx(C2_ATOM)
    h = next(n.GetIdx() for n in c2.GetNeighbors() if n.GetAtomicNum() == 1)
    u = (cxyz[h] - cxyz[C2_ATOM]) / np.linalg.norm(cxyz[h] - cxyz[C2_ATOM])
    if len(ael) > 1:  # anion atom 0 (an F) faces the H, its centre behind it
        axyz = (axyz - axyz[0]) @ rotation_onto(axyz[1] - axyz[0], u).T
    placed = axyz - axyz[0] + cxyz[h] + contact_angstrom * u
    return cel + ael, np.vstack([cxyz, placed]), h


def ion_pair_cluster(n_pairs: int, spacing_angstrom: float = 15.0):
    """n [C4mim][BF4] pairs (C2-H...F 2.1 Å) on a line, `spacing_angstrom` apart."""
    elements, xyz, _ = c2h_contact_pair(BF4, 2.1)
    els, coords, owner = [], [], []
    for k in range(n_pairs):
        els += elements
        coords.append(xyz + [k * spacing_angstrom, 0.0, 0.0])
        owner += [k] * len(elements)
    return els, np.vstack(coords), np.array(owner)


# ---------------------------------------------------------------------------------------
# reading


def test_read_xyz_data_file():
    elements, xyz = read_structure(DATA / "structure_c4mim_bf4.xyz")
    assert len(elements) == 30 and xyz.shape == (30, 3)
    assert elements.count("F") == 4 and elements[25:27] == ("F", "B")


def test_xyz_elements_any_case_and_atomic_numbers(tmp_path):
    path = tmp_path / "w.xyz"
    path.write_text("4\n\ncl 0 0 0\nO 3 0 0\n1 3.96 0 0\nh 2.7 0.9 0  extra columns ok\n\n\n")
    elements, xyz = read_structure(path)
    assert elements == ("Cl", "O", "H", "H") and xyz[2, 0] == pytest.approx(3.96)
    path.write_bytes(b"\xef\xbb\xbf1\r\nwith BOM and CRLF\r\nNa 0 0 0\r\n")
    assert read_structure(path)[0] == ("Na",)


def test_read_pdb_matches_xyz():
    e1, x1 = read_structure(DATA / "structure_c4mim_bf4.xyz")
    e2, x2 = read_structure(DATA / "structure_c4mim_bf4.pdb")
    assert e1 == e2 and np.allclose(x1, x2, atol=1e-3)


def test_pdb_element_from_atom_name(tmp_path):
    def rec(serial, name, x, element=""):
        return (f"ATOM  {serial:5d} {name:4s} MOL A   1    {x:8.3f}{0.0:8.3f}{0.0:8.3f}"
                f"  1.00  0.00          {element:>2s}")

    lines = [rec(1, " C1 ", 0.0), rec(2, "CL1 ", 1.8), rec(3, " H1 ", -1.1),
             rec(4, "HD21", -3.0), rec(5, " F1 ", 4.0, "f"), "TER", "END"]  # fmt: skip
    path = tmp_path / "m.pdb"
    path.write_text("\n".join(lines) + "\n")
    elements, xyz = read_structure(path)
    assert elements == ("C", "Cl", "H", "H", "F") and xyz[1, 0] == pytest.approx(1.8)


def _bad(tmp_path: Path, name: str, text: str | None) -> tuple[Path, str]:
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(StructureError) as err:
        read_structure(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return path, message


XYZ_OK = "3\nwater\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n"


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("missing.xyz", None, "no such file"),
        ("empty.xyz", "", "empty file"),
        ("blank.xyz", "\n \n", "empty file"),
        ("trunc.xyz", "5\nc\nO 0 0 0\nH 0.96 0 0\n", "truncated: the count line says 5 atoms but 2"),
        ("gap.xyz", "3\nc\nO 0 0 0\n\nH 0.96 0 0\nH 0 1 0\n", "truncated"),
        ("more.xyz", XYZ_OK + "H 3 3 3\n", "the count line says 3 atoms but 4 atom lines follow"),
        ("frames.xyz", XYZ_OK + XYZ_OK, "line 6: a second frame starts here"),
        ("count.xyz", "three\nc\nO 0 0 0\n", "line 1: expected the number of atoms, got 'three'"),
        ("zero.xyz", "0\nc\n", "0 atoms"),
        ("nan.xyz", "2\nc\nO 0 0 0\nH 0.96 abc 0\n", "line 4: non-numeric coordinate 'abc'"),
        ("inf.xyz", "2\nc\nO 0 0 0\nH 0.96 inf 0\n", "line 4: non-finite coordinate"),
        ("short.xyz", "2\nc\nO 0 0 0\nH 0.96 0\n", "line 4: expected 'element x y z'"),
        ("elem.xyz", "2\nc\nO 0 0 0\nXx 0.96 0 0\n", "line 4: unknown element 'Xx'"),
        ("z.xyz", "2\nc\nO 0 0 0\n200 0.96 0 0\n", "line 4: unknown element '200'"),
        ("close.xyz", "3\nc\nO 0 0 0\nH 0.96 0 0\nH 0.96 0.3 0\n",
         "atoms 2 and 3 are 0.300 Å apart, closer than 0.5 Å"),
        ("binary.xyz", None, "not a text file"),
        ("c.mol2", XYZ_OK, "unsupported file type (extension '.mol2')"),
        ("noext", XYZ_OK, "unsupported file type (extension none)"),
        ("a.pdb", "REMARK nothing\nEND\n", "no ATOM or HETATM records"),
        ("b.pdb", "ATOM      1  O   HOH A   1       0.000   0.000\n", "line 1: ATOM record too short"),
        ("c.pdb", "HETATM    1  O   HOH A   1       0.000   x.000   0.000  1.00  0.00           O\n",
         "line 1: non-numeric coordinate 'x.000'"),
        ("d.pdb", "HETATM    1  O   HOH A   1       0.000   0.000   0.000  1.00  0.00          Qq\n",
         "line 1: unknown element 'Qq'"),
        ("e.pdb", "MODEL 1\nHETATM    1  O   HOH A   1       0.000   0.000   0.000\nENDMDL\nMODEL 2\n",
         "line 4: a second MODEL starts here"),
    ],
)  # fmt: skip
def test_bad_input_raises_naming_the_file(tmp_path, name, text, expected):
    if name == "binary.xyz":
        (tmp_path / name).write_bytes(b"3\n\xff\xfe\x00\n")
    _, message = _bad(tmp_path, name, text)
    assert expected in message


def test_directory_is_not_a_file(tmp_path):
    (tmp_path / "d.xyz").mkdir()
    _bad(tmp_path, "d.xyz", None)


# ---------------------------------------------------------------------------------------
# perceiving


def test_load_cluster_records_path_hash_and_ions():
    path = DATA / "structure_c4mim_bf4.xyz"
    cluster = load_cluster(path, total_charge=0)
    assert cluster.source == str(path)
    assert cluster.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [(m.name, m.formal_charge) for m in cluster.molecules] == [("C4mim", 1), ("BF4", -1)]
    assert cluster.molecules[0].atoms == tuple(range(25))
    assert cluster.charge == 0 and not cluster.coords_angstrom.flags.writeable


def test_total_charge_mismatch(tmp_path):
    path = DATA / "structure_c4mim_bf4.pdb"
    with pytest.raises(StructureError) as err:
        load_cluster(path, total_charge=1)
    assert str(err.value) == f"{path}: formal charges sum to 0 but --charge is +1"


@pytest.mark.parametrize("anion", [BF4, CL])
@pytest.mark.parametrize("contact", [1.8, 2.0, 2.3])
def test_hydrogen_bond_contacts_are_not_bonds(anion, contact):
    elements, xyz, h = c2h_contact_pair(anion, contact)
    assert np.linalg.norm(xyz[25:] - xyz[h], axis=1).min() == pytest.approx(contact)
    cluster = perceive(elements, xyz, total_charge=0)
    assert [m.name for m in cluster.molecules] == ["C4mim", "BF4" if anion == BF4 else "Cl"]


def test_hydrogen_keeps_one_bond_to_its_nearest_atom():
    # H...F 1.2 Å is within the H-F bonding distance (1.33 Å) but C-H (1.09 Å) is nearer
    elements, xyz, _ = c2h_contact_pair(BF4, 1.2)
    assert [m.name for m in perceive(elements, xyz).molecules] == ["C4mim", "BF4"]


@pytest.mark.parametrize(
    "smiles, name, charge",
    [
        ("[NH4+]", "H4N", 1),
        ("CC(=O)[O-]", "C2H3O2", -1),
        ("[S-]C#N", "CNS", -1),
        ("O", "H2O", 0),
        ("[OH-]", "HO", -1),
        ("CS(=O)(=O)[O-]", "CH3O3S", -1),
        ("C[n+]1ccn(CC)c1C", "C7H13N2", 1),  # an imidazolium cation not in the library
        ("[O-]S(=O)(=O)[O-]", "O4S", -2),
        ("[Na+]", "Na", 1),
        ("[I-]", "I", -1),
    ],
)
def test_molecules_off_the_library_get_formal_charges(smiles, name, charge):
    elements, xyz = embed(smiles)
    (mol,) = perceive(elements, xyz).molecules
    assert (mol.name, mol.formal_charge, mol.library, mol.beads) == (name, charge, False, ())


def test_radical_is_ambiguous_and_unknown_ion_is_an_error():
    no2 = (["N", "O", "O"], np.array([[0, 0, 0], [1.19, 0, 0], [-0.52, 1.07, 0.0]]))
    expected = r"x.xyz: ambiguous formal charge \(-1 or \+1\) of NO2 \(atoms 1-3\)"
    with pytest.raises(StructureError, match=expected):
        perceive(*no2, source="x.xyz")
    with pytest.raises(StructureError, match="lone atom Fe"):
        perceive(["Fe"], np.zeros((1, 3)))


def test_alkali_ions_stay_separate_from_close_anions():
    elements, xyz = embed(BF4)
    li = xyz[0] + 1.85 * (xyz[0] - xyz[1]) / np.linalg.norm(xyz[0] - xyz[1])  # Li...F 1.85 Å
    cluster = perceive(elements + ["Li"], np.vstack([xyz, li]), total_charge=0)
    assert [(m.name, m.formal_charge) for m in cluster.molecules] == [("BF4", -1), ("Li", 1)]


def test_molecules_ordered_by_lowest_atom_and_beads_in_cluster_indices():
    els, xyz, owner = ion_pair_cluster(3)
    perm = np.random.default_rng(0).permutation(len(els))
    cluster = perceive([els[i] for i in perm], xyz[perm], total_charge=0)
    firsts = [m.atoms[0] for m in cluster.molecules]
    assert firsts == sorted(firsts) and len(cluster.molecules) == 6
    for mol in cluster.molecules:
        assert sorted(a for b in mol.beads for a in b.atoms) == list(mol.atoms)
        assert len({owner[perm[a]] for a in mol.atoms}) == 1


def test_perceive_rejects_bad_arrays():
    with pytest.raises(StructureError, match="s.xyz: 2 elements but coordinates of shape"):
        perceive(["O", "H"], np.zeros((3, 3)), source="s.xyz")
    with pytest.raises(StructureError, match="atom 2: unknown element 'Q'"):
        perceive(["O", "Q"], np.eye(2, 3))


# ---------------------------------------------------------------------------------------
# pairing


def test_pairs_found_in_shuffled_cluster_of_three_pairs():
    els, xyz, owner = ion_pair_cluster(3)
    perm = np.random.default_rng(7).permutation(len(els))
    cluster = perceive([els[i] for i in perm], xyz[perm], total_charge=0)
    pairs = fragment_molecules(cluster)
    assert len(pairs) == 3
    for pair in pairs:
        mols = [cluster.molecules[i] for i in pair]
        assert sorted(m.name for m in mols) == ["BF4", "C4mim"]
        assert len({owner[perm[a]] for m in mols for a in m.atoms}) == 1  # same original pair
    lowest = [min(min(cluster.molecules[i].atoms) for i in p) for p in pairs]
    assert lowest == sorted(lowest)
    ions = fragment_molecules(cluster, mode="ions")
    assert ions == tuple((i,) for i in range(6))


def test_pairing_prefers_closest_contact_not_greedy():
    # cations A, B and anions X, Y on a line: A . X B . . Y  -> greedy B-X would leave A-Y
    cluster = _point_cluster([("Na", 0.0, 1), ("Cl", 2.5, -1), ("Na", 3.5, 1), ("Cl", 8.0, -1)])
    assert fragment_molecules(cluster) == ((0, 1), (2, 3))


def test_water_is_its_own_fragment():
    els, xyz, _ = ion_pair_cluster(1)
    wel, wxyz = embed("O")
    cluster = perceive(wel + els, np.vstack([wxyz + [0, 0, 8.0], xyz]), total_charge=0)
    assert [m.name for m in cluster.molecules] == ["H2O", "C4mim", "BF4"]
    assert fragment_molecules(cluster) == ((0,), (1, 2))


def test_dication_with_two_anions_forms_one_neutral_group():
    # two +2 cations, four -1 anions: each dication with its two nearest anions
    cluster = _point_cluster([("Ca", 0.0, 2), ("Cl", -2.7, -1), ("Cl", 2.7, -1),
                              ("Ca", 20.0, 2), ("Cl", 17.3, -1), ("Cl", 22.7, -1)])  # fmt: skip
    assert fragment_molecules(cluster) == ((0, 1, 2), (3, 4, 5))


def test_charged_cluster_cannot_be_paired():
    cluster = _point_cluster([("Na", 0.0, 1), ("Cl", 2.5, -1), ("Na", 5.0, 1)], source="c.xyz")
    with pytest.raises(InputError, match="c.xyz: cannot group the ions into neutral fragments"):
        fragment_molecules(cluster)
    assert fragment_molecules(cluster, mode="ions") == ((0,), (1,), (2,))
    with pytest.raises(InputError, match="unknown fragment mode 'triples'"):
        fragment_molecules(cluster, mode="triples")


def _point_cluster(atoms, source=""):
    """A Cluster of monoatomic ions on the x axis: (element, x_angstrom, charge)."""
    return Cluster(
        tuple(e for e, _, _ in atoms),
        np.array([[x, 0.0, 0.0] for _, x, _ in atoms]),
        tuple(Molecule((i,), q, e) for i, (e, _, q) in enumerate(atoms)),
        source=source,
    )


def test_point_cluster_matches_perceive():
    cluster = _point_cluster([("Na", 0.0, 1), ("Cl", 2.5, -1)])
    again = perceive(cluster.elements, cluster.coords_angstrom, library=load_library())
    assert again.molecules[0] == cluster.molecules[0]
    assert (again.molecules[1].name, again.molecules[1].formal_charge) == ("Cl", -1)
