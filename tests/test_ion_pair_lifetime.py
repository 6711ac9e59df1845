"""Ion-pair lifetimes (`polcg analyze --properties ion_pair_lifetime`), added as one module of
`polcg.md.properties`.

Synthetic: cations on a lattice, each with one partner anion that is paired (0.5 nm) or not
(1.5 nm) as a Markov chain per frame: a pair breaks with probability a; a free cation binds with
probability b, to its last partner with probability q, else to a fresh anion (and never again to the
old one). The continuous TCF is then (1 − a)^k, lifetime −Δt/ln(1 − a); the intermittent one is the
(P, P) element of the k-th power of the chain's transient matrix, whose integral is known. Every
molecule sits in a random periodic image, so the minimum image is exercised.

Real: a short CG run, where the raw TCFs must equal a direct count over every pair and origin.
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from polcg.errors import InputError
from polcg.md.properties import PROPERTIES, Context
from polcg.md.series import Series

A, B, Q, DT = 0.1, 0.2, 0.5, 0.5
N_CAT, N_AN = 50, 400


def telegraph(frames: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres of mass (frames, N_CAT + N_AN, 3) of the Markov pairing model above, and the box."""
    rng = np.random.default_rng(seed)
    box = np.array([20.0, 20.0, 8.0])
    sites = np.array([(4 * i + 2, 4 * j + 2, 4 * k + 2) for i in range(5) for j in range(5) for k in range(2)], float)
    spots = rng.uniform(0, box, (20000, 3))  # where free anions wait: over 2 nm from every cation
    gap = spots[:, None, :] - sites[None]
    spots = spots[np.linalg.norm(gap - box * np.round(gap / box), axis=2).min(axis=1) > 2.0]
    paired, partner, queue = rng.random(N_CAT) < B / (A + B), np.arange(N_CAT), list(range(N_CAT, N_AN))
    com = np.empty((frames, N_CAT + N_AN, 3))
    for f in range(frames):
        com[f, :N_CAT] = sites
        com[f, N_CAT:] = spots[rng.integers(len(spots), size=N_AN)]
        u = rng.normal(size=(N_CAT, 3))
        dist = np.where(paired, 0.5, 1.5) + rng.uniform(-0.05, 0.05, N_CAT)
        com[f, N_CAT + partner] = sites + dist[:, None] * u / np.linalg.norm(u, axis=1)[:, None]
        x = rng.random(N_CAT)
        breaks, binds = paired & (x < A), ~paired & (x < B)
        for i in np.flatnonzero(binds & (rng.random(N_CAT) >= Q)):  # a fresh partner; the old one leaves
            queue.append(partner[i])
            partner[i] = queue.pop(0)
        paired = (paired & ~breaks) | binds
    com += box * rng.integers(-2, 3, size=com.shape) - 1.5  # random images; pairs across the box faces
    return com, box


def exact_intermittent(lags: int) -> tuple[np.ndarray, float]:
    """C(k) = [M^k]_PP of the transient chain (P, U), and ∫ C dt of its continuous-time interpolation."""
    m = np.array([[1 - A, A], [B * Q, 1 - B]])
    lam, vec = np.linalg.eig(m)
    weight = vec[0] * np.linalg.inv(vec)[:, 0]
    c = np.array([np.linalg.matrix_power(m, k)[0, 0] for k in range(lags)])
    return c, float(np.sum(weight / -np.log(lam))) * DT


def _context(com: np.ndarray, box: np.ndarray, blocks: int) -> Context:
    t = com.shape[0]
    series = Series(np.arange(t) * DT, com, np.zeros((t, 3)), np.full(t, box.prod()),
                    ("cation",) * N_CAT + ("anion",) * N_AN, ("C",) * N_CAT + ("A",) * N_AN,
                    np.r_[np.ones(N_CAT), -np.ones(N_AN)])
    boxes = PROPERTIES.get("ion_pair_lifetime").prepare(None, None)
    boxes.add(SimpleNamespace(box_nm=np.tile(box, (t, 1))), 0)
    return Context(None, SimpleNamespace(blocks=blocks), series, None, DT, {"ion_pair_lifetime": boxes})


