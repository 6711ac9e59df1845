"""Structure stage: read XYZ/PDB, perceive molecules (ions), pair cations with anions."""

from polcg.structure.cluster import Bead, Cluster, Molecule
from polcg.structure.io import load_cluster, read_structure
from polcg.structure.pairing import fragment_molecules
from polcg.structure.perceive import perceive

__all__ = [
    "Bead",
    "Cluster",
    "Molecule",
    "fragment_molecules",
    "load_cluster",
    "perceive",
    "read_structure",
]
