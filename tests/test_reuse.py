"""What a subsystem's earlier job computed, reused by its next pass (`polcg.qm.reuse`): the same
answers with fewer Fock builds and no second density-fitting build (real PySCF, tiny systems)."""

from dataclasses import replace

import numpy as np
import pytest
from pyscf.df import df as pyscf_df
from pyscf.dft import rks
from pyscf.scf import hf

from conftest import nh4cl_pair
from polcg.charges import RunOptions, compute_charges
from polcg.gebf import GEBFSettings
from polcg.qm import MethodSpec, QMJob, RunConfig
from polcg.qm.backends import get_backend
from polcg.qm.pyscf_backend import build_mol
from polcg.qm.reuse import df_path, potential_key
from polcg.structure.io import load_cluster

DFT = MethodSpec(xc="B3LYP", basis="sto-3g", scheme="mulliken", conv_tol=1e-10, grid_level=1)
HF = MethodSpec(xc="HF", basis="sto-3g", scheme="mulliken", conv_tol=1e-10)


@pytest.fixture
def builds(monkeypatch):
    """Counts PySCF's two-electron potential builds and density-fitting tensor builds (a spy: the
    real methods run)."""
    counts = {"veff": 0, "df": 0}
    for cls in (hf.SCF, rks.RKS):
        real = cls.get_veff

        def spy(self, *args, _real=real, **kwargs):
            counts["veff"] += 1
            return _real(self, *args, **kwargs)
        monkeypatch.setattr(cls, "get_veff", spy)
    real_build = pyscf_df.DF.build

    def df_spy(self, *args, **kwargs):
        counts["df"] += self._cderi is None
        return real_build(self, *args, **kwargs)
    monkeypatch.setattr(pyscf_df.DF, "build", df_spy)
    return counts


def _pair_job(method, background_charge):
    atoms = nh4cl_pair([0, 0, 0])
    return QMJob.build([a for a, _ in atoms], [x for _, x in atoms], 0, method,
                       bg_coords=[[0.0, 0.0, 4.0], [0.0, 3.0, -3.0]], bg_charges=[background_charge, -0.3])


def _two_passes(method, guess_dir, reuse, builds):
    """The same atoms in two backgrounds, as in two embedding passes; the second pass's result and
    its potential builds."""
    backend = get_backend("cpu")
    config = RunConfig(guess_dir=str(guess_dir), reuse=reuse, check_cycle=not reuse)
    backend.compute(_pair_job(method, 0.5), config)
    builds.update(veff=0, df=0)
    result = backend.compute(_pair_job(method, 0.45), config)
    return result, dict(builds)


@pytest.mark.parametrize("method", [HF, DFT], ids=["HF", "B3LYP"])
def test_the_next_pass_reuses_its_potential_and_df_tensor_and_gets_the_same_answer(method, tmp_path, builds):
    new, new_builds = _two_passes(method, tmp_path / "reuse", True, builds)
    old, old_builds = _two_passes(method, tmp_path / "rebuild", False, builds)
    assert abs(new.energy_hartree - old.energy_hartree) < 1e-8
    assert np.max(np.abs(np.array(new.charges) - old.charges)) < 1e-5
    assert new.scf_cycles == old.scf_cycles
    # before: one build for the starting density, one per cycle, one check; now only one per cycle
    assert old_builds["veff"] == old.scf_cycles + 2
    assert new_builds["veff"] == new.scf_cycles
    assert (old_builds["df"], new_builds["df"]) == (1, 0)


def test_the_potential_key_names_what_the_potential_depends_on():
    assert potential_key(DFT) == potential_key(replace(DFT, conv_tol=1e-6, scheme="npa"))
    assert potential_key(DFT) != potential_key(replace(DFT, grid_level=3))
    assert potential_key(DFT) != potential_key(replace(DFT, xc="PBE0"))
    assert potential_key(HF) == potential_key(replace(HF, grid_level=3))  # HF has no grid


def test_a_potential_on_another_grid_is_not_reused(tmp_path, builds):
    backend = get_backend("cpu")
    config = RunConfig(guess_dir=str(tmp_path))
    backend.compute(_pair_job(DFT, 0.5), config)  # grid 1: a cheap pass
    builds.update(veff=0)
    fine = replace(DFT, grid_level=3)
    result = backend.compute(_pair_job(fine, 0.45), config)
    assert builds["veff"] == result.scf_cycles + 1  # the starting density's potential is built afresh
    reference = backend.compute(_pair_job(fine, 0.45), RunConfig())
    assert abs(result.energy_hartree - reference.energy_hartree) < 1e-8


