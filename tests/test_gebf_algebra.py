"""GEBF bookkeeping without QM: subsystems, inclusion–exclusion counting, energy assembly."""

import itertools

import numpy as np
import pytest

from polcg.gebf.driver import GEBFSettings, run_gebf
from polcg.gebf.energy import background_correction_hartree, gebf_energy_hartree
from polcg.gebf.subsystems import (
    Subsystem,
    build_subsystems,
    cooccurrence,
    gebf_coefficients,
    intersection_closure,
    primitive_subsystems,
)
from polcg.qm.spec import MethodSpec, QMResult
from polcg.units import ANGSTROM_TO_BOHR


def random_family(rng, nfrag, nsets, maxsize):
    return [frozenset(rng.choice(nfrag, size=rng.integers(1, maxsize + 1), replace=False).tolist())
            for _ in range(nsets)]


@pytest.mark.parametrize("seed", range(20))
def test_counting_identities_on_random_families(seed):
    rng = np.random.default_rng(seed)
    nfrag = 10
    prims = random_family(rng, nfrag, nsets=6, maxsize=5)
    coef = gebf_coefficients(prims)
    count = cooccurrence(coef, nfrag)
    covered = set().union(*prims)
    for f in range(nfrag):
        assert count[f, f] == (1 if f in covered else 0)
    for f, g in itertools.combinations(range(nfrag), 2):
        together = any(f in p and g in p for p in prims)
        assert count[f, g] == (1 if together else 0)
    # every triple that shares a primitive subsystem is counted once too (Möbius inversion)
    for p in prims:
        for t in itertools.combinations(sorted(p), min(3, len(p))):
            assert sum(c for s, c in coef.items() if set(t) <= s) == 1


def test_closure_is_closed_under_intersection():
    rng = np.random.default_rng(7)
    fam = intersection_closure(random_family(rng, 12, 8, 6))
    for a, b in itertools.combinations(fam, 2):
        assert not (a & b) or (a & b) in fam


def test_primitives_by_xi_and_eta():
    # fragments on a line, 2.5 Å apart: with ξ = 3 each takes its neighbours
    x = np.arange(5) * 2.5
    dist = np.abs(x[:, None] - x[None, :])
    assert primitive_subsystems(dist, xi=3.0) == [frozenset({0, 1, 2}), frozenset({1, 2, 3}), frozenset({2, 3, 4})]
    # η = 2 keeps only the closest neighbour; ties broken by index
    prims = primitive_subsystems(dist, xi=3.0, eta=2)
    assert all(len(p) <= 2 for p in prims)
    # ξ larger than the cluster: one subsystem holding everything, coefficient 1
    assert gebf_coefficients(primitive_subsystems(dist, xi=100.0)) == {frozenset(range(5)): 1}


def test_chain_coefficients_are_textbook():
    # 0-1-2-3 chain with pairs: C(01)=C(12)=C(23)=1, C(1)=C(2)=-1
    coef = gebf_coefficients([frozenset({0, 1}), frozenset({1, 2}), frozenset({2, 3})])
    assert coef == {frozenset({0, 1}): 1, frozenset({1, 2}): 1, frozenset({2, 3}): 1,
                    frozenset({1}): -1, frozenset({2}): -1}


def coulomb_hartree(coords, q):
    r = np.linalg.norm(coords[:, None] - coords[None], axis=-1) * ANGSTROM_TO_BOHR
    iu = np.triu_indices(len(q), 1)
    return float(np.sum(q[iu[0]] * q[iu[1]] / r[iu]))


def test_energy_formula_equals_li_2007_form():
    """Σ C E' + Σ (N−1) QQ/R equals Σ C Ẽ − (Σ C − 1) Σ QQ/R with Ẽ = E' + background self-energy."""
    rng = np.random.default_rng(3)
    nfrag, per = 7, 3
    coords = rng.normal(scale=4.0, size=(nfrag * per, 3))
    q = rng.normal(scale=0.3, size=nfrag * per)
    frags = [list(range(i * per, (i + 1) * per)) for i in range(nfrag)]
    subs = build_subsystems(frags, [0] * nfrag, coords, xi=3.5, eta=3)
    e_prime = rng.normal(size=len(subs))
    e_tilde = []
    for s, e in zip(subs, e_prime):
        out = np.setdiff1d(np.arange(len(q)), s.atoms)
        e_tilde.append(e + coulomb_hartree(coords[out], q[out]))
    csum = sum(s.coefficient for s in subs)
    li2007 = sum(s.coefficient * e for s, e in zip(subs, e_tilde)) - (csum - 1) * coulomb_hartree(coords, q)
    ours = gebf_energy_hartree(subs, e_prime, coords, q)
    assert ours == pytest.approx(li2007, abs=1e-10)


def test_correction_vanishes_for_one_subsystem():
    coords = np.random.default_rng(0).normal(size=(6, 3))
    sub = Subsystem((0, 1), 1, tuple(range(6)), 0)
    assert background_correction_hartree(coords, np.ones(6), [sub]) == 0.0


def classical_runner(fixed_q):
    """An exactly solvable 'QM': point charges fixed_q; E' = Coulomb inside + inside–background."""
    def run(jobs, stage):
        out = {}
        for job in jobs:
            xyz = np.asarray(job.coords_angstrom)
            idx = [int(np.argmin(np.linalg.norm(all_xyz - x, axis=1))) for x in xyz]
            qin = fixed_q[idx]
            e = coulomb_hartree(xyz, qin)
            if job.bg_charges:
                bx, bq = np.asarray(job.bg_coords_angstrom), np.asarray(job.bg_charges)
                r = np.linalg.norm(xyz[:, None] - bx[None], axis=-1) * ANGSTROM_TO_BOHR
                e += float(np.sum(qin[:, None] * bq[None] / r))
            out[job.key()] = QMResult(job.key(), job.label, e, tuple(qin), (0.0, 0.0, 0.0), True, 1, 0.0,
                                      "classical", {})
        return out
    return run


rng0 = np.random.default_rng(11)
all_xyz = rng0.uniform(0, 12, size=(24, 3))


@pytest.mark.parametrize("eta", [None, 2, 3])
def test_gebf_is_exact_for_pairwise_additive_energy(eta):
    """For fixed point charges GEBF must return the exact Coulomb energy and the exact charges."""
    q = rng0.normal(scale=0.4, size=24)
    frags = [list(range(i, i + 3)) for i in range(0, 24, 3)]
    for f in frags:  # make fragments neutral so that embedding charges are consistent
        q[f] -= q[f].mean()
    res = run_gebf(["He"] * 24, all_xyz, frags, [0] * 8, MethodSpec(xc="HF", basis="sto-3g", scheme="mulliken"),
                   GEBFSettings(xi=4.0, eta=eta), classical_runner(q))
    assert res.converged
    assert np.allclose(res.atom_charges, q, atol=1e-12)
    assert res.energy_hartree == pytest.approx(coulomb_hartree(all_xyz, q), abs=1e-8)  # jobs round charges to 1e-10 e
    assert len(res.subsystems) > 1


@pytest.mark.parametrize("seed", range(10))
def test_every_contact_pair_shares_a_subsystem_under_the_eta_cap(seed):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 8, size=(12, 3))
    dist = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    prims = primitive_subsystems(dist, xi=3.5, eta=3)
    assert all(len(p) <= 3 for p in prims)
    for i, j in itertools.combinations(range(12), 2):
        if dist[i, j] <= 3.5:
            assert any(i in p and j in p for p in prims), (i, j)
