"""Files of the MSD fits behind D and σ: a CSV of MSD against lag on log-spaced lags, and a plot of
the MSD (log–log, the fitted line over the window shaded) beside its local log–log slope, which is
1 where the motion is diffusive, so a reader sees where each coefficient was read off."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from polcg.io import write_csv_atomic
from polcg.md.estimators import MSDCurve

#: points written per curve (log-spaced lags)
POINTS = 300


def log_lags(n: int, points: int = POINTS) -> np.ndarray:
    """Indices 1 … n−1 spaced evenly in log, without repeats."""
    return np.unique(np.round(np.geomspace(1, max(n - 1, 1), points)).astype(int))


def local_exponent(lag_ps: np.ndarray, msd: np.ndarray) -> np.ndarray:
    """d ln MSD / d ln t at every lag (> 0) given."""
    return np.gradient(np.log(msd), np.log(lag_ps))


def write_msd(curves: dict[str, MSDCurve], out_dir: Path, stem: str, unit: str) -> dict[str, Path]:
    """`<stem>.csv` (lag_ps, one msd column per curve) and `<stem>.png`; {role: path}."""
    if not curves:
        return {}
    out = Path(out_dir)
    files = {f"{stem}_csv": out / f"{stem}.csv", f"{stem}_png": out / f"{stem}.png"}
    names = list(curves)
    n = min(len(c.lag_ps) for c in curves.values())
    idx = log_lags(n)
    lag = curves[names[0]].lag_ps[idx]
    rows = ([f"{t:.6g}", *(f"{curves[k].msd[i]:.6g}" for k in names)] for t, i in zip(lag, idx))
    write_csv_atomic(files[f"{stem}_csv"], ["lag_ps", *(f"msd_{k}_{unit}" for k in names)], rows)
    _png(curves, idx[lag <= lag[-1] / 2], files[f"{stem}_png"], unit)
    return files


def _png(curves: dict[str, MSDCurve], idx: np.ndarray, path: Path, unit: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9.6, 3.8), dpi=120)
    for k, (name, c) in enumerate(curves.items()):
        color, (lo, hi) = f"C{k}", c.window_ps
        t, m = c.lag_ps[idx], c.msd[idx]
        ax.loglog(t, m, color=color, lw=1.2, label=name + ("" if c.diffusive else " (not diffusive)"))
        inside = (c.lag_ps >= lo) & (c.lag_ps <= hi)
        offset = float(np.mean(c.msd[inside] - c.slope * c.lag_ps[inside]))
        span = np.array([lo, hi])
        ax.loglog(span, c.slope * span + offset, color=color, lw=3, alpha=0.5)
        bx.semilogx(t, local_exponent(t, m), color=color, lw=1.2, label=f"{name}: fit {lo:.4g}-{hi:.4g} ps")
        bx.axvspan(lo, hi, color=color, alpha=0.12)
    bx.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.set_xlabel("lag / ps")
    ax.set_ylabel(f"MSD / {unit.replace('2', '²')}")
    bx.set_xlabel("lag / ps")
    bx.set_ylabel("d ln MSD / d ln t  (1: diffusive)")
    bx.set_ylim(0.0, 1.5)
    ax.legend(fontsize=7)
    bx.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
