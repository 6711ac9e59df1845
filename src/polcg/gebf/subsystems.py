"""GEBF subsystems: primitive subsystems by ξ and η, closure under intersection, coefficients.

Pure functions on fragment indices and distance matrices; no QM here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist


@dataclass(frozen=True)
class Subsystem:
    """A GEBF subsystem: fragment indices, its coefficient, its atoms (0-based) and net charge;
    `primitive` is false for the subsystems that only the intersection closure adds (derived)."""

    fragments: tuple[int, ...]
    coefficient: int
    atoms: tuple[int, ...]
    charge: int
    primitive: bool = True

    @property
    def label(self) -> str:
        return "S[" + ",".join(str(f) for f in self.fragments) + "]"


def fragment_distances(coords_angstrom: np.ndarray, fragments: Sequence[Sequence[int]]) -> np.ndarray:
    """Closest-atom distance (Å) between every two fragments (atom index lists); 0 on the diagonal."""
    n = len(fragments)
    d = np.zeros((n, n))
    xyz = [np.asarray(coords_angstrom)[list(f)] for f in fragments]
    for i in range(n):
        for j in range(i + 1, n):
            d[i, j] = d[j, i] = cdist(xyz[i], xyz[j]).min()
    return d


def primitive_subsystems(dist_angstrom: np.ndarray, xi: float, eta: int | None = None) -> list[frozenset[int]]:
    """One subsystem per fragment i: i and every fragment within ξ Å of it (closest atoms).

    With η, at most η fragments: i and its η−1 closest neighbours within ξ, plus pair-centred
    subsystems for contact pairs the cap separated. Duplicates and subsystems contained in
    another are dropped. Sorted by size (largest first), then members.
    """
    n = dist_angstrom.shape[0]
    if eta is not None and eta < 1:
        raise ValueError("eta must be at least 1")
    candidates = set()
    for i in range(n):
        order = [j for j in np.argsort(dist_angstrom[i], kind="stable") if j != i and dist_angstrom[i, j] <= xi]
        if eta is not None:
            order = order[: eta - 1]
        candidates.add(frozenset([i, *map(int, order)]))
    candidates |= contact_pair_subsystems(dist_angstrom, xi, eta, candidates)
    maximal = [s for s in candidates if not any(s < t for t in candidates)]
    return sorted(maximal, key=lambda s: (-len(s), sorted(s)))


def contact_pair_subsystems(dist_angstrom: np.ndarray, xi: float, eta: int | None,
                            existing: set[frozenset[int]]) -> set[frozenset[int]]:
    """Pair-centred subsystems (after GEBF12/14): for fragments i, j within ξ that the η cap left
    in no common subsystem, {i, j} plus the η−2 fragments closest to both (within ξ of either).

    Every fragment pair in contact then shares a subsystem, so no contact is left to point charges.
    """
    if eta is None:
        return set()
    n = dist_angstrom.shape[0]
    added: set[frozenset[int]] = set()
    for i in range(n):
        for j in range(i + 1, n):
            if dist_angstrom[i, j] > xi or any(i in s and j in s for s in existing | added):
                continue
            reach = np.minimum(dist_angstrom[i], dist_angstrom[j])
            order = [k for k in np.argsort(np.maximum(dist_angstrom[i], dist_angstrom[j]), kind="stable")
                     if k not in (i, j) and reach[k] <= xi]
            added.add(frozenset([i, j, *map(int, order[: max(eta - 2, 0)])]))
    return added


def intersection_closure(sets: Iterable[frozenset[int]]) -> set[frozenset[int]]:
    """The family closed under pairwise intersection (empty sets left out)."""
    family = {s for s in sets if s}
    frontier = set(family)
    while frontier:
        new = set()
        for a in frontier:
            for b in family:
                c = a & b
                if c and c not in family:
                    new.add(c)
        family |= new
        frontier = new
    return family


def gebf_coefficients(primitives: Sequence[frozenset[int]]) -> dict[frozenset[int], int]:
    """Inclusion–exclusion coefficients C_X = 1 − Σ_{Y ⊋ X} C_Y over the intersection closure.

    Primitive subsystems get C = 1; sets whose coefficient is 0 are dropped.
    """
    family = sorted(intersection_closure(primitives), key=lambda s: -len(s))
    coef: dict[frozenset[int], int] = {}
    for x in family:
        coef[x] = 1 - sum(c for y, c in coef.items() if x < y)
    return {s: c for s, c in coef.items() if c != 0}


def cooccurrence(coefficients: dict[frozenset[int], int], nfrag: int) -> np.ndarray:
    """N[f, g] = Σ_X C_X [f ∈ X and g ∈ X]: 1 for pairs GEBF covers, 0 for pairs it never puts together."""
    count = np.zeros((nfrag, nfrag), dtype=int)
    for s, c in coefficients.items():
        idx = np.fromiter(s, dtype=int)
        count[np.ix_(idx, idx)] += c
    return count


def check_counting(coefficients: dict[frozenset[int], int], nfrag: int) -> None:
    """Raise if a fragment is not counted exactly once or a co-occurring pair not exactly once."""
    count = cooccurrence(coefficients, nfrag)
    if not np.all(np.diag(count) == 1):
        bad = np.flatnonzero(np.diag(count) != 1)
        raise AssertionError(f"GEBF counting broken: fragments {bad.tolist()} counted {np.diag(count)[bad].tolist()}")
    if not np.all((count == 0) | (count == 1)):
        raise AssertionError("GEBF counting broken: a fragment pair is counted other than 0 or 1 times")


def build_subsystems(fragment_atoms: Sequence[Sequence[int]], fragment_charges: Sequence[int],
                     coords_angstrom: np.ndarray, xi: float, eta: int | None = None) -> list[Subsystem]:
    """All GEBF subsystems with non-zero coefficients, largest first."""
    dist = fragment_distances(coords_angstrom, fragment_atoms)
    primitives = primitive_subsystems(dist, xi, eta)
    coef = gebf_coefficients(primitives)
    check_counting(coef, len(fragment_atoms))
    subs = []
    for s, c in coef.items():
        frags = tuple(sorted(s))
        atoms = tuple(sorted(a for f in frags for a in fragment_atoms[f]))
        subs.append(Subsystem(frags, c, atoms, int(sum(fragment_charges[f] for f in frags)), s in primitives))
    return sorted(subs, key=lambda s: (-len(s.atoms), s.fragments))

