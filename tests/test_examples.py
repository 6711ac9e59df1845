"""The shipped example clusters are whole, library-matched and pair up into neutral ion pairs."""

from pathlib import Path

import pytest

from polcg.structure.io import load_cluster
from polcg.structure.pairing import fragment_molecules

CLUSTERS = sorted((Path(__file__).resolve().parents[1] / "examples" / "clusters").glob("*.xyz"))


@pytest.mark.parametrize("path", CLUSTERS, ids=lambda p: p.name)
def test_example_cluster_is_neutral_library_ion_pairs(path):
    cluster = load_cluster(path, total_charge=0)
    assert all(m.library for m in cluster.molecules)
    pairs = fragment_molecules(cluster, "pairs")
    assert len(pairs) == len(cluster.molecules) // 2
    for group in pairs:
        assert sorted(cluster.molecules[m].formal_charge for m in group) == [-1, 1]


def test_examples_are_shipped():
    assert len(CLUSTERS) >= 10
