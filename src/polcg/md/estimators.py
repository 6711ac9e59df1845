"""Property estimators on arrays (no trajectory I/O): block averaging, MSD and self-diffusion,
Einstein–Helfand and Nernst–Einstein conductivity, the dipole-fluctuation dielectric constant.

Input units: time ps, positions nm, charges e, volume nm³, temperature K; outputs say their
units in their names. Every estimate comes with a standard error and what it was fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from polcg.errors import InputError

KB_J_K = 1.380649e-23
E_C = 1.602176634e-19
EPS0_F_M = 8.8541878128e-12
NM, PS = 1e-9, 1e-12
#: Yeh–Hummer constant for a cubic periodic box
YEH_HUMMER_XI = 2.837297


@dataclass(frozen=True)
class Estimate:
    value: float
    error: float  # standard error
    detail: str = ""  # how it was obtained (blocks, fit range)


@dataclass(frozen=True)
class MSDCurve:
    """A mean squared displacement against lag and the lag window a slope was fitted over (None: no
    diffusive window; the apparent fit's lags then), for plots of what a D or σ was fitted on."""

    lag_ps: np.ndarray
    msd: np.ndarray  # nm² per particle, or (e nm)² for the collective translational dipole
    window_ps: tuple[float, float]
    diffusive: bool
    slope: float  # the fitted d(MSD)/dt over the window, msd units per ps


def block_average(x: np.ndarray, min_blocks: int = 8) -> Estimate:
    """Mean and its standard error of a correlated series by Flyvbjerg–Petersen blocking.

    The series is halved repeatedly (pairwise means); the error estimate at each level rises
    until the blocks are longer than the correlation time, then levels off. The reported error
    is the largest one among levels with at least `min_blocks` blocks (a conservative plateau)."""
    x = np.asarray(x, dtype=float).ravel()
    if x.size < 2 * min_blocks:
        raise InputError(f"block averaging needs at least {2 * min_blocks} samples, got {x.size}")
    mean, best, level, n_blocks = float(x.mean()), 0.0, 0, x.size
    while x.size >= min_blocks:
        err = float(np.sqrt(x.var(ddof=1) / x.size))
        if err > best:
            best, n_blocks = err, x.size
        x = 0.5 * (x[: x.size // 2 * 2 : 2] + x[1 : x.size // 2 * 2 : 2])
        level += 1
    return Estimate(mean, best, f"blocking: plateau at {n_blocks} blocks")


def msd_fft(x: np.ndarray) -> np.ndarray:
    """Mean-squared displacement over all time origins of unwrapped positions x (T, N, 3) or (T, 3),
    averaged over particles: msd[k] = <|x(t+k) − x(t)|²> (Calandrini et al., FFT form)."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 2:
        x = x[:, None, :]
    n = x.shape[0]
    d = np.sum(x**2, axis=2)  # (T, N)
    d = np.vstack([d, np.zeros((1, d.shape[1]))])
    s2 = np.zeros((n, x.shape[1]))
    for dim in range(3):
        f = np.fft.rfft(x[:, :, dim], n=2 * n, axis=0)
        s2 += np.fft.irfft(f * f.conj(), axis=0)[:n]
    s2 /= (n - np.arange(n))[:, None]
    q = 2.0 * d[:-1].sum(axis=0)
    s1 = np.zeros_like(s2)
    for m in range(n):
        q = q - d[m - 1] - d[n - m]
        s1[m] = q / (n - m)
    return (s1 - 2.0 * s2).mean(axis=1)


def diffusive_window(t: np.ndarray, msd: np.ndarray, tolerance: float = 0.15, n_blocks: int = 10) -> tuple[int, int]:
    """Index range [i, j) of the longest stretch of lags where the log–log slope of the MSD is
    within `tolerance` of 1 (the diffusive regime), searched within the first 1/(2 n_blocks) of
    the lags (5 % for ten blocks): longer lags have few independent time origins, and each of the
    error blocks must hold the window twice."""
    end = max(5, len(t) // (2 * n_blocks))
    tt, mm = t[1:end], msd[1:end]
    if np.any(mm <= 0):
        raise InputError("MSD is not positive: are the positions unwrapped and moving?")
    slope = np.gradient(np.log(mm), np.log(tt))
    ok = np.abs(slope - 1.0) < tolerance
    best, start = (0, 0), None
    for k, flag in enumerate(np.append(ok, False)):
        if flag and start is None:
            start = k
        elif not flag and start is not None:
            best = max(best, (start, k), key=lambda r: r[1] - r[0])
            start = None
    if best[1] - best[0] < 3:
        raise InputError("no diffusive regime (log-log MSD slope never near 1): run longer")
    return best[0] + 1, best[1] + 1


def _slope(t: np.ndarray, y: np.ndarray) -> float:
    return float(np.polyfit(t, y, 1)[0])


def _blocks(series: np.ndarray, n_blocks: int) -> list[np.ndarray]:
    size = series.shape[0] // n_blocks
    if size < 16:
        raise InputError(f"trajectory too short for {n_blocks} blocks of >= 16 frames")
    return [series[k * size:(k + 1) * size] for k in range(n_blocks)]


def self_diffusion(x_nm: np.ndarray, dt_ps: float, n_blocks: int = 10) -> Estimate:
    """Self-diffusion coefficient (m²/s) from unwrapped centre-of-mass positions (T, N, 3):
    D = slope/6 of the MSD over the diffusive window, error from `n_blocks` time blocks."""
    return self_diffusion_fit(x_nm, dt_ps, n_blocks)[0]


def self_diffusion_fit(x_nm: np.ndarray, dt_ps: float, n_blocks: int = 10) -> tuple[Estimate, MSDCurve]:
    """`self_diffusion` and the MSD it was fitted on."""
    t = np.arange(x_nm.shape[0]) * dt_ps
    msd = msd_fft(x_nm)
    i, j = diffusive_window(t, msd, n_blocks=n_blocks)
    d_full = _slope(t[i:j], msd[i:j]) / 6.0
    per_block = []
    for block in _blocks(np.asarray(x_nm), n_blocks):
        tb, mb = np.arange(block.shape[0]) * dt_ps, msd_fft(block)
        hi = min(j, len(tb) // 2)
        lo = min(i, hi - 3)
        per_block.append(_slope(tb[lo:hi], mb[lo:hi]) / 6.0)
    err = float(np.std(per_block, ddof=1) / np.sqrt(n_blocks))
    scale = NM**2 / PS
    return (Estimate(d_full * scale, err * scale, f"fit {t[i]:.3g}-{t[j - 1]:.3g} ps, {n_blocks} blocks"),
            MSDCurve(t, msd, (float(t[i]), float(t[j - 1])), True, 6.0 * d_full))


def apparent_diffusion(x_nm: np.ndarray, dt_ps: float, n_blocks: int = 10) -> Estimate:
    """Where the MSD is not yet diffusive: slope/6 of the MSD over the last half of the lags the
    diffusive window is searched in, with the log-log slope there. The MSD's local slope falls towards
    6D as the lag grows, so this is an upper bound of D (error from `n_blocks` time blocks)."""
    return apparent_diffusion_fit(x_nm, dt_ps, n_blocks)[0]


def apparent_diffusion_fit(x_nm: np.ndarray, dt_ps: float, n_blocks: int = 10) -> tuple[Estimate, MSDCurve]:
    """`apparent_diffusion` and the MSD it was fitted on."""
    t = np.arange(x_nm.shape[0]) * dt_ps
    msd = msd_fft(x_nm)
    end = max(5, len(t) // (2 * n_blocks))
    i = max(1, end // 2)
    d = _slope(t[i:end], msd[i:end]) / 6.0
    loglog = float(np.polyfit(np.log(t[i:end]), np.log(msd[i:end]), 1)[0])
    per_block = []
    for block in _blocks(np.asarray(x_nm), n_blocks):
        mb = msd_fft(block)
        hi = min(end, len(mb) // 2)
        per_block.append(_slope(t[min(i, hi - 3):hi], mb[min(i, hi - 3):hi]) / 6.0)
    err = float(np.std(per_block, ddof=1) / np.sqrt(n_blocks))
    scale = NM**2 / PS
    return (Estimate(d * scale, err * scale, f"apparent (upper bound; not diffusive): fit {t[i]:.3g}-{t[end - 1]:.3g} "
                     f"ps, log-log slope {loglog:.2f}, {n_blocks} blocks"),
            MSDCurve(t, msd, (float(t[i]), float(t[end - 1])), False, 6.0 * d))


def yeh_hummer_m2_s(temperature_k: float, viscosity_pa_s: float, box_nm: float) -> float:
    """Finite-size correction k_B T ξ / (6π η L) (m²/s) to add to a periodic-box D."""
    return KB_J_K * temperature_k * YEH_HUMMER_XI / (6.0 * np.pi * viscosity_pa_s * box_nm * NM)


def einstein_helfand(x_nm: np.ndarray, charges_e: np.ndarray, volume_nm3: float, temperature_k: float,
                     dt_ps: float, n_blocks: int = 10) -> Estimate:
    """Ionic conductivity (S/m) from the collective translational dipole M_J = Σ q_i r_i of
    unwrapped ion centres of mass (T, N, 3): σ = slope of <|ΔM_J|²> / (6 V k_B T)."""
    return einstein_helfand_fit(x_nm, charges_e, volume_nm3, temperature_k, dt_ps, n_blocks)[0]


def einstein_helfand_fit(x_nm: np.ndarray, charges_e: np.ndarray, volume_nm3: float, temperature_k: float,
                         dt_ps: float, n_blocks: int = 10) -> tuple[Estimate, MSDCurve]:
    """`einstein_helfand` and the MSD of M_J it was fitted on."""
    m = np.einsum("tnk,n->tk", np.asarray(x_nm, dtype=float), np.asarray(charges_e, dtype=float))
    t = np.arange(m.shape[0]) * dt_ps
    msd = msd_fft(m)
    i, j = diffusive_window(t, msd, tolerance=0.3, n_blocks=n_blocks)
    factor = (E_C * NM) ** 2 / PS / (6.0 * volume_nm3 * NM**3 * KB_J_K * temperature_k)
    slope = _slope(t[i:j], msd[i:j])
    sigma = slope * factor
    per_block = []
    for block in _blocks(m, n_blocks):
        tb, mb = np.arange(block.shape[0]) * dt_ps, msd_fft(block)
        hi = min(j, len(tb) // 2)
        per_block.append(_slope(tb[min(i, hi - 3):hi], mb[min(i, hi - 3):hi]) * factor)
    err = float(np.std(per_block, ddof=1) / np.sqrt(n_blocks))
    return (Estimate(sigma, err, f"fit {t[i]:.3g}-{t[j - 1]:.3g} ps, {n_blocks} blocks"),
            MSDCurve(t, msd, (float(t[i]), float(t[j - 1])), True, slope))


def nernst_einstein(diffusion_m2_s: dict[float, float], counts: dict[float, int], volume_nm3: float,
                    temperature_k: float) -> float:
    """σ_NE (S/m) = e² / (V k_B T) Σ_species N q² D; keys of both dicts are the charges q (e)."""
    total = sum(counts[q] * q**2 * d for q, d in diffusion_m2_s.items())
    return E_C**2 * total / (volume_nm3 * NM**3 * KB_J_K * temperature_k)


def dielectric_constant(dipole_e_nm: np.ndarray, volume_nm3: float, temperature_k: float,
                        eps_inf: float = 1.0) -> Estimate:
    """Static ε from the fluctuations of the (rotational) box dipole M (T, 3) with conducting
    (tin-foil) boundaries: ε = ε_∞ + (<M²> − <M>²) / (3 ε₀ V k_B T). For a conducting liquid M
    must be the sum of the ions' dipoles about their own centres of mass, not Σ q r."""
    m = np.asarray(dipole_e_nm, dtype=float) * E_C * NM
    factor = 1.0 / (3.0 * EPS0_F_M * volume_nm3 * NM**3 * KB_J_K * temperature_k)
    mean_sq = block_average(np.sum(m**2, axis=1) * factor)
    sq_mean = float(np.sum(m.mean(axis=0) ** 2) * factor)
    return Estimate(eps_inf + mean_sq.value - sq_mean, mean_sq.error, mean_sq.detail)
