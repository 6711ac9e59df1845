"""Picking the VaCG parameters from a scan: ε_IL alone, or ε_IL with bead LJ parameters.

Each property is fitted against the scanned parameters by least squares on a low-order polynomial
(per parameter: quadratic with three or more distinct values, linear with two; products of two
parameters where the points allow), and the score, the weighted mean squared relative deviation
from experiment, Σ w (p/p_exp − 1)² / Σ w (or, against a reference model, the largest ratio of
polcg's deviation to the reference's), is minimised on a fine grid inside the scanned box (no
extrapolation). Pure functions on numbers: no simulation here."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from polcg.errors import InputError

#: fine-grid points per parameter, by the number of parameters scanned
FINE_POINTS = {1: 401, 2: 121, 3: 41}
# transport changes by orders of magnitude with the charges (thermally activated): fitted as ln(value)
LOG_KEYS = ("D_cation_m2_s", "D_anion_m2_s", "conductivity_S_m")


@dataclass(frozen=True)
class ScoreTarget:
    key: str  # report key, e.g. density_kg_m3
    value: float  # experiment, same unit as the simulated values
    weight: float = 1.0
    source: str = ""
    reference: float | None = None  # a reference model's value (`targets.versus`): the score to beat


@dataclass(frozen=True)
class Choice:
    eps_il: float
    score: float
    predicted: dict[str, float]
    fits: dict[str, dict]  # key → {"terms": exponents per parameter, "coefficients": [...]}
    grid_scores: list[float]
    method: str
    dropped: tuple[str, ...] = field(default=())
    params: dict[str, float] = field(default_factory=dict)  # every scanned parameter, eps_il included


def score(values: dict[str, float], targets: list[ScoreTarget]) -> float:
    """Weighted mean squared relative deviation of `values` from the targets they have; or, where
    the targets carry a reference model's values, the largest ratio of this deviation to the
    reference's, max |p/p_exp − 1| / |p_ref/p_exp − 1| (below 1: closer to experiment than the
    reference on every scored property)."""
    used = [t for t in targets if np.isfinite(values.get(t.key, np.nan))]
    if not used:
        return float("nan")
    versus = [t for t in used if t.reference is not None]
    if versus:
        return float(max(abs(values[t.key] / t.value - 1.0) / max(abs(t.reference / t.value - 1.0), 1e-12)
                         for t in versus))
    return float(sum(t.weight * (values[t.key] / t.value - 1.0) ** 2 for t in used) / sum(t.weight for t in used))


def terms_for(points: np.ndarray) -> list[tuple[int, ...]]:
    """Polynomial terms (exponents per parameter) that `points` (n × d) determine: a constant, each
    parameter with two or more distinct values, its square with three or more, then products of
    two varied parameters, as long as there are at least as many points as terms."""
    n, d = points.shape
    distinct = [len(np.unique(points[:, k])) for k in range(d)]
    unit = [tuple(int(i == k) for i in range(d)) for k in range(d)]
    terms = [(0,) * d] + [unit[k] for k in range(d) if distinct[k] >= 2]
    terms += [tuple(2 * e for e in unit[k]) for k in range(d) if distinct[k] >= 3]
    terms += [tuple(a + b for a, b in zip(unit[i], unit[j])) for i, j in itertools.combinations(range(d), 2)
              if distinct[i] >= 2 and distinct[j] >= 2]
    return terms[:max(1, n)]


def _design(points: np.ndarray, terms) -> np.ndarray:
    return np.stack([np.prod(points ** np.asarray(t), axis=1) for t in terms], axis=1)


def predict(key: str, fit: dict, points) -> np.ndarray:
    """A fitted property at `points` (n × d, or a length-n array for one parameter); transport fits
    are of its logarithm."""
    x = np.asarray(points, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    y = _design(x, fit["terms"]) @ np.asarray(fit["coefficients"])
    return np.exp(y) if key in LOG_KEYS else y


def choose_params(points: list[dict[str, float]], values: dict[str, list[float]],
                  targets: list[ScoreTarget]) -> Choice:
    """The parameters minimising the score of the fitted properties. `points[i]` are the parameters
    of scan row i (the same names in every row, `eps_il` among them) and `values[key][i]` its
    property (NaN where the run could not give it); a target whose property is finite at fewer than
    two rows (one, for a one-row scan) is dropped and listed."""
    names = list(points[0])
    x = np.array([[p[n] for n in names] for p in points], dtype=float)
    fits, dropped = {}, []
    for t in targets:
        y = np.asarray(values.get(t.key, [np.nan] * len(x)), dtype=float)
        ok = np.isfinite(y) & ((y > 0) if t.key in LOG_KEYS else True)
        if ok.sum() < min(2, len(x)):
            dropped.append(t.key)
            continue
        terms = terms_for(x[ok])
        fy = np.log(y[ok]) if t.key in LOG_KEYS else y[ok]
        coef = np.linalg.lstsq(_design(x[ok], terms), fy, rcond=None)[0]
        fits[t.key] = {"terms": [list(e) for e in terms], "coefficients": coef.tolist()}
    used = [t for t in targets if t.key in fits]
    if not used:
        raise InputError(f"no target property could be computed at any point of the scan ({', '.join(dropped)})")
    lo, hi = x.min(axis=0), x.max(axis=0)
    per_axis = FINE_POINTS.get(len(names), 21)
    axes = [np.linspace(a, b, per_axis) if b > a else np.array([a]) for a, b in zip(lo, hi)]
    fine = np.array(list(itertools.product(*axes)))
    pred = {k: predict(k, f, fine) for k, f in fits.items()}
    scores = np.array([score({k: float(v[i]) for k, v in pred.items()}, used) for i in range(len(fine))])
    best = int(np.nanargmin(scores))
    grid_scores = [score({k: float(values[k][i]) for k in fits}, used) for i in range(len(x))]
    box = ", ".join(f"{n} [{a:g}, {b:g}]" for n, a, b in zip(names, lo, hi))
    kind = ("the largest ratio of |p/p_exp - 1| to the reference model's" if any(t.reference is not None for t in used)
            else "the weighted mean squared relative deviation")
    method = (f"each property (transport as its logarithm) fitted by least squares on a polynomial in "
              f"{', '.join(names)} (quadratic in a parameter with >= 3 values, linear with 2, cross terms where "
              f"the points allow) over the {len(x)} scan points; the score ({kind}) minimised on {len(fine)} points in "
              f"{box}, no extrapolation")
    params = {n: float(v) for n, v in zip(names, fine[best])}
    return Choice(params.get("eps_il", float("nan")), float(scores[best]),
                  {k: float(v[best]) for k, v in pred.items()}, fits, grid_scores, method, tuple(dropped), params)


def choose_eps(grid: list[float], values: dict[str, list[float]], targets: list[ScoreTarget]) -> Choice:
    """ε_IL alone: `choose_params` on one parameter (quadratic fits with three or more grid points)."""
    return choose_params([{"eps_il": float(e)} for e in grid], values, targets)
