"""GEBF primitive fragments: single molecules, or neutral cation-anion pairs / groups.

Pairs come from an optimal assignment (Hungarian, `scipy.optimize.linear_sum_assignment`)
on the closest-contact distance (shortest interatomic distance, Å) between ions. An ion of
charge ±n takes part as n unit charges, so a 1:1 salt gives neutral pairs and other
stoichiometries (a dication with two anions, ...) neutral groups: the ions linked by the
assignment. Neutral molecules are fragments of their own.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from polcg.errors import InputError
from polcg.structure.cluster import Cluster

MODES = ("pairs", "ions")


def fragment_molecules(cluster: Cluster, mode: str = "pairs") -> tuple[tuple[int, ...], ...]:
    """Primitive fragments as tuples of molecule indices, sorted by their lowest atom index."""
    if mode not in MODES:
        raise InputError(f"unknown fragment mode '{mode}'; use one of {', '.join(MODES)}")
    n = len(cluster.molecules)
    if mode == "ions":
        groups = [(i,) for i in range(n)]
    else:
        groups = [(i,) for i, m in enumerate(cluster.molecules) if m.formal_charge == 0]
        groups += _neutral_groups(cluster)
    return _sorted_fragments(cluster, groups)


def closest_contact_angstrom(cluster: Cluster, a: list[int], b: list[int]) -> np.ndarray:
    """Shortest interatomic distance (Å) between each molecule of `a` and each of `b`."""
    xyz = cluster.coords_angstrom
    out = np.empty((len(a), len(b)))
    b_atoms = [np.asarray(cluster.molecules[j].atoms) for j in b]
    if not b:
        return out
    b_all = np.concatenate(b_atoms)
    starts = np.cumsum([0] + [len(x) for x in b_atoms[:-1]])
    for row, i in enumerate(a):
        d = cdist(xyz[list(cluster.molecules[i].atoms)], xyz[b_all]).min(axis=0)
        out[row] = np.minimum.reduceat(d, starts)
    return out


def _neutral_groups(cluster: Cluster) -> list[tuple[int, ...]]:
    """Group the charged molecules into neutral groups by optimal unit-charge assignment."""
    charges = [m.formal_charge for m in cluster.molecules]
    cations = [i for i, q in enumerate(charges) if q > 0]
    anions = [i for i, q in enumerate(charges) if q < 0]
    if not cations and not anions:
        return []
    net = sum(charges[i] for i in cations + anions)
    if net != 0:
        sign = f"{net:+d}"
        raise InputError(
            f"{cluster.source or 'cluster'}: cannot group the ions into neutral fragments: "
            f"their formal charges sum to {sign}; use single-ion fragments (mode 'ions')"
        )
    pos = [i for i in cations for _ in range(charges[i])]
    neg = [j for j in anions for _ in range(-charges[j])]
    dist = closest_contact_angstrom(cluster, cations, anions)
    row = {i: k for k, i in enumerate(cations)}
    col = {j: k for k, j in enumerate(anions)}
    cost = dist[np.ix_([row[i] for i in pos], [col[j] for j in neg])]
    rows, cols = linear_sum_assignment(cost)
    return _components(cations + anions, [(pos[r], neg[c]) for r, c in zip(rows, cols)])


def _components(nodes: list[int], edges: list[tuple[int, int]]) -> list[tuple[int, ...]]:
    """Connected components of a small graph (union-find)."""
    parent = {n: n for n in nodes}

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in edges:
        parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for n in nodes:
        groups.setdefault(root(n), []).append(n)
    return [tuple(sorted(g)) for g in groups.values()]


def _sorted_fragments(
    cluster: Cluster, groups: list[tuple[int, ...]]
) -> tuple[tuple[int, ...], ...]:
    def lowest_atom(group: tuple[int, ...]) -> int:
        return min(min(cluster.molecules[i].atoms) for i in group)

    return tuple(sorted((tuple(sorted(g)) for g in groups), key=lowest_atom))
