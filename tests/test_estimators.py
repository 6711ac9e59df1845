"""Property estimators on synthetic data with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from polcg.errors import InputError
from polcg.md import estimators as est


def test_msd_fft_equals_direct_average():
    rng = np.random.default_rng(0)
    x = np.cumsum(rng.normal(size=(200, 3, 3)), axis=0)
    direct = [np.mean(np.sum((x[k:] - x[:-k or None]) ** 2, axis=2)) for k in range(1, 50)]
    np.testing.assert_allclose(est.msd_fft(x)[1:50], direct, rtol=1e-10)


def test_block_average_of_ar1_noise_gives_the_true_error():
    """AR(1) x_t = φ x_{t−1} + ε: the variance of the mean is σ²/N (1+φ)/(1−φ), σ² = 1/(1−φ²)."""
    phi, n = 0.9, 2**16
    rng = np.random.default_rng(1)
    noise = rng.normal(size=n)
    x = np.empty(n)
    x[0] = noise[0] / np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + noise[t]
    true = np.sqrt(1.0 / (1 - phi**2) / n * (1 + phi) / (1 - phi))
    got = est.block_average(x)
    naive = x.std(ddof=1) / np.sqrt(n)
    assert got.error == pytest.approx(true, rel=0.2)
    assert got.error > 3 * naive  # the correlation is accounted for
    assert abs(got.value) < 4 * true


def test_self_diffusion_of_a_random_walk():
    d_nm2_ps, dt, rng = 0.01, 0.5, np.random.default_rng(2)
    steps = rng.normal(scale=np.sqrt(2 * d_nm2_ps * dt), size=(4000, 50, 3))
    result = est.self_diffusion(np.cumsum(steps, axis=0), dt)
    assert result.value == pytest.approx(d_nm2_ps * 1e-6, rel=0.05)  # nm²/ps → m²/s
    assert abs(result.value - d_nm2_ps * 1e-6) < 4 * result.error


def test_the_msd_written_is_the_one_d_was_fitted_on_and_diffusive_in_its_window(tmp_path):
    from polcg.md.msd_files import local_exponent, write_msd

    d_nm2_ps, dt, rng = 0.01, 0.5, np.random.default_rng(5)
    x = np.cumsum(rng.normal(scale=np.sqrt(2 * d_nm2_ps * dt), size=(4000, 50, 3)), axis=0)
    d, curve = est.self_diffusion_fit(x, dt)
    assert d == est.self_diffusion(x, dt) and curve.diffusive
    assert curve.slope / 6.0 * 1e-6 == pytest.approx(d.value, rel=1e-12)  # the slope shown is the D reported
    lo, hi = curve.window_ps
    inside = (curve.lag_ps >= lo) & (curve.lag_ps <= hi)
    assert inside.sum() >= 3 and np.all(np.abs(local_exponent(curve.lag_ps[inside], curve.msd[inside]) - 1) < 0.2)
    files = write_msd({"walk": curve}, tmp_path, "msd", "nm2")
    table = np.loadtxt(files["msd_csv"], delimiter=",", skiprows=1)
    k = np.rint(table[:, 0] / dt).astype(int)
    assert np.all(np.diff(k) > 0) and k[0] == 1 and k[-1] == len(curve.lag_ps) - 1
    np.testing.assert_allclose(table[:, 1], curve.msd[k], rtol=1e-5)
    assert files["msd_png"].stat().st_size > 10_000


def test_einstein_helfand_of_independent_ions_is_nernst_einstein():
    rng = np.random.default_rng(3)
    n_pairs, dt, d_cat, d_an = 40, 1.0, 0.004, 0.006
    charges = np.r_[np.full(n_pairs, 0.8), np.full(n_pairs, -0.8)]
    scale = np.sqrt(2 * np.r_[np.full(n_pairs, d_cat), np.full(n_pairs, d_an)] * dt)
    x = np.cumsum(rng.normal(size=(6000, 2 * n_pairs, 3)) * scale[None, :, None], axis=0)
    volume, temp = 27.0, 300.0
    eh = est.einstein_helfand(x, charges, volume, temp, dt)
    ne = est.nernst_einstein({0.8: d_cat * 1e-6, -0.8: d_an * 1e-6}, {0.8: n_pairs, -0.8: n_pairs}, volume, temp)
    assert abs(eh.value - ne) < 3 * eh.error + 0.05 * ne
    assert eh.error < 0.3 * ne


def test_dielectric_of_free_dipoles_matches_kirkwood():
    """Independent, freely rotating dipoles: ε − 1 = N μ² / (3 ε₀ V k_B T) (Kirkwood, g_K = 1)."""
    rng = np.random.default_rng(4)
    n, mu, volume, temp = 500, 0.05, 125.0, 300.0  # e·nm, nm³, K
    u = rng.normal(size=(4000, n, 3))
    u /= np.linalg.norm(u, axis=2, keepdims=True)
    m = mu * u.sum(axis=1)
    got = est.dielectric_constant(m, volume, temp)
    kirkwood = 1.0 + n * (mu * est.E_C * est.NM) ** 2 / (3 * est.EPS0_F_M * volume * est.NM**3 * est.KB_J_K * temp)
    assert got.value == pytest.approx(kirkwood, rel=0.05)
    assert abs(got.value - kirkwood) < 4 * got.error


def test_yeh_hummer_magnitude():
    # η = 0.89 mPa s, L = 3 nm, 298.15 K: 4.1164e-21 J × 2.837297 / (6π × 0.89e-3 Pa s × 3e-9 m) = 2.3207e-10
    assert est.yeh_hummer_m2_s(298.15, 0.89e-3, 3.0) == pytest.approx(2.3207e-10, rel=1e-4)


def test_no_diffusive_regime_is_an_error():
    t = np.arange(100) * 1.0
    x = np.stack([t**2, np.zeros_like(t), np.zeros_like(t)], axis=1)[:, None, :] * 1e-3  # ballistic
    with pytest.raises(InputError, match="diffusive"):
        est.self_diffusion(x, 1.0)


def test_apparent_diffusion_bounds_a_caged_walk_from_above():
    # particles rattle in cages (fast OU, a 0.08 nm2 plateau) whose centres random-walk slowly with D: the
    # MSD is nearly flat over the estimator's lags (no diffusive regime), its slope there still ~6 D
    d_nm2_ps, dt, rng = 1e-5, 1.0, np.random.default_rng(3)
    centres = np.cumsum(rng.normal(scale=np.sqrt(2 * d_nm2_ps * dt), size=(4000, 40, 3)), axis=0)
    rattle = np.zeros_like(centres)
    for k in range(1, len(rattle)):
        rattle[k] = 0.5 * rattle[k - 1] + rng.normal(scale=0.1, size=(40, 3))
    x = centres + rattle
    with pytest.raises(InputError):
        est.self_diffusion(x, dt, n_blocks=10)
    bound = est.apparent_diffusion(x, dt, n_blocks=10)
    assert 0.5 * d_nm2_ps * 1e-6 < bound.value < 3 * d_nm2_ps * 1e-6
    assert "upper bound" in bound.detail and "log-log slope" in bound.detail
    walk = np.cumsum(rng.normal(scale=np.sqrt(2 * d_nm2_ps * dt), size=(4000, 40, 3)), axis=0)
    assert est.apparent_diffusion(walk, dt).value == pytest.approx(d_nm2_ps * 1e-6, rel=0.1)  # diffusive: = D