def test_a_df_tensor_above_the_cap_is_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr("polcg.qm.reuse.DF_CACHE_MB", 0.0)
    job = _pair_job(HF, 0.5)
    get_backend("cpu").compute(job, RunConfig(guess_dir=str(tmp_path)))
    assert not (tmp_path / "df").exists()
    monkeypatch.undo()
    get_backend("cpu").compute(job, RunConfig(guess_dir=str(tmp_path)))
    path = df_path(str(tmp_path), job.geometry_key(), job.method.auxbasis)
    mol = build_mol(job, RunConfig())
    naux_nao_pair = np.load(path).shape
    assert naux_nao_pair[1] == mol.nao * (mol.nao + 1) // 2


def test_gebf_with_reuse_matches_gebf_without_and_leaves_no_df_tensors(nh4cl_cluster, tmp_path):
    clus = load_cluster(nh4cl_cluster, total_charge=0)
    settings = GEBFSettings(xi=3.0, eta=2)
    runs = {reuse: compute_charges(clus, HF, settings, options=RunOptions(
        workers=1, workdir=str(tmp_path / str(reuse)), reuse=reuse, check_cycle=not reuse)) for reuse in (True, False)}
    assert np.max(np.abs(np.array(runs[True].atom_charges) - runs[False].atom_charges)) < 1e-5
    assert abs(runs[True].energy_hartree - runs[False].energy_hartree) < 1e-7
    assert runs[True].iterations == runs[False].iterations
    assert not (tmp_path / "True" / "guess" / "df").exists()


@pytest.mark.parametrize("method", [HF, DFT], ids=["HF", "B3LYP"])
def test_a_warm_start_tagged_with_its_orbitals_gives_the_potential_of_the_plain_density(method):
    """`guess.with_orbitals` factors a warm start as PySCF's own cycles tag theirs: the same
    two-electron potential (J, K and XC) as the plain matrix, for a saved density and for a
    principal block of one (a derived subsystem's start), restricted and unrestricted."""
    from pyscf import scf

    from polcg.qm.guess import with_orbitals

    job = _pair_job(method, 0.5)
    mol = build_mol(job, RunConfig())
    mf = get_backend("cpu").build_scf(mol, job)
    mf.kernel()
    dm = np.asarray(mf.make_rdm1())
    block = dm.copy()
    cl = mol.aoslice_by_atom()[-1]  # keep the NH4 block, zero the Cl block's couplings: still PSD
    block[cl[2]:, :cl[2]] = block[:cl[2], cl[2]:] = 0.0
    for start in (dm, block):
        tagged = with_orbitals(start)
        assert tagged.mo_coeff.shape == (mol.nao, mol.nao) and np.all(tagged.mo_occ >= 0)
        assert np.allclose((tagged.mo_coeff * tagged.mo_occ) @ tagged.mo_coeff.T, start, atol=1e-10)
        assert np.max(np.abs(mf.get_veff(mol, tagged) - mf.get_veff(mol, start))) < 1e-9
    uhf = scf.UHF(mol).density_fit() if method.is_hf else None
    if uhf is not None:
        pair = np.array([dm, dm]) * 0.5
        va, vb = uhf.get_veff(mol, with_orbitals(pair)), uhf.get_veff(mol, pair)
        assert np.max(np.abs(np.asarray(va) - vb)) < 1e-9
    assert with_orbitals(None) is None


def test_the_df_exchange_of_a_tagged_start_contracts_with_its_occupied_orbitals(monkeypatch):
    """The point of the tag: PySCF's density-fitted K takes its orbital path (nocc columns) for the
    warm start instead of the whole-matrix path."""
    from pyscf.df import df_jk

    from polcg.qm.guess import with_orbitals

    job = _pair_job(HF, 0.5)
    mol = build_mol(job, RunConfig())
    mf = get_backend("cpu").build_scf(mol, job)
    mf.kernel()
    dm = np.asarray(mf.make_rdm1())
    seen = []
    real = df_jk.get_jk

    def spy(dfobj, dms, *args, **kwargs):
        seen.append(getattr(dms, "mo_coeff", None) is not None)
        return real(dfobj, dms, *args, **kwargs)
    monkeypatch.setattr(df_jk, "get_jk", spy)
    mf.get_veff(mol, dm)
    mf.get_veff(mol, with_orbitals(dm))
    assert seen == [False, True]
    assert int(np.sum(with_orbitals(dm).mo_occ > 0)) == mol.nelectron // 2
