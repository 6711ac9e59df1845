"""ε(x) over the water fraction: candidate forms fitted to the per-x optima and their
uncertainties (weighted least squares, scipy), chosen by the corrected Akaike criterion
AICc = χ² + 2k + 2k(k + 1)/(n − k − 1). Forms are those `polcg.cg.model.Epsilon` evaluates, so
the chosen one goes straight into the final VaCG model."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit

from polcg.cg.model import Epsilon
from polcg.errors import InputError


def _poly(x, *c):
    return sum(ci * x**n for n, ci in enumerate(c))


def _exponential(x, a, b, c):
    return a + b * np.exp(c * x)


def _rational(x, c0, c1, c2):
    return (c0 + c1 * x) / (1.0 + c2 * x)


#: name → (Epsilon form, function, number of parameters)
FORMS = {
    "constant": ("polynomial", _poly, 1),
    "linear": ("polynomial", _poly, 2),
    "quadratic": ("polynomial", _poly, 3),
    "exponential": ("exponential", _exponential, 3),
    "rational": ("rational", _rational, 3),
}


@dataclass(frozen=True)
class FormFit:
    name: str
    epsilon: Epsilon
    chi2: float
    aicc: float
    n_points: int


def fit_epsilon(x: np.ndarray, eps: np.ndarray, err: np.ndarray) -> tuple[FormFit, list[FormFit]]:
    """The AICc-best form and every form that could be fitted (n > k + 1 and ε > 0 on [0, 1])."""
    x, eps, err = (np.asarray(v, dtype=float) for v in (x, eps, err))
    err = np.maximum(err, 1e-3 * np.abs(eps))
    fits = []
    for name, (form, fn, k) in FORMS.items():
        if len(x) <= k + 1 and not (name == "constant" and len(x) >= 1):
            continue
        p0 = {"exponential": [eps.mean(), 0.0, 1.0], "rational": [eps[0], 0.0, 0.0]}.get(
            name, [eps.mean()] + [0.0] * (k - 1))
        try:
            popt, _ = curve_fit(lambda xx, *c, f=fn: f(xx, *c), x, eps, p0=p0, sigma=err, absolute_sigma=True,
                                maxfev=20000)
        except (RuntimeError, ValueError):
            continue
        grid = np.linspace(0.0, 1.0, 101)
        if not np.all(fn(grid, *popt) > 0):
            continue
        chi2 = float(np.sum(((fn(x, *popt) - eps) / err) ** 2))
        n = len(x)
        aicc = chi2 + 2 * k + (2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.inf if k > 1 else 0.0)
        fits.append(FormFit(name, Epsilon(form=form, coefficients=tuple(float(c) for c in popt)), chi2, aicc, n))
    if not fits:
        raise InputError("no ε(x) form could be fitted to the optima")
    return min(fits, key=lambda f: f.aicc), fits