def test_markov_pairs_give_the_analytic_lifetimes():
    ctx = _context(*telegraph(4000, seed=2), blocks=10)
    raw = PROPERTIES.get("ion_pair_lifetime").compute(ctx)
    assert 0.55 < raw["cutoff_nm"] < 1.45  # first minimum of g(r): between the paired and the unpaired shell
    k = np.arange(60)
    np.testing.assert_allclose(raw["continuous"][k], (1 - A) ** k, atol=0.01)
    c_exact, tau_i = exact_intermittent(60)
    np.testing.assert_allclose(raw["intermittent"][k], c_exact, atol=0.02)
    cont, inter = ctx.values["ion_pair_lifetime_continuous_ps"], ctx.values["ion_pair_lifetime_intermittent_ps"]
    tau_c = -DT / math.log(1 - A)  # 4.75 ps
    assert cont.value == pytest.approx(tau_c, rel=0.02) and 0 < cont.error < 0.05 * tau_c
    assert inter.value == pytest.approx(tau_i, rel=0.04) and 0 < inter.error < 0.05 * tau_i  # tau_i 9.75 ps
    assert not ctx.notes


def test_a_trajectory_too_short_for_the_blocks_is_refused_in_one_line():
    ctx = _context(*telegraph(150, seed=3), blocks=10)
    with pytest.raises(InputError, match="continuous: trajectory too short for 10 blocks of >= 16 frames"):
        PROPERTIES.get("ion_pair_lifetime").compute(ctx)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    from polcg.cg.builders import IonsSpec, build_vacg
    from polcg.cg.model import Epsilon
    from polcg.md.run import RunSettings, simulate

    d = tmp_path_factory.mktemp("ipl") / "run"
    model = build_vacg(IonsSpec("C4mim", "PF6"), water=None, eps_il=Epsilon(value=2.0))
    simulate(model, RunSettings(n_pairs=40, temperature_k=500.0, pressure_bar=None, equilibrate_ps=5.0,
                                production_ps=80.0, report_ps=0.25, segment_ps=40.0, platform="CPU",
                                timestep_fs=10.0, seed=2), d)
    return d


def test_selected_by_name_only_and_written_by_the_cli(short_run, tmp_path):
    from polcg.cli import app
    from polcg.md.analysis import AnalysisSettings, Properties

    assert "ion_pair_lifetime" not in AnalysisSettings().properties
    res = CliRunner().invoke(app, ["analyze", str(short_run), "--properties", "ion-pair-lifetime", "--blocks", "2",
                                   "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    props = Properties.load(tmp_path / "a" / "properties.json")
    cont, inter = props.values["ion_pair_lifetime_continuous_ps"], props.values["ion_pair_lifetime_intermittent_ps"]
    assert 0 < cont.error < cont.value < inter.value and inter.error > 0
    assert list(props.values) == ["ion_pair_lifetime_continuous_ps", "ion_pair_lifetime_intermittent_ps"]
    header = (tmp_path / "a" / "ion_pair_tcf.csv").read_text().splitlines()[0]
    assert header == "t_ps,continuous,intermittent"
    assert json.loads((tmp_path / "a" / "properties.json").read_text())["provenance"]["settings"]["properties"] == [
        "ion_pair_lifetime"]


def test_real_run_tcfs_equal_a_direct_count(short_run):
    from polcg.md.analysis import AnalysisSettings, analyze
    from polcg.md.series import collect
    from polcg.md.trajectory import Run

    props = analyze(short_run, AnalysisSettings(properties=("ion_pair_lifetime",), blocks=2))
    raw = props.raw["ion_pair_lifetime"]
    assert 0.6 < raw["cutoff_nm"] < 1.2
    run = Run.open(short_run)
    series = collect(run)
    box = np.concatenate([c.box_nm for c in run.chunks()])[:, None, None, :]
    roles = np.array(series.molecule_role)
    d = series.com_nm[:, roles == "cation"][:, :, None] - series.com_nm[:, roles == "anion"][:, None]
    d -= box * np.round(d / box)
    h = (np.linalg.norm(d, axis=-1) < raw["cutoff_nm"]).reshape(d.shape[0], -1)  # (T, every pair)
    t, mean = h.shape[0], h.mean()
    for k in (1, 8, 40):
        stayed = np.lib.stride_tricks.sliding_window_view(h, k + 1, axis=0).all(axis=-1).sum()
        assert raw["continuous"][k] == pytest.approx(stayed / h[:t - k].sum(), rel=1e-9)
        both = (h[:t - k] & h[k:]).mean()
        assert raw["intermittent"][k] == pytest.approx((both - mean**2) / (mean - mean**2), rel=1e-9)
