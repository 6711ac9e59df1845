"""Picking ε_IL from a scan: each property is fitted against ε_IL (least squares, quadratic with three
or more grid points, linear with two), and the score, the weighted mean squared relative deviation
from experiment, Σ w (p(ε)/p_exp − 1)² / Σ w, is minimised on a fine grid between the scan's ends
(no extrapolation). Pure functions on numbers: no simulation here."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from polcg.errors import InputError

FINE_POINTS = 401
# transport changes by orders of magnitude with the charges (thermally activated): fitted as ln(value)
LOG_KEYS = ("D_cation_m2_s", "D_anion_m2_s", "conductivity_S_m")


@dataclass(frozen=True)
class ScoreTarget:
    key: str  # report key, e.g. density_kg_m3
    value: float  # experiment, same unit as the simulated values
    weight: float = 1.0
    source: str = ""


@dataclass(frozen=True)
class Choice:
    eps_il: float
    score: float
    predicted: dict[str, float]
    fits: dict[str, list[float]]  # key → polynomial coefficients, highest power first
    grid_scores: list[float]
    method: str
    dropped: tuple[str, ...] = field(default=())


def fit_degree(n_points: int) -> int:
    return min(2, n_points - 1)


def score(values: dict[str, float], targets: list[ScoreTarget]) -> float:
    """Weighted mean squared relative deviation of `values` from the targets they have."""
    used = [t for t in targets if np.isfinite(values.get(t.key, np.nan))]
    if not used:
        return float("nan")
    return float(sum(t.weight * (values[t.key] / t.value - 1.0) ** 2 for t in used) / sum(t.weight for t in used))


def predict(key: str, coefficients, eps):
    """A fitted property at `eps` (transport fits are of its logarithm)."""
    y = np.polyval(coefficients, eps)
    return np.exp(y) if key in LOG_KEYS else y


def choose_eps(grid: list[float], values: dict[str, list[float]], targets: list[ScoreTarget]) -> Choice:
    """ε_IL minimising the score of the interpolated properties. `values[key][i]` is the property at
    `grid[i]` (NaN where a run could not give it); a target whose property is finite at fewer than
    two grid points (one, for a one-point grid) is dropped and listed."""
    eps = np.asarray(grid, dtype=float)
    fits, dropped = {}, []
    for t in targets:
        y = np.asarray(values.get(t.key, [np.nan] * len(eps)), dtype=float)
        ok = np.isfinite(y) & ((y > 0) if t.key in LOG_KEYS else True)
        if ok.sum() < min(2, len(eps)):
            dropped.append(t.key)
            continue
        fy = np.log(y[ok]) if t.key in LOG_KEYS else y[ok]
        fits[t.key] = np.polyfit(eps[ok], fy, fit_degree(int(ok.sum()))).tolist()
    used = [t for t in targets if t.key in fits]
    if not used:
        raise InputError(f"no target property could be computed at any ε_IL of the scan ({', '.join(dropped)})")
    fine = np.linspace(eps.min(), eps.max(), FINE_POINTS) if len(eps) > 1 else eps
    pred = {k: predict(k, c, fine) for k, c in fits.items()}
    scores = np.array([score({k: float(v[i]) for k, v in pred.items()}, used) for i in range(fine.size)])
    best = int(np.nanargmin(scores))
    grid_scores = [score({k: float(values[k][i]) for k in fits}, used) for i in range(len(eps))]
    method = (f"each property (transport as its logarithm) fitted vs eps_IL by least squares (quadratic with >= 3 "
              f"finite grid points, linear with 2) over the {len(eps)} grid points; the score minimised on "
              f"{fine.size} points in [{eps.min():g}, {eps.max():g}], no extrapolation")
    return Choice(float(fine[best]), float(scores[best]), {k: float(v[best]) for k, v in pred.items()}, fits,
                  grid_scores, method, tuple(dropped))
